//! Property tests: serialization round trips, the parser never panics, and framing does not
//! depend on how the byte stream is split.

use std::borrow::Cow;

use bytes::BytesMut;
use jsonrpc_proto::codec::{Codec, CodecError, ContentLengthCodec, LineCodec};
use jsonrpc_proto::{
    parse, parse_message, ErrorCode, ErrorObject, Id, IdNumber, Incoming, Message, Notification,
    RawValue, Request, Response,
};
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Strategies.

fn arb_id() -> impl Strategy<Value = Id> {
    prop_oneof![
        Just(Id::Null),
        any::<u64>().prop_map(Id::from),
        (i64::MIN..0i64).prop_map(Id::from),
        prop_oneof![any::<f64>(), -1e6f64..1e6]
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Id::Number(
                IdNumber::from_text(&serde_json::to_string(&f).expect("finite")).expect("a number")
            )),
        // Any JSON number text, beyond 64 bits or with fraction and exponent: kept as written.
        "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,25})?"
            .prop_map(|t| Id::Number(IdNumber::from_text(&t).expect("a JSON number"))),
        any::<String>().prop_map(Id::String),
        "[a-z0-9\"\\\\\n\t\u{0}-\u{1f}é😀]{0,12}".prop_map(Id::String),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z_.]{1,16}",
        "[\"\\\\/\u{0}-\u{1f}\u{7f}\u{80}-\u{10ffff}a]{0,16}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(arb_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn raw(v: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("finite JSON serializes")
}

fn arb_params() -> impl Strategy<Value = Option<Box<RawValue>>> {
    prop_oneof![
        Just(None),
        prop::collection::vec(arb_json(), 0..5).prop_map(|a| Some(raw(&Value::Array(a)))),
        prop::collection::btree_map(arb_string(), arb_json(), 0..5)
            .prop_map(|m| Some(raw(&Value::Object(m.into_iter().collect())))),
    ]
}

fn arb_error() -> impl Strategy<Value = ErrorObject> {
    (any::<i64>(), arb_string(), prop::option::of(arb_json())).prop_map(|(code, message, data)| {
        let e = ErrorObject::new(ErrorCode(code), message);
        match data {
            Some(d) => e.with_raw_data(raw(&d)),
            None => e,
        }
    })
}

fn arb_message() -> impl Strategy<Value = Message<'static>> {
    prop_oneof![
        (arb_id(), arb_string(), arb_params()).prop_map(|(id, method, params)| {
            Message::Request(Request::new(id, method, params.map(Cow::Owned)))
        }),
        (arb_string(), arb_params()).prop_map(|(method, params)| {
            Message::Notification(Notification::new(method, params.map(Cow::Owned)))
        }),
        (arb_id(), arb_json())
            .prop_map(|(id, r)| Message::Response(Response::ok(id, Cow::Owned(raw(&r))))),
        (arb_id(), arb_error()).prop_map(|(id, e)| Message::Response(Response::error(id, e))),
    ]
}

/// Bytes that look like JSON often enough to reach deep into the parser.
/// Objects and batches close to what peers send (compact, no whitespace between tokens),
/// with near misses: odd values, escapes, whitespace, duplicates, unknown members, stray bytes.
fn compact_frames() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just("\"jsonrpc\""),
        Just("\"method\""),
        Just("\"params\""),
        Just("\"id\""),
        Just("\"result\""),
        Just("\"error\""),
        Just("\"x\""),
        Just("\"i\\u0064\""),
        Just("\"\""),
    ];
    let value = prop_oneof![
        Just("\"2.0\""),
        Just("\"2\\u002e0\""),
        Just("\"1.0\""),
        Just("\"add\""),
        Just("\"a\tb\""),
        Just("\"\\\"\""),
        Just("\"é\""),
        Just("[1,2]"),
        Just("[1, 2]"),
        Just("{\"a\":[{}],\"b\":\"]\"}"),
        Just("{\"code\":-32600,\"message\":\"m\"}"),
        Just("{\"code\":1.5,\"message\":\"m\"}"),
        Just("[\"\\x\"]"),
        Just("[1,]"),
        Just("1"),
        Just("-0"),
        Just("01"),
        Just("1x"),
        Just("123456789012345678901234"),
        Just("\"a\"\"b\""),
        Just("\"\""),
        Just("1.5e3"),
        Just("18446744073709551616"),
        Just("null"),
        Just("true"),
        Just("tru"),
        Just(" 1"),
        Just("1 "),
        Just(""),
    ];
    let member = (key, value).prop_map(|(k, v)| format!("{k}:{v}"));
    let object = prop::collection::vec(member, 0..6).prop_map(|m| format!("{{{}}}", m.join(",")));
    let item = prop_oneof![
        8 => object,
        1 => Just("1".to_string()),
        1 => Just("[]".to_string()),
        1 => Just("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1".to_string()),
    ];
    let frame = prop_oneof![
        item.clone(),
        prop::collection::vec(item, 0..5).prop_map(|v| format!("[{}]", v.join(","))),
    ];
    let tail = prop_oneof![
        6 => Just(""),
        1 => Just(" "),
        1 => Just(","),
        1 => Just("}"),
        1 => Just("\n"),
    ];
    (frame, tail).prop_map(|(f, t)| format!("{f}{t}").into_bytes())
}

