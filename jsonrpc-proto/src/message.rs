//! Requests, notifications and responses: strict parsing, validation and compact serialization.
//!
//! [`parse`] reads one complete JSON text (a frame) and classifies it. Params, results and error
//! data are borrowed from the input as [`RawValue`] (`Cow::Borrowed`): nothing is copied or
//! re-parsed on the hot path. [`Request::into_owned`] and friends detach a message from its
//! input when it must outlive the frame.
//!
//! # Validation
//! - `"jsonrpc"` must be present and be exactly the string `"2.0"`.
//! - A request has a string `"method"`; `"params"`, if present, is an array or an object
//!   (`null` is not allowed); `"id"`, if present, is a string, a number or `null`. Without
//!   `"id"` it is a notification.
//! - A response has an `"id"` (string, number or null) and exactly one of `"result"` and
//!   `"error"`; an error has an integer `"code"` and a string `"message"`.
//! - Invalid JSON is a [`ParseError`] (answered with -32700 and id null). Valid JSON that is not
//!   a valid message is [`Invalid`]: -32600 with the id echoed when it can be read, else null.
//! - **Unknown members are ignored** (for forward compatibility, as most implementations do); a
//!   member that appears twice makes the object invalid, since which of the two counts would be
//!   a guess.
//! - Method names starting with `rpc.` are reserved by the specification: they parse as
//!   ordinary requests here, and [`is_reserved_method`] lets a router refuse to register them.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::{ErrorObject, ParseError};
use crate::id::{write_json_str, Id};

/// The protocol version string every message carries.
pub const VERSION: &str = "2.0";

/// True for method names the specification reserves for rpc-internal methods (`rpc.` prefix).
pub fn is_reserved_method(method: &str) -> bool {
    method.starts_with("rpc.")
}

/// A call that expects a response.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The id the response must echo.
    pub id: Id,
    /// The method name.
    pub method: Cow<'a, str>,
    /// The params: an array (by position) or an object (by name), or absent.
    pub params: Option<Cow<'a, RawValue>>,
}

/// A call that expects no response.
#[derive(Clone, Debug)]
pub struct Notification<'a> {
    /// The method name.
    pub method: Cow<'a, str>,
    /// The params: an array (by position) or an object (by name), or absent.
    pub params: Option<Cow<'a, RawValue>>,
}

/// The answer to a request: a result or an error.
#[derive(Clone, Debug)]
pub struct Response<'a> {
    /// The id of the request this answers (null when that id could not be read).
    pub id: Id,
    /// The result, or the error object.
    pub result: Result<Cow<'a, RawValue>, ErrorObject>,
}

/// Any valid JSON-RPC 2.0 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A request.
    Request(Request<'a>),
    /// A notification.
    Notification(Notification<'a>),
    /// A response.
    Response(Response<'a>),
}

/// Which kind of message an invalid object looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidKind {
    /// Not a valid request: answered with -32600.
    Request,
    /// It carried `result` or `error` but no `method`, yet is not a valid response: never
    /// answered (answering a response could make two peers loop), reported locally instead.
    Response,
}

/// A JSON value that is not a valid message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The id to echo: the object's id when it could be read, else null.
    pub id: Id,
    /// What the object looked like.
    pub kind: InvalidKind,
    /// Why it is invalid, for logs (not sent: the spec's error object carries no data here).
    pub reason: &'static str,
}

impl Invalid {
    /// The error object that answers it: -32600 "Invalid Request".
    pub fn error(&self) -> ErrorObject {
        ErrorObject::invalid_request()
    }

    /// The response to send for it, or `None` for an invalid response (never answered).
    pub fn to_response(&self) -> Option<Response<'static>> {
        match self.kind {
            InvalidKind::Request => Some(Response::error(self.id.clone(), self.error())),
            InvalidKind::Response => None,
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            InvalidKind::Request => "request",
            InvalidKind::Response => "response",
        };
        write!(f, "invalid {what} (id {}): {}", self.id, self.reason)
    }
}

