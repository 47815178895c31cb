//! [`Server`]: serves one [`Router`] over any number of connections and HTTP posts, with a
//! registry of connected clients for pushes, and graceful shutdown.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskCx, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{self, Either, FutureExt};
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use futures::Sink;
use serde::Serialize;

use crate::protocol::connection::{Config, Connection, Event};
use crate::protocol::error::ErrorObject;
use crate::service::{ConnCtx, Context, Dispatch, PushError, Router};

use super::driver::{cap_response, Driver, Serving};
use super::rt::{Rt, Signal};
use super::shared::{notification_frame, PeerShared};
use super::{Runtime, Transport, TransportError, TransportInfo};

/// The id a server gives each connection (and each HTTP post).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A connection as hooks and handlers see it.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    /// The server-assigned id (0 on a [`super::Client`]'s own side).
    pub id: ClientId,
    /// What the transport knows: kind, addresses, headers, path.
    pub transport: TransportInfo,
}

/// What to do when a client's bounded outgoing push queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PushOverflow {
    /// Drop the notification (with a warning) and return [`PushError::Full`] (default).
    #[default]
    Drop,
    /// Drop it and disconnect the client: it cannot keep up.
    Disconnect,
}

/// Settings of a [`Server`].
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Protocol limits of each connection (batch length, calls in flight, ...).
    pub connection: Config,
    /// Deadline of each handler (default 30 s): a late call is answered -32001 "Request timed
    /// out" and its handler dropped. `None`: no deadline.
    pub request_timeout: Option<Duration>,
    /// Persistent connections served at once (default 10 000); beyond, new ones are closed
    /// at once. Adapters with listeners count every socket against it
    /// ([`crate::adapter::slots::SocketSlots`]) and refuse the excess cleanly: HTTP 503, WebSocket
    /// close 1013, raw TCP one -32003 line.
    pub max_connections: usize,
    /// Notifications that may wait per connection for a slow client (default 1024).
    pub push_buffer: usize,
    /// What a full push queue means (default: drop the notification).
    pub push_overflow: PushOverflow,
    /// How long [`ServerHandle::shutdown`] lets calls in flight finish (default 10 s).
    pub shutdown_grace: Duration,
    /// Send `$/cancelRequest` when a handler's call back to its client is dropped.
    pub send_cancel_notifications: bool,
    /// Network connections (TCP, WebSocket; never stdio or memory) with no frame read or written
    /// for this long while no call is in flight either way are closed (default 300 s; `None`:
    /// never). Cuts off clients that connect and send nothing, trickle a frame that never
    /// ends, or stop reading their answers. Clients that only listen for pushes must send
    /// something (any call) now and then, unless pushes reach them within the timeout.
    pub idle_timeout: Option<Duration>,
    /// The largest result sent in one response, in bytes (default 10 MiB,
    /// [`crate::protocol::limits::DEFAULT_MAX_RESPONSE_SIZE`]); a larger result is replaced by a -32603
    /// "Response too large" error whose `data` gives the sizes.
    pub max_response_size: usize,
    /// Run each call's handler on a task of its own (default false). By default the handlers
    /// of one connection run concurrently on that connection's task: cheapest for the usual
    /// small calls, but one connection's handlers then share one core. Spawning lets
    /// CPU-heavy handlers of one connection (large results to serialize, say) use every core,
    /// at the price of a task per call (a spawned handler is still bounded by the limits and
    /// deadlines of its connection, and dropped when the connection drops it). Applies to
    /// persistent connections (WebSocket, TCP, stdio, memory); each HTTP body is served on
    /// its HTTP request's task either way.
    pub spawn_calls: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            connection: Config::default(),
            request_timeout: Some(Duration::from_secs(30)),
            max_connections: 10_000,
            push_buffer: 1024,
            push_overflow: PushOverflow::Drop,
            shutdown_grace: Duration::from_secs(10),
            send_cancel_notifications: false,
            idle_timeout: Some(Duration::from_secs(300)),
            max_response_size: crate::protocol::limits::DEFAULT_MAX_RESPONSE_SIZE,
            spawn_calls: false,
        }
    }
}

/// A connected client: its handlers' context (which holds the one copy of its [`ClientInfo`])
/// and its connection.
struct Registered {
    ctx: Context,
    peer: Arc<PeerShared>,
}

/// Takes a served connection out of the registry when it ends (holds only the id: the
/// registry's entry is taken back out for `on_disconnect`).
struct Unregister<'a>(&'a ServerShared, ClientId);

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        let registered = self.0.clients().remove(&self.1);
        if let (Some(h), Some(r)) = (self.0.router.hooks(), registered) {
            h.on_disconnect(r.ctx.client());
        }
        self.0.idle.notify_all();
    }
}

/// A served connection: its driver, and its registry entry while it runs. Ready at once when
/// the connection was refused.
struct Served<'a, Si, St>(Option<(Driver<Si, St>, Unregister<'a>)>);

