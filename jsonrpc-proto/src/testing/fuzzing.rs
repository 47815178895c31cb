//! Fuzz target bodies, shared by `fuzz/` (cargo-fuzz) and the workspace test that replays the
//! fuzz corpus (`tests/fuzz_corpus.rs`), so CI exercises every corpus file on stable Rust.
//!
//! Each function takes arbitrary bytes and panics when an invariant breaks. Not a public API.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::protocol::codec::{Codec, CodecError, ContentLengthCodec, LineCodec};
use crate::protocol::connection::{
    CallError, Config, Connection, Event, ResponseHandle, SendError,
};
use crate::protocol::error::{ErrorCode, ErrorObject};
use crate::protocol::id::Id;
use crate::protocol::message::{
    parse, parse_message, write_response, Incoming, InvalidKind, Message,
};
use serde_json::value::RawValue;

/// Reads fuzz input as a script: small integers first, the rest as data.
struct Script<'a> {
    data: &'a [u8],
}

impl<'a> Script<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// parse

/// `parse`: any bytes. [`parse`] agrees with its reference (no fast path); a parsed message serialized again parses to the same message; the answer
/// to invalid input is itself a valid JSON-RPC response with the right code and id.
pub fn parse_target(data: &[u8]) {
    // The fast path agrees with the plain reading of every member as raw JSON.
    let reference = crate::protocol::message::parse_reference(data);
    match (&parse(data), &reference) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "fast and reference parse disagree");
            // Ids compare by value (`1` == `1.0`): their texts must agree too.
            assert_eq!(
                entry_texts(a),
                entry_texts(b),
                "fast and reference parse keep different id texts"
            );
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("fast and reference parse disagree: {a:?} vs {b:?}"),
    }
    let incoming = match parse(data) {
        Ok(incoming) => incoming,
        Err(_) => {
            let mut answer = Vec::new();
            write_response(&mut answer, &Id::Null, Err(&ErrorObject::parse_error()));
            check_error_answer(&answer, &Id::Null, ErrorCode::PARSE_ERROR);
            return;
        }
    };
    let entries = match incoming {
        Incoming::Single(e) => vec![e],
        Incoming::Batch(v) => {
            assert!(!v.is_empty(), "an empty array is a single invalid entry");
            v
        }
    };
    for entry in entries {
        match entry {
            Ok(msg) => {
                let text = msg.to_vec();
                let back = parse_message(&text).unwrap_or_else(|e| {
                    panic!(
                        "re-serialized message does not parse ({e}): {}",
                        String::from_utf8_lossy(&text)
                    )
                });
                assert_eq!(back, msg, "round trip changed the message");
                assert_eq!(back.to_vec(), text, "serialization is not stable");
                let via_serde = serde_json::to_vec(&msg).expect("messages serialize");
                assert_eq!(via_serde, text, "write_json and Serialize disagree");
            }
            Err(invalid) => match invalid.to_response() {
                Some(resp) => {
                    assert_eq!(invalid.kind, InvalidKind::Request);
                    check_error_answer(&resp.to_vec(), &invalid.id, ErrorCode::INVALID_REQUEST);
                }
                None => assert_eq!(invalid.kind, InvalidKind::Response),
            },
        }
    }
}

/// Each entry's message written again, or its invalid id's text.
fn entry_texts(incoming: &Incoming<'_>) -> Vec<Vec<u8>> {
    let entries = match incoming {
        Incoming::Single(e) => std::slice::from_ref(e),
        Incoming::Batch(v) => v.as_slice(),
    };
    entries
        .iter()
        .map(|e| match e {
            Ok(msg) => msg.to_vec(),
            Err(invalid) => invalid.id.to_string().into_bytes(),
        })
        .collect()
}