/// One member of the input: a valid message or an invalid object.
pub type Entry<'a> = Result<Message<'a>, Invalid>;

/// A parsed frame: one object (or other JSON value), or a non-empty batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A single JSON value. An empty array `[]` is reported here as an invalid request, since
    /// the specification answers it with one error object, not an array.
    Single(Entry<'a>),
    /// A non-empty array: one entry per member, in order.
    Batch(Vec<Entry<'a>>),
}

/// Parses one complete JSON text into a message or batch.
///
/// ```
/// use jsonrpc_proto::{parse, Incoming, Message};
/// let frame = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
/// let Incoming::Single(Ok(Message::Request(req))) = parse(frame).unwrap() else { panic!() };
/// assert_eq!(req.method, "subtract");
/// assert_eq!(req.params.unwrap().get(), "[42,23]");
/// ```
pub fn parse(input: &[u8]) -> Result<Incoming<'_>, ParseError> {
    // The fast path reads "jsonrpc" and "method" as strings directly. serde_json refuses some
    // strings that are valid JSON text (a lone surrogate escape such as "\ud800"), and the
    // strict meaning of those is -32600, not -32700: on any error, parse again reading them as
    // raw JSON first (the slow path costs only on input that is invalid anyway).
    //
    // UTF-8 is checked once, up front, and the text then read as `str`, so serde_json skips
    // its per-string and per-raw-value UTF-8 checks.
    // JSON text is UTF-8 (RFC 8259 section 8.1): anything else is a parse error, wherever the
    // bad byte is (serde_json would skip it inside a member we ignore).
    let text = std::str::from_utf8(input).map_err(utf8_error)?;
    if let Some((incoming, _)) = parse_compact(text) {
        return Ok(incoming);
    }
    parse_general(input, text)
}

/// [`parse`] after its compact fast path: `text` is `input`, checked to be UTF-8.
pub(crate) fn parse_general<'a>(
    input: &'a [u8],
    text: &'a str,
) -> Result<Incoming<'a>, ParseError> {
    match serde_json::from_str::<Top<'_, true>>(text) {
        Ok(top) => Ok(top.into_incoming()),
        Err(_) => match serde_json::from_slice::<Top<'_, false>>(input) {
            Ok(top) => Ok(top.into_incoming()),
            Err(e) => Err(ParseError(e.to_string())),
        },
    }
}

pub(crate) fn utf8_error(e: std::str::Utf8Error) -> ParseError {
    ParseError(format!("invalid UTF-8 at byte {}", e.valid_up_to()))
}

/// [`parse`] without its fast path: the reference the fuzzer compares it with.
#[doc(hidden)]
pub fn parse_reference(input: &[u8]) -> Result<Incoming<'_>, ParseError> {
    std::str::from_utf8(input).map_err(utf8_error)?;
    match serde_json::from_slice::<Top<'_, false>>(input) {
        Ok(top) => Ok(top.into_incoming()),
        Err(e) => Err(ParseError(e.to_string())),
    }
}

impl<'a, const FAST: bool> Top<'a, FAST> {
    fn into_incoming(self) -> Incoming<'a> {
        match self {
            Top::Object(entry) => Incoming::Single(entry),
            Top::Other => Incoming::Single(Err(Invalid {
                id: Id::Null,
                kind: InvalidKind::Request,
                reason: "not an object or array",
            })),
            Top::Array(members) if members.is_empty() => Incoming::Single(Err(Invalid {
                id: Id::Null,
                kind: InvalidKind::Request,
                reason: "empty batch",
            })),
            Top::Array(entries) => Incoming::Batch(entries),
        }
    }
}