impl<Si, St> Future for Served<'_, Si, St>
where
    Si: Sink<Bytes, Error = TransportError> + Unpin,
    St: Stream<Item = Result<Bytes, TransportError>> + Unpin,
{
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<()> {
        match &mut self.0 {
            Some((driver, _)) => driver.poll_unpin(cx),
            None => Poll::Ready(()),
        }
    }
}

pub(crate) struct ServerShared {
    router: Router,
    rt: Rt,
    config: ServerConfig,
    clients: Mutex<HashMap<ClientId, Registered>>,
    next_client: AtomicU64,
    pending: AtomicUsize,
    pub(crate) shutting_down: AtomicBool,
    idle: Signal,
}

impl ServerShared {
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

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Registered>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_id(&self) -> ClientId {
        ClientId(self.next_client.fetch_add(1, Ordering::Relaxed))
    }

    fn ctx(self: &Arc<Self>, info: ClientInfo, peer: Option<Arc<PeerShared>>) -> Context {
        Context::new(ConnCtx {
            client: info,
            state: self.router.extensions().clone(),
            peer,
            server: Some(ServerHandle {
                inner: Arc::clone(self),
            }),
            rt: Arc::clone(&self.rt),
        })
    }
}

/// Serves a [`Router`]: persistent connections with [`Server::serve`], HTTP posts with
/// [`Server::handle_http`]. Cheap to clone.
#[derive(Clone)]
pub struct Server {
    inner: Arc<ServerShared>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("router", &self.inner.router)
            .field("clients", &self.handle().client_count())
            .finish()
    }
}

impl Server {
    /// A server for `router`, running its timers and tasks on `runtime`.
    pub fn new<R: Runtime>(router: Router, runtime: R, config: ServerConfig) -> Server {
        Server {
            inner: Arc::new(ServerShared {
                router,
                rt: Arc::new(runtime),
                config,
                clients: Mutex::new(HashMap::new()),
                next_client: AtomicU64::new(1),
                pending: AtomicUsize::new(0),
                shutting_down: AtomicBool::new(false),
                idle: Signal::default(),
            }),
        }
    }

