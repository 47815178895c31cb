use super::*;
use proptest::prelude::*;

/// What a run saw, simplified for comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    /// method, path, version minor, keep-alive
    Head(String, String, u8, bool),
    /// A request's whole body, at its end.
    Body(Vec<u8>),
    Error(u16),
    Closed,
}

/// Feeds `chunks` one after another, answering each request with 200 `ok` at its end and
/// each error with its rejection. Returns the events and everything transmitted (the `Date`
/// is fixed by `unix_secs` 0).
fn run_with(chunks: &[&[u8]], limits: Http1Limits, eof: bool) -> (Vec<Seen>, Vec<u8>) {
    let mut conn = ServerConn::new(limits);
    let mut seen = Vec::new();
    let mut body = Vec::new();
    let mut out = Vec::new();
    let mut drive = |conn: &mut ServerConn, seen: &mut Vec<Seen>, out: &mut Vec<u8>| loop {
        match conn.poll_event() {
            Event::Head(h) => {
                seen.push(Seen::Head(
                    h.method().to_owned(),
                    h.path().to_owned(),
                    h.version().1,
                    h.keep_alive(),
                ));
                body.clear();
            }
            Event::Data(d) => body.extend_from_slice(&d),
            Event::End => {
                seen.push(Seen::Body(std::mem::take(&mut body)));
                conn.write_response(&ResponseHead::new(200), b"ok", 0);
            }
            Event::Paused => {
                // A head whose body cannot be read: answered at once.
                conn.write_rejection(&BAD_REQUEST, 0);
            }
            Event::Error(r) => {
                seen.push(Seen::Error(r.status));
                conn.write_rejection(&r, 0);
            }
            Event::NeedData => {
                out.extend_from_slice(conn.transmit());
                let n = conn.transmit().len();
                conn.consume_transmit(n);
                return false;
            }
            Event::Closed => {
                seen.push(Seen::Closed);
                out.extend_from_slice(conn.transmit());
                return true;
            }
        }
    };
    for chunk in chunks {
        let mut chunk = *chunk;
        while !chunk.is_empty() {
            let buf = conn.read_buf();
            let n = buf.len().min(chunk.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            conn.filled(n);
            chunk = &chunk[n..];
            if drive(&mut conn, &mut seen, &mut out) {
                return (seen, out);
            }
        }
    }
    if eof {
        conn.eof();
        drive(&mut conn, &mut seen, &mut out);
    }
    (seen, out)
}

fn run(input: &[u8]) -> (Vec<Seen>, Vec<u8>) {
    run_with(&[input], Http1Limits::default(), true)
}

fn head(m: &str, p: &str, minor: u8, keep: bool) -> Seen {
    Seen::Head(m.into(), p.into(), minor, keep)
}

const POST: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
const CHUNKED: &[u8] = b"POST /x?q=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\n{\"a\r\n4 \r\n\":1}\r\n0\r\nTrailer: x\r\n\r\n";

#[test]
fn one_post_then_eof() {
    let (seen, out) = run(POST);
    assert_eq!(
        seen,
        [
            head("POST", "/", 1, true),
            Seen::Body(b"{\"a\":1}".to_vec()),
            Seen::Closed
        ]
    );
    assert_eq!(
        out,
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\nok"
    );
}

#[test]
fn chunked_bodies_ignore_extensions_and_drop_trailers() {
    let (seen, _) = run(CHUNKED);
    assert_eq!(
        seen,
        [
            head("POST", "/x", 1, true),
            Seen::Body(b"{\"a\":1}".to_vec()),
            Seen::Closed
        ]
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut input = POST.to_vec();
    input.extend_from_slice(b"\r\n"); // an empty line between requests is ignored
    input.extend_from_slice(CHUNKED);
    input.extend_from_slice(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
    let (seen, out) = run(&input);
    assert_eq!(
        seen,
        [
            head("POST", "/", 1, true),
            Seen::Body(b"{\"a\":1}".to_vec()),
            head("POST", "/x", 1, true),
            Seen::Body(b"{\"a\":1}".to_vec()),
            head("GET", "/health", 1, true),
            Seen::Body(Vec::new()),
            Seen::Closed
        ]
    );
    assert_eq!(
        out.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count(),
        3
    );
}

#[test]
fn keep_alive_rules() {
    let (seen, out) = run(b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\nPOST / HTTP/1.1\r\n\r\n");
    assert_eq!(
        seen,
        [
            head("POST", "/", 0, false),
            Seen::Body(Vec::new()),
            Seen::Closed
        ],
        "HTTP/1.0 closes by default: the second request is not read"
    );
    assert!(
        out.starts_with(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n"),
        "1.0 closes without saying so"
    );
    let (seen, out) =
        run(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(out.starts_with(b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n"));
    assert!(out.windows(17).any(|w| w == b"okHTTP/1.1 200 OK"));
    let (seen, out) =
        run(b"GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        seen,
        [
            head("GET", "/", 1, false),
            Seen::Body(Vec::new()),
            Seen::Closed
        ]
    );
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nconnection: close\r\n"));
    // The server closes: the answer says so, nothing more is read.
    let mut conn = ServerConn::new(Http1Limits::default());
    let input = b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    conn.read_buf()[..input.len()].copy_from_slice(input);
    conn.filled(input.len());
    assert!(matches!(conn.poll_event(), Event::Head(_)));
    assert!(matches!(conn.poll_event(), Event::End));
    conn.write_response(&ResponseHead::new(204).with_close(true), b"", 0);
    assert!(conn.is_closing());
    assert!(matches!(conn.poll_event(), Event::Closed));
    assert_eq!(
        conn.transmit(),
        b"HTTP/1.1 204 No Content\r\nconnection: close\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n"
    );
}

#[test]
fn expect_continue_is_sent_once_when_the_body_is_wanted() {
    let mut conn = ServerConn::new(Http1Limits::default());
    let input = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    conn.read_buf()[..input.len()].copy_from_slice(input);
    conn.filled(input.len());
    assert!(matches!(conn.poll_event(), Event::Head(_)));
    assert!(conn.transmit().is_empty(), "not before the body is wanted");
    assert!(matches!(conn.poll_event(), Event::NeedData));
    assert_eq!(conn.transmit(), b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.consume_transmit(conn.transmit().len());
    assert!(matches!(conn.poll_event(), Event::NeedData));
    assert!(conn.transmit().is_empty(), "once");
    conn.read_buf()[..2].copy_from_slice(b"{}");
    conn.filled(2);
    assert!(matches!(conn.poll_event(), Event::Data(_)));
    assert!(matches!(conn.poll_event(), Event::End));
    // A body that came with the head needs no 100; nor does a rejection before the body.
    let (_, out) = run(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}");
    assert!(out.starts_with(b"HTTP/1.1 200 OK"));
    let mut conn = ServerConn::new(Http1Limits::default());
    conn.read_buf()[..input.len()].copy_from_slice(input);
    conn.filled(input.len());
    assert!(matches!(conn.poll_event(), Event::Head(_)));
    conn.write_rejection(&Rejection::UNSUPPORTED_MEDIA_TYPE, 0);
    assert!(conn.transmit().starts_with(b"HTTP/1.1 415 Unsupported Media Type\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"));
    assert!(conn.is_closing(), "the unread body cannot be skipped");
}

#[test]
fn an_unread_body_already_buffered_is_skipped() {
    let mut input = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".to_vec();
    input.extend_from_slice(POST);
    let mut conn = ServerConn::new(Http1Limits::default());
    conn.read_buf()[..input.len()].copy_from_slice(&input);
    conn.filled(input.len());
    assert!(matches!(conn.poll_event(), Event::Head(_)));
    conn.write_rejection(&Rejection::UNSUPPORTED_MEDIA_TYPE, 0);
    assert!(!conn.is_closing());
    let Event::Head(h) = conn.poll_event() else {
        panic!("the next request")
    };
    assert_eq!(h.header("content-type"), Some(&b"application/json"[..]));
    assert_eq!(h.decide(&Limits::default()), Decision::Rpc);
}

#[test]
fn framing_errors_get_400_and_close() {
    for bad in [
        &b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"[..],
        b"POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\na",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        b"POST / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\na\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n bad\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"G\x01T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
    ] {
        let (seen, out) = run(bad);
        assert!(
            seen.contains(&Seen::Error(400)),
            "{}: {seen:?}",
            String::from_utf8_lossy(bad)
        );
        assert_eq!(seen.last(), Some(&Seen::Closed));
        // A bad head gets an empty 400 (as hyper), a bad chunked body hyper's body error.
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.ends_with("connection: close\r\ncontent-length: 0\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n")
                || text.ends_with(BODY_UNREADABLE.body),
            "{text}"
        );
        assert!(text.contains("connection: close\r\n"), "{text}");
    }
    // The same length twice is one length.
    let (seen, _) = run(b"POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab");
    assert_eq!(seen[1], Seen::Body(b"ab".to_vec()));
}

#[test]
fn heads_whose_body_cannot_be_framed_are_handed_out_then_closed() {
    for (input, status) in [
        (
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            Rejection::LENGTH_AND_CHUNKED,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            Rejection::NOT_CHUNKED_LAST,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            Rejection::UNKNOWN_TRANSFER_CODING,
        ),
    ] {
        let mut conn = ServerConn::new(Http1Limits::default());
        conn.read_buf()[..input.len()].copy_from_slice(input);
        conn.filled(input.len());
        let Event::Head(h) = conn.poll_event() else {
            panic!()
        };
        assert!(!h.keep_alive() || matches!(conn.poll_event(), Event::Paused));
        assert_eq!(h.decide(&Limits::default()), Decision::Reject(status));
        conn.write_rejection(&status, 0);
        assert!(conn.is_closing());
    }
}

#[test]
fn head_limits_are_exact() {
    let limits = Http1Limits::default().with_max_head(64);
    let at = |len: usize| {
        let mut input = b"GET / HTTP/1.1\r\nX: ".to_vec();
        input.resize(len - 4, b'a');
        input.extend_from_slice(b"\r\n\r\n");
        assert_eq!(input.len(), len);
        input
    };
    let (seen, _) = run_with(&[&at(64)], limits, true);
    assert_eq!(seen[0], head("GET", "/", 1, true));
    let (seen, out) = run_with(&[&at(65)], limits, true);
    assert_eq!(seen, [Seen::Error(431), Seen::Closed]);
    assert!(out.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    // Incomplete and already over: 431 without waiting for the rest.
    let (seen, _) = run_with(&[&at(200)[..70]], limits, false);
    assert_eq!(seen, [Seen::Error(431), Seen::Closed]);
    let headers = |n: usize| {
        let mut input = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            input.extend_from_slice(format!("h{i}: v\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\n");
        input
    };
    let (seen, _) = run(&headers(MAX_HEADERS));
    assert_eq!(seen[0], head("GET", "/", 1, true));
    let (seen, _) = run(&headers(MAX_HEADERS + 1));
    assert_eq!(seen, [Seen::Error(431), Seen::Closed]);
    let few = Http1Limits::default().with_max_headers(3);
    let (seen, _) = run_with(&[&headers(3)], few, true);
    assert_eq!(seen[0], head("GET", "/", 1, true));
    let (seen, _) = run_with(&[&headers(4)], few, true);
    assert_eq!(seen, [Seen::Error(431), Seen::Closed]);
}

#[test]
fn body_limits_are_exact() {
    let limits = Http1Limits::default().with_max_body(4);
    let (seen, _) = run_with(
        &[b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"],
        limits,
        true,
    );
    assert_eq!(seen[1], Seen::Body(b"abcd".to_vec()));
    let (seen, out) = run_with(
        &[b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde"],
        limits,
        true,
    );
    assert_eq!(seen[1..], [Seen::Error(413), Seen::Closed]);
    assert!(out.starts_with(b"HTTP/1.1 413 Payload Too Large\r\n"));
    let chunked = |sizes: &[usize]| {
        let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for &s in sizes {
            input.extend_from_slice(format!("{s:x}\r\n").as_bytes());
            input.extend(std::iter::repeat_n(b'x', s));
            input.extend_from_slice(b"\r\n");
        }
        input.extend_from_slice(b"0\r\n\r\n");
        input
    };
    let (seen, _) = run_with(&[&chunked(&[1, 3])], limits, true);
    assert_eq!(seen[1], Seen::Body(b"xxxx".to_vec()));
    let (seen, _) = run_with(&[&chunked(&[1, 3, 1])], limits, true);
    assert_eq!(seen[1..], [Seen::Error(413), Seen::Closed]);
}

#[test]
fn cut_short() {
    // A head cut short: closed without an answer.
    let (seen, out) = run(b"POST / HTTP/1.1\r\nContent-Le");
    assert_eq!(seen, [Seen::Closed]);
    assert!(out.is_empty());
    // A body cut short: 400.
    let (seen, _) = run(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(seen[1..], [Seen::Error(400), Seen::Closed]);
    let (seen, _) = run(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    assert_eq!(seen[1..], [Seen::Error(400), Seen::Closed]);
}

#[test]
fn heads_expose_what_decide_reads() {
    let input = b"POST http://example.com?x HTTP/1.1\r\nHost: h:1\r\nhost: b\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Y:  z \r\n\r\n";
    let mut conn = ServerConn::new(Http1Limits::default());
    conn.read_buf()[..input.len()].copy_from_slice(input);
    conn.filled(input.len());
    let Event::Head(h) = conn.poll_event() else {
        panic!()
    };
    assert_eq!(h.path(), "/");
    assert!(h.has_upgrade());
    assert_eq!(h.header("x-y"), Some(&b"z"[..]));
    assert_eq!(h.headers().count(), 6);
    h.with_request_head(|r| {
        assert_eq!(r.target, TargetForm::Absolute);
        assert_eq!(r.hosts, [&b"h:1"[..], b"b"]);
        assert!(r.websocket_upgrade);
        assert_eq!(r.content_type, Some("application/json"));
    });
    assert_eq!(
        h.decide(&Limits::default()),
        Decision::Reject(Rejection::BAD_HOST)
    );
    for (target, form, path) in [
        ("/a/b?c#d", TargetForm::Origin, "/a/b"),
        ("*", TargetForm::Asterisk, "*"),
        ("example.com:443", TargetForm::Authority, ""),
        ("https://e/x/y?z", TargetForm::Absolute, "/x/y"),
        ("https://e?z", TargetForm::Absolute, ""),
    ] {
        assert_eq!(split_target(target), (form, path), "{target}");
    }
}

#[test]
fn dates_are_imf_fixdate() {
    let d = |s| String::from_utf8(imf_fixdate(s).to_vec()).unwrap();
    assert_eq!(d(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(d(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(d(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    assert_eq!(d(1_798_761_599), "Thu, 31 Dec 2026 23:59:59 GMT");
    let mut cache = DateCache::default();
    let first = cache.get(0).to_vec();
    assert_eq!(cache.get(0), first.as_slice());
    assert_eq!(cache.get(784_111_777), imf_fixdate(784_111_777));
}

#[test]
fn responses_are_encoded_like_hyper() {
    let mut conn = ServerConn::new(Http1Limits::default());
    conn.write_rejection(&Rejection::UNSUPPORTED_MEDIA_TYPE, 0);
    conn.write_response(
        &ResponseHead::new(200).with_content_type(Some("application/json")),
        b"{}",
        1,
    );
    let want = "HTTP/1.1 415 Unsupported Media Type\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 59\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\nUnsupported media type: send Content-Type: application/json\
        HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\ndate: Thu, 01 Jan 1970 00:00:01 GMT\r\n\r\n{}";
    assert_eq!(String::from_utf8_lossy(conn.transmit()), want);
    conn.consume_transmit(5);
    assert!(conn.transmit().starts_with(b"1.1 415"));
    let mut conn = ServerConn::new(Http1Limits::default());
    conn.write_response(&ResponseHead::new(405).with_allow(Some("POST")), b"", 0);
    assert!(conn
        .transmit()
        .starts_with(b"HTTP/1.1 405 Method Not Allowed\r\nallow: POST\r\ncontent-length: 0\r\n"));
}

#[test]
fn the_read_buffer_grows_for_a_large_head_and_shrinks_when_idle() {
    let mut input = b"GET / HTTP/1.1\r\nX: ".to_vec();
    input.resize(20_000, b'a');
    input.extend_from_slice(b"\r\n\r\n");
    let (seen, _) = run(&input);
    assert_eq!(seen[0], head("GET", "/", 1, true));
    let mut conn = ServerConn::new(Http1Limits::default());
    let mut rest = &input[..];
    while !rest.is_empty() {
        let buf = conn.read_buf();
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        conn.filled(n);
        rest = &rest[n..];
    }
    assert!(matches!(conn.poll_event(), Event::Head(_)));
    assert!(matches!(conn.poll_event(), Event::End));
    conn.write_response(&ResponseHead::new(204), b"", 0);
    assert!(conn.is_idle());
    assert!(conn.read_buf().len() <= READ_CHUNK);
}

/// A few requests of every shape, concatenated.
fn requests() -> impl Strategy<Value = Vec<u8>> {
    let one = prop_oneof![
        Just(POST.to_vec()),
        Just(CHUNKED.to_vec()),
        Just(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()),
        Just(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc".to_vec()),
        Just(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".to_vec()),
        proptest::collection::vec(1usize..40, 0..4).prop_map(|sizes| {
            let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for s in sizes {
                input.extend_from_slice(format!("{s:X};e\r\n").as_bytes());
                input.extend(std::iter::repeat_n(b'y', s));
                input.extend_from_slice(b"\r\n");
            }
            input.extend_from_slice(b"0\r\nT: 1\r\n\r\n");
            input
        }),
    ];
    proptest::collection::vec(one, 1..5).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn every_split_of_pipelined_input_gives_the_same_events(
        input in requests(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let whole = run(&input);
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        at.sort_unstable();
        at.dedup();
        let mut pieces = Vec::new();
        let mut prev = 0;
        for a in at {
            pieces.push(&input[prev..a]);
            prev = a;
        }
        pieces.push(&input[prev..]);
        let split = run_with(&pieces, Http1Limits::default(), true);
        // The events are the same; so is what was sent, but for the `100 Continue` lines
        // (sent only when the body was not there yet).
        prop_assert_eq!(&whole.0, &split.0);
        let strip = |out: &[u8]| String::from_utf8_lossy(out).replace("HTTP/1.1 100 Continue\r\n\r\n", "");
        prop_assert_eq!(strip(&whole.1), strip(&split.1));
    }

    #[test]
    fn byte_by_byte_is_the_same_as_whole(input in requests()) {
        let whole = run(&input);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let split = run_with(&bytes, Http1Limits::default(), true);
        prop_assert_eq!(whole.0, split.0);
    }

    #[test]
    fn any_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let cut = cut.min(input.len());
        let (seen, _) = run_with(&[&input[..cut], &input[cut..]], Http1Limits::default().with_max_head(256).with_max_body(64), true);
        // Whatever came, the connection ends closed once the peer's side is.
        prop_assert_eq!(seen.last(), Some(&Seen::Closed));
    }
}

proptest! {
    /// Handing a connection on right after a head: the head's bytes and `unread()` are the
    /// input as it arrived, however much of the body (and of what follows) came with the head.
    #[test]
    fn the_head_and_the_unread_bytes_are_the_input(body in 0usize..40, after in 0usize..40, fed in 0usize..200) {
        let mut input = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nContent-Length: {body}\r\n\r\n"
        )
        .into_bytes();
        input.extend((0..body).map(|i| b'a' + (i % 26) as u8));
        input.extend((0..after).map(|i| b'A' + (i % 26) as u8));
        let head_len = input.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let fed = fed.clamp(head_len, input.len());
        let mut conn = ServerConn::new(Http1Limits::default());
        let buf = conn.read_buf();
        buf[..fed].copy_from_slice(&input[..fed]);
        conn.filled(fed);
        let Event::Head(head) = conn.poll_event() else { panic!("a head") };
        let mut replay = head.as_bytes().to_vec();
        for part in conn.unread() {
            replay.extend_from_slice(part);
        }
        prop_assert_eq!(&replay[..], &input[..fed]);
    }
}
