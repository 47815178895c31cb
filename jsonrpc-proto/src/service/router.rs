//! [`Router`]: method names to async handlers.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::protocol::message::{is_reserved_method, Notification, Request};

use super::hooks::Hooks;
use super::middleware::{self, trace, LayerFn, Middleware, RpcRequest, RpcService, Step};
use super::openrpc::{Info, MethodDoc, OpenRpc};
use super::params::parse_params;
use super::subscription::Registry as Subscriptions;
use crate::peer::{panicked, Answer, CallResult, Dispatch, Reply};
use crate::peer::{ClientInfo, Context, Extensions};
use tracing::Instrument;

/// Why a router could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// Names starting with `rpc.` are reserved by the specification.
    #[error("method name {0:?} is reserved (names starting with \"rpc.\" belong to the protocol)")]
    Reserved(String),
    /// The same name was registered twice.
    #[error("method {0:?} is registered twice")]
    Duplicate(String),
    /// The OpenRPC document could not be serialized.
    #[error("the OpenRPC document cannot be serialized: {0}")]
    Document(String),
}

/// The OpenRPC discovery method, served by [`RouterBuilder::discover`].
const DISCOVER: &str = "rpc.discover";

trait MethodHandler: Send + Sync + 'static {
    fn call(&self, ctx: Context, params: Option<&RawValue>) -> Reply;
    fn call_owned(&self, ctx: Context, params: Option<Box<RawValue>>) -> Reply {
        self.call(ctx, params.as_deref())
    }
    fn wants_owned(&self) -> bool {
        false
    }
    /// True when `call` always gives [`Reply::Ready`].
    fn at_once(&self) -> bool {
        false
    }
}

/// A call handed whole to a handler registered with [`RouterBuilder::call_raw`] or
/// [`RouterBuilder::prefix_raw`]: the handler sees the method name and whether an answer is
/// expected (useful to forward calls elsewhere).
#[derive(Debug)]
pub struct RawCall {
    /// The method name as called.
    pub method: String,
    /// The raw params (`None`: the call had no `params` member).
    pub params: Option<Box<RawValue>>,
    /// The request id; `None` for a notification (the handler's result is then dropped).
    pub id: Option<Id>,
}

impl RawCall {
    /// True when the call is a notification (no answer goes back).
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
}

trait CallHandler: Send + Sync + 'static {
    fn call(&self, ctx: Context, call: RawCall) -> BoxFuture<'static, CallResult>;
}

struct Whole<F>(F);

impl<F, Fut, T> CallHandler for Whole<F>
where
    F: Fn(Context, RawCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
    T: Serialize + 'static,
{
    fn call(&self, ctx: Context, call: RawCall) -> BoxFuture<'static, CallResult> {
        let fut = (self.0)(ctx, call);
        Box::pin(async move {
            let value = fut.await?;
            serialize_result(value)
        })
    }
}

trait NotificationHandler: Send + Sync + 'static {
    fn call(
        &self,
        ctx: Context,
        params: Option<Cow<'static, RawValue>>,
    ) -> Option<BoxFuture<'static, ()>>;
}

fn serialize_result<T: Serialize + 'static>(value: T) -> CallResult {
    let mut slot = Some(value);
    if let Some(answer) = text_result(&mut slot) {
        return Ok(answer);
    }
    // `Some(value)` serializes exactly as `value` does. A short result is written in place.
    Answer::serialized(&slot).map_err(|e| {
        tracing::error!(error = %e, "a handler's result could not be serialized");
        ErrorObject::internal_error()
    })
}

/// An [`Answer`] as it is, or a text result (`String`, `&'static str`, `Box<str>`) taken out of `slot` as an
/// [`Answer::text`]: one with nothing to escape is kept as it is and the connection writes it
/// between quotes straight into the response frame. serde_json's writer checks each byte
/// against its escape table and regrows its buffer around a long string, and a `RawValue` of
/// it would be validated and copied again (a 1 MiB result cost three passes and two copies);
/// this checks the bytes in wide chunks and moves a `String` in. `None`: not text (`slot` is
/// left as it was).
fn text_result<T: 'static>(slot: &mut Option<T>) -> Option<Answer> {
    let any = slot as &mut dyn std::any::Any;
    if let Some(answer) = any.downcast_mut::<Option<Answer>>() {
        return answer.take();
    }
    let text = if let Some(s) = any.downcast_mut::<Option<String>>() {
        s.take()
    } else if let Some(s) = any.downcast_mut::<Option<Box<str>>>() {
        s.take().map(String::from)
    } else if let Some(s) = any.downcast_mut::<Option<&'static str>>() {
        s.take().map(str::to_owned)
    } else {
        None
    };
    text.map(Answer::text)
}

struct Typed<F, P>(F, PhantomData<fn(P)>);

impl<F, P, Fut, T> MethodHandler for Typed<F, P>
where
    F: Fn(Context, P) -> Fut + Send + Sync + 'static,
    P: DeserializeOwned + 'static,
    Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
    T: Serialize + 'static,
{
    fn call(&self, ctx: Context, params: Option<&RawValue>) -> Reply {
        match parse_params::<P>(params) {
            Ok(p) => {
                let fut = (self.0)(ctx, p);
                Reply::Pending(Box::pin(async move {
                    let value = fut.await?;
                    serialize_result(value)
                }))
            }
            Err(e) => Reply::Ready(Err(e)),
        }
    }
}

