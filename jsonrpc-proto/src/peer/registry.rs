//! The server's registry of connected clients: [`ServerHandle`] (pushes, the client list,
//! shutdown) over the shared `Registry` the connection drivers report to.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::config::{PushOverflow, ServerConfig};
use super::info::{ClientId, ClientInfo, PushError};
use super::rt::{Rt, Signal};
use super::shared::{notification_frame, PeerShared};

/// A connected client: its info (shared with its handlers' context, one copy) and its
/// connection.
pub(crate) struct Registered {
    pub(crate) client: Arc<ClientInfo>,
    pub(crate) peer: Arc<PeerShared>,
}

/// What every connection of one server shares: the client registry, the count of calls in
/// flight, the shutdown flag.
pub(crate) struct Registry {
    pub(crate) rt: Rt,
    pub(crate) config: ServerConfig,
    clients: Mutex<HashMap<ClientId, Registered>>,
    next_client: AtomicU64,
    pending: AtomicUsize,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) idle: Signal,
}

impl Registry {
    pub(crate) fn config(&self) -> &ServerConfig {
        &self.config
    }

    pub(crate) fn call_started(&self) {
        self.pending.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn calls_done(&self, n: usize) {
        if self.pending.fetch_sub(n, Ordering::SeqCst) == n {
            self.idle.notify_all();
        }
    }

    pub(crate) fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Registered>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connections registered now (taken out of the lock, so pushes do not hold it).
    pub(crate) fn peers(&self) -> Vec<Arc<PeerShared>> {
        self.clients()
            .values()
            .map(|r| Arc::clone(&r.peer))
            .collect()
    }

    pub(crate) fn next_id(&self) -> ClientId {
        ClientId(self.next_client.fetch_add(1, Ordering::Relaxed))
    }

    /// A registry for a server running on `rt`.
    pub(crate) fn new(rt: Rt, config: ServerConfig) -> Registry {
        Registry {
            rt,
            config,
            clients: Mutex::new(HashMap::new()),
            next_client: AtomicU64::new(1),
            pending: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
            idle: Signal::default(),
        }
    }
}

/// A handle on a running [`Server`](super::Server): pushes, the client registry, shutdown. Cheap to clone.
#[derive(Clone)]
pub struct ServerHandle {
    pub(crate) inner: Arc<Registry>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("clients", &self.client_count())
            .field("pending_requests", &self.pending_requests())
            .finish()
    }
}

impl ServerHandle {
    fn overflowed(&self, peer: &PeerShared, r: Result<(), PushError>) -> Result<(), PushError> {
        if matches!(r, Err(PushError::Full))
            && self.inner.config.push_overflow == PushOverflow::Disconnect
        {
            tracing::warn!("client too slow for its pushes: disconnecting it");
            peer.request_abort();
        }
        r
    }

    /// Pushes a notification to one client through its bounded queue (never waits).
    pub fn notify_client<P: Serialize>(
        &self,
        client: ClientId,
        method: &str,
        params: P,
    ) -> Result<(), PushError> {
        let peer = self
            .inner
            .clients()
            .get(&client)
            .map(|r| Arc::clone(&r.peer))
            .ok_or(PushError::UnknownClient(client))?;
        let r = peer.push_notification(method, &params);
        self.overflowed(&peer, r)
    }

    /// Pushes a notification to every connected client; returns how many took it.
    pub fn broadcast<P: Serialize>(&self, method: &str, params: P) -> Result<usize, PushError> {
        let frame = notification_frame(method, &params)?;
        let peers = self.inner.peers();
        Ok(peers
            .iter()
            .filter(|p| {
                let r = p.push_frame(frame.clone());
                self.overflowed(p, r).is_ok()
            })
            .count())
    }

    /// The connected clients.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.inner
            .clients()
            .values()
            .map(|r| ClientInfo::clone(&r.client))
            .collect()
    }

    /// The number of connected clients.
    pub fn client_count(&self) -> usize {
        self.inner.clients().len()
    }

    /// Requests being handled now, over all connections and HTTP posts.
    pub fn pending_requests(&self) -> usize {
        self.inner.pending.load(Ordering::SeqCst)
    }

    /// Server pushes waiting in the outgoing queues of all connected clients now.
    pub fn push_queue_depth(&self) -> usize {
        let peers = self.inner.peers();
        peers.iter().map(|p| p.queued_pushes()).sum()
    }

    /// Disconnects one client. Returns false when it is not connected.
    pub fn disconnect(&self, client: ClientId) -> bool {
        let peer = self
            .inner
            .clients()
            .get(&client)
            .map(|r| Arc::clone(&r.peer));
        peer.map(|p| p.request_close()).is_some()
    }

    /// Starts a graceful shutdown: new connections are refused, connections stop reading,
    /// calls in flight may finish within `shutdown_grace`, then every connection is closed.
    /// Returns at once; see [`ServerHandle::wait_idle`].
    pub fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let peers = self.inner.peers();
        for p in peers {
            p.wake();
        }
        self.inner.idle.notify_all();
    }

    /// True once [`ServerHandle::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }

    /// Completes when no request is being handled; after a shutdown, when moreover every
    /// connection has closed.
    pub async fn wait_idle(&self) {
        let inner = &self.inner;
        inner
            .idle
            .wait_until(|| {
                inner.pending.load(Ordering::SeqCst) == 0
                    && (!inner.shutting_down.load(Ordering::SeqCst) || inner.clients().is_empty())
            })
            .await;
    }
}