    /// A handle for pushes, the client registry and shutdown.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Completes after `d` on the server's runtime (for adapter-independent timeouts).
    #[cfg_attr(not(feature = "http-service"), allow(dead_code))]
    pub(crate) fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'static, ()> {
        self.inner.rt.sleep_until(self.inner.rt.now() + d)
    }

    /// The router served.
    pub fn router(&self) -> &Router {
        &self.inner.router
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Serves one persistent connection (TCP, WebSocket, stdio, memory) until it closes.
    /// Registers the client (for [`ServerHandle::notify_client`] / `broadcast`) and runs
    /// `on_connect` / `on_disconnect`. Requests of the connection run concurrently, bounded by
    /// `connection.max_in_flight` (input is not read while at the limit); notifications run
    /// one after another in arrival order. The transport is split when this is called; the
    /// client is registered when the returned future is first polled.
    pub fn serve<T: Transport>(&self, transport: T) -> impl Future<Output = ()> + Send + '_ {
        // Split at once and register and build the driver on the first poll, without an
        // `async` block: what an idle connection's task keeps is then the driver and little
        // else (an `async fn` would also keep `transport`, and the driver a second time, for as
        // long as the connection lives).
        let info = transport.info();
        let (sink, stream) = transport.split();
        future::lazy(move |_| self.open(info, sink, stream)).flatten()
    }

    /// Registers a new connection and builds its driver; ready at once when it is refused.
    fn open<Si, St>(&self, transport: TransportInfo, sink: Si, stream: St) -> Served<'_, Si, St> {
        let shared = &self.inner;
        if shared.shutting_down.load(Ordering::SeqCst) {
            tracing::debug!("server shutting down: connection refused");
            return Served(None);
        }
        let info = ClientInfo {
            id: shared.next_id(),
            transport,
        };
        let peer = Arc::new(PeerShared::new(
            Connection::new(shared.config.connection.clone()),
            Arc::clone(&shared.rt),
            shared.config.send_cancel_notifications,
            shared.config.push_buffer,
            1024,
            false,
        ));
        let id = info.id;
        // The info (with the handshake headers) is kept once, in the handlers' context; the
        // registry shares that context.
        let ctx = shared.ctx(info, Some(Arc::clone(&peer)));
        {
            let mut clients = shared.clients();
            if clients.len() >= shared.config.max_connections {
                tracing::warn!(
                    limit = shared.config.max_connections,
                    "too many connections: new one closed"
                );
                return Served(None);
            }
            clients.insert(
                id,
                Registered {
                    ctx: ctx.clone(),
                    peer: Arc::clone(&peer),
                },
            );
        }
        if let Some(h) = shared.router.hooks() {
            h.on_connect(ctx.client());
        }
        let unregister = Unregister(shared, id);
        let serving = Serving {
            router: shared.router.clone(),
            ctx,
            timeout: shared.config.request_timeout,
            server: Some(Arc::clone(shared)),
            shutdown_grace: shared.config.shutdown_grace,
            spawn_calls: shared.config.spawn_calls,
        };
        Served(Some((
            Driver::new(peer, sink, stream, Some(serving)),
            unregister,
        )))
    }

    /// Handles one HTTP POST body: every request in it runs (concurrently, with the handler
    /// deadline); the answer body is returned, or `None` when there is nothing to answer (only
    /// notifications: reply 204). Notification handlers are started in the background, in
    /// order. Handlers see `info` through [`Context::transport`]; they cannot push
    /// notifications or call back.
    pub async fn handle_http(&self, body: Bytes, info: TransportInfo) -> Option<Bytes> {
        let shared = &self.inner;
        let rt = &shared.rt;
        let ctx = shared.ctx(
            ClientInfo {
                id: shared.next_id(),
                transport: info,
            },
            None,
        );
        // Counts this body's calls in `pending_requests` and gives them back when the future
        // is dropped early (the HTTP client went away and hyper dropped the request).
        struct Calls<'a>(&'a ServerShared, usize);
        impl Calls<'_> {
            fn start(&mut self) {
                self.0.call_started();
                self.1 += 1;
            }
            fn done(&mut self) {
                self.0.calls_done(1);
                self.1 -= 1;
            }
        }
        impl Drop for Calls<'_> {
            fn drop(&mut self) {
                if self.1 > 0 {
                    self.0.calls_done(self.1);
                }
            }
        }
        let mut calls = Calls(shared, 0);
        let mut conn = Connection::new(shared.config.connection.clone());
        let start = rt.now();
        conn.handle_frame(&body, start);
        let mut handles = Vec::new();
        let mut running = FuturesUnordered::new();
        let mut notes = Vec::new();
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Request(call) => {
                    calls.start();
                    match shared.router.dispatch(&ctx, call.request) {
                        Dispatch::Ready(r) => {
                            let r = cap_response(r, shared.config.max_response_size);
                            let _ = conn.respond(call.handle, r.as_deref());
                            calls.done();
                        }
                        Dispatch::Pending(fut) => {
                            let i = handles.len();
                            handles.push(Some(call.handle));
                            running.push(AssertUnwindSafe(fut).catch_unwind().map(move |r| (i, r)));
                        }
                    }
                }
                Event::Notification(n) => {
                    if let Ok(Some(f)) = shared.router.dispatch_notification(&ctx, n) {
                        notes.push(f);
                    }
                }
                _ => {}
            }
        }
        if !notes.is_empty() {
            rt.spawn(Box::pin(async move {
                for f in notes {
                    if AssertUnwindSafe(f).catch_unwind().await.is_err() {
                        tracing::error!("notification handler panicked");
                    }
                }
            }));
        }
        if !running.is_empty() {
            let mut sleep = match shared.config.request_timeout {
                Some(t) => Either::Left(rt.sleep_until(start + t)),
                None => Either::Right(future::pending::<()>()),
            };
            loop {
                match future::select(running.next(), &mut sleep).await {
                    Either::Left((Some((i, outcome)), _)) => {
                        let r = outcome.unwrap_or_else(|panic| {
                            Err(crate::service::router_panicked("(handler)", &*panic))
                        });
                        let r = cap_response(r, shared.config.max_response_size);
                        if let Some(h) = handles[i].take() {
                            let _ = conn.respond(h, r.as_deref());
                            calls.done();
                        }
                    }
                    Either::Left((None, _)) => break,
                    Either::Right(((), _)) => {
                        let e = ErrorObject::request_timeout();
                        for h in handles.iter_mut().filter_map(Option::take) {
                            let _ = conn.respond(h, Err(&e));
                            calls.done();
                        }
                        break;
                    }
                }
            }
        }
        let mut out: Option<Bytes> = None;
        while let Some(frame) = conn.poll_transmit() {
            out = Some(match out {
                None => frame,
                Some(prev) => {
                    // One body holds one JSON text; more than one frame would be a bug.
                    tracing::error!(
                        "more than one answer frame for one HTTP body; keeping the first"
                    );
                    prev
                }
            });
        }
        out
    }
}

/// A handle on a running [`Server`]: pushes, the client registry, shutdown. Cheap to clone.
#[derive(Clone)]
pub struct ServerHandle {
    inner: Arc<ServerShared>,
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
        let peers: Vec<Arc<PeerShared>> = self
            .inner
            .clients()
            .values()
            .map(|r| Arc::clone(&r.peer))
            .collect();
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
            .map(|r| r.ctx.client().clone())
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
        let peers: Vec<Arc<PeerShared>> = self
            .inner
            .clients()
            .values()
            .map(|r| Arc::clone(&r.peer))
            .collect();
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
