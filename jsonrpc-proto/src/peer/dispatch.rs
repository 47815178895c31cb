//! [`Dispatch`]: what the connection driver and the server ask of the layer above (the service
//! layer's `Router` implements it; so can any other dispatcher). The driver never names a
//! router: it hands each call to a `Dispatch` and gets back a [`Reply`].

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::protocol::message::{needs_escape, Notification, Request, ResultText};

use super::context::{Context, Extensions};
use super::info::ClientInfo;

/// The outcome of one call: a result ([`Answer`]: raw JSON, or a text the response carries as
/// a JSON string), or the error object to answer with. A `Box<RawValue>` becomes an answer
/// with `.into()`.
pub type CallResult = Result<Answer, ErrorObject>;

/// A call's result as the response carries it: JSON text, or a text with nothing to escape
/// that is written between quotes straight into the response frame (a long `String` result is
/// then copied once, never re-read nor re-validated).
#[derive(Clone)]
pub struct Answer(Repr);

#[derive(Clone)]
enum Repr {
    Json(Box<RawValue>),
    /// The content of a JSON string: no control character, `"` or `\\`.
    Plain(String),
}

impl Answer {
    /// An answer of JSON text.
    pub fn json(raw: Box<RawValue>) -> Self {
        Answer(Repr::Json(raw))
    }

    /// A text answer (a JSON string whose value is `text`). A text with nothing to escape is
    /// kept as it is; any other is serialized (escaped) by serde_json at once.
    pub fn text(text: String) -> Self {
        if needs_escape(text.as_bytes()) {
            match serde_json::value::to_raw_value(&text) {
                Ok(raw) => Answer(Repr::Json(raw)),
                // A `String` always serializes; never taken.
                Err(_) => Answer(Repr::Json(RawValue::NULL.to_owned())),
            }
        } else {
            Answer(Repr::Plain(text))
        }
    }

    /// The length of the answer's JSON text.
    pub fn json_len(&self) -> usize {
        self.as_text().json_len()
    }

    /// The answer as raw JSON when it is held as such (`None` for a text answer: see
    /// [`Answer::to_json`]).
    pub fn as_json(&self) -> Option<&RawValue> {
        match &self.0 {
            Repr::Json(raw) => Some(raw),
            Repr::Plain(_) => None,
        }
    }

    /// The answer's JSON text (written out for a text answer).
    pub fn to_json(&self) -> Box<RawValue> {
        match &self.0 {
            Repr::Json(raw) => raw.clone(),
            Repr::Plain(text) => plain_json(text),
        }
    }

    /// The answer's JSON text, taken out (written out for a text answer).
    pub fn into_json(self) -> Box<RawValue> {
        match self.0 {
            Repr::Json(raw) => raw,
            Repr::Plain(text) => plain_json(&text),
        }
    }

    /// The answer as the connection writes it.
    pub(crate) fn as_text(&self) -> ResultText<'_> {
        match &self.0 {
            Repr::Json(raw) => ResultText::Json(raw),
            Repr::Plain(text) => ResultText::Plain(text),
        }
    }
}

/// The JSON string of a text with nothing to escape.
fn plain_json(text: &str) -> Box<RawValue> {
    // serde_json writes such a text between quotes as it is (and never fails on a str).
    serde_json::value::to_raw_value(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

impl From<Box<RawValue>> for Answer {
    fn from(raw: Box<RawValue>) -> Self {
        Answer::json(raw)
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Repr::Json(raw) => f.debug_tuple("Answer").field(raw).finish(),
            Repr::Plain(text) => f.debug_tuple("Answer").field(text).finish(),
        }
    }
}

impl serde::Serialize for Answer {
    /// As the JSON text it holds.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Json(raw) => raw.serialize(s),
            Repr::Plain(text) => s.serialize_str(text),
        }
    }
}

impl std::fmt::Display for Answer {
    /// The answer's JSON text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Repr::Json(raw) => f.write_str(raw.get()),
            Repr::Plain(text) => write!(f, "\"{text}\""),
        }
    }
}

/// What starting a call produced: an answer at once, or a future to drive.
#[non_exhaustive]
pub enum Reply {
    /// Answered without running a future (unknown method, bad params).
    Ready(CallResult),
    /// The handler's future. The driver catches its panics (answered -32603) and enforces the
    /// connection's deadline on it.
    Pending(BoxFuture<'static, CallResult>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Ready(r) => f.debug_tuple("Ready").field(r).finish(),
            Reply::Pending(_) => f.write_str("Pending(..)"),
        }
    }
}

/// Routes the calls of a connection (or of an HTTP body) to handlers.
///
/// The driver calls [`Dispatch::request`] for each incoming request, borrowed from the frame
/// it came in, and [`Dispatch::notification`] for each notification, in arrival order. Calls
/// that end without the dispatcher seeing their answer (deadline, cancellation) are reported
/// through [`Dispatch::call_aborted`].
pub trait Dispatch: Send + Sync + 'static {
    /// Starts `request`. Must not block: slow work belongs in the returned future.
    fn request(&self, ctx: &Context, request: Request<'_>) -> Reply;

    /// Starts a request that was already detached from its frame (HTTP bodies). The default
    /// calls [`Dispatch::request`].
    fn request_owned(&self, ctx: &Context, request: Request<'static>) -> Reply {
        self.request(ctx, request)
    }

    /// Starts a notification: `Ok(Some(future))` to run (the driver runs a connection's
    /// notification futures one after another, in arrival order), `Ok(None)` when it is done
    /// or dropped, `Err(n)` when nothing handles it (the driver then hands it to the
    /// connection's own notification stream, as a client does).
    #[allow(clippy::result_large_err)]
    fn notification(
        &self,
        ctx: &Context,
        notification: Notification<'static>,
    ) -> Result<Option<BoxFuture<'static, ()>>, Notification<'static>>;

    /// True when `method` has a handler.
    fn has_method(&self, method: &str) -> bool;

    /// The shared typed state every [`Context`] of this dispatcher carries.
    fn state(&self) -> &Extensions;

    /// True when the dispatcher wants [`Dispatch::call_aborted`] reports (the driver then keeps
    /// each running call's method name). Default: false.
    fn observes_calls(&self) -> bool {
        false
    }

    /// A running request was answered by the driver, not by its handler: deadline (-32001) or
    /// cancellation (-32800). Only called when [`Dispatch::observes_calls`] is true.
    fn call_aborted(
        &self,
        ctx: &Context,
        method: &str,
        id: Option<&Id>,
        error: &ErrorObject,
        elapsed: Duration,
    ) {
        let _ = (ctx, method, id, error, elapsed);
    }

    /// A persistent connection was registered with a server.
    fn connected(&self, client: &ClientInfo) {
        let _ = client;
    }

    /// A persistent connection ended.
    fn disconnected(&self, client: &ClientInfo) {
        let _ = client;
    }
}

/// The error a panicking handler is answered with (-32603), logged with the method's name.
pub(crate) fn panicked(method: &str, panic: &(dyn std::any::Any + Send)) -> ErrorObject {
    let msg = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(method, panic = msg, "handler panicked; answered -32603");
    ErrorObject::internal_error()
}
