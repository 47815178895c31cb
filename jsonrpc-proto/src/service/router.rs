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
use super::params::parse_params;
use super::subscription::Registry as Subscriptions;
use crate::peer::{panicked, CallResult, Dispatch, Reply};
use crate::peer::{CallInfo, ClientInfo, Context, Extensions};

/// Why a router could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// Names starting with `rpc.` are reserved by the specification.
    #[error("method name {0:?} is reserved (names starting with \"rpc.\" belong to the protocol)")]
    Reserved(String),
    /// The same name was registered twice.
    #[error("method {0:?} is registered twice")]
    Duplicate(String),
}

trait MethodHandler: Send + Sync + 'static {
    fn call(&self, ctx: Context, params: Option<&RawValue>) -> Reply;
    fn call_owned(&self, ctx: Context, params: Option<Box<RawValue>>) -> Reply {
        self.call(ctx, params.as_deref())
    }
    fn wants_owned(&self) -> bool {
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
            serialize_result(&value)
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

fn serialize_result<T: Serialize>(value: &T) -> CallResult {
    serde_json::value::to_raw_value(value).map_err(|e| {
        tracing::error!(error = %e, "a handler's result could not be serialized");
        ErrorObject::internal_error()
    })
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
                    serialize_result(&value)
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
            serialize_result(&value)
        }))
    }
    fn wants_owned(&self) -> bool {
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

struct Inner {
    table: Table,
    prefixes: Prefixes,
    state: Extensions,
    hooks: Option<Arc<dyn Hooks>>,
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
        let prefixes: Vec<&str> = self.inner.prefixes.iter().map(|(p, _)| &**p).collect();
        f.debug_struct("Router")
            .field("methods", &names)
            .field("prefixes", &prefixes)
            .field("hooks", &self.inner.hooks.is_some())
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
                table: Table::default(),
                prefixes: Prefixes::new(),
                state: Extensions::new(),
                hooks: None,
                subscriptions: Arc::default(),
            }),
        }
    }

    /// True when `name` is registered (as a method or a notification handler). Exact names
    /// only: prefix routes ([`RouterBuilder::prefix_raw`]) are not counted.
    pub fn has_method(&self, name: &str) -> bool {
        self.inner.table.contains_key(name)
    }

    /// The handler for `method`: its exact registration, else the longest matching prefix route
    /// (never for the reserved `rpc.` names).
    fn lookup(&self, method: &str) -> Option<&Entry> {
        self.inner.table.get(method).or_else(|| {
            if is_reserved_method(method) {
                return None;
            }
            self.inner
                .prefixes
                .iter()
                .find(|(p, _)| method.starts_with(&**p))
                .map(|(_, e)| e)
        })
    }

    /// The registered names, in no particular order.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.inner.table.keys().map(|k| &**k)
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

    /// Starts a request: runs its hooks and handler. Never panics (a panicking handler is
    /// answered -32603).
    fn dispatch(&self, ctx: &Context, req: Request<'static>) -> Reply {
        if let Some(hooks) = &self.inner.hooks {
            return Reply::Pending(
                self.clone()
                    .hooked(Arc::clone(hooks), ctx.clone(), req)
                    .boxed(),
            );
        }
        self.dispatch_unhooked(ctx, req)
    }

    /// [`Router::dispatch`] of a request borrowed from its frame: copied only when hooks or
    /// the handler need it owned.
    fn dispatch_ref(&self, ctx: &Context, req: Request<'_>) -> Reply {
        if self.inner.hooks.is_some() {
            return self.dispatch(ctx, req.into_owned());
        }
        self.dispatch_unhooked(ctx, req)
    }

    fn dispatch_unhooked(&self, ctx: &Context, req: Request<'_>) -> Reply {
        let Request { id, method, params } = req;
        match self.lookup(&method) {
            Some(Entry::Method(h)) => guard(|| {
                if h.wants_owned() {
                    h.call_owned(ctx.clone(), params.map(Cow::into_owned))
                } else {
                    h.call(ctx.clone(), params.as_deref())
                }
            }),
            Some(Entry::Call(h)) => guard(|| {
                let call = RawCall {
                    method: method.into_owned(),
                    params: params.map(Cow::into_owned),
                    id: Some(id),
                };
                Reply::Pending(h.call(ctx.clone(), call))
            }),
            _ => Reply::Ready(Err(ErrorObject::method_not_found())),
        }
    }

    async fn hooked(
        self,
        hooks: Arc<dyn Hooks>,
        ctx: Context,
        req: Request<'static>,
    ) -> CallResult {
        let rt = Arc::clone(&ctx.inner.rt);
        let start = rt.now();
        let info = CallInfo {
            method: &req.method,
            params: req.params.as_deref(),
            id: Some(&req.id),
            client: ctx.client(),
        };
        if let Err(e) = hooks.before_request(&info).await {
            hooks.after_request(&info, Err(&e), rt.now().saturating_duration_since(start));
            return Err(e);
        }
        let dispatch = match self.lookup(info.method) {
            Some(Entry::Method(h)) => guard(|| {
                if h.wants_owned() {
                    h.call_owned(ctx.clone(), info.params.map(ToOwned::to_owned))
                } else {
                    h.call(ctx.clone(), info.params)
                }
            }),
            Some(Entry::Call(h)) => guard(|| {
                let call = RawCall {
                    method: info.method.to_owned(),
                    params: info.params.map(ToOwned::to_owned),
                    id: info.id.cloned(),
                };
                Reply::Pending(h.call(ctx.clone(), call))
            }),
            _ => Reply::Ready(Err(ErrorObject::method_not_found())),
        };
        let result = match dispatch {
            Reply::Ready(r) => r,
            Reply::Pending(fut) => match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => Err(panicked(info.method, &*panic)),
            },
        };
        hooks.after_request(
            &info,
            result.as_deref(),
            rt.now().saturating_duration_since(start),
        );
        result
    }

    /// Starts a notification's handler. `Err` gives the notification back when no handler
    /// takes it (so it can go to the peer's notification stream).
    fn dispatch_notification(
        &self,
        ctx: &Context,
        n: Notification<'static>,
    ) -> Result<Option<BoxFuture<'static, ()>>, Notification<'static>> {
        if self.lookup(&n.method).is_none() {
            return Err(n);
        }
        if let Some(hooks) = &self.inner.hooks {
            let (router, hooks, ctx) = (self.clone(), Arc::clone(hooks), ctx.clone());
            return Ok(Some(Box::pin(async move {
                let info = CallInfo {
                    method: &n.method,
                    params: n.params.as_deref(),
                    id: None,
                    client: ctx.client(),
                };
                if let Err(e) = hooks.before_request(&info).await {
                    tracing::debug!(method = %n.method, error = %e, "notification rejected by before_request");
                    return;
                }
                let fut = router.start_notification(&ctx, n.method.clone(), n.params.clone());
                if let Some(fut) = fut {
                    fut.await;
                }
            })));
        }
        Ok(self.start_notification(ctx, n.method, n.params))
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

/// Runs the synchronous part of starting a handler, turning a panic into -32603.
fn guard(start: impl FnOnce() -> Reply) -> Reply {
    match catch_unwind(AssertUnwindSafe(start)) {
        Ok(d) => d,
        Err(panic) => Reply::Ready(Err(panicked("(handler)", &*panic))),
    }
}

/// Builds a [`Router`]. Registration errors are reported by [`RouterBuilder::build`].
#[derive(Default)]
pub struct RouterBuilder {
    table: Table,
    prefixes: Prefixes,
    state: Extensions,
    hooks: Option<Arc<dyn Hooks>>,
    error: Option<RouterError>,
    pub(super) subscriptions: Arc<Subscriptions>,
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("methods", &self.table.len())
            .field("prefixes", &self.prefixes.len())
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

    /// Registers a method that takes its params as raw JSON (`None`: no params).
    pub fn method_raw<T, F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context, Option<Box<RawValue>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, ErrorObject>> + Send + 'static,
        T: Serialize + 'static,
    {
        self.add(name, Entry::Method(Box::new(Raw(handler))))
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

    /// The router, or the first registration error.
    pub fn build(self) -> Result<Router, RouterError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(Router {
            inner: Arc::new(Inner {
                table: self.table,
                prefixes: self.prefixes,
                state: self.state,
                hooks: self.hooks,
                subscriptions: self.subscriptions,
            }),
        })
    }
}

impl Dispatch for Router {
    fn request(&self, ctx: &Context, request: Request<'_>) -> Reply {
        self.dispatch_ref(ctx, request)
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

    fn state(&self) -> &Extensions {
        self.extensions()
    }

    fn observes_calls(&self) -> bool {
        self.inner.hooks.is_some()
    }

    fn call_aborted(
        &self,
        ctx: &Context,
        method: &str,
        id: Option<&Id>,
        error: &ErrorObject,
        elapsed: std::time::Duration,
    ) {
        if let Some(hooks) = &self.inner.hooks {
            let info = CallInfo {
                method,
                params: None,
                id,
                client: ctx.client(),
            };
            hooks.after_request(&info, Err(error), elapsed);
        }
    }

    fn connected(&self, client: &ClientInfo) {
        if let Some(h) = &self.inner.hooks {
            h.on_connect(client);
        }
    }

    fn disconnected(&self, client: &ClientInfo) {
        if let Some(h) = &self.inner.hooks {
            h.on_disconnect(client);
        }
    }
}
