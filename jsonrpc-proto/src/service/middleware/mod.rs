//! Middleware: code that wraps every call a [`Router`](super::Router) runs, each member of a
//! batch separately, and every notification.
//!
//! A middleware sees an [`RpcRequest`] (method, params, id, and the call's [`Context`]) and a
//! [`Next`] to hand it on with. It may answer at once (reject), change the request (rewrite),
//! set request-scoped extensions the handler reads back ([`Context::extension`]), or wrap the
//! future `next.run(req)` returns (time it, bound it, limit how many run at once).
//!
//! ```
//! use jsonrpc_proto::service::middleware::{from_fn, RpcRequest, Next};
//! use jsonrpc_proto::service::{Context, Router};
//! use jsonrpc_proto::ErrorObject;
//!
//! struct Principal(String);
//!
//! let router = Router::builder()
//!     // Outermost: sees the call first and its answer last.
//!     .middleware(from_fn(|mut req: RpcRequest, next: Next| {
//!         match req.ctx.transport().header("authorization").map(str::to_owned) {
//!             Some(user) => {
//!                 req.ctx.insert_extension(Principal(user));
//!                 next.run(req)
//!             }
//!             None => Box::pin(async { Err(ErrorObject::new(-32001, "Unauthorized")) }),
//!         }
//!     }))
//!     .method("whoami", |ctx: Context, (): ()| async move {
//!         Ok::<_, ErrorObject>(ctx.extension::<Principal>().map(|p| p.0.clone()))
//!     })
//!     .build()
//!     .unwrap();
//! # let _ = router;
//! ```
//!
//! Order: layers run in the order they were added to the builder, the first added outermost
//! (as with `tower::ServiceBuilder`): `.middleware(a).layer(b).middleware(c)` runs
//! `a -> b -> c -> handler`, answers come back `handler -> c -> b -> a`. [`Hooks`] set with
//! `RouterBuilder::hooks` sit outside all of them; middleware added to a built router with
//! [`Router::with_middleware`] (the server builder's metrics) outside those; the call's
//! tracing span encloses everything.
//!
//! tower: [`RouterBuilder::layer`](super::RouterBuilder::layer) takes any `tower::Layer` over
//! [`RpcService`], the `tower::Service<RpcRequest>` view of the rest of the chain (`Response`
//! is the result as raw JSON, `Error` an [`ErrorObject`]). Errors from tower layers are mapped
//! by [`error_from_tower`]: an `ErrorObject` as it is; with feature `tower-errors`
//! `tower::timeout::error::Elapsed` -> -32001 and `tower::load_shed::error::Overloaded` ->
//! -32003; anything else -32603.
//!
//! [`Hooks`]: super::Hooks
//! [`Router::with_middleware`]: super::Router::with_middleware

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use serde_json::value::RawValue;

use crate::peer::{Answer, CallResult, ClientInfo, Context};
use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;

mod hooks;
mod limit;
#[cfg(feature = "metrics")]
pub mod metrics;
mod rate;
mod timeout;
pub(crate) mod trace;

pub(crate) use hooks::HooksMiddleware;
pub use limit::ConcurrencyLimit;
#[cfg(feature = "metrics")]
pub use metrics::Metrics;
pub use rate::{default_key, RateLimit};
pub use timeout::Timeout;

/// The boxed error tower layers produce.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One call as middleware sees it. A notification has `id: None`; what its chain answers is
/// dropped.
#[derive(Debug)]
#[non_exhaustive]
pub struct RpcRequest {
    /// The method name; a middleware may rewrite it (the handler is looked up after the
    /// chain, by this name).
    pub method: Cow<'static, str>,
    /// The raw params (`None`: the call had no `params` member).
    pub params: Option<Cow<'static, RawValue>>,
    /// The request id; `None` for a notification.
    pub id: Option<Id>,
    /// The call's context: set request-scoped values with [`Context::insert_extension`].
    pub ctx: Context,
}

impl RpcRequest {
    /// A request for `method` with `params` on `ctx` (for tests and custom dispatchers).
    pub fn new(
        ctx: Context,
        method: impl Into<Cow<'static, str>>,
        params: Option<Box<RawValue>>,
        id: Option<Id>,
    ) -> Self {
        RpcRequest {
            method: method.into(),
            params: params.map(Cow::Owned),
            id,
            ctx,
        }
    }

    /// True when the call is a notification (its answer is dropped).
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
}

/// Code that wraps every call of a router. See the [module docs](self) for the order.
pub trait Middleware: Send + Sync + 'static {
    /// Handles `req`: answer it, or hand it on with `next.run(req)` (and wrap that future).
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult>;

    /// True when this middleware wants [`Middleware::aborted`] reports. Default: false.
    fn observes_aborts(&self) -> bool {
        false
    }

    /// A running request was answered by the connection, not by the chain: its deadline
    /// (-32001) or a cancellation (-32800). Its future was dropped.
    fn aborted(
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

impl<M: Middleware + ?Sized> Middleware for Arc<M> {
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        (**self).call(req, next)
    }
    fn observes_aborts(&self) -> bool {
        (**self).observes_aborts()
    }
    fn aborted(
        &self,
        ctx: &Context,
        method: &str,
        id: Option<&Id>,
        error: &ErrorObject,
        elapsed: Duration,
    ) {
        (**self).aborted(ctx, method, id, error, elapsed)
    }
    fn connected(&self, client: &ClientInfo) {
        (**self).connected(client)
    }
    fn disconnected(&self, client: &ClientInfo) {
        (**self).disconnected(client)
    }
}

