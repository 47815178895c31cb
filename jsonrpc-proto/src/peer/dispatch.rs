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
    /// A short JSON text serde_json wrote (a number, `true`, a short string or array), held
    /// in place: no allocation for the small results most calls have.
    Inline(Inline),
}

/// How long a JSON text [`Repr::Inline`] holds (the answer stays within the size of an
/// [`ErrorObject`], so that a [`CallResult`] does not grow).
const INLINE: usize = 30;

/// A short JSON text serde_json wrote, in place.
#[derive(Clone, Copy)]
struct Inline {
    len: u8,
    buf: [u8; INLINE],
}

impl Inline {
    fn bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    fn text(&self) -> &str {
        // Only ever filled by serde_json's writer with a whole JSON text (UTF-8).
        std::str::from_utf8(self.bytes()).unwrap_or("null")
    }
}

/// An `io::Write` into an [`Inline`] that refuses to write past its end.
struct InlineWriter(Inline);

impl std::io::Write for InlineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        let at = usize::from(self.0.len);
        match self.0.buf.get_mut(at..at + data.len()) {
            Some(room) => {
                room.copy_from_slice(data);
                // At most INLINE (30): fits a u8.
                self.0.len = (at + data.len()) as u8;
                Ok(())
            }
            // An error without allocation: the caller then writes the text out in full.
            None => Err(std::io::ErrorKind::WriteZero.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

    /// A value serialized as JSON by serde_json (the text `serde_json::to_string` writes). A
    /// short text is kept in place, without an allocation; a longer one as raw JSON.
    pub fn serialized<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<Self> {
        let mut w = InlineWriter(Inline {
            len: 0,
            buf: [0; INLINE],
        });
        match serde_json::to_writer(&mut w, value) {
            Ok(()) => Ok(Answer(Repr::Inline(w.0))),
            // Too long to keep in place (or not serializable: then this fails the same way).
            Err(_) => serde_json::value::to_raw_value(value).map(Answer::json),
        }
    }

    /// The length of the answer's JSON text.
    pub fn json_len(&self) -> usize {
        self.as_text().json_len()
    }

    /// The answer as raw JSON when it is held as such (`None` for a text answer and for a
    /// short one [`Answer::serialized`] kept in place: see [`Answer::to_json`]).
    pub fn as_json(&self) -> Option<&RawValue> {
        match &self.0 {
            Repr::Json(raw) => Some(raw),
            Repr::Plain(_) | Repr::Inline(_) => None,
        }
    }

    /// The answer's JSON text (written out for a text answer).
    pub fn to_json(&self) -> Box<RawValue> {
        match &self.0 {
            Repr::Json(raw) => raw.clone(),
            Repr::Plain(text) => plain_json(text),
            Repr::Inline(inline) => inline_json(inline),
        }
    }

    /// The answer's JSON text, taken out (written out for a text answer).
    pub fn into_json(self) -> Box<RawValue> {
        match self.0 {
            Repr::Json(raw) => raw,
            Repr::Plain(text) => plain_json(&text),
            Repr::Inline(inline) => inline_json(&inline),
        }
    }

    /// The answer as the connection writes it.
    pub(crate) fn as_text(&self) -> ResultText<'_> {
        match &self.0 {
            Repr::Json(raw) => ResultText::Json(raw),
            Repr::Plain(text) => ResultText::Plain(text),
            Repr::Inline(inline) => ResultText::Text(inline.bytes()),
        }
    }
}

/// The raw JSON of a text kept in place (serde_json wrote it: it is valid).
fn inline_json(inline: &Inline) -> Box<RawValue> {
    RawValue::from_string(inline.text().to_owned()).unwrap_or_else(|_| RawValue::NULL.to_owned())
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
            Repr::Inline(inline) => f.debug_tuple("Answer").field(&inline.text()).finish(),
        }
    }
}

impl serde::Serialize for Answer {
    /// As the JSON text it holds.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Json(raw) => raw.serialize(s),
            Repr::Plain(text) => s.serialize_str(text),
            Repr::Inline(inline) => {
                // Borrowed as raw JSON (checked, no allocation) so that it serializes as such.
                let raw: &RawValue =
                    serde_json::from_str(inline.text()).map_err(serde::ser::Error::custom)?;
                raw.serialize(s)
            }
        }
    }
}

impl std::fmt::Display for Answer {
    /// The answer's JSON text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Repr::Json(raw) => f.write_str(raw.get()),
            Repr::Plain(text) => write!(f, "\"{text}\""),
            Repr::Inline(inline) => f.write_str(inline.text()),
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

    /// True when every request for `method` is answered by [`Dispatch::request`] with
    /// [`Reply::Ready`]: a synchronous handler that nothing wraps in a future. The driver then
    /// answers a batch whose every member is such a request whole, on the connection's task,
    /// without recording each call as in flight (the answers are the same). A dispatcher that
    /// says true and then gives [`Reply::Pending`] gets the call answered with -32603 (the
    /// future is dropped). Default: false.
    fn answers_at_once(&self, method: &str) -> bool {
        let _ = method;
        false
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::write_response_text;

    /// The response frame an answer is written into.
    fn frame(answer: &Answer) -> String {
        let mut out = Vec::new();
        write_response_text(&mut out, &Id::from(7u64), Ok(answer.as_text()));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn serialized_answers_carry_serde_json_text_short_or_long() {
        let long = "x".repeat(100);
        let values = [
            serde_json::json!(3),
            serde_json::json!(-9_223_372_036_854_775_808_i64),
            serde_json::json!(u64::MAX),
            serde_json::json!(1.5),
            serde_json::json!(true),
            serde_json::json!(null),
            serde_json::json!("a \"quoted\" é\n"),
            serde_json::json!([1, 2, 3]),
            serde_json::json!({"k": [1, {"n": null}]}),
            serde_json::json!("x".repeat(INLINE - 2)),
            serde_json::json!("x".repeat(INLINE - 1)),
            serde_json::json!(long),
            serde_json::json!({"long": long, "list": [1, 2, 3]}),
        ];
        for v in values {
            let text = serde_json::to_string(&v).unwrap();
            let answer = Answer::serialized(&v).unwrap();
            assert_eq!(answer.json_len(), text.len(), "{text}");
            assert_eq!(answer.to_json().get(), text);
            assert_eq!(answer.clone().into_json().get(), text);
            assert_eq!(answer.to_string(), text);
            assert_eq!(serde_json::to_string(&answer).unwrap(), text);
            assert_eq!(
                frame(&answer),
                format!(r#"{{"jsonrpc":"2.0","result":{text},"id":7}}"#)
            );
            // Short texts are kept in place, longer ones as raw JSON.
            assert_eq!(answer.as_json().is_some(), text.len() > INLINE, "{text}");
        }
    }

    #[test]
    fn unserializable_values_fail_as_serde_json_fails() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        assert!(serde_json::to_string(&map).is_err());
        assert!(Answer::serialized(&map).is_err());
    }

    #[test]
    fn an_answer_is_no_larger_than_an_error_object() {
        assert!(std::mem::size_of::<Answer>() <= std::mem::size_of::<ErrorObject>());
    }
}