/// Parses a frame that must hold exactly one valid message (a convenience for clients and tests).
pub fn parse_message(input: &[u8]) -> Result<Message<'_>, MessageError> {
    match parse(input)? {
        Incoming::Single(Ok(m)) => Ok(m),
        Incoming::Single(Err(invalid)) => Err(MessageError::Invalid(invalid)),
        Incoming::Batch(_) => Err(MessageError::UnexpectedBatch),
    }
}

/// Why [`parse_message`] found no single valid message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MessageError {
    /// The input is not JSON.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The input is JSON but not a valid message.
    #[error("{0}")]
    Invalid(Invalid),
    /// The input is a batch.
    #[error("expected one message, got a batch")]
    UnexpectedBatch,
}

// ---------------------------------------------------------------------------------------------
// The compact fast path: what clients and servers write (no whitespace between tokens, plain
// member names and "jsonrpc"/"method" strings), read without serde's visitor machinery. Any
// other shape returns `None` and is read by serde_json below; on input it accepts, it gives
// exactly what that reading gives (the fuzz target compares `parse` with `parse_reference`).

/// Reads `text` when it is one object or a non-empty array of objects in compact form; also
/// gives how deep the text nests arrays and objects (as [`crate::limits::nesting_exceeds`]
/// counts them).
pub(crate) fn parse_compact(text: &str) -> Option<(Incoming<'_>, usize)> {
    let b = text.as_bytes();
    match b.first()? {
        b'{' => {
            let (fields, end, depth) = compact_object(text, 0)?;
            (end == b.len()).then(|| (Incoming::Single(fields.validate()), depth))
        }
        b'[' => {
            // Room for the members a compact frame of this size can hold (bounded).
            let mut members = Vec::with_capacity((b.len() / 40).clamp(4, 1024));
            let mut pos = 1;
            let mut depth = 0;
            loop {
                if b.get(pos) != Some(&b'{') {
                    return None;
                }
                let (fields, end, d) = compact_object(text, pos)?;
                depth = depth.max(d);
                members.push(fields.validate());
                match b.get(end)? {
                    b',' => pos = end + 1,
                    b']' => {
                        pos = end + 1;
                        break;
                    }
                    _ => return None,
                }
            }
            (pos == b.len()).then_some((Incoming::Batch(members), depth + 1))
        }
        _ => None,
    }
}

/// Reads the object that starts at `pos` (a `{`); returns its fields, the index after it and
/// its nesting depth.
fn compact_object(text: &str, pos: usize) -> Option<(Fields<'_>, usize, usize)> {
    let b = text.as_bytes();
    let mut f = Fields::default();
    let mut i = pos + 1;
    let mut depth = 0;
    if b.get(i) == Some(&b'}') {
        return Some((f, i + 1, 1));
    }
    loop {
        let (key, after) = compact_key(text, i)?;
        i = after;
        match key {
            Key::Jsonrpc => {
                let v = if b[i..].starts_with(b"\"2.0\"") {
                    i += 5;
                    Version::V2
                } else {
                    let (v, after) = plain_str(text, i)?;
                    i = after;
                    if v == VERSION {
                        Version::V2
                    } else {
                        Version::Other
                    }
                };
                f.duplicate |= f.jsonrpc.replace(v).is_some();
            }
            Key::Method => {
                let (v, after) = plain_str(text, i)?;
                f.duplicate |= f.method.replace(StrValue::Str(Cow::Borrowed(v))).is_some();
                i = after;
            }
            Key::Id => {
                let (end, d) = value_end(b, i)?;
                depth = depth.max(d);
                let v = &text[i..end];
                // Common ids are checked here; serde_json checks any other text exactly.
                if !is_plain_id(v.as_bytes()) {
                    serde_json::from_str::<&RawValue>(v).ok()?;
                }
                f.duplicate |= f.id.replace(v).is_some();
                i = end;
            }
            _ => {
                let (end, d) = value_end(b, i)?;
                depth = depth.max(d);
                // serde_json checks the value exactly (and borrows it, as the slow path does).
                let raw: &RawValue = serde_json::from_str(&text[i..end]).ok()?;
                let slot = match key {
                    Key::Params => Some(&mut f.params),
                    Key::Result => Some(&mut f.result),
                    Key::Error => Some(&mut f.error),
                    _ => None,
                };
                if let Some(slot) = slot {
                    f.duplicate |= slot.replace(raw).is_some();
                }
                i = end;
            }
        }
        match b.get(i)? {
            b',' => i += 1,
            b'}' => return Some((f, i + 1, depth + 1)),
            _ => return None,
        }
    }
}

