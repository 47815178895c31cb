#![no_main]
//! The HTTP/1.1 server codec (`jsonrpc_proto::http1::ServerConn`) on any input: it never
//! panics, no body grows over the limit, and the input cut in two at any point gives the same
//! events as in one piece (the first byte chooses the cut).

use jsonrpc_proto::http1::{Event, Http1Limits, ResponseHead, ServerConn};
use libfuzzer_sys::fuzz_target;

const MAX_BODY: usize = 256;

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Head(String, String, (u8, u8), bool),
    Body(Vec<u8>),
    Error(u16),
    Closed,
}

fn run(pieces: &[&[u8]]) -> Vec<Seen> {
    let limits = Http1Limits::default()
        .with_max_head(1024)
        .with_max_headers(16)
        .with_max_body(MAX_BODY);
    let mut conn = ServerConn::new(limits);
    let mut seen = Vec::new();
    let mut body = Vec::new();
    let mut drive = |conn: &mut ServerConn, seen: &mut Vec<Seen>| loop {
        match conn.poll_event() {
            Event::Head(h) => {
                let _ = h.decide(&jsonrpc_proto::http::Limits::default());
                assert_eq!(h.headers().count() <= 16, true);
                seen.push(Seen::Head(
                    h.method().to_owned(),
                    h.path().to_owned(),
                    h.version(),
                    h.keep_alive(),
                ));
                body.clear();
            }
            Event::Data(d) => {
                body.extend_from_slice(&d);
                assert!(body.len() <= MAX_BODY, "a body over the limit was handed out");
            }
            Event::End => {
                seen.push(Seen::Body(std::mem::take(&mut body)));
                conn.write_response(&ResponseHead::new(200), b"ok", 0);
            }
            Event::Paused => conn.write_response(&ResponseHead::new(400).with_close(true), b"", 0),
            Event::Error(r) => {
                seen.push(Seen::Error(r.status));
                conn.write_rejection(&r, 0);
                assert!(conn.is_closing());
            }
            Event::NeedData => {
                let n = conn.transmit().len();
                conn.consume_transmit(n);
                return false;
            }
            Event::Closed => {
                seen.push(Seen::Closed);
                return true;
            }
        }
    };
    for piece in pieces {
        let mut piece = *piece;
        while !piece.is_empty() {
            let buf = conn.read_buf();
            assert!(!buf.is_empty());
            let n = buf.len().min(piece.len());
            buf[..n].copy_from_slice(&piece[..n]);
            conn.filled(n);
            piece = &piece[n..];
            if drive(&mut conn, &mut seen) {
                return seen;
            }
        }
    }
    conn.eof();
    drive(&mut conn, &mut seen);
    assert_eq!(seen.last(), Some(&Seen::Closed));
    seen
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(input.len());
    let whole = run(&[input]);
    let split = run(&[&input[..cut], &input[cut..]]);
    assert_eq!(whole, split, "cut at {cut}");
});