fn jsonish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(&b"{"[..]),
        Just(&b"}"[..]),
        Just(&b"["[..]),
        Just(&b"]"[..]),
        Just(&b","[..]),
        Just(&b":"[..]),
        Just(&b"\""[..]),
        Just(&b"\\"[..]),
        Just(&b"\"jsonrpc\""[..]),
        Just(&b"\"2.0\""[..]),
        Just(&b"\"method\""[..]),
        Just(&b"\"params\""[..]),
        Just(&b"\"id\""[..]),
        Just(&b"\"result\""[..]),
        Just(&b"\"error\""[..]),
        Just(&b"\"code\""[..]),
        Just(&b"\"message\""[..]),
        Just(&b"\"data\""[..]),
        Just(&b"null"[..]),
        Just(&b"true"[..]),
        Just(&b"-1"[..]),
        Just(&b"1.5e3"[..]),
        Just(&b"18446744073709551616"[..]),
        Just(&b"\\u00e9"[..]),
        Just(&b" "[..]),
        Just(&b"\xff"[..]),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

// ---------------------------------------------------------------------------------------------
// Messages.

/// 256 cases by default (the file runs in a few seconds in debug); `PROPTEST_CASES` overrides.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_message_round_trips(msg in arb_message()) {
        let text = msg.to_vec();
        let back = parse_message(&text)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&text)));
        prop_assert_eq!(&back, &msg);
        // write_json agrees byte for byte with the serde Serialize implementation.
        let via_serde = serde_json::to_vec(&msg).expect("serializes");
        prop_assert_eq!(String::from_utf8_lossy(&via_serde), String::from_utf8_lossy(&text));
        // Serializing again gives the same bytes.
        prop_assert_eq!(back.to_vec(), text);
    }

    #[test]
    fn batches_round_trip(msgs in prop::collection::vec(arb_message(), 1..6)) {
        let mut text = b"[".to_vec();
        for (i, m) in msgs.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            m.write_json(&mut text);
        }
        text.push(b']');
        let Ok(Incoming::Batch(entries)) = parse(&text) else {
            panic!("a batch: {}", String::from_utf8_lossy(&text))
        };
        prop_assert_eq!(entries.len(), msgs.len());
        for (entry, msg) in entries.iter().zip(&msgs) {
            prop_assert_eq!(entry.as_ref().ok(), Some(msg));
        }
    }

    #[test]
    fn ids_round_trip(id in arb_id()) {
        let mut text = Vec::new();
        id.write_json(&mut text);
        let text = String::from_utf8(text).expect("utf-8");
        prop_assert_eq!(Id::from_json(&text), Some(id.clone()));
        prop_assert_eq!(serde_json::to_string(&id).expect("serializes"), text.clone());
        // Read and written again, the text is unchanged (a number's digits included).
        let mut again = Vec::new();
        Id::from_json(&text).expect("an id").write_json(&mut again);
        prop_assert_eq!(String::from_utf8(again).expect("utf-8"), text.clone());
        let via_serde: Id = serde_json::from_str(&text).expect("deserializes");
        prop_assert_eq!(via_serde.to_string(), text);
    }

    #[test]
    fn one_number_in_other_spellings_is_one_id(
        n in prop_oneof![Just(0u64), Just(u64::MAX), 1..u64::MAX],
        neg in any::<bool>(),
        zeros in 0usize..4,
    ) {
        use std::hash::{BuildHasher, RandomState};
        let sign = if neg && n != 0 { "-" } else { "" };
        let plain = format!("{sign}{n}");
        let hasher = RandomState::new();
        let a = Id::from_json(&plain).expect("an integer id");
        let pad = "0".repeat(zeros);
        for other in [
            format!("{sign}{n}.0{pad}"),
            format!("{sign}{n}e0"),
            // (`0` takes no trailing zeros before an exponent: `00e-1` is not JSON.)
            if n == 0 { format!("{sign}0e-{}", zeros + 1) } else { format!("{sign}{n}{pad}0e-{}", zeros + 1) },
            format!("{sign}0.{n}{pad}e{}", n.to_string().len()),
        ] {
            let b = Id::from_json(&other).expect("a number id");
            prop_assert_eq!(&a, &b, "{} vs {}", plain, other);
            prop_assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
            prop_assert_eq!(b.to_string(), other.clone(), "echoed as written");
            prop_assert_eq!(b.as_u64(), (!neg || n == 0).then_some(n));
        }
        // A different number is a different id.
        let next = Id::from_json(&format!("{sign}{}", u128::from(n) + 1)).expect("an id");
        prop_assert_ne!(&a, &next);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn jsonish_bytes_keep_the_parse_fuzz_invariants(bytes in jsonish_bytes()) {
        // Includes: the fast path agrees with the reference parse.
        jsonrpc_proto::fuzzing::parse_target(&bytes);
    }

    #[test]
    fn compact_frames_parse_as_the_reference_does(bytes in compact_frames()) {
        // The compact fast path of `parse` agrees with serde_json's reading, member for member.
        jsonrpc_proto::fuzzing::parse_target(&bytes);
    }

    #[test]
    fn jsonish_bytes_never_panic_the_parser(bytes in jsonish_bytes()) {
        if let Ok(incoming) = parse(&bytes) {
            // Whatever parsed must serialize back to valid JSON.
            let entries = match incoming {
                Incoming::Single(e) => vec![e],
                Incoming::Batch(v) => v,
            };
            for e in entries {
                match e {
                    Ok(m) => {
                        let text = m.to_vec();
                        prop_assert_eq!(parse_message(&text).ok(), Some(m));
                    }
                    Err(invalid) => {
                        if let Some(resp) = invalid.to_response() {
                            prop_assert!(parse_message(&resp.to_vec()).is_ok());
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Codecs: the frames never depend on how the input is split.

type Outcome = Vec<Result<Vec<u8>, CodecError>>;

/// Feeds `input` in pieces cut at `cuts`, then ends the stream. Checks the buffer bound.
fn decode_all<C: Codec>(mut codec: C, bound: usize, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(input.len());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    for cut in cuts {
        let read = &input[at..cut];
        at = cut;
        buf.extend_from_slice(read);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(f)) => out.push(Ok(f.to_vec())),
                Ok(None) => break,
                Err(e) => {
                    let stop = !e.is_recoverable();
                    out.push(Err(e));
                    if stop {
                        return out;
                    }
                }
            }
        }
        assert!(
            buf.len() <= bound,
            "{} bytes buffered, bound {bound}",
            buf.len()
        );
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(f)) => out.push(Ok(f.to_vec())),
            Ok(None) => break,
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| b" \t\r\n".contains(c))
}

fn frame_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        arb_message().prop_map(|m| m.to_vec()),
        prop::collection::vec(prop::sample::select(&b"{}[]\" ab\t\r:,"[..]), 0..24),
    ]
}

fn line_separator() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        Just(&b"\n"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n\n"[..]),
        Just(&b"\r\n\r\n"[..]),
        Just(&b"\n  \t\n"[..]),
        Just(&b"\n \r\n"[..]),
    ]
}

fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(&b"\r\n\r\n abc{}:Content-Length: 5\r\n\r\n0123456789"[..]),
        0..200,
    )
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..24)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn line_frames_survive_any_split(
        frames in prop::collection::vec((frame_body(), line_separator()), 0..8),
        cuts in cuts(),
    ) {
        let mut input = Vec::new();
        let mut encoded = BytesMut::new();
        let mut expected = Vec::new();
        for (body, sep) in &frames {
            input.extend_from_slice(body);
            input.extend_from_slice(sep);
            LineCodec::new().encode(body, &mut encoded);
            if !is_blank(body) {
                expected.push(body.clone());
            }
        }
        let whole = decode_all(LineCodec::new(), usize::MAX, &input, &[]);
        let split = decode_all(LineCodec::new(), usize::MAX, &input, &cuts);
        prop_assert_eq!(&whole, &split);
        // Generated bodies contain no '\n', so every non-blank body is one frame.
        let got: Vec<Vec<u8>> = whole.into_iter().map(|r| r.expect("no error")).collect();
        prop_assert_eq!(got.len(), expected.len());
        // The encoder's output decodes to the same frames (raw '\r' became ' ': compare JSON).
        let decoded = decode_all(LineCodec::new(), usize::MAX, &encoded, &cuts);
        let decoded: Vec<_> = decoded.into_iter().map(|r| r.expect("no error")).collect();
        prop_assert_eq!(decoded.len(), expected.len());
        for (d, body) in decoded.iter().zip(&expected) {
            let cleaned: Vec<u8> = body.iter().map(|&b| if b == b'\r' { b' ' } else { b }).collect();
            prop_assert_eq!(d, &cleaned);
        }
    }

    #[test]
    fn line_decoding_of_any_bytes_is_split_independent(
        input in prop_oneof![stream_bytes(), prop::collection::vec(any::<u8>(), 0..200)],
        max in 1usize..16,
        cuts in cuts(),
    ) {
        let whole = decode_all(LineCodec::with_max_frame_size(max), max + 1, &input, &[]);
        let split = decode_all(LineCodec::with_max_frame_size(max), max + 1, &input, &cuts);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn content_length_frames_survive_any_split(
        frames in prop::collection::vec(frame_body(), 0..8),
        cuts in cuts(),
    ) {
        let mut codec = ContentLengthCodec::new();
        let mut input = BytesMut::new();
        for f in &frames {
            codec.encode(f, &mut input);
        }
        let whole = decode_all(ContentLengthCodec::new(), usize::MAX, &input, &[]);
        let split = decode_all(ContentLengthCodec::new(), usize::MAX, &input, &cuts);
        prop_assert_eq!(&whole, &split);
        let want: Outcome = frames.into_iter().map(Ok).collect();
        prop_assert_eq!(whole, want);
    }

    #[test]
    fn content_length_decoding_of_any_bytes_is_split_independent(
        input in prop_oneof![stream_bytes(), prop::collection::vec(any::<u8>(), 0..200)],
        max in 1usize..16,
        max_header in 4usize..64,
        cuts in cuts(),
    ) {
        let codec = || ContentLengthCodec::with_max_frame_size(max).max_header_size(max_header);
        let bound = max.max(max_header);
        let whole = decode_all(codec(), usize::MAX, &input, &[]);
        let split = decode_all(codec(), bound, &input, &cuts);
        prop_assert_eq!(whole, split);
    }
}