struct Raw<F>(F);

impl<F, Fut, T> MethodHandler for Raw<F>
where
    F: Fn(Context, Option<Box<RawValue>>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
    T: Serialize + 'static,
{
    fn call(&self, ctx: Context, params: Option<&RawValue>) -> Reply {
        self.call_owned(ctx, params.map(ToOwned::to_owned))
    }
    fn call_owned(&self, ctx: Context, params: Option<Box<RawValue>>) -> Reply {
        let fut = (self.0)(ctx, params);
        Reply::Pending(Box::pin(async move {
            let value = fut.await?;
            serialize_result(value)
        }))
    }
    fn wants_owned(&self) -> bool {
        true
    }
}

/// Reads the borrowed params itself, then gives the future to run (or the answer at once).
struct Decoding<F>(F);

impl<F, Fut, T> MethodHandler for Decoding<F>
where
    F: Fn(Context, Option<&RawValue>) -> Result<Fut, ErrorObject> + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
    T: Serialize + 'static,
{
    fn call(&self, ctx: Context, params: Option<&RawValue>) -> Reply {
        match (self.0)(ctx, params) {
            Ok(fut) => Reply::Pending(Box::pin(async move {
                let value = fut.await?;
                serialize_result(value)
            })),
            Err(e) => Reply::Ready(Err(e)),
        }
    }
}

/// A method answered at once, on the connection's task (no future): it reads its params
/// itself (`method_sync` wraps a typed handler in the reading).
struct DecodingSync<F>(F);

impl<F, T> MethodHandler for DecodingSync<F>
where
    F: Fn(Context, Option<&RawValue>) -> Result<T, ErrorObject> + Send + Sync + 'static,
    T: Serialize + 'static,
{
    fn call(&self, ctx: Context, params: Option<&RawValue>) -> Reply {
        Reply::Ready((self.0)(ctx, params).and_then(serialize_result))
    }
    fn at_once(&self) -> bool {
        true
    }
}

struct TypedNote<F, P>(F, PhantomData<fn(P)>);

impl<F, P, Fut> NotificationHandler for TypedNote<F, P>
where
    F: Fn(Context, P) -> Fut + Send + Sync + 'static,
    P: DeserializeOwned + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(
        &self,
        ctx: Context,
        params: Option<Cow<'static, RawValue>>,
    ) -> Option<BoxFuture<'static, ()>> {
        match parse_params::<P>(params.as_deref()) {
            Ok(p) => Some(Box::pin((self.0)(ctx, p))),
            Err(e) => {
                tracing::debug!(error = %e, "notification dropped: invalid params");
                None
            }
        }
    }
}

struct RawNote<F>(F);

impl<F, Fut> NotificationHandler for RawNote<F>
where
    F: Fn(Context, Option<Box<RawValue>>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(
        &self,
        ctx: Context,
        params: Option<Cow<'static, RawValue>>,
    ) -> Option<BoxFuture<'static, ()>> {
        Some(Box::pin((self.0)(ctx, params.map(Cow::into_owned))))
    }
}

enum Entry {
    Method(Box<dyn MethodHandler>),
    Notification(Box<dyn NotificationHandler>),
    Call(Box<dyn CallHandler>),
}

/// FNV-1a: method names are short, and the table never grows from outside input.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Table = HashMap<Box<str>, Entry, BuildHasherDefault<Fnv>>;

/// Prefix routes, longest prefix first.
type Prefixes = Vec<(Box<str>, Entry)>;

/// Names reachable with any of `.`, `-`, `_`, `#` as separators: the normalized name (every
/// separator `_`) to the registered one.
type Loose = HashMap<Box<str>, Box<str>, BuildHasherDefault<Fnv>>;

/// The separators [`RouterBuilder::separator_insensitive`] treats as one.
const SEPARATORS: [char; 4] = ['.', '-', '_', '#'];

fn normalize_separators(name: &str) -> String {
    name.replace(SEPARATORS, "_")
}

/// The handlers: exact names and prefix routes.
struct Routes {
    table: Table,
    loose: Loose,
    prefixes: Prefixes,
}

struct Inner {
    routes: Arc<Routes>,
    state: Extensions,
    hooks: Option<Arc<dyn Hooks>>,
    /// The middleware chain's first step; `None`: calls go straight to the handlers.
    top: Option<Arc<dyn Step>>,
    /// The middleware that get connection and abort reports.
    observers: Vec<Arc<dyn Middleware>>,
    /// Metrics observed inline around everything (`Router::with_metrics`).
    #[cfg(feature = "metrics")]
    metrics: Option<middleware::Metrics>,
    subscriptions: Arc<Subscriptions>,
}

