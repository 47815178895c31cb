//! [`Server`]: serves one [`Dispatch`] (a router) over any number of connections and HTTP
//! posts, registering each connection with the server's registry for pushes and shutdown.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{self, Either, FutureExt};
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use futures::Sink;

use crate::protocol::connection::{Call, Connection};
use crate::protocol::error::ErrorObject;

use super::config::ServerConfig;
use super::context::{ConnCtx, Context};
use super::dispatch::{panicked, Answer, Dispatch, Reply};
use super::driver::{cap_response, Driver, Serving};
use super::info::{ClientId, ClientInfo};
use super::registry::{Registered, Registry, ServerHandle};
use super::shared::PeerShared;
use super::transport::{Runtime, Transport, TransportError, TransportInfo};

/// A server's registry and what it serves.
struct ServerInner {
    registry: Arc<Registry>,
    dispatch: Arc<dyn Dispatch>,
}

impl ServerInner {
    fn ctx(&self, info: Arc<ClientInfo>, peer: Option<Arc<PeerShared>>) -> Context {
        Context::new(ConnCtx {
            client: info,
            state: self.dispatch.state().clone(),
            peer,
            server: Some(ServerHandle {
                inner: Arc::clone(&self.registry),
            }),
            rt: Arc::clone(&self.registry.rt),
        })
    }
}

/// Takes a served connection out of the registry when it ends, and reports the end.
struct Unregister<'a>(&'a ServerInner, ClientId);

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        let registered = self.0.registry.clients().remove(&self.1);
        if let Some(r) = registered {
            self.0.dispatch.disconnected(&r.client);
        }
        self.0.registry.idle.notify_all();
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

/// Serves a [`Dispatch`] (a `Router`): persistent connections with [`Server::serve`], HTTP posts with
/// [`Server::handle_http`]. Cheap to clone.
#[derive(Clone)]
pub struct Server {
    inner: Arc<ServerInner>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("clients", &self.handle().client_count())
            .finish()
    }
}

impl Server {
    /// A server for `dispatch` (a `Router`), running its timers and tasks on `runtime`.
    pub fn new<D: Dispatch, R: Runtime>(dispatch: D, runtime: R, config: ServerConfig) -> Server {
        Server {
            inner: Arc::new(ServerInner {
                registry: Arc::new(Registry::new(Arc::new(runtime), config)),
                dispatch: Arc::new(dispatch),
            }),
        }
    }

