//! Compact serialization by direct byte writes, and serde's `Serialize` for messages.

use super::model::*;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::{write_json_str, Id, IdNumber};

/// Writes a request (with `id`) or notification (without) as compact JSON.
pub fn write_call(out: &mut Vec<u8>, method: &str, params: Option<&RawValue>, id: Option<&Id>) {
    write_call_text(out, method, params.map(|p| p.get().as_bytes()), id);
}

/// The start of every call [`write_call_text`] writes: `{"jsonrpc":"2.0","method":M`.
pub(crate) fn write_call_head(out: &mut Vec<u8>, method: &str) {
    const HEAD: &[u8] = b"{\"jsonrpc\":\"2.0\",\"method\":\"";
    // method names are short: a plain test of each byte
    if method.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.extend_from_slice(&HEAD[..HEAD.len() - 1]);
        write_json_str(method, out);
    } else {
        out.reserve(HEAD.len() + method.len() + 1);
        out.extend_from_slice(HEAD);
        out.extend_from_slice(method.as_bytes());
        out.push(b'"');
    }
}

/// [`write_call`] with params given as JSON text the caller vouches for (an array or object
/// serde_json wrote).
pub(crate) fn write_call_text(
    out: &mut Vec<u8>,
    method: &str,
    params: Option<&[u8]>,
    id: Option<&Id>,
) {
    write_call_head(out, method);
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

/// The exact length of `id` as compact JSON, when it is known without writing it: always but
/// for a string id that needs escapes.
fn id_json_len(id: &Id) -> Option<usize> {
    fn digits(mut v: u64) -> usize {
        let mut n = 1;
        while v >= 10 {
            v /= 10;
            n += 1;
        }
        n
    }
    match id {
        Id::Null => Some(4),
        Id::Number(IdNumber::Unsigned(u)) => Some(digits(*u)),
        Id::Number(IdNumber::Negative(i)) => Some(digits(i.unsigned_abs()) + usize::from(*i < 0)),
        Id::Number(IdNumber::Text(t)) => Some(t.as_str().len()),
        Id::String(s) => str_json_len(s),
    }
}

/// The length of `s` as a JSON string literal when it needs no escapes.
fn str_json_len(s: &str) -> Option<usize> {
    let plain = !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
    plain.then_some(s.len() + 2)
}

/// The length of the call [`write_call`] writes, exactly when the method needs no escapes and
/// the id's length is known ([`id_json_len`]); an estimate otherwise.
pub(crate) fn call_len(method: &str, params: Option<&RawValue>, id: Option<&Id>) -> usize {
    call_text_len(method, params.map(|p| p.get().len()), id)
}

/// [`call_len`] with the length of the params' JSON text (as [`write_call_text`] takes them).
pub(crate) fn call_text_len(method: &str, params_len: Option<usize>, id: Option<&Id>) -> usize {
    const FIXED: usize = r#"{"jsonrpc":"2.0","method":}"#.len();
    const PARAMS: usize = r#","params":"#.len();
    const ID: usize = r#","id":"#.len();
    FIXED
        + str_json_len(method).unwrap_or(method.len() + 16)
        + params_len.map_or(0, |p| PARAMS + p)
        + id.map_or(0, |id| ID + id_json_len(id).unwrap_or(16))
}

/// A result's JSON text as a response carries it: raw JSON, or the content of a JSON string
/// that needs no escapes (checked by [`needs_escape`] where it is made), written between quotes
/// as it is, so that a long text result is copied once, into its frame, and never re-read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ResultText<'a> {
    /// JSON text as it is.
    Json(&'a RawValue),
    /// The content of a string literal with nothing to escape.
    Plain(&'a str),
    /// JSON text as it is, that its maker vouches for (serde_json wrote it).
    Text(&'a [u8]),
}

impl ResultText<'_> {
    /// The length of the JSON text.
    pub(crate) fn json_len(self) -> usize {
        match self {
            ResultText::Json(r) => r.get().len(),
            ResultText::Plain(s) => s.len() + 2,
            ResultText::Text(s) => s.len(),
        }
    }

    fn write(self, out: &mut Vec<u8>) {
        match self {
            ResultText::Json(r) => out.extend_from_slice(r.get().as_bytes()),
            ResultText::Text(s) => out.extend_from_slice(s),
            ResultText::Plain(s) => {
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
            }
        }
    }
}

impl<'a> From<&'a RawValue> for ResultText<'a> {
    fn from(raw: &'a RawValue) -> Self {
        ResultText::Json(raw)
    }
}

/// True when a JSON string literal of `bytes` needs an escape (a control character, `"` or
/// `\`). Whole chunks are folded without an early exit, so the compiler checks many bytes
/// per instruction.
pub(crate) fn needs_escape(bytes: &[u8]) -> bool {
    let bad = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let mut chunks = bytes.chunks_exact(64);
    for chunk in chunks.by_ref() {
        if chunk.iter().fold(false, |acc, &b| acc | bad(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| bad(b))
}

/// The length of the response [`write_response`] writes for a result, exactly when the id's
/// length is known ([`id_json_len`]); an estimate otherwise and for errors.
pub(crate) fn response_len(id: &Id, result: Result<ResultText<'_>, &ErrorObject>) -> usize {
    const OK_FIXED: usize = r#"{"jsonrpc":"2.0","result":,"id":}"#.len();
    let id = id_json_len(id).unwrap_or(16);
    match result {
        Ok(r) => OK_FIXED + r.json_len() + id,
        Err(e) => 96 + e.message.len() + e.data.as_ref().map_or(0, |d| d.get().len()) + id,
    }
}

/// A response as one compact JSON frame whose capacity is its length when the length is known
/// in advance (a result, and an id other than a string with escapes), so that turning it into
/// `Bytes` takes no second allocation and a large result is copied once, never regrown.
pub(crate) fn response_frame(id: &Id, result: Result<ResultText<'_>, &ErrorObject>) -> Vec<u8> {
    let mut out = Vec::with_capacity(response_len(id, result));
    write_response_text(&mut out, id, result);
    out
}

/// Writes a response as compact JSON.
pub fn write_response(out: &mut Vec<u8>, id: &Id, result: Result<&RawValue, &ErrorObject>) {
    write_response_text(out, id, result.map(ResultText::Json));
}

/// [`write_response`] for a [`ResultText`].
pub(crate) fn write_response_text(
    out: &mut Vec<u8>,
    id: &Id,
    result: Result<ResultText<'_>, &ErrorObject>,
) {
    match result {
        Ok(r) => {
            out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"result\":");
            r.write(out);
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

impl Request<'_> {
    /// Writes compact JSON: `{"jsonrpc":"2.0","method":..,"params":..,"id":..}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_call(out, &self.method, self.params.as_deref(), Some(&self.id));
    }
}

impl Notification<'_> {
    /// Writes compact JSON: `{"jsonrpc":"2.0","method":..,"params":..}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_call(out, &self.method, self.params.as_deref(), None);
    }
}

impl Response<'_> {
    /// Writes compact JSON: `{"jsonrpc":"2.0","result":..,"id":..}` or with `"error"`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_response(out, &self.id, self.result.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<Id> {
        vec![
            Id::Null,
            Id::from(0u64),
            Id::from(9u64),
            Id::from(10u64),
            Id::from(u64::MAX),
            Id::from(-1i64),
            Id::from(i64::MIN),
            Id::from_json("1.5e3").expect("a number id"),
            Id::String("abc".into()),
            Id::String(String::new()),
        ]
    }

    #[test]
    fn response_frames_are_exactly_as_long_as_their_text() {
        let result = RawValue::from_string("[1,\"x\"]".into()).expect("valid JSON");
        for id in ids() {
            let frame = response_frame(&id, Ok(ResultText::Json(&result)));
            let mut plain = Vec::new();
            write_response(&mut plain, &id, Ok(&result));
            assert_eq!(frame, plain, "{id:?}");
            assert_eq!(frame.len(), frame.capacity(), "{id:?}");
        }
    }

    #[test]
    fn plain_text_results_are_written_between_quotes_at_their_exact_length() {
        for text in ["", "x", "caf\u{e9} \u{1f600}", &"a".repeat(70_000)] {
            assert!(!needs_escape(text.as_bytes()));
            for id in ids() {
                let frame = response_frame(&id, Ok(ResultText::Plain(text)));
                let json = serde_json::to_string(text).expect("a string");
                let raw = RawValue::from_string(json).expect("valid JSON");
                let mut plain = Vec::new();
                write_response(&mut plain, &id, Ok(&raw));
                assert_eq!(frame, plain, "{id:?}");
                assert_eq!(frame.len(), frame.capacity(), "{id:?}");
            }
        }
    }

    #[test]
    fn escapes_are_found_in_every_position() {
        for c in [b'"', b'\\', b'\n', 0x00, 0x1f] {
            for len in [1usize, 63, 64, 65, 130] {
                for at in 0..len {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    assert!(needs_escape(&b), "{c} {len} {at}");
                }
                assert!(!needs_escape(&vec![b'a'; len]));
            }
        }
        assert!(!needs_escape("\u{7f}\u{80}\u{ffff}".as_bytes()));
    }

    #[test]
    fn call_lengths_are_exact_for_plain_methods() {
        let params = RawValue::from_string("{\"a\":1}".into()).expect("valid JSON");
        for id in ids().iter().map(Some).chain([None]) {
            for p in [None, Some(&*params)] {
                let mut out = Vec::new();
                write_call(&mut out, "sum_all", p, id);
                assert_eq!(call_len("sum_all", p, id), out.len(), "{id:?} {p:?}");
            }
        }
    }

    #[test]
    fn escaped_ids_and_errors_still_write_the_same_text() {
        let id = Id::String("a\"b\n".into());
        let error = ErrorObject::invalid_params("expected [a, b]");
        let frame = response_frame(&id, Err(&error));
        let mut plain = Vec::new();
        write_response(&mut plain, &id, Err(&error));
        assert_eq!(frame, plain);
        let text = std::str::from_utf8(&frame).expect("UTF-8");
        let v: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(v["id"], "a\"b\n");
    }
}