/// Method names to async handlers, shared state and hooks. Cheap to clone (one reference
/// count); build it with [`Router::builder`].
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.methods().collect();
        names.sort_unstable();
        let prefixes: Vec<&str> = self
            .inner
            .routes
            .prefixes
            .iter()
            .map(|(p, _)| &**p)
            .collect();
        f.debug_struct("Router")
            .field("methods", &names)
            .field("prefixes", &prefixes)
            .field("hooks", &self.inner.hooks.is_some())
            .field("middleware", &self.inner.top.is_some())
            .finish()
    }
}

impl Default for Router {
    fn default() -> Self {
        Router::empty()
    }
}

impl Router {
    /// A builder for a router.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// A router with no methods: every request is answered -32601.
    pub fn empty() -> Router {
        Router {
            inner: Arc::new(Inner {
                routes: Arc::new(Routes {
                    table: Table::default(),
                    loose: Loose::default(),
                    prefixes: Prefixes::new(),
                }),
                state: Extensions::new(),
                hooks: None,
                top: None,
                observers: Vec::new(),
                #[cfg(feature = "metrics")]
                metrics: None,
                subscriptions: Arc::default(),
            }),
        }
    }

    /// True when `name` is registered (as a method or a notification handler). Exact names
    /// only: prefix routes ([`RouterBuilder::prefix_raw`]) are not counted.
    pub fn has_method(&self, name: &str) -> bool {
        self.inner.routes.table.contains_key(name)
    }

    /// True when a call of `name` reaches a handler: an exact registration or a prefix route.
    pub fn routes_to(&self, name: &str) -> bool {
        self.inner.routes.lookup(name).is_some()
    }

    /// The registered names, in no particular order.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.inner.routes.table.keys().map(|k| &**k)
    }

    /// This router with `middleware` added outside all its layers and hooks (it sees every
    /// call first). The handlers are shared, not copied. The server builder adds its metrics
    /// this way.
    pub fn with_middleware<M: Middleware>(&self, middleware: M) -> Router {
        let middleware: Arc<dyn Middleware> = Arc::new(middleware);
        let next = match &self.inner.top {
            Some(top) => Arc::clone(top),
            None => Arc::new(Endpoint(Arc::clone(&self.inner.routes))) as Arc<dyn Step>,
        };
        let mut observers = vec![Arc::clone(&middleware)];
        observers.extend(self.inner.observers.iter().cloned());
        Router {
            inner: Arc::new(Inner {
                routes: Arc::clone(&self.inner.routes),
                state: self.inner.state.clone(),
                hooks: self.inner.hooks.clone(),
                top: Some(Arc::new(middleware::Wrapped { middleware, next })),
                observers,
                #[cfg(feature = "metrics")]
                metrics: self.inner.metrics.clone(),
                subscriptions: Arc::clone(&self.inner.subscriptions),
            }),
        }
    }

    /// This router with `metrics` counting and timing every call outside everything else
    /// (rejections by middleware and hooks included). Unlike adding [`middleware::Metrics`]
    /// as a middleware, it observes calls inline: the request is not copied. The server
    /// builder's `.metrics(true)` uses it.
    #[cfg(feature = "metrics")]
    pub fn with_metrics(&self, metrics: middleware::Metrics) -> Router {
        let mut observers = vec![Arc::new(metrics.clone()) as Arc<dyn Middleware>];
        observers.extend(self.inner.observers.iter().cloned());
        Router {
            inner: Arc::new(Inner {
                routes: Arc::clone(&self.inner.routes),
                state: self.inner.state.clone(),
                hooks: self.inner.hooks.clone(),
                top: self.inner.top.clone(),
                observers,
                metrics: Some(metrics),
                subscriptions: Arc::clone(&self.inner.subscriptions),
            }),
        }
    }

    /// Subscriptions open now over every connection this router serves.
    pub fn subscription_count(&self) -> usize {
        self.inner.subscriptions.live()
    }

    /// The shared state.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.state
    }

    /// The hooks, if any were set.
    pub fn hooks(&self) -> Option<&Arc<dyn Hooks>> {
        self.inner.hooks.as_ref()
    }

    /// Starts a request: its span, its middleware chain and handler. Never panics (a
    /// panicking handler is answered -32603). A request borrowed from its frame is copied
    /// only when middleware or the handler need it owned.
    fn dispatch(&self, ctx: &Context, req: Request<'_>) -> Reply {
        let Request { id, method, params } = req;
        #[cfg(feature = "metrics")]
        let observed = self
            .inner
            .metrics
            .as_ref()
            .map(|m| (m, std::time::Instant::now(), m.per_method(&method)));
        let span = trace::call_span(ctx, &method, Some(&id));
        let _entered = span.enter();
        let reply = match &self.inner.top {
            Some(top) => {
                let ctx = ctx.for_call(&method, Some(id.clone()));
                Reply::Pending(top.run(RpcRequest {
                    method: Cow::Owned(method.into_owned()),
                    params: params.map(|p| Cow::Owned(p.into_owned())),
                    id: Some(id),
                    ctx,
                }))
            }
            None => {
                let ctx = ctx.for_call(&method, Some(id));
                self.inner.routes.start_request(ctx, &method, params)
            }
        };
        drop(_entered);
        #[cfg(feature = "metrics")]
        let reply = match observed {
            Some((m, start, per)) => m.observe(per, start, reply),
            None => reply,
        };
        trace::instrument(span, reply)
    }

    /// Starts a notification's handler. `Err` gives the notification back when no handler
    /// takes it (so it can go to the peer's notification stream).
    fn dispatch_notification(
        &self,
        ctx: &Context,
        n: Notification<'static>,
    ) -> Result<Option<BoxFuture<'static, ()>>, Notification<'static>> {
        if self.inner.routes.lookup(&n.method).is_none() {
            return Err(n);
        }
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner.metrics {
            m.notification(&n.method);
        }
        let span = trace::call_span(ctx, &n.method, None);
        let _entered = span.enter();
        let call = ctx.for_call(&n.method, None);
        let fut = match &self.inner.top {
            Some(top) => {
                let fut = top.run(RpcRequest {
                    method: n.method,
                    params: n.params,
                    id: None,
                    ctx: call,
                });
                Some(
                    fut.map(|r| {
                        if let Err(e) = r {
                            tracing::debug!(error = %e, "notification rejected or failed");
                        }
                    })
                    .boxed(),
                )
            }
            None => self
                .inner
                .routes
                .start_notification(&call, n.method, n.params),
        };
        drop(_entered);
        Ok(fut.map(|f| {
            if span.is_disabled() {
                f
            } else {
                f.instrument(span).boxed()
            }
        }))
    }
}