/// One step of a built chain: a middleware with what follows it, a tower stack, or the
/// router's handlers at the end.
pub(crate) trait Step: Send + Sync + 'static {
    fn run(&self, req: RpcRequest) -> BoxFuture<'static, CallResult>;
}

/// The rest of the chain after a middleware. `run` it to call the layers below and the
/// handler.
#[derive(Clone)]
pub struct Next {
    step: Arc<dyn Step>,
}

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Next(..)")
    }
}

impl Next {
    pub(crate) fn new(step: Arc<dyn Step>) -> Self {
        Next { step }
    }

    /// Runs the rest of the chain and the handler.
    pub fn run(self, req: RpcRequest) -> BoxFuture<'static, CallResult> {
        self.step.run(req)
    }
}

/// A middleware with the step it hands calls to.
pub(crate) struct Wrapped {
    pub(crate) middleware: Arc<dyn Middleware>,
    pub(crate) next: Arc<dyn Step>,
}

impl Step for Wrapped {
    fn run(&self, req: RpcRequest) -> BoxFuture<'static, CallResult> {
        self.middleware.call(req, Next::new(Arc::clone(&self.next)))
    }
}

/// A middleware from a closure `Fn(RpcRequest, Next) -> BoxFuture<CallResult>`.
pub fn from_fn<F>(f: F) -> FromFn<F>
where
    F: Fn(RpcRequest, Next) -> BoxFuture<'static, CallResult> + Send + Sync + 'static,
{
    FromFn(f)
}

/// The middleware [`from_fn`] makes.
#[derive(Clone)]
pub struct FromFn<F>(F);

impl<F> fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromFn(..)")
    }
}

impl<F> Middleware for FromFn<F>
where
    F: Fn(RpcRequest, Next) -> BoxFuture<'static, CallResult> + Send + Sync + 'static,
{
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        (self.0)(req, next)
    }
}

/// The `tower::Service<RpcRequest>` view of the rest of a chain (what a tower layer given to
/// `RouterBuilder::layer` wraps). Always ready; cheap to clone.
#[derive(Clone)]
pub struct RpcService {
    next: Arc<dyn Step>,
}

impl fmt::Debug for RpcService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RpcService(..)")
    }
}

impl tower::Service<RpcRequest> for RpcService {
    type Response = Answer;
    type Error = ErrorObject;
    type Future = BoxFuture<'static, CallResult>;

    fn poll_ready(&mut self, _cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: RpcRequest) -> Self::Future {
        self.next.run(req)
    }
}

/// Maps an error a tower layer produced to the error object the call is answered with: an
/// [`ErrorObject`] as it is; with feature `tower-errors`, `Elapsed` (tower's timeout) ->
/// -32001 and `Overloaded` (load shedding) -> -32003; anything else -32603 (logged).
pub fn error_from_tower(error: BoxError) -> ErrorObject {
    let error = match error.downcast::<ErrorObject>() {
        Ok(e) => return *e,
        Err(e) => e,
    };
    #[cfg(feature = "tower-errors")]
    {
        if error.is::<tower::timeout::error::Elapsed>() {
            return ErrorObject::request_timeout();
        }
        if error.is::<tower::load_shed::error::Overloaded>() {
            return ErrorObject::server_busy();
        }
    }
    tracing::warn!(%error, "a tower layer failed a call; answered -32603");
    ErrorObject::internal_error()
}

type TowerStack = tower::util::BoxCloneSyncService<RpcRequest, Answer, BoxError>;

/// A tower stack built over the step that follows it: each call runs on a clone (tower's
/// usual one-clone-per-request), after `poll_ready`.
pub(crate) struct TowerStep {
    pub(crate) svc: TowerStack,
}

impl Step for TowerStep {
    fn run(&self, req: RpcRequest) -> BoxFuture<'static, CallResult> {
        use tower::ServiceExt;
        self.svc
            .clone()
            .oneshot(req)
            .map(|r| r.map_err(error_from_tower))
            .boxed()
    }
}

/// A tower layer kept by the router builder until `build` gives it what it wraps.
pub(crate) type LayerFn = Box<dyn FnOnce(Arc<dyn Step>) -> Arc<dyn Step> + Send + Sync>;

/// Boxes a tower layer over [`RpcService`] as a [`LayerFn`].
pub(crate) fn tower_layer<L>(layer: L) -> LayerFn
where
    L: tower::Layer<RpcService> + Send + Sync + 'static,
    L::Service: tower::Service<RpcRequest, Response = Answer> + Clone + Send + Sync + 'static,
    <L::Service as tower::Service<RpcRequest>>::Error: Into<BoxError>,
    <L::Service as tower::Service<RpcRequest>>::Future: Send + 'static,
{
    Box::new(move |next: Arc<dyn Step>| {
        use tower::ServiceExt;
        let svc = layer.layer(RpcService { next }).map_err(Into::into);
        Arc::new(TowerStep {
            svc: TowerStack::new(svc),
        }) as Arc<dyn Step>
    })
}

/// Boxes a middleware as a [`LayerFn`].
pub(crate) fn middleware_layer(middleware: Arc<dyn Middleware>) -> LayerFn {
    Box::new(move |next| Arc::new(Wrapped { middleware, next }) as Arc<dyn Step>)
}

#[cfg(test)]
mod tests;