    /// A handle for pushes, the client registry and shutdown.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            inner: Arc::clone(&self.inner.registry),
        }
    }

    /// Completes after `d` on the server's runtime (for runtime-independent timeouts).
    pub fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'static, ()> {
        let rt = &self.inner.registry.rt;
        rt.sleep_until(rt.now() + d)
    }

    /// What is served.
    pub fn dispatcher(&self) -> &Arc<dyn Dispatch> {
        &self.inner.dispatch
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.registry.config
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
        let inner = &*self.inner;
        let shared = &*inner.registry;
        if shared.shutting_down.load(Ordering::SeqCst) {
            tracing::debug!("server shutting down: connection refused");
            return Served(None);
        }
        let info = Arc::new(ClientInfo {
            id: shared.next_id(),
            transport,
        });
        let peer = Arc::new(PeerShared::new(
            Connection::new(shared.config.connection.clone()),
            Arc::clone(&shared.rt),
            shared.config.send_cancel_notifications,
            shared.config.push_buffer,
            1024,
            false,
        ));
        let id = info.id;
        // The info (with the handshake headers) is kept once, shared by the handlers' context
        // and the registry.
        let ctx = inner.ctx(Arc::clone(&info), Some(Arc::clone(&peer)));
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
                    client: info,
                    peer: Arc::clone(&peer),
                },
            );
        }
        inner.dispatch.connected(ctx.client());
        let unregister = Unregister(inner, id);
        let serving = Serving {
            dispatch: Arc::clone(&inner.dispatch),
            ctx,
            timeout: shared.config.request_timeout,
            server: Some(Arc::clone(&inner.registry)),
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
        self.handle_http_in(body, info, &mut HttpScratch::default())
            .await
    }

    /// [`Server::handle_http`] for one of the bodies an HTTP connection carries one after
    /// another: `scratch` keeps the protocol connection and the context from one body to the
    /// next (when nothing holds them any more), so that a body does not allocate them again.
    pub(crate) async fn handle_http_in(
        &self,
        body: Bytes,
        info: TransportInfo,
        scratch: &mut HttpScratch,
    ) -> Option<Bytes> {
        let inner = &*self.inner;
        let shared = &*inner.registry;
        let rt = &shared.rt;
        let id = shared.next_id();
        let kept = scratch.ctx.take().filter(|c| {
            c.server()
                .is_some_and(|s| Arc::ptr_eq(&s.inner, &inner.registry))
        });
        let fresh = |transport| inner.ctx(Arc::new(ClientInfo { id, transport }), None);
        let mut ctx = match kept {
            Some(mut ctx) => match ctx.renew_client(id, info) {
                Ok(()) => ctx,
                Err(info) => fresh(info),
            },
            None => fresh(info),
        };
        // Counts this body's calls in `pending_requests` and gives them back when the future
        // is dropped early (the HTTP client went away and hyper dropped the request).
        struct Calls<'a>(&'a Registry, usize);
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
        let mut conn = match scratch.conn.take() {
            Some(conn) if conn.reusable() => conn,
            _ => Connection::new(shared.config.connection.clone()),
        };
        let start = rt.now();
        // The body's calls, borrowed from it (no copy of methods, params or ids).
        let mut frame_calls = Vec::new();
        conn.handle_frame_calls(&body, start, &mut frame_calls);
        let mut handles = Vec::new();
        // Only built for a handler that is not done on its first poll.
        let mut running = None;
        let mut notes = Vec::new();
        for call in frame_calls {
            match call {
                Call::Request(request, handle) => {
                    calls.start();
                    let fut = match inner.dispatch.request(&ctx, request) {
                        Reply::Ready(r) => {
                            let r = cap_response(r, shared.config.max_response_size);
                            let _ = conn.respond_text(handle, r.as_ref().map(Answer::as_text));
                            calls.done();
                            continue;
                        }
                        Reply::Pending(fut) => fut,
                    };
                    // Most handlers answer on their first poll: then no task set, no timer.
                    let mut fut = AssertUnwindSafe(fut).catch_unwind();
                    match futures::poll!(&mut fut) {
                        Poll::Ready(outcome) => {
                            let r =
                                outcome.unwrap_or_else(|panic| Err(panicked("(handler)", &*panic)));
                            let r = cap_response(r, shared.config.max_response_size);
                            let _ = conn.respond_text(handle, r.as_ref().map(Answer::as_text));
                            calls.done();
                        }
                        Poll::Pending => {
                            let i = handles.len();
                            handles.push(Some(handle));
                            running
                                .get_or_insert_with(FuturesUnordered::new)
                                .push(fut.map(move |r| (i, r)));
                        }
                    }
                }
                Call::Notification(n) => {
                    if let Ok(Some(f)) = inner.dispatch.notification(&ctx, n.into_owned()) {
                        notes.push(f);
                    }
                }
            }
        }
        // Invalid entries were answered already; nothing else can come from a request body.
        while conn.poll_event().is_some() {}
        if !notes.is_empty() {
            rt.spawn(Box::pin(async move {
                for f in notes {
                    if AssertUnwindSafe(f).catch_unwind().await.is_err() {
                        tracing::error!("notification handler panicked");
                    }
                }
            }));
        }
        if let Some(mut running) = running {
            let mut sleep = match shared.config.request_timeout {
                Some(t) => Either::Left(rt.sleep_until(start + t)),
                None => Either::Right(future::pending::<()>()),
            };
            loop {
                match future::select(running.next(), &mut sleep).await {
                    Either::Left((Some((i, outcome)), _)) => {
                        let r = outcome.unwrap_or_else(|panic| Err(panicked("(handler)", &*panic)));
                        let r = cap_response(r, shared.config.max_response_size);
                        if let Some(h) = handles[i].take() {
                            let _ = conn.respond_text(h, r.as_ref().map(Answer::as_text));
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
        if conn.reusable() {
            scratch.conn = Some(conn);
        }
        // Kept without this body's headers and path (an idle connection holds no request).
        if let Some(client) = ctx.client_mut() {
            client.transport = TransportInfo::new(client.transport.kind);
            scratch.ctx = Some(ctx);
        }
        out
    }
}

/// What an HTTP connection keeps from one body to the next ([`Server::handle_http_in`]).
#[derive(Default)]
pub(crate) struct HttpScratch {
    conn: Option<Connection>,
    ctx: Option<Context>,
}