impl Routes {
    /// The handler for `method`: its exact registration, else the longest matching prefix route
    /// (never for the reserved `rpc.` names).
    fn lookup(&self, method: &str) -> Option<&Entry> {
        self.table.get(method).or_else(|| {
            if is_reserved_method(method) {
                return None;
            }
            if !self.loose.is_empty() && method.contains(SEPARATORS) {
                let canonical = self.loose.get(&*normalize_separators(method));
                if let Some(entry) = canonical.and_then(|c| self.table.get(c)) {
                    return Some(entry);
                }
            }
            self.prefixes
                .iter()
                .find(|(p, _)| method.starts_with(&**p))
                .map(|(_, e)| e)
        })
    }

    /// Starts the handler of a request (`ctx` is already scoped to the call).
    fn start_request(
        &self,
        ctx: Context,
        method: &str,
        params: Option<Cow<'_, RawValue>>,
    ) -> Reply {
        match self.lookup(method) {
            Some(Entry::Method(h)) => guard(method, || {
                if h.wants_owned() {
                    h.call_owned(ctx, params.map(Cow::into_owned))
                } else {
                    h.call(ctx, params.as_deref())
                }
            }),
            Some(Entry::Call(h)) => guard(method, || {
                let call = RawCall {
                    method: method.to_owned(),
                    params: params.map(Cow::into_owned),
                    id: ctx.request_id().cloned(),
                };
                Reply::Pending(h.call(ctx, call))
            }),
            _ => Reply::Ready(Err(ErrorObject::method_not_found())),
        }
    }

    fn start_notification(
        &self,
        ctx: &Context,
        method: Cow<'static, str>,
        params: Option<Cow<'static, RawValue>>,
    ) -> Option<BoxFuture<'static, ()>> {
        let entry = self.lookup(&method)?;
        let started = catch_unwind(AssertUnwindSafe(|| match entry {
            Entry::Notification(h) => h.call(ctx.clone(), params),
            // The handler learns from `id: None` that no answer is expected.
            Entry::Call(h) => {
                let call = RawCall {
                    method: method.to_string(),
                    params: params.map(Cow::into_owned),
                    id: None,
                };
                let fut = h.call(ctx.clone(), call).map(|r| {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "notification handler failed");
                    }
                });
                Some(Box::pin(fut) as BoxFuture<'static, ()>)
            }
            // A method called as a notification runs; its result is dropped.
            Entry::Method(h) => {
                let d = if h.wants_owned() {
                    h.call_owned(ctx.clone(), params.map(Cow::into_owned))
                } else {
                    h.call(ctx.clone(), params.as_deref())
                };
                match d {
                    Reply::Ready(_) => None,
                    Reply::Pending(fut) => Some(Box::pin(fut.map(drop)) as BoxFuture<'static, ()>),
                }
            }
        }));
        match started {
            Ok(fut) => fut,
            Err(panic) => {
                panicked(&method, &*panic);
                None
            }
        }
    }
}

/// A handler passing each call on to `router` (see [`RouterBuilder::merge_router`]).
fn delegate(
    router: &Router,
) -> impl Fn(Context, RawCall) -> BoxFuture<'static, CallResult> + Send + Sync + 'static {
    let router = router.clone();
    move |ctx: Context, call: RawCall| {
        let router = router.clone();
        Box::pin(async move {
            let RawCall { method, params, id } = call;
            let params = params.map(Cow::Owned);
            match id {
                Some(id) => {
                    let req = Request {
                        id,
                        method: Cow::Owned(method),
                        params,
                    };
                    match router.dispatch(&ctx, req) {
                        Reply::Ready(r) => r,
                        Reply::Pending(fut) => fut.await,
                    }
                }
                None => {
                    let n = Notification {
                        method: Cow::Owned(method),
                        params,
                    };
                    if let Ok(Some(fut)) = router.dispatch_notification(&ctx, n) {
                        fut.await;
                    }
                    Ok(RawValue::NULL.to_owned().into())
                }
            }
        })
    }
}