fn check_error_answer(answer: &[u8], id: &Id, code: ErrorCode) {
    match parse_message(answer) {
        Ok(Message::Response(r)) => {
            assert_eq!(&r.id, id, "the answer echoes the wrong id");
            let err = r.result.expect_err("an error answer");
            assert_eq!(err.code, code);
        }
        other => panic!(
            "the answer {} is not a valid response: {other:?}",
            String::from_utf8_lossy(answer)
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// codecs

type Outcome = Vec<Result<Vec<u8>, CodecError>>;

/// Decodes `input` cut into the given pieces, then ends the stream. After each read has been
/// decoded, asserts that at most `bound` bytes stay buffered.
fn decode_chunks<C: Codec>(mut codec: C, bound: usize, input: &[u8], sizes: &[usize]) -> Outcome {
    let max = codec.max_frame_size();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = input;
    let mut sizes = sizes.iter().copied().cycle();
    let push = |out: &mut Outcome, r: Result<Vec<u8>, CodecError>| {
        if let Ok(f) = &r {
            assert!(f.len() <= max, "a frame of {} bytes exceeds {max}", f.len());
        }
        out.push(r);
    };
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (read, tail) = rest.split_at(n);
        rest = tail;
        buf.extend_from_slice(read);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(f)) => push(&mut out, Ok(f.to_vec())),
                Ok(None) => break,
                Err(e) => {
                    let recoverable = e.is_recoverable();
                    push(&mut out, Err(e));
                    if !recoverable {
                        return out;
                    }
                }
            }
        }
        assert!(
            buf.len() <= bound,
            "{} bytes buffered, more than {bound}",
            buf.len()
        );
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(f)) => push(&mut out, Ok(f.to_vec())),
            Ok(None) => break,
            Err(e) => {
                push(&mut out, Err(e));
                break;
            }
        }
    }
    out
}

/// Splits fuzz input into (max frame size, chunk sizes, stream).
fn codec_script(data: &[u8]) -> (usize, Vec<usize>, &[u8]) {
    let mut s = Script { data };
    let max = usize::from(s.byte() % 64) + 1;
    let cuts = usize::from(s.byte() % 16);
    let sizes = s.bytes(cuts).iter().map(|&b| usize::from(b) + 1).collect();
    (max, sizes, s.data)
}

/// `codec_line`: any chunking yields the same frames and errors as one chunk; no more than the
/// max frame size plus one byte stays buffered; frames never exceed the max.
pub fn codec_line_target(data: &[u8]) {
    let (max, sizes, stream) = codec_script(data);
    let whole = decode_chunks(LineCodec::with_max_frame_size(max), max + 1, stream, &[]);
    let split = decode_chunks(LineCodec::with_max_frame_size(max), max + 1, stream, &sizes);
    assert_eq!(whole, split, "line framing depends on the chunking");
    let bytewise = decode_chunks(LineCodec::with_max_frame_size(max), max + 1, stream, &[1]);
    assert_eq!(whole, bytewise, "line framing depends on the chunking");
    // Re-encoding the frames and decoding again gives the same frames.
    let frames: Vec<&Vec<u8>> = whole.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut encoded = BytesMut::new();
    for f in &frames {
        LineCodec::new().encode(f, &mut encoded);
    }
    let again = decode_chunks(LineCodec::new(), usize::MAX, &encoded, &sizes);
    let again: Vec<Vec<u8>> = again.into_iter().map(|r| r.expect("no error")).collect();
    let want: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            f.iter()
                .map(|&b| if b == b'\r' { b' ' } else { b })
                .collect()
        })
        .collect();
    assert_eq!(again, want, "encode then decode changed the frames");
}