// ---------------------------------------------------------------------------------------------
// Connection: arbitrary input never panics, and everything it transmits is valid JSON-RPC.

fn check_transmits(conn: &mut jsonrpc_proto::Connection) {
    while let Some(frame) = conn.poll_transmit() {
        let parsed = parse(&frame);
        assert!(
            parsed.is_ok(),
            "transmitted invalid JSON: {}",
            String::from_utf8_lossy(&frame)
        );
        let entries = match parsed.expect("checked") {
            Incoming::Single(e) => vec![e],
            Incoming::Batch(v) => v,
        };
        for e in entries {
            assert!(
                matches!(e, Ok(Message::Response(_))),
                "a server answer that is not a valid response: {}",
                String::from_utf8_lossy(&frame)
            );
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_frames_never_panic_the_connection(
        frames in prop::collection::vec(
            prop_oneof![prop::collection::vec(any::<u8>(), 0..128), jsonish_bytes()],
            1..8,
        ),
        answer in any::<bool>(),
    ) {
        let now = std::time::Instant::now();
        let mut conn = jsonrpc_proto::Connection::new(jsonrpc_proto::Config::default());
        for frame in &frames {
            conn.handle_frame(frame, now);
            while let Some(event) = conn.poll_event() {
                if let jsonrpc_proto::Event::Request(call) = event {
                    if answer {
                        let one = RawValue::from_string("1".into()).expect("JSON");
                        conn.respond(call.handle, Ok(&one)).expect("open");
                    } else {
                        let e = ErrorObject::method_not_found();
                        conn.respond(call.handle, Err(&e)).expect("open");
                    }
                }
            }
            check_transmits(&mut conn);
            prop_assert_eq!(conn.in_flight(), 0);
        }
    }

    #[test]
    fn arbitrary_connection_scripts_keep_the_invariants(
        script in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        jsonrpc_proto::fuzzing::connection_target(&script);
    }
}