/// Runs the synchronous part of starting `method`'s handler, turning a panic into -32603.
fn guard(method: &str, start: impl FnOnce() -> Reply) -> Reply {
    match catch_unwind(AssertUnwindSafe(start)) {
        Ok(d) => d,
        // The log names the method (a `method_sync` handler runs all of its work here).
        Err(panic) => Reply::Ready(Err(panicked(method, &*panic))),
    }
}

/// Builds a [`Router`]. Registration errors are reported by [`RouterBuilder::build`].
#[derive(Default)]
pub struct RouterBuilder {
    table: Table,
    loose: Loose,
    prefixes: Prefixes,
    state: Extensions,
    hooks: Option<Arc<dyn Hooks>>,
    layers: Vec<LayerFn>,
    observers: Vec<Arc<dyn Middleware>>,
    error: Option<RouterError>,
    docs: Vec<MethodDoc>,
    discover: Option<Info>,
    pub(super) subscriptions: Arc<Subscriptions>,
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("methods", &self.table.len())
            .field("prefixes", &self.prefixes.len())
            .field("layers", &self.layers.len())
            .field("error", &self.error)
            .finish()
    }
}

impl RouterBuilder {
    fn add(mut self, name: &str, entry: Entry) -> Self {
        if self.error.is_some() {
            return self;
        }
        if is_reserved_method(name) {
            self.error = Some(RouterError::Reserved(name.to_owned()));
        } else if self.table.contains_key(name) {
            self.error = Some(RouterError::Duplicate(name.to_owned()));
        } else {
            self.table.insert(name.into(), entry);
        }
        self
    }

    /// Registers a method whose params are read as `P` (by position or by name; absent params
    /// work for `()`, `Option` and all-optional structs). The handler's `Ok` value is the
    /// result; its `Err` goes out exactly. Called as a notification it runs and its result is
    /// dropped.
    pub fn method<P, T, F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + 'static,
        Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
        T: Serialize + 'static,
    {
        self.add(name, Entry::Method(Box::new(Typed(handler, PhantomData))))
    }