/// `codec_content_length`: as for lines; buffered bytes stay within the larger of the max frame
/// size and the header bound.
pub fn codec_content_length_target(data: &[u8]) {
    let (max, sizes, stream) = codec_script(data);
    let header = 32;
    let codec = || ContentLengthCodec::with_max_frame_size(max).max_header_size(header);
    let bound = max.max(header);
    let whole = decode_chunks(codec(), bound, stream, &[]);
    let split = decode_chunks(codec(), bound, stream, &sizes);
    assert_eq!(
        whole, split,
        "Content-Length framing depends on the chunking"
    );
    let bytewise = decode_chunks(codec(), bound, stream, &[1]);
    assert_eq!(
        whole, bytewise,
        "Content-Length framing depends on the chunking"
    );
    let frames: Vec<&Vec<u8>> = whole.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut encoded = BytesMut::new();
    for f in &frames {
        ContentLengthCodec::new().encode(f, &mut encoded);
    }
    let again = decode_chunks(ContentLengthCodec::new(), usize::MAX, &encoded, &sizes);
    let want: Outcome = frames.into_iter().map(|f| Ok(f.clone())).collect();
    assert_eq!(again, want, "encode then decode changed the frames");
}

// ---------------------------------------------------------------------------------------------
// connection

/// The fuzzer's small limits, so that they are reached.
pub fn connection_config() -> Config {
    Config {
        max_batch_len: 6,
        max_in_flight: 5,
        max_pending: 5,
        request_timeout: Some(Duration::from_millis(100)),
    }
}

struct Model {
    conn: Connection,
    config: Config,
    now: Instant,
    /// Outgoing requests awaiting their end, with their deadline.
    pending: BTreeMap<u64, Option<Instant>>,
    /// Ids that have ended (answered, timed out, closed or cancelled).
    ended: HashSet<u64>,
    handles: Vec<ResponseHandle>,
    closed: bool,
}

impl Model {
    fn new() -> Self {
        let config = connection_config();
        Model {
            conn: Connection::new(config.clone()),
            config,
            now: Instant::now(),
            pending: BTreeMap::new(),
            ended: HashSet::new(),
            handles: Vec::new(),
            closed: false,
        }
    }

    fn sent(&mut self, r: Result<Id, SendError>, timeout: Option<Duration>) {
        let full = self.pending.len() >= self.config.max_pending;
        match r {
            Ok(id) => {
                assert!(
                    !self.closed && !full,
                    "a request was accepted over the limit"
                );
                let n = id.as_u64().expect("outgoing ids are numbers");
                assert!(
                    !self.pending.contains_key(&n) && !self.ended.contains(&n),
                    "id {n} reused"
                );
                self.pending
                    .insert(n, timeout.and_then(|t| self.now.checked_add(t)));
            }
            Err(SendError::Closed) => assert!(self.closed),
            Err(SendError::TooManyPending { limit }) => {
                assert!(!self.closed && full);
                assert_eq!(limit, self.config.max_pending);
            }
        }
    }

