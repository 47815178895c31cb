//! The per-call [`Context`] handed to handlers, shared typed state ([`Extensions`]) and
//! [`CallInfo`], what hooks and middleware see of a call.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::protocol::id::Id;

use super::client::Client;
use super::info::{ClientId, ClientInfo, PushError};
use super::registry::ServerHandle;
use super::rt::Rt;
use super::shared::PeerShared;
use super::transport::TransportInfo;

/// Shared typed state: at most one value per type (a router's state, set on its builder).
#[derive(Clone, Default)]
pub struct Extensions {
    // `None` until the first insert: an empty set allocates nothing (one per call).
    map: Option<Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>,
}

impl Extensions {
    /// An empty set.
    pub fn new() -> Self {
        Extensions::default()
    }

    /// Stores `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        Arc::make_mut(self.map.get_or_insert_with(Default::default))
            .insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.map
            .as_ref()?
            .get(&TypeId::of::<T>())
            .and_then(|v| Arc::clone(v).downcast::<T>().ok())
    }

    /// A reference to the value of type `T`, if one was stored.
    pub fn get_ref<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map
            .as_ref()?
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// Moves every value of `other` in (replacing values of the same type).
    pub(crate) fn extend(&mut self, other: Extensions) {
        if let Some(other) = other.map.filter(|m| !m.is_empty()) {
            let other = Arc::try_unwrap(other).unwrap_or_else(|shared| (*shared).clone());
            Arc::make_mut(self.map.get_or_insert_with(Default::default)).extend(other);
        }
    }

    /// The number of stored values.
    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, |m| m.len())
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.len())
            .finish()
    }
}

/// What a hook sees of one call.
#[derive(Clone, Copy, Debug)]
pub struct CallInfo<'a> {
    /// The method name.
    pub method: &'a str,
    /// The raw params, if any.
    pub params: Option<&'a RawValue>,
    /// The request id; `None` for a notification.
    pub id: Option<&'a Id>,
    /// The connection the call came on.
    pub client: &'a ClientInfo,
}

/// Per-connection data every handler of that connection shares.
pub(crate) struct ConnCtx {
    pub(crate) client: Arc<ClientInfo>,
    pub(crate) state: Extensions,
    pub(crate) peer: Option<Arc<PeerShared>>,
    pub(crate) server: Option<ServerHandle>,
    pub(crate) rt: Rt,
}

/// A call's method name: kept inline when it is short (most are), so that scoping a context
/// to a call allocates nothing.
#[derive(Clone)]
enum MethodName {
    Inline { len: u8, bytes: [u8; INLINE_METHOD] },
    Heap(Box<str>),
}

/// The longest method name [`MethodName`] keeps without allocating.
const INLINE_METHOD: usize = 30;

impl MethodName {
    fn new(method: &str) -> Self {
        match u8::try_from(method.len()) {
            Ok(len) if method.len() <= INLINE_METHOD => {
                let mut bytes = [0; INLINE_METHOD];
                bytes[..method.len()].copy_from_slice(method.as_bytes());
                MethodName::Inline { len, bytes }
            }
            _ => MethodName::Heap(method.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // The bytes were copied from a `&str` whole, so they are valid UTF-8.
            MethodName::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            MethodName::Heap(name) => name,
        }
    }
}

/// Per-call data: the method, the request id and the request-scoped extensions middleware
/// set for the handler. Held inline: no allocation per call (a method name longer than
/// [`INLINE_METHOD`] bytes excepted).
#[derive(Clone)]
struct CallScope {
    method: MethodName,
    id: Option<Id>,
    extensions: Extensions,
}

/// What a handler knows about its call: the client, the transport, shared state, the call's
/// method, id and request-scoped extensions, and ways to talk back. Cheap to clone (one
/// reference count, plus a copy of a string request id).
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ConnCtx>,
    /// `None` on a connection's own context (outside a call).
    call: Option<CallScope>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("client", &self.inner.client)
            .field("method", &self.method())
            .field("request_id", &self.request_id())
            .finish()
    }
}

impl Context {
    pub(crate) fn new(inner: ConnCtx) -> Self {
        Context {
            inner: Arc::new(inner),
            call: None,
        }
    }

    /// The client of this connection's own context when nothing else holds the context or
    /// its client (no handler kept a clone): an HTTP connection then serves its next body
    /// with the same context, given the body's client id and transport.
    pub(crate) fn client_mut(&mut self) -> Option<&mut ClientInfo> {
        if self.call.is_some() {
            return None;
        }
        let inner = Arc::get_mut(&mut self.inner)?;
        Arc::get_mut(&mut inner.client)
    }

    /// Gives this connection's own context the client `id` and `transport` when nothing else
    /// holds it or its client; `Err` gives `transport` back otherwise (moved, not boxed: it
    /// goes straight into a new context).
    #[allow(clippy::result_large_err)]
    pub(crate) fn renew_client(
        &mut self,
        id: ClientId,
        transport: TransportInfo,
    ) -> Result<(), TransportInfo> {
        match self.client_mut() {
            Some(client) => {
                client.id = id;
                client.transport = transport;
                Ok(())
            }
            None => Err(transport),
        }
    }