/// The member name that starts at `i` (a `"`), and the index after the `:` that follows it.
fn compact_key(text: &str, i: usize) -> Option<(Key, usize)> {
    let b = text.as_bytes();
    let rest = b.get(i..)?;
    // The names peers write, recognized by their exact text with the quotes and the colon.
    let known = match rest.get(1) {
        Some(b'j') if rest.starts_with(b"\"jsonrpc\":") => Some((Key::Jsonrpc, 10)),
        Some(b'm') if rest.starts_with(b"\"method\":") => Some((Key::Method, 9)),
        Some(b'p') if rest.starts_with(b"\"params\":") => Some((Key::Params, 9)),
        Some(b'i') if rest.starts_with(b"\"id\":") => Some((Key::Id, 5)),
        Some(b'r') if rest.starts_with(b"\"result\":") => Some((Key::Result, 9)),
        Some(b'e') if rest.starts_with(b"\"error\":") => Some((Key::Error, 8)),
        _ => None,
    };
    if let Some((key, len)) = known {
        return Some((key, i + len));
    }
    let (name, after) = plain_str(text, i)?;
    if b.get(after) != Some(&b':') {
        return None;
    }
    Some((Key::from_name(name), after + 1))
}

/// True for JSON text that is certainly a valid JSON value of the common id shapes: `null`, an
/// integer without sign, fraction or exponent (and no leading zero), or a string without
/// escapes or control characters (`text` is known to be UTF-8).
fn is_plain_id(text: &[u8]) -> bool {
    match text {
        b"null" | b"0" => true,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        [b'"', inner @ .., b'"'] => !inner.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20),
        _ => false,
    }
}