    /// Drains events and transmits, checking every invariant.
    fn drain(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Request(req) => {
                    assert!(!self.closed);
                    assert_eq!(self.conn.request_id(&req.handle), Some(&req.request.id));
                    self.handles.push(req.handle);
                }
                Event::Response { id, result } => {
                    let n = id.as_u64().expect("outgoing ids are numbers");
                    assert!(
                        self.pending.remove(&n).is_some(),
                        "request {n} ended twice or was never sent"
                    );
                    self.ended.insert(n);
                    if self.closed {
                        assert!(matches!(result, Err(CallError::Closed)));
                    }
                }
                Event::UnmatchedResponse(resp) => {
                    if let Some(n) = resp.id.as_u64() {
                        assert!(
                            !self.pending.contains_key(&n),
                            "the answer to pending request {n} was reported unmatched"
                        );
                    }
                }
                Event::Notification(_) | Event::Invalid(_) | Event::ParseError(_) => {}
            }
        }
        while let Some(frame) = self.conn.poll_transmit() {
            assert!(
                parse(&frame).is_ok(),
                "transmitted invalid JSON: {}",
                String::from_utf8_lossy(&frame)
            );
            assert!(
                !frame.starts_with(b"[]"),
                "transmitted an empty batch: {}",
                String::from_utf8_lossy(&frame)
            );
        }
        if self.closed {
            assert!(self.pending.is_empty(), "close left requests pending");
        }
        assert_eq!(self.conn.pending(), self.pending.len());
        assert!(self.conn.pending() <= self.config.max_pending);
        assert!(self.conn.in_flight() <= self.config.max_in_flight);
        if !self.closed {
            assert_eq!(self.conn.in_flight(), self.handles.len());
        }
        assert_eq!(self.conn.is_closed(), self.closed);
    }

    /// A pending id, a finished id or an unknown one, chosen by `b`.
    fn some_id(&self, b: u8) -> u64 {
        let known: Vec<u64> = self.pending.keys().copied().collect();
        match b % 4 {
            0 | 1 if !known.is_empty() => known[usize::from(b) % known.len()],
            2 => self.ended.iter().copied().min().unwrap_or(u64::from(b)),
            _ => u64::from(b / 4),
        }
    }

    fn params(b: u8) -> Option<Box<RawValue>> {
        let text = match b % 4 {
            0 => return None,
            1 => "[1,2]",
            2 => r#"{"a":"x"}"#,
            _ => "[]",
        };
        RawValue::from_string(text.to_owned()).ok()
    }

    fn timeout(&self, b: u8) -> Option<Duration> {
        match b % 3 {
            0 => None,
            1 => self.config.request_timeout,
            _ => Some(Duration::from_millis(u64::from(b))),
        }
    }

    fn step(&mut self, s: &mut Script<'_>) {
        let op = s.byte();
        match op % 12 {
            // A raw frame from the peer.
            0 => {
                let len = usize::from(s.byte());
                let frame = s.bytes(len);
                self.conn.handle_frame(frame, self.now);
            }
            // A well-formed request or notification from the peer.
            1 => {
                let b = s.byte();
                let frame = match b % 3 {
                    0 => format!(r#"{{"jsonrpc":"2.0","method":"m","params":[{b}],"id":{b}}}"#),
                    1 => format!(r#"{{"jsonrpc":"2.0","method":"n","id":"s{b}"}}"#),
                    _ => r#"{"jsonrpc":"2.0","method":"note"}"#.to_owned(),
                };
                self.conn.handle_frame(frame.as_bytes(), self.now);
            }
            // A batch from the peer: requests, notifications, invalid members, responses.
            2 => {
                let n = usize::from(s.byte() % 9);
                let mut frame = String::from("[");
                for i in 0..n {
                    if i > 0 {
                        frame.push(',');
                    }
                    let b = s.byte();
                    let entry = match b % 5 {
                        0 | 1 => format!(r#"{{"jsonrpc":"2.0","method":"m","id":{b}}}"#),
                        2 => r#"{"jsonrpc":"2.0","method":"note"}"#.to_owned(),
                        3 => "1".to_owned(),
                        _ => format!(
                            r#"{{"jsonrpc":"2.0","result":{b},"id":{}}}"#,
                            self.some_id(b)
                        ),
                    };
                    frame.push_str(&entry);
                }
                frame.push(']');
                self.conn.handle_frame(frame.as_bytes(), self.now);
            }
            // A response from the peer to a pending, finished or unknown id.
            3 => {
                let b = s.byte();
                let id = self.some_id(b);
                let frame = if b % 2 == 0 {
                    format!(r#"{{"jsonrpc":"2.0","result":[{b}],"id":{id}}}"#)
                } else {
                    format!(r#"{{"jsonrpc":"2.0","error":{{"code":-1,"message":"no"}},"id":{id}}}"#)
                };
                self.conn.handle_frame(frame.as_bytes(), self.now);
            }
            // An outgoing request.
            4 => {
                let b = s.byte();
                let timeout = self.timeout(b);
                let params = Self::params(b);
                let r =
                    self.conn
                        .request_with_timeout("call", params.as_deref(), self.now, timeout);
                self.sent(r, timeout);
            }
            // An outgoing request with the default timeout.
            5 => {
                let r = self.conn.request("call", None, self.now);
                let timeout = self.config.request_timeout;
                self.sent(r, timeout);
            }
            // An outgoing notification.
            6 => {
                let params = Self::params(s.byte());
                let r = self.conn.notify("note", params.as_deref());
                assert_eq!(r.is_err(), self.closed);
            }
            // An outgoing batch.
            7 => {
                let n = s.byte() % 5;
                let mut results = Vec::new();
                {
                    let mut batch = self.conn.batch();
                    for _ in 0..n {
                        let b = s.byte();
                        if b % 3 == 0 {
                            let r = batch.notify("note", None);
                            assert_eq!(r.is_err(), self.closed);
                        } else {
                            let timeout = match b % 3 {
                                1 => None,
                                _ => Some(Duration::from_millis(u64::from(b))),
                            };
                            // Checked against the model after the batch is finished.
                            results.push((batch.request("call", None, self.now, timeout), timeout));
                        }
                    }
                    batch.finish();
                }
                for (r, timeout) in results {
                    self.sent(r, timeout);
                }
            }
            // Answer an incoming request.
            8 => {
                let b = s.byte();
                if !self.handles.is_empty() {
                    let h = self
                        .handles
                        .swap_remove(usize::from(b) % self.handles.len());
                    let one = RawValue::from_string("1".to_owned()).expect("JSON");
                    let err = ErrorObject::internal_error();
                    let result = if b % 2 == 0 { Ok(&*one) } else { Err(&err) };
                    let r = self.conn.respond(h, result);
                    assert_eq!(r.is_err(), self.closed, "respond: {r:?}");
                }
            }
            // Time passes.
            9 => {
                let ms = u64::from(s.byte());
                self.now += Duration::from_millis(ms * ms / 8);
                if self.pending.values().any(Option::is_some) {
                    assert!(
                        self.conn.poll_timeout().is_some(),
                        "a deadline without a timer"
                    );
                }
                if let Some(at) = self.conn.poll_timeout() {
                    assert!(
                        self.pending.values().flatten().all(|d| *d >= at),
                        "poll_timeout is later than a pending deadline"
                    );
                }
                self.conn.handle_timeout(self.now);
                self.drain();
                let now = self.now;
                assert!(
                    self.pending.values().flatten().all(|d| *d > now),
                    "an expired request is still pending"
                );
            }
            // Cancel a pending (or unknown) request.
            10 => {
                let id = Id::from(self.some_id(s.byte()));
                let was_pending = self.conn.is_pending(&id);
                assert_eq!(self.conn.cancel(&id), was_pending);
                if was_pending {
                    let n = id.as_u64().expect("numeric");
                    self.pending.remove(&n);
                    self.ended.insert(n);
                }
            }
            // Close (rarely).
            _ => {
                if s.byte() % 4 == 0 {
                    self.conn.close();
                    self.closed = true;
                    self.handles.clear();
                }
            }
        }
        self.drain();
    }
}

/// `connection`: an arbitrary script of incoming frames, outgoing requests, notifications and
/// batches, answers, clock advances, cancels and closes. Invariants: no panic; every
/// outgoing request ends exactly once (answer, timeout, cancel or close); an answer to a pending
/// request is never reported unmatched; every transmitted frame is valid JSON; pending and
/// in-flight counts match the model and stay within the configured limits.
pub fn connection_target(data: &[u8]) {
    let mut model = Model::new();
    let mut s = Script { data };
    let mut steps = 0;
    while !s.is_empty() && steps < 4096 {
        model.step(&mut s);
        steps += 1;
    }
    // Closing ends everything still pending, exactly once.
    model.conn.close();
    model.closed = true;
    model.handles.clear();
    model.drain();
}
