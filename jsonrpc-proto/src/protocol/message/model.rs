//! The message model: requests, notifications, responses, invalid entries, and their
//! ownership, equality and construction.

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;

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