/// The string that starts at `i` when it has no escapes and no control characters (then its
/// text is its value); and the index after its closing quote.
fn plain_str(text: &str, i: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let len = b
        .get(i + 1..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    let end = i + 1 + len;
    // Quotes are ASCII: both ends are character boundaries.
    (b[end] == b'"').then(|| (&text[i + 1..end], end + 1))
}

/// Where the value that starts at `i` ends, judged by brackets and strings only: at the first
/// `,`, `]` or `}` outside strings that is not inside the value; and how deep it nests. `None`
/// at the end of input or when the value is empty or starts or ends with whitespace
/// (serde_json would not include that whitespace in the raw value).
fn value_end(b: &[u8], start: usize) -> Option<(usize, usize)> {
    let mut i = start;
    let mut depth = 0usize;
    let mut deepest = 0usize;
    loop {
        match *b.get(i)? {
            b'"' => {
                i += 1;
                loop {
                    // long strings (a 1 MiB result) are skipped a block at a time
                    i = crate::limits::next_quote_or_escape(b, i);
                    match *b.get(i)? {
                        b'"' => break,
                        _ => i += 2,
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' if depth == 0 => break,
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    (i > start && !is_ws(b[start]) && !is_ws(b[i - 1])).then_some((i, deepest))
}

// ---------------------------------------------------------------------------------------------
// Single-pass scanning: every member value is borrowed as raw JSON text and validated after.

#[derive(Default)]
struct Fields<'a> {
    jsonrpc: Option<Version>,
    method: Option<StrValue<'a>>,
    params: Option<&'a RawValue>,
    /// The id's JSON text (checked to be JSON; whether it is a valid id is judged later).
    id: Option<&'a str>,
    result: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
    duplicate: bool,
}

/// `FAST`: read "jsonrpc" and "method" as strings (see [`parse`]), else as raw JSON first.
enum Top<'a, const FAST: bool> {
    /// Validated as soon as it is read, so the raw fields are never moved around.
    Object(Entry<'a>),
    /// Members are validated as they are read: no intermediate vector.
    Array(Vec<Entry<'a>>),
    Other,
}

enum Member<'a, const FAST: bool> {
    Object(Fields<'a>),
    Other,
}

enum Key {
    Jsonrpc,
    Method,
    Params,
    Id,
    Result,
    Error,
    Other,
}

impl Key {
    /// The member a (decoded) name stands for.
    fn from_name(name: &str) -> Key {
        match name {
            "jsonrpc" => Key::Jsonrpc,
            "method" => Key::Method,
            "params" => Key::Params,
            "id" => Key::Id,
            "result" => Key::Result,
            "error" => Key::Error,
            _ => Key::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key::from_name(v))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// The `"jsonrpc"` member, checked while it is read (no copy, no second parse).
enum Version {
    /// The string `"2.0"` (in any spelling, escapes included).
    V2,
    /// Any other value.
    Other,
}

/// A member that must be a string (`"method"`): borrowed when it has no escapes.
enum StrValue<'a> {
    Str(Cow<'a, str>),
    /// Present but not a string.
    Other,
}

/// Accepts any JSON value, keeping strings (`S`) and reducing everything else to `other`.
/// Reading `"jsonrpc"` and `"method"` this way instead of as `&RawValue` spares a UTF-8
/// re-validation and a second parse of each (the hottest part of `parse`, measured).
struct AnyValue<F>(F);

macro_rules! other_value {
    ($($visit:ident: $t:ty),*) => {$(
        fn $visit<E: de::Error>(self, _: $t) -> Result<Self::Value, E> {
            Ok((self.0)(None))
        }
    )*};
}

impl<'de, T, F: FnOnce(Option<Cow<'de, str>>) -> T> Visitor<'de> for AnyValue<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<T, E> {
        Ok((self.0)(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.0)(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok((self.0)(Some(Cow::Owned(v))))
    }
    other_value!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok((self.0)(None))
    }
    // An array or object here is invalid anyway, and skipping it would not check the UTF-8 of
    // the strings inside (the raw path does): hand it to the raw path (found by the fuzzer).
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(de::Error::custom("structured value: use the raw path"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(de::Error::custom("structured value: use the raw path"))
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue(|s: Option<Cow<'de, str>>| match s.as_deref() {
            Some(VERSION) => Version::V2,
            _ => Version::Other,
        }))
    }
}

impl<'de> Deserialize<'de> for StrValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue(|s: Option<Cow<'de, str>>| match s {
            Some(s) => StrValue::Str(s),
            None => StrValue::Other,
        }))
    }
}

fn read_fields<'de, A: MapAccess<'de>, const FAST: bool>(
    mut map: A,
) -> Result<Fields<'de>, A::Error> {
    let mut f = Fields::default();
    while let Some(key) = map.next_key::<Key>()? {
        let slot = match key {
            Key::Jsonrpc => {
                let v = if FAST {
                    map.next_value::<Version>()?
                } else {
                    match json_str(map.next_value::<&'de RawValue>()?).as_deref() {
                        Some(VERSION) => Version::V2,
                        _ => Version::Other,
                    }
                };
                f.duplicate |= f.jsonrpc.replace(v).is_some();
                continue;
            }
            Key::Method => {
                let v = if FAST {
                    map.next_value::<StrValue<'de>>()?
                } else {
                    match json_str(map.next_value::<&'de RawValue>()?) {
                        Some(s) => StrValue::Str(s),
                        None => StrValue::Other,
                    }
                };
                f.duplicate |= f.method.replace(v).is_some();
                continue;
            }
            Key::Params => &mut f.params,
            Key::Id => {
                let v = map.next_value::<&'de RawValue>()?;
                f.duplicate |= f.id.replace(v.get()).is_some();
                continue;
            }
            Key::Result => &mut f.result,
            Key::Error => &mut f.error,
            Key::Other => {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
        };
        let value = map.next_value::<&'de RawValue>()?;
        if slot.is_some() {
            f.duplicate = true;
        }
        *slot = Some(value);
    }
    Ok(f)
}

impl<'de, const FAST: bool> Deserialize<'de> for Top<'de, FAST> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const FAST: bool>;
        impl<'de, const FAST: bool> Visitor<'de> for V<FAST> {
            type Value = Top<'de, FAST>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Top<'de, FAST>, A::Error> {
                read_fields::<A, FAST>(map).map(|f| Top::Object(f.validate()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'de, FAST>, A::Error> {
                let mut members = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(1024));
                while let Some(m) = seq.next_element::<Member<'de, FAST>>()? {
                    members.push(match m {
                        Member::Object(fields) => fields.validate(),
                        Member::Other => Err(Invalid {
                            id: Id::Null,
                            kind: InvalidKind::Request,
                            reason: "batch member is not an object",
                        }),
                    });
                }
                Ok(Top::Array(members))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
        }
        d.deserialize_any(V::<FAST>)
    }
}

