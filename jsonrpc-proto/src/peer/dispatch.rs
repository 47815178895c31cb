//! [`Dispatch`]: what the connection driver and the server ask of the layer above (the service
//! layer's `Router` implements it; so can any other dispatcher). The driver never names a
//! router: it hands each call to a `Dispatch` and gets back a [`Reply`].

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::protocol::message::{Notification, Request};

use super::context::{Context, Extensions};
use super::info::ClientInfo;

/// The outcome of one call: a result as raw JSON, or the error object to answer with.
pub type CallResult = Result<Box<RawValue>, ErrorObject>;

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
