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

/// The length of the response [`write_response`] writes for a result, exactly when the id's
/// length is known ([`id_json_len`]); an estimate otherwise and for errors.
pub(crate) fn response_len(id: &Id, result: Result<&RawValue, &ErrorObject>) -> usize {
    const OK_FIXED: usize = r#"{"jsonrpc":"2.0","result":,"id":}"#.len();
    let id = id_json_len(id).unwrap_or(16);
    match result {
        Ok(r) => OK_FIXED + r.get().len() + id,
        Err(e) => 96 + e.message.len() + e.data.as_ref().map_or(0, |d| d.get().len()) + id,
    }
}

/// A response as one compact JSON frame whose capacity is its length when the length is known
/// in advance (a result, and an id other than a string with escapes), so that turning it into
/// `Bytes` takes no second allocation and a large result is copied once, never regrown.
pub(crate) fn response_frame(id: &Id, result: Result<&RawValue, &ErrorObject>) -> Vec<u8> {
    let mut out = Vec::with_capacity(response_len(id, result));
    write_response(&mut out, id, result);
    out
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
            let frame = response_frame(&id, Ok(&result));
            let mut plain = Vec::new();
            write_response(&mut plain, &id, Ok(&result));
            assert_eq!(frame, plain, "{id:?}");
            assert_eq!(frame.len(), frame.capacity(), "{id:?}");
        }
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