impl<'de, const FAST: bool> Deserialize<'de> for Member<'de, FAST> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const FAST: bool>;
        impl<'de, const FAST: bool> Visitor<'de> for V<FAST> {
            type Value = Member<'de, FAST>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de, FAST>, A::Error> {
                read_fields::<A, FAST>(map).map(Member::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Member<'de, FAST>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Member::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
        }
        d.deserialize_any(V::<FAST>)
    }
}

/// Reads a JSON string value, borrowing it when it has no escapes (the slow path of [`parse`]).
fn json_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        if !bytes.contains(&b'\\') {
            return Some(Cow::Borrowed(&text[1..text.len() - 1]));
        }
        return serde_json::from_str::<String>(text).ok().map(Cow::Owned);
    }
    None
}

fn is_structured(raw: &RawValue) -> bool {
    matches!(raw.get().as_bytes().first(), Some(b'[') | Some(b'{'))
}

impl<'a> Fields<'a> {
    fn validate(self) -> Entry<'a> {
        let is_response = self.method.is_none() && (self.result.is_some() || self.error.is_some());
        let kind = if is_response {
            InvalidKind::Response
        } else {
            InvalidKind::Request
        };
        // The id as far as it can be read: `None` when absent, `Some(None)` when not an id.
        let id: Option<Option<Id>> = self.id.map(Id::from_json);
        let echo = || id.clone().flatten().unwrap_or(Id::Null);
        let invalid = |reason: &'static str| {
            Err(Invalid {
                id: echo(),
                kind,
                reason,
            })
        };

        if self.duplicate {
            return invalid("a member appears more than once");
        }
        match self.jsonrpc {
            None => return invalid("missing member \"jsonrpc\""),
            Some(Version::V2) => {}
            Some(Version::Other) => return invalid("\"jsonrpc\" must be exactly \"2.0\""),
        }
        if let Some(method) = self.method {
            let StrValue::Str(method) = method else {
                return invalid("\"method\" must be a string");
            };
            if self.result.is_some() || self.error.is_some() {
                return invalid("a request cannot carry \"result\" or \"error\"");
            }
            let params = match self.params {
                None => None,
                Some(p) if is_structured(p) => Some(Cow::Borrowed(p)),
                Some(_) => return invalid("\"params\" must be an array or an object"),
            };
            return match id {
                None => Ok(Message::Notification(Notification { method, params })),
                Some(Some(id)) => Ok(Message::Request(Request { id, method, params })),
                Some(None) => invalid("\"id\" must be a string, a number or null"),
            };
        }
        if !is_response {
            return invalid("missing member \"method\"");
        }
        if self.params.is_some() {
            return invalid("a response cannot carry \"params\"");
        }
        let result = match (self.result, self.error) {
            (Some(r), None) => Ok(Cow::Borrowed(r)),
            (None, Some(e)) => {
                if !e.get().starts_with('{') {
                    return invalid("\"error\" must be an object");
                }
                match serde_json::from_str::<ErrorObject>(e.get()) {
                    Ok(err) => Err(err),
                    Err(_) => {
                        return invalid(
                            "\"error\" needs an integer \"code\" and a string \"message\"",
                        )
                    }
                }
            }
            _ => return invalid("a response has exactly one of \"result\" and \"error\""),
        };
        let reason = match id {
            Some(Some(id)) => return Ok(Message::Response(Response { id, result })),
            Some(None) => "\"id\" must be a string, a number or null",
            None => "a response must carry \"id\"",
        };
        Err(Invalid {
            id: Id::Null,
            kind,
            reason,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Construction, ownership, equality and serialization.

fn raw_text<'r>(raw: &'r Option<Cow<'_, RawValue>>) -> Option<&'r str> {
    raw.as_deref().map(RawValue::get)
}

/// Messages compare equal when their ids, methods and the exact JSON text of their params,
/// results and error data are equal.
impl PartialEq for Request<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id && self.method == o.method && raw_text(&self.params) == raw_text(&o.params)
    }
}
impl Eq for Request<'_> {}

