//! Compact serialization by direct byte writes, and serde's `Serialize` for messages.

use super::model::*;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::{write_json_str, Id};

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