    /// This connection's context scoped to one call: `method` and `id` (`None`: a
    /// notification) are read back with [`Context::method`] and [`Context::request_id`].
    /// The dispatcher (the service layer's router) calls it once per call.
    pub fn for_call(&self, method: &str, id: Option<Id>) -> Context {
        Context {
            inner: Arc::clone(&self.inner),
            call: Some(CallScope {
                method: MethodName::new(method),
                id,
                extensions: Extensions::new(),
            }),
        }
    }

    /// The method of the call being handled (`None` outside a call).
    pub fn method(&self) -> Option<&str> {
        self.call.as_ref().map(|c| c.method.as_str())
    }

    /// The id of the request being handled; `None` for a notification or outside a call.
    pub fn request_id(&self) -> Option<&Id> {
        self.call.as_ref().and_then(|c| c.id.as_ref())
    }

    /// True when the call being handled is a notification (no answer goes back).
    pub fn is_notification(&self) -> bool {
        self.call.as_ref().is_some_and(|c| c.id.is_none())
    }

    /// The request-scoped value of type `T` a middleware set with
    /// [`Context::insert_extension`] (for example the authenticated principal).
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.call.as_ref()?.extensions.get_ref::<T>()
    }

    /// All request-scoped extensions of the call being handled (empty outside a call).
    pub fn call_extensions(&self) -> Option<&Extensions> {
        self.call.as_ref().map(|c| &c.extensions)
    }

    /// Stores a request-scoped value for this call only, read by the layers below and the
    /// handler with [`Context::extension`]. Outside a call (a connection's own context) it
    /// starts an anonymous call scope.
    pub fn insert_extension<T: Send + Sync + 'static>(&mut self, value: T) {
        let scope = self.call.get_or_insert_with(|| CallScope {
            method: MethodName::new(""),
            id: None,
            extensions: Extensions::new(),
        });
        scope.extensions.insert(value);
    }

    /// The id of the connection the call came on.
    pub fn client_id(&self) -> ClientId {
        self.inner.client.id
    }

    /// The connection the call came on: id and transport metadata.
    pub fn client(&self) -> &ClientInfo {
        &self.inner.client
    }

    /// Transport kind, peer address, HTTP or WebSocket handshake headers, path.
    pub fn transport(&self) -> &TransportInfo {
        &self.inner.client.transport
    }

    /// The shared state of type `T` set with the router builder's `state`.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.inner.state.get::<T>()
    }

    /// A reference to the shared state of type `T`.
    pub fn state_ref<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.state.get_ref::<T>()
    }

    /// All shared state.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.state
    }

    /// Pushes a notification to this client through its bounded outgoing queue. Never waits:
    /// when the queue is full the notification is dropped and [`PushError::Full`] returned.
    /// Over HTTP: [`PushError::Unsupported`].
    pub fn notify<P: Serialize>(&self, method: &str, params: P) -> Result<(), PushError> {
        match &self.inner.peer {
            Some(peer) => peer.push_notification(method, &params),
            None => Err(PushError::Unsupported),
        }
    }

    /// A client for calling back the peer on this same connection (bidirectional RPC).
    /// `None` over HTTP.
    pub fn peer(&self) -> Option<Client> {
        self.inner
            .peer
            .as_ref()
            .map(|p| Client::from_shared(Arc::clone(p)))
    }

    /// A future that completes after `duration`, on the connection's [`crate::peer::Runtime`]
    /// (tokio's timer under transport-tokio, async-io's under smol and async-std): handlers
    /// stay runtime-agnostic.
    pub fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let rt = &self.inner.rt;
        rt.sleep_until(rt.now() + duration)
    }

    /// A future that completes at `deadline`, on the connection's runtime.
    pub fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        self.inner.rt.sleep_until(deadline)
    }

    /// The current time according to the connection's runtime.
    pub fn now(&self) -> Instant {
        self.inner.rt.now()
    }

    /// The server this call came through, if it came through a [`crate::peer::Server`].
    pub fn server(&self) -> Option<&ServerHandle> {
        self.inner.server.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_read_back_inline_or_not() {
        let long = "x".repeat(INLINE_METHOD + 1);
        let exact = "y".repeat(INLINE_METHOD);
        for name in ["", "add", "ünïcödé.métho∂", exact.as_str(), long.as_str()] {
            let m = MethodName::new(name);
            assert_eq!(m.as_str(), name);
            assert_eq!(m.clone().as_str(), name);
        }
        assert!(matches!(MethodName::new(&exact), MethodName::Inline { .. }));
        assert!(matches!(MethodName::new(&long), MethodName::Heap(_)));
    }
}