impl PartialEq for Notification<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.method == o.method && raw_text(&self.params) == raw_text(&o.params)
    }
}
impl Eq for Notification<'_> {}

impl PartialEq for Response<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
            && match (&self.result, &o.result) {
                (Ok(a), Ok(b)) => a.get() == b.get(),
                (Err(a), Err(b)) => a == b,
                _ => false,
            }
    }
}
impl Eq for Response<'_> {}

fn raw_cow_into_owned(raw: Cow<'_, RawValue>) -> Cow<'static, RawValue> {
    Cow::Owned(raw.into_owned())
}

impl<'a> Request<'a> {
    /// A request with params already serialized as raw JSON.
    pub fn new(
        id: impl Into<Id>,
        method: impl Into<Cow<'a, str>>,
        params: Option<Cow<'a, RawValue>>,
    ) -> Self {
        Request {
            id: id.into(),
            method: method.into(),
            params,
        }
    }

    /// Detaches the request from its input.
    pub fn into_owned(self) -> Request<'static> {
        Request {
            id: self.id,
            method: Cow::Owned(self.method.into_owned()),
            params: self.params.map(raw_cow_into_owned),
        }
    }

    /// Writes compact JSON: `{"jsonrpc":"2.0","method":..,"params":..,"id":..}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_call(out, &self.method, self.params.as_deref(), Some(&self.id));
    }

    /// The compact JSON text.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_json(&mut out);
        out
    }
}

impl<'a> Notification<'a> {
    /// A notification with params already serialized as raw JSON.
    pub fn new(method: impl Into<Cow<'a, str>>, params: Option<Cow<'a, RawValue>>) -> Self {
        Notification {
            method: method.into(),
            params,
        }
    }

    /// Detaches the notification from its input.
    pub fn into_owned(self) -> Notification<'static> {
        Notification {
            method: Cow::Owned(self.method.into_owned()),
            params: self.params.map(raw_cow_into_owned),
        }
    }

    /// Writes compact JSON: `{"jsonrpc":"2.0","method":..,"params":..}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_call(out, &self.method, self.params.as_deref(), None);
    }

    /// The compact JSON text.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_json(&mut out);
        out
    }
}

