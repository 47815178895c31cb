//! Hooks that see every call and every connection (authentication, rate limits, metrics).

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::value::RawValue;

use crate::peer::ClientInfo;
use crate::protocol::error::ErrorObject;

use super::CallInfo;

/// Code run around every call and connection. Every method has a no-op default.
///
/// - `before_request` runs before the handler (for requests and notifications, also for unknown
///   methods); an `Err` answers the request with that error object (a notification is dropped)
///   and the handler never runs: use it for authentication (`ctx.transport().header(..)`) or
///   rate limits (-32002, [`ErrorObject::rate_limited`]).
/// - `after_request` runs once per request that got an answer, with the outcome and the time
///   since the call started: handler results, handler errors, panics (-32603), rejections by
///   `before_request`, timeouts (-32001) and cancellations (-32800). Calls dropped because the
///   connection closed are not reported.
/// - `on_connect` / `on_disconnect` run when a persistent connection is registered with a
///   server and when it ends (not for HTTP posts).
/// - `observes_calls` answers `false` for hooks that implement only the connection methods, so
///   calls skip the hook step.
pub trait Hooks: Send + Sync + 'static {
    /// Runs before the handler; `Err` rejects the call with that error.
    fn before_request<'a>(
        &'a self,
        call: &'a CallInfo<'a>,
    ) -> BoxFuture<'a, Result<(), ErrorObject>> {
        let _ = call;
        Box::pin(std::future::ready(Ok(())))
    }

    /// Runs after a request got its answer.
    fn after_request(
        &self,
        call: &CallInfo<'_>,
        outcome: Result<&RawValue, &ErrorObject>,
        elapsed: Duration,
    ) {
        let _ = (call, outcome, elapsed);
    }

    /// Whether these hooks watch calls (`before_request`, `after_request`). Hooks that only
    /// watch connections (`on_connect`, `on_disconnect`) answer `false`: the router then runs
    /// calls without the per-call hook step (no boxed future, no copy of the params, no clock
    /// reads per call), and `before_request`/`after_request` are never called.
    fn observes_calls(&self) -> bool {
        true
    }

    /// A persistent connection was registered.
    fn on_connect(&self, client: &ClientInfo) {
        let _ = client;
    }

    /// A persistent connection ended.
    fn on_disconnect(&self, client: &ClientInfo) {
        let _ = client;
    }
}

/// Hooks that do nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