    /// Registers a method answered by a plain function: [`RouterBuilder::method`] for a
    /// handler that has its answer at once (no `.await`). It runs on the connection's task as
    /// the call is read, and its answer is written without a future being allocated or
    /// polled: the cheapest kind of method (jsonrpsee's `register_method`). A handler that
    /// blocks (IO, a lock held long, heavy work) stalls its connection's other calls: give
    /// those to [`RouterBuilder::method`] and spawn the work. A panic is answered -32603.
    /// Called as a notification it runs at once and its result is dropped.
    ///
    /// ```
    /// use jsonrpc_proto::service::{Context, Router};
    /// use jsonrpc_proto::ErrorObject;
    ///
    /// let router = Router::builder()
    ///     .method_sync("add", |_ctx: Context, (a, b): (i64, i64)| {
    ///         a.checked_add(b)
    ///             .ok_or_else(|| ErrorObject::invalid_params("the sum overflows i64"))
    ///     })
    ///     .build()
    ///     .unwrap();
    /// assert!(router.has_method("add"));
    /// ```
    pub fn method_sync<P, T, F>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, P) -> Result<T, ErrorObject> + Send + Sync + 'static,
        P: DeserializeOwned + 'static,
        T: Serialize + 'static,
    {
        self.method_decoded_sync(name, move |ctx: Context, params: Option<&RawValue>| {
            handler(ctx, parse_params::<P>(params)?)
        })
    }

    /// Registers a method that takes its params as raw JSON (`None`: no params).
    pub fn method_raw<T, F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, Option<Box<RawValue>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
        T: Serialize + 'static,
    {
        self.add(name, Entry::Method(Box::new(Raw(handler))))
    }

    /// Registers a method whose handler reads the params itself, borrowed from the frame and
    /// before any future runs: it returns the future that answers, or the error to answer at
    /// once (-32602 for bad params, without starting the call). What `#[rpc]` expands to;
    /// [`RouterBuilder::method`] is the simpler form.
    ///
    /// ```
    /// use jsonrpc_proto::service::{parse_params, Context, Router};
    /// use jsonrpc_proto::{ErrorObject, RawValue};
    ///
    /// let router = Router::builder()
    ///     .method_decoded("len", |_ctx: Context, params: Option<&RawValue>| {
    ///         let (text,): (String,) = parse_params(params)?;
    ///         Ok(async move { Ok::<_, ErrorObject>(text.len()) })
    ///     })
    ///     .build()
    ///     .unwrap();
    /// assert!(router.has_method("len"));
    /// ```
    pub fn method_decoded<T, F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, Option<&RawValue>) -> Result<Fut, ErrorObject> + Send + Sync + 'static,
        Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
        T: Serialize + 'static,
    {
        self.add(name, Entry::Method(Box::new(Decoding(handler))))
    }

    /// [`RouterBuilder::method_decoded`] for a handler that answers at once: what `#[rpc]`
    /// expands a synchronous `fn` to (see [`RouterBuilder::method_sync`]).
    pub(crate) fn method_decoded_sync<T, F>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, Option<&RawValue>) -> Result<T, ErrorObject> + Send + Sync + 'static,
        T: Serialize + 'static,
    {
        self.add(name, Entry::Method(Box::new(DecodingSync(handler))))
    }

    /// Registers a notification handler (never answers). Notifications run one after another
    /// in arrival order. Called as a request it is answered -32601.
    pub fn notification<P, F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add(
            name,
            Entry::Notification(Box::new(TypedNote(handler, PhantomData))),
        )
    }

    /// Registers a notification handler taking raw params.
    pub fn notification_raw<F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, Option<Box<RawValue>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add(name, Entry::Notification(Box::new(RawNote(handler))))
    }

    /// Registers a handler that takes the whole call ([`RawCall`]: method name, raw params and
    /// id). Called as a notification, it runs with `id: None` and its result is dropped.
    pub fn call_raw<T, F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, RawCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
        T: Serialize + 'static,
    {
        self.add(name, Entry::Call(Box::new(Whole(handler))))
    }

    /// Registers a handler for every method whose name starts with `prefix` and that has no
    /// exact registration (requests and notifications, as for [`RouterBuilder::call_raw`]).
    /// The longest matching prefix wins; `""` catches every method. Reserved `rpc.` names
    /// never reach a prefix route.
    pub fn prefix_raw<T, F, Fut>(mut self, prefix: &str, handler: F) -> Self
    where
        F: Fn(Context, RawCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
        T: Serialize + 'static,
    {
        if self.error.is_some() {
            return self;
        }
        if is_reserved_method(prefix) {
            self.error = Some(RouterError::Reserved(prefix.to_owned()));
        } else if self.prefixes.iter().any(|(p, _)| **p == *prefix) {
            self.error = Some(RouterError::Duplicate(format!("{prefix}*")));
        } else {
            let at = self
                .prefixes
                .iter()
                .position(|(p, _)| p.len() < prefix.len())
                .unwrap_or(self.prefixes.len());
            self.prefixes
                .insert(at, (prefix.into(), Entry::Call(Box::new(Whole(handler)))));
        }
        self
    }

    /// Adds shared state, read with [`Context::state`].
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Moves every registration of `other` into this builder: methods, notifications, prefix
    /// routes, separator-insensitive names, state, method descriptions, and its hooks when
    /// this builder has none. A name registered in both is [`RouterError::Duplicate`]. This is
    /// how separate crates each own part of one API (`#[rpc]` services give builders through
    /// their generated `into_router`).
    pub fn merge(mut self, other: RouterBuilder) -> Self {
        if self.error.is_some() {
            return self;
        }
        if let Some(e) = other.error {
            self.error = Some(e);
            return self;
        }
        for (name, entry) in other.table {
            if self.table.contains_key(&name) {
                self.error = Some(RouterError::Duplicate(name.into()));
                return self;
            }
            self.table.insert(name, entry);
        }
        for (prefix, entry) in other.prefixes {
            if self.prefixes.iter().any(|(p, _)| *p == prefix) {
                self.error = Some(RouterError::Duplicate(format!("{prefix}*")));
                return self;
            }
            let at = self
                .prefixes
                .iter()
                .position(|(p, _)| p.len() < prefix.len())
                .unwrap_or(self.prefixes.len());
            self.prefixes.insert(at, (prefix, entry));
        }
        self.loose.extend(other.loose);
        other.subscriptions.merge_into(&self.subscriptions);
        self.state.extend(other.state);
        if self.hooks.is_none() {
            self.hooks = other.hooks;
        }
        self.docs.extend(other.docs);
        if self.discover.is_none() {
            self.discover = other.discover;
        }
        self
    }

    /// Serves every route of an already built `router` from this builder: its methods,
    /// notifications, prefix routes and separator-insensitive names are answered by `router`
    /// (with its own hooks, inside this builder's), and its state is added to this builder's.
    /// A name registered in both is [`RouterError::Duplicate`]; its `rpc.discover`, if any,
    /// is left out (describe the methods on this builder instead). Prefer
    /// [`RouterBuilder::merge`] when the parts are still builders.
    pub fn merge_router(mut self, router: Router) -> Self {
        let mut names: Vec<Box<str>> = router.inner.routes.table.keys().cloned().collect();
        names.sort_unstable();
        for name in names.iter().filter(|n| !is_reserved_method(n)) {
            self = self.add(name, Entry::Call(Box::new(Whole(delegate(&router)))));
        }
        for (prefix, _) in &router.inner.routes.prefixes {
            self = self.prefix_raw(prefix, delegate(&router));
        }
        if self.error.is_none() {
            for (key, name) in &router.inner.routes.loose {
                self.loose
                    .entry(key.clone())
                    .or_insert_with(|| name.clone());
            }
        }
        self.state.extend(router.inner.state.clone());
        self
    }

    /// Lets the registered `name` also be called with any of `.`, `-`, `_` and `#` in place
    /// of each separator in it (the Spark RpcNode rule: `user.create`, `user-create` and
    /// `user_create` reach one method). Exact registrations win over this matching.
    pub fn separator_insensitive(mut self, name: &str) -> Self {
        if self.error.is_some() {
            return self;
        }
        let key = normalize_separators(name);
        match self.loose.get(&*key) {
            Some(other) if **other != *name => {
                self.error = Some(RouterError::Duplicate(format!(
                    "{name} (the same as {other} when separators are ignored)"
                )));
            }
            _ => {
                self.loose.insert(key.into(), name.into());
            }
        }
        self
    }

    /// Adds OpenRPC descriptions of methods (the `#[rpc]` macro adds its own; closure
    /// routes may describe themselves). They are listed by [`RouterBuilder::discover`].
    pub fn describe(mut self, methods: impl IntoIterator<Item = MethodDoc>) -> Self {
        self.docs.extend(methods);
        self
    }

    /// Serves the OpenRPC document of every described method at `rpc.discover` (the one
    /// reserved name the library answers; registering `rpc.*` names yourself stays refused).
    ///
    /// ```
    /// use jsonrpc_proto::service::openrpc::{Info, MethodDoc};
    /// use jsonrpc_proto::service::{Context, Router};
    /// use jsonrpc_proto::ErrorObject;
    ///
    /// let router = Router::builder()
    ///     .method("ping", |_c: Context, (): ()| async { Ok::<_, ErrorObject>("pong") })
    ///     .describe([MethodDoc::new("ping")])
    ///     .discover(Info::new("pinger", "1.0.0"))
    ///     .build()
    ///     .unwrap();
    /// assert!(router.has_method("rpc.discover"));
    /// ```
    pub fn discover(mut self, info: Info) -> Self {
        self.discover = Some(info);
        self
    }

    /// The OpenRPC document [`RouterBuilder::discover`] would serve, for `info`.
    pub fn openrpc(&self, info: Info) -> OpenRpc {
        OpenRpc::new(info, self.docs.clone())
    }

    /// Sets the hooks (replacing earlier ones).
    pub fn hooks<H: Hooks>(mut self, hooks: H) -> Self {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// Sets hooks already shared elsewhere.
    pub fn hooks_arc(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Adds a middleware around every call (see [`middleware`](super::middleware) for the
    /// order: the first added is the outermost).
    ///
    /// ```
    /// use std::time::Duration;
    /// use jsonrpc_proto::service::middleware::{RateLimit, Timeout};
    /// use jsonrpc_proto::service::Router;
    /// let router = Router::builder()
    ///     .middleware(RateLimit::new(100, Duration::from_secs(1)))
    ///     .middleware(Timeout::new(Duration::from_secs(5)))
    ///     .build()
    ///     .unwrap();
    /// # let _ = router;
    /// ```
    pub fn middleware<M: Middleware>(mut self, middleware: M) -> Self {
        let middleware: Arc<dyn Middleware> = Arc::new(middleware);
        self.observers.push(Arc::clone(&middleware));
        self.layers.push(middleware::middleware_layer(middleware));
        self
    }

    /// Adds a tower layer around every call, in the same order as
    /// [`RouterBuilder::middleware`]: it wraps [`RpcService`], the `tower::Service<RpcRequest>`
    /// view of what follows it. Each call runs on a clone of the stack (tower's usual
    /// one-clone-per-request): `ConcurrencyLimitLayer` (its semaphore is shared by clones)
    /// and `TimeoutLayer` (under tokio) work as they are; see the README for which do.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<RpcService> + Send + Sync + 'static,
        L::Service: tower::Service<RpcRequest, Response = crate::peer::Answer>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<RpcRequest>>::Error: Into<middleware::BoxError>,
        <L::Service as tower::Service<RpcRequest>>::Future: Send + 'static,
    {
        self.layers.push(middleware::tower_layer(layer));
        self
    }

    /// The router, or the first registration error.
    pub fn build(mut self) -> Result<Router, RouterError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some(info) = self.discover.take() {
            let doc = serde_json::value::to_raw_value(&OpenRpc::new(info, self.docs))
                .map_err(|e| RouterError::Document(e.to_string()))?;
            let serve = move |_ctx: Context, _params: Option<Box<RawValue>>| {
                let doc = doc.clone();
                async move { Ok::<_, ErrorObject>(doc) }
            };
            self.table
                .insert(DISCOVER.into(), Entry::Method(Box::new(Raw(serve))));
        }
        let routes = Arc::new(Routes {
            table: self.table,
            loose: self.loose,
            prefixes: self.prefixes,
        });
        let mut layers = self.layers;
        let mut observers = self.observers;
        if let Some(hooks) = &self.hooks {
            let observes_calls = hooks.observes_calls();
            let hooks: Arc<dyn Middleware> =
                Arc::new(middleware::HooksMiddleware(Arc::clone(hooks)));
            observers.insert(0, Arc::clone(&hooks));
            if observes_calls {
                layers.insert(0, middleware::middleware_layer(hooks));
            }
        }
        let top = if layers.is_empty() {
            None
        } else {
            let mut step: Arc<dyn Step> = Arc::new(Endpoint(Arc::clone(&routes)));
            for layer in layers.into_iter().rev() {
                step = layer(step);
            }
            Some(step)
        };
        Ok(Router {
            inner: Arc::new(Inner {
                routes,
                state: self.state,
                hooks: self.hooks,
                top,
                observers,
                #[cfg(feature = "metrics")]
                metrics: None,
                subscriptions: self.subscriptions,
            }),
        })
    }
}

impl Dispatch for Router {
    fn request(&self, ctx: &Context, request: Request<'_>) -> Reply {
        self.dispatch(ctx, request)
    }

    fn request_owned(&self, ctx: &Context, request: Request<'static>) -> Reply {
        self.dispatch(ctx, request)
    }

    fn notification(
        &self,
        ctx: &Context,
        notification: Notification<'static>,
    ) -> Result<Option<BoxFuture<'static, ()>>, Notification<'static>> {
        self.dispatch_notification(ctx, notification)
    }

    fn has_method(&self, method: &str) -> bool {
        Router::has_method(self, method)
    }

    fn answers_at_once(&self, method: &str) -> bool {
        // Middleware runs every call as a future; metrics and tracing wrap a ready answer
        // and leave it ready.
        self.inner.top.is_none()
            && matches!(self.inner.routes.lookup(method), Some(Entry::Method(h)) if h.at_once())
    }

    fn state(&self) -> &Extensions {
        self.extensions()
    }

    fn observes_calls(&self) -> bool {
        self.inner.observers.iter().any(|m| m.observes_aborts())
    }

    fn call_aborted(
        &self,
        ctx: &Context,
        method: &str,
        id: Option<&Id>,
        error: &ErrorObject,
        elapsed: std::time::Duration,
    ) {
        for m in &self.inner.observers {
            if m.observes_aborts() {
                m.aborted(ctx, method, id, error, elapsed);
            }
        }
    }

    fn connected(&self, client: &ClientInfo) {
        for m in &self.inner.observers {
            m.connected(client);
        }
    }

    fn disconnected(&self, client: &ClientInfo) {
        for m in &self.inner.observers {
            m.disconnected(client);
        }
    }
}

/// The end of a middleware chain: the router's handlers. Catches panics (-32603) so the
/// layers above see every outcome.
struct Endpoint(Arc<Routes>);

impl Step for Endpoint {
    fn run(&self, req: RpcRequest) -> BoxFuture<'static, CallResult> {
        let RpcRequest {
            method,
            params,
            id,
            ctx,
        } = req;
        if id.is_none() {
            let fut = self.0.start_notification(&ctx, method, params);
            return Box::pin(async move {
                if let Some(fut) = fut {
                    fut.await;
                }
                serialize_result(())
            });
        }
        match self.0.start_request(ctx, &method, params) {
            Reply::Ready(r) => Box::pin(std::future::ready(r)),
            Reply::Pending(fut) => Box::pin(async move {
                match AssertUnwindSafe(fut).catch_unwind().await {
                    Ok(r) => r,
                    Err(panic) => Err(panicked(&method, &*panic)),
                }
            }),
            #[allow(unreachable_patterns)]
            _ => Box::pin(std::future::ready(Err(ErrorObject::internal_error()))),
        }
    }
}

#[cfg(test)]
mod result_tests {
    use super::*;
    use crate::protocol::message::needs_escape;

    fn serde_text<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).expect("serializable")
    }

    fn json(result: CallResult) -> String {
        result.expect("ok").into_json().get().to_owned()
    }

    #[test]
    fn text_results_are_written_as_serde_json_writes_them() {
        let long = "A".repeat(70_000);
        let cases = [
            "",
            "lo",
            "héllo wörld ✓ 🦀",
            "quote \" inside",
            "back\\slash",
            "new\nline",
            "\u{1f}",
            "\u{7f} is not escaped",
            long.as_str(),
        ];
        for text in cases {
            let owned = text.to_string();
            let boxed: Box<str> = text.into();
            let want = serde_text(&text);
            assert_eq!(json(serialize_result(owned)), want);
            assert_eq!(json(serialize_result(boxed)), want);
            let leaked: &'static str = Box::leak(text.to_string().into_boxed_str());
            assert_eq!(json(serialize_result(leaked)), want);
            // kept as the text itself exactly when nothing needs escaping
            let answer = serialize_result(text.to_string()).expect("ok");
            assert_eq!(answer.as_json().is_none(), !needs_escape(text.as_bytes()));
            assert_eq!(answer.json_len(), want.len());
            assert_eq!(answer.to_string(), want);
        }
        // an escape past the first wide chunk, and one in the remainder, still take serde's path
        let mut late = "B".repeat(200);
        late.push('"');
        assert_eq!(json(serialize_result(late.clone())), serde_text(&late));
        assert!(needs_escape(late.as_bytes()));
        assert!(!needs_escape("B".repeat(200).as_bytes()));
    }

    #[test]
    fn other_results_still_go_through_serde() {
        assert_eq!(json(serialize_result(3i64)), "3");
        assert_eq!(json(serialize_result(vec!["a", "b"])), r#"["a","b"]"#);
        assert_eq!(json(serialize_result(Some("x".to_string()))), r#""x""#);
        assert_eq!(json(serialize_result(())), "null");
        let mut other = Some(Some("x".to_string()));
        assert!(text_result(&mut other).is_none());
        assert!(other.is_some());
    }
}
