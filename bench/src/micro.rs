//! Micro-measurements of the sans-IO core (the files a performance change may touch:
//! message.rs, id.rs, batch.rs, connection.rs), without tasks, sockets or wakeups.
//! `compare micro` prints nanoseconds per operation (best of 5 runs).

use std::hint::black_box;
use std::time::Instant;

use jsonrpc_proto::connection::{Config, Connection, Event};
use jsonrpc_proto::{parse, RawValue};

fn best_of<F: FnMut()>(iters: usize, mut f: F) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    best
}

/// One sequential call through two connections (client and server), as the drivers do it.
fn round_trip(
    client: &mut Connection,
    server: &mut Connection,
    params: &RawValue,
    result: &RawValue,
) {
    let now = Instant::now();
    client.request("add", Some(params), now).expect("request");
    while let Some(frame) = client.poll_transmit() {
        server.handle_frame(&frame, now);
    }
    while let Some(ev) = server.poll_event() {
        if let Event::Request(r) = ev {
            server.respond(r.handle, Ok(result)).expect("respond");
        }
    }
    while let Some(frame) = server.poll_transmit() {
        client.handle_frame(&frame, now);
    }
    while let Some(ev) = client.poll_event() {
        black_box(ev);
    }
}

/// One batch of `n` calls through two connections.
fn batch_trip(
    client: &mut Connection,
    server: &mut Connection,
    n: usize,
    params: &RawValue,
    result: &RawValue,
) {
    let now = Instant::now();
    {
        let mut b = client.batch();
        for _ in 0..n {
            b.request("add", Some(params), now, None).expect("request");
        }
        b.finish();
    }
    while let Some(frame) = client.poll_transmit() {
        server.handle_frame(&frame, now);
    }
    let mut handles = Vec::with_capacity(n);
    while let Some(ev) = server.poll_event() {
        if let Event::Request(r) = ev {
            handles.push(r.handle);
        }
    }
    for h in handles {
        server.respond(h, Ok(result)).expect("respond");
    }
    while let Some(frame) = server.poll_transmit() {
        client.handle_frame(&frame, now);
    }
    while let Some(ev) = client.poll_event() {
        black_box(ev);
    }
}

/// Runs every micro-measurement; returns (name, ns per op).
pub fn run(scale: usize, only: Option<&str>) -> Vec<(&'static str, f64)> {
    let want = |name: &str| only.is_none_or(|o| name.starts_with(o));
    let req = br#"{"jsonrpc":"2.0","id":12345,"method":"add","params":[1,2]}"#.to_vec();
    let resp = br#"{"jsonrpc":"2.0","id":12345,"result":3}"#.to_vec();
    let mut batch = b"[".to_vec();
    for i in 0..100 {
        if i > 0 {
            batch.push(b',');
        }
        batch.extend_from_slice(
            format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"add","params":[{i},2]}}"#).as_bytes(),
        );
    }
    batch.push(b']');
    let params = RawValue::from_string("[1,2]".into()).expect("raw");
    let result = RawValue::from_string("3".into()).expect("raw");
    let mut out = Vec::new();
    if want("parse request") {
        out.push((
            "parse request",
            best_of(200 * scale, || {
                drop(black_box(parse(black_box(&req)).expect("parse")))
            }),
        ));
    }
    if want("parse response") {
        out.push((
            "parse response",
            best_of(200 * scale, || {
                drop(black_box(parse(black_box(&resp)).expect("parse")))
            }),
        ));
    }
    if want("parse batch of 100 requests") {
        out.push((
            "parse batch of 100 requests",
            best_of(2 * scale, || {
                drop(black_box(parse(black_box(&batch)).expect("parse")))
            }),
        ));
    }
    let mut buf = Vec::with_capacity(128);
    if want("write_call") {
        out.push((
            "write_call",
            best_of(200 * scale, || {
                buf.clear();
                jsonrpc_proto::message::write_call(
                    &mut buf,
                    "add",
                    Some(&params),
                    Some(&jsonrpc_proto::Id::from(12345u64)),
                );
                black_box(&buf);
            }),
        ));
    }
    let cfg = || Config::default().with_request_timeout(None);
    let (mut c, mut s) = (Connection::new(cfg()), Connection::new(cfg()));
    if want("Connection round trip (client+server)") {
        out.push((
            "Connection round trip (client+server)",
            best_of(100 * scale, || round_trip(&mut c, &mut s, &params, &result)),
        ));
    }
    let (mut c, mut s) = (Connection::new(cfg()), Connection::new(cfg()));
    if want("Connection batch of 100 (client+server)") {
        out.push((
            "Connection batch of 100 (client+server)",
            best_of(scale, || batch_trip(&mut c, &mut s, 100, &params, &result)),
        ));
    }
    let big =
        RawValue::from_string(format!("\"{}\"", "A".repeat(crate::common::MIB))).expect("raw");
    let (mut c, mut s) = (Connection::new(cfg()), Connection::new(cfg()));
    if want("Connection round trip, 1 MiB result") {
        out.push((
            "Connection round trip, 1 MiB result",
            best_of(scale / 10 + 1, || round_trip(&mut c, &mut s, &params, &big)),
        ));
    }
    out
}
