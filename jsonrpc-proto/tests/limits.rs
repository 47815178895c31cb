//! Limits of the core: JSON nesting depth is refused with -32700 before parsing, at any depth.

use std::time::Instant;

use jsonrpc_proto::connection::{Config, Connection, Event};
use jsonrpc_proto::limits::DEFAULT_MAX_DEPTH;

fn nested(depth: usize) -> Vec<u8> {
    let mut doc = Vec::with_capacity(depth * 2);
    doc.resize(depth, b'[');
    doc.resize(depth * 2, b']');
    doc
}

#[test]
fn deeply_nested_document_is_a_parse_error() {
    for depth in [129, 1_000, 100_000] {
        let doc = nested(depth);
        let mut conn = Connection::new(Config::default());
        conn.handle_frame(&doc, Instant::now());
        assert!(matches!(conn.poll_event(), Some(Event::ParseError(_))));
        let out = conn.poll_transmit().expect("an error answer");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["error"]["code"], -32700, "{v}");
        assert!(v["id"].is_null());
    }
}

#[test]
fn deeply_nested_params_are_a_parse_error() {
    let mut frame = br#"{"jsonrpc":"2.0","method":"echo","id":1,"params":"#.to_vec();
    frame.extend(nested(100_000));
    frame.push(b'}');
    let mut conn = Connection::new(Config::default());
    conn.handle_frame(&frame, Instant::now());
    assert!(matches!(conn.poll_event(), Some(Event::ParseError(_))));
    let out = conn.poll_transmit().expect("an error answer");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["error"]["code"], -32700, "{v}");
}

#[test]
fn nesting_up_to_the_limit_is_served() {
    // 1 level for the request object, 127 for the params.
    let mut frame = br#"{"jsonrpc":"2.0","method":"echo","id":1,"params":"#.to_vec();
    frame.extend(nested(DEFAULT_MAX_DEPTH - 1));
    frame.push(b'}');
    let mut conn = Connection::new(Config::default());
    conn.handle_frame(&frame, Instant::now());
    assert!(matches!(conn.poll_event(), Some(Event::Request(_))));
}
