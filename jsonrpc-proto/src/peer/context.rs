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
    map: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Extensions {
    /// An empty set.
    pub fn new() -> Self {
        Extensions::default()
    }

    /// Stores `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        Arc::make_mut(&mut self.map).insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|v| Arc::clone(v).downcast::<T>().ok())
    }

    /// A reference to the value of type `T`, if one was stored.
    pub fn get_ref<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// Moves every value of `other` in (replacing values of the same type).
    pub(crate) fn extend(&mut self, other: Extensions) {
        if !other.map.is_empty() {
            let other = Arc::try_unwrap(other.map).unwrap_or_else(|shared| (*shared).clone());
            Arc::make_mut(&mut self.map).extend(other);
        }
    }

    /// The number of stored values.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.map.len())
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

/// What a handler knows about its call: the client, the transport, shared state, and ways to
/// talk back. Cheap to clone (one reference count).
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ConnCtx>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("client", &self.inner.client)
            .finish()
    }
}

impl Context {
    pub(crate) fn new(inner: ConnCtx) -> Self {
        Context {
            inner: Arc::new(inner),
        }
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