impl<'a> Response<'a> {
    /// A success response.
    pub fn ok(id: Id, result: Cow<'a, RawValue>) -> Self {
        Response {
            id,
            result: Ok(result),
        }
    }

    /// An error response.
    pub fn error(id: Id, error: ErrorObject) -> Self {
        Response {
            id,
            result: Err(error),
        }
    }

    /// Detaches the response from its input.
    pub fn into_owned(self) -> Response<'static> {
        Response {
            id: self.id,
            result: self.result.map(raw_cow_into_owned),
        }
    }

    /// Writes compact JSON: `{"jsonrpc":"2.0","result":..,"id":..}` or with `"error"`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_response(out, &self.id, self.result.as_deref());
    }

    /// The compact JSON text.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_json(&mut out);
        out
    }
}

impl<'a> Message<'a> {
    /// Detaches the message from its input.
    pub fn into_owned(self) -> Message<'static> {
        match self {
            Message::Request(r) => Message::Request(r.into_owned()),
            Message::Notification(n) => Message::Notification(n.into_owned()),
            Message::Response(r) => Message::Response(r.into_owned()),
        }
    }

    /// Writes compact JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_json(out),
            Message::Notification(n) => n.write_json(out),
            Message::Response(r) => r.write_json(out),
        }
    }

    /// The compact JSON text.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_json(&mut out);
        out
    }
}

/// Writes a request (with `id`) or notification (without) as compact JSON.
pub fn write_call(out: &mut Vec<u8>, method: &str, params: Option<&RawValue>, id: Option<&Id>) {
    write_call_text(out, method, params.map(|p| p.get().as_bytes()), id);
}

/// [`write_call`] with params given as JSON text the caller vouches for (an array or object
/// serde_json wrote).
pub(crate) fn write_call_text(
    out: &mut Vec<u8>,
    method: &str,
    params: Option<&[u8]>,
    id: Option<&Id>,
) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":");
    write_json_str(method, out);
    if let Some(p) = params {
        out.extend_from_slice(b",\"params\":");
        out.extend_from_slice(p);
    }
    if let Some(id) = id {
        out.extend_from_slice(b",\"id\":");
        id.write_json(out);
    }
    out.push(b'}');
}

/// Writes a response as compact JSON.
pub fn write_response(out: &mut Vec<u8>, id: &Id, result: Result<&RawValue, &ErrorObject>) {
    match result {
        Ok(r) => {
            out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"result\":");
            out.extend_from_slice(r.get().as_bytes());
        }
        Err(e) => {
            out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"error\":");
            e.write_json(out);
        }
    }
    out.extend_from_slice(b",\"id\":");
    id.write_json(out);
    out.push(b'}');
}

impl Serialize for Request<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Request", 4)?;
        st.serialize_field("jsonrpc", VERSION)?;
        st.serialize_field("method", &self.method)?;
        if let Some(p) = &self.params {
            st.serialize_field("params", p)?;
        }
        st.serialize_field("id", &self.id)?;
        st.end()
    }
}

impl Serialize for Notification<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Notification", 3)?;
        st.serialize_field("jsonrpc", VERSION)?;
        st.serialize_field("method", &self.method)?;
        if let Some(p) = &self.params {
            st.serialize_field("params", p)?;
        }
        st.end()
    }
}

impl Serialize for Response<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Response", 3)?;
        st.serialize_field("jsonrpc", VERSION)?;
        match &self.result {
            Ok(r) => st.serialize_field("result", r)?,
            Err(e) => st.serialize_field("error", e)?,
        }
        st.serialize_field("id", &self.id)?;
        st.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Message::Request(r) => r.serialize(s),
            Message::Notification(n) => n.serialize(s),
            Message::Response(r) => r.serialize(s),
        }
    }
}

/// Serializes `value` as params or a result. Fails for values JSON cannot represent.
pub fn to_raw(value: &impl Serialize) -> Result<Box<RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(value)
}
