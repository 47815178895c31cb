//! The async-io server: HTTP POST, WebSocket (`/ws`) and `/health` on one port (plain or TLS),
//! an optional raw TCP listener (newline-delimited JSON), stdio serving, and graceful shutdown.
//! Request handling is `jsonrpc_proto::http_service`'s and the shutdown bookkeeping
//! `jsonrpc_proto::peer::lifecycle`'s; this file only accepts sockets and runs hyper.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use futures::future::{self, Either};
use futures::io::{AsyncRead, AsyncWrite};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use jsonrpc_proto::http::Limits;
use jsonrpc_proto::http_service::{switching_protocols, ConnInfo, HttpOutcome, HttpService};
use jsonrpc_proto::peer::framed::StreamTransport;
use jsonrpc_proto::peer::lifecycle::Lifecycle;
use jsonrpc_proto::peer::ws::{ws_config, WsTransport, DEFAULT_MAX_MESSAGE};
use jsonrpc_proto::peer::{
    Server as ProtoServer, ServerConfig, ServerHandle, TransportInfo, TransportKind,
};
use jsonrpc_proto::service::Router;

use crate::io::{FuturesIo, HyperIo, HyperTimer};
use crate::runtime::AsyncIoRuntime;
use crate::tls::{acceptor, TlsError, TlsServerConfig};

/// The default grace period of a shutdown: in-flight calls get this long to finish.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// The TLS material could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Neither an HTTP nor a TCP address was given.
    #[error("nothing to serve: give an HTTP or a TCP address")]
    NoListener,
}

/// Builds and starts a [`RunningServer`].
pub struct ServerBuilder {
    router: Router,
    http: Option<String>,
    tcp: Option<String>,
    tls: Option<TlsServerConfig>,
    config: ServerConfig,
    node_name: String,
    limits: Limits,
    max_ws_message: usize,
    grace: Duration,
    runtime: Option<AsyncIoRuntime>,
}

/// The entry point: `Server::builder(router)`.
pub struct Server;

impl Server {
    /// A builder serving `router`. Without `.http(..)` or `.tcp(..)`, HTTP listens on
    /// 127.0.0.1:8000.
    pub fn builder(router: Router) -> ServerBuilder {
        ServerBuilder {
            router,
            http: None,
            tcp: None,
            tls: None,
            config: ServerConfig::default(),
            node_name: "jsonrpc".to_owned(),
            limits: Limits::default(),
            max_ws_message: DEFAULT_MAX_MESSAGE,
            grace: DEFAULT_GRACE,
            runtime: None,
        }
    }
}

impl ServerBuilder {
    /// Serves HTTP POST `/`, WebSocket `/ws` and `GET /health` on `addr` (e.g. "127.0.0.1:8000").
    pub fn http(mut self, addr: impl Into<String>) -> Self {
        self.http = Some(addr.into());
        self
    }

    /// Also serves newline-delimited JSON over raw TCP on `addr`.
    pub fn tcp(mut self, addr: impl Into<String>) -> Self {
        self.tcp = Some(addr.into());
        self
    }

    /// Serves TLS (https, wss, and TLS on the TCP listener) with this configuration.
    pub fn tls(mut self, tls: TlsServerConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The deadline of each call (default 30 s); a call over it is answered with -32001.
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Replaces the async layer's server configuration.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The name reported by `/health`.
    pub fn node_name(mut self, name: impl Into<String>) -> Self {
        self.node_name = name.into();
        self
    }

    /// The largest HTTP body accepted (default 10 MiB; larger gets 413).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.limits.max_body = bytes;
        self
    }

    /// The largest WebSocket message accepted (default 10 MiB).
    pub fn max_ws_message(mut self, bytes: usize) -> Self {
        self.max_ws_message = bytes;
        self
    }

    /// How long a graceful shutdown waits for in-flight calls (default 10 s).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self.config.shutdown_grace = grace;
        self
    }

    /// The executor tasks run on (default [`AsyncIoRuntime::default`]: smol's).
    pub fn runtime(mut self, runtime: AsyncIoRuntime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Binds the listeners and starts serving in the background.
    pub async fn start(self) -> Result<RunningServer, StartError> {
        let http_addr = match (&self.http, &self.tcp) {
            (None, None) => Some("127.0.0.1:8000".to_owned()),
            (h, _) => h.clone(),
        };
        let bind = |addr: String| async move {
            TcpListener::bind(addr.as_str())
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        let http_listener = match http_addr {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let tcp_listener = match self.tcp.clone() {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let runtime = self.runtime.unwrap_or_default();
        let proto = ProtoServer::new(self.router, runtime.clone(), self.config);
        let lifecycle = Lifecycle::new();
        let shared = Arc::new(Shared {
            http: HttpService::new(proto.clone(), &self.node_name, self.limits),
            proto,
            max_ws_message: self.max_ws_message,
            tls: self.tls,
            lifecycle: lifecycle.clone(),
            runtime: runtime.clone(),
        });
        let http_local = http_listener.as_ref().and_then(|l| l.local_addr().ok());
        let tcp_local = tcp_listener.as_ref().and_then(|l| l.local_addr().ok());
        if let Some(listener) = http_listener {
            shared.spawn(accept_loop(shared.clone(), listener, Listener::Http));
        }
        if let Some(listener) = tcp_listener {
            shared.spawn(accept_loop(shared.clone(), listener, Listener::Tcp));
        }
        Ok(RunningServer {
            http_addr: http_local,
            tcp_addr: tcp_local,
            handle: shared.proto.handle(),
            shutdown: ShutdownHandle { lifecycle },
            runtime,
            grace: self.grace,
        })
    }
}

/// Stops a running server from anywhere (Clone). See [`RunningServer::shutdown`].
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    lifecycle: Lifecycle,
}

impl ShutdownHandle {
    /// Starts a graceful shutdown: stop accepting, close WebSockets, let calls finish.
    pub fn shutdown(&self) {
        self.lifecycle.shutdown();
    }

    /// True once a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.lifecycle.is_shutting_down()
    }
}

/// A server that is listening. Drop it to stop at once; call [`RunningServer::shutdown`] for a
/// graceful stop.
pub struct RunningServer {
    http_addr: Option<SocketAddr>,
    tcp_addr: Option<SocketAddr>,
    handle: ServerHandle,
    shutdown: ShutdownHandle,
    runtime: AsyncIoRuntime,
    grace: Duration,
}

impl RunningServer {
    /// The address HTTP, WebSocket and health are served on.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The address of the raw TCP listener.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// The async layer's handle: `notify_client`, `broadcast`, `clients`, `pending_requests`.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// A handle that starts a graceful shutdown from anywhere (a signal handler, a task).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Completes when a shutdown was asked for through a [`ShutdownHandle`] and has finished.
    pub async fn wait(self) {
        self.shutdown.lifecycle.shutdown_requested().await;
        self.finish().await;
    }

    /// Graceful shutdown: stop accepting, send WebSocket close frames, let in-flight calls
    /// finish within the grace period, then stop every connection.
    pub async fn shutdown(self) {
        self.shutdown.shutdown();
        self.finish().await;
    }

    async fn finish(&self) {
        self.handle.shutdown();
        self.shutdown
            .lifecycle
            .finish(self.grace, &self.runtime)
            .await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown.lifecycle.force();
    }
}

struct Shared {
    proto: ProtoServer,
    http: HttpService,
    max_ws_message: usize,
    tls: Option<TlsServerConfig>,
    lifecycle: Lifecycle,
    runtime: AsyncIoRuntime,
}

impl Shared {
    /// Spawns a task that counts as alive and is stopped when the grace period is over.
    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(self.lifecycle.track(task));
    }

    async fn respond(
        self: &Arc<Self>,
        req: Request<Incoming>,
        conn: ConnInfo,
    ) -> Response<Full<Bytes>> {
        match self.http.handle(req, &conn).await {
            HttpOutcome::Respond(response) => response,
            HttpOutcome::WebSocket {
                mut request,
                info,
                key,
            } => {
                let upgrade = hyper::upgrade::on(&mut *request);
                let shared = self.clone();
                self.spawn(async move {
                    match upgrade.await {
                        Ok(upgraded) => {
                            let ws = WebSocketStream::from_raw_socket(
                                HyperIo(upgraded),
                                Role::Server,
                                Some(ws_config(shared.max_ws_message)),
                            )
                            .await;
                            shared.proto.serve(WsTransport::new(ws, info)).await;
                        }
                        Err(e) => {
                            tracing::debug!(peer = ?conn.peer, "WebSocket upgrade failed: {e}")
                        }
                    }
                });
                switching_protocols(&derive_accept_key(key.as_bytes()))
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Listener {
    Http,
    Tcp,
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, kind: Listener) {
    loop {
        let accepted = {
            let accept = listener.accept();
            let stop = shared.lifecycle.shutdown_requested();
            futures::pin_mut!(accept);
            futures::pin_mut!(stop);
            match future::select(accept, stop).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => break,
            }
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                async_io::Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = shared.clone();
        shared.spawn(async move {
            if let Err(e) = serve_socket(conn, stream, peer, kind).await {
                tracing::debug!(%peer, "connection ended with an error: {e}");
            }
        });
    }
    tracing::debug!("listener closed");
}

async fn serve_socket(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    kind: Listener,
) -> io::Result<()> {
    let mut conn = ConnInfo {
        peer: Some(peer),
        local: stream.local_addr().ok(),
        tls: false,
    };
    match shared.tls.clone() {
        None => serve_io(shared, stream, conn, kind).await,
        Some(tls) => {
            let accept = acceptor(&tls).accept(stream);
            let timer = async_io::Timer::after(TLS_HANDSHAKE_TIMEOUT);
            let tls_stream = match future::select(accept, timer).await {
                Either::Left((r, _)) => r?,
                Either::Right(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    ))
                }
            };
            conn.tls = true;
            serve_io(shared, tls_stream, conn, kind).await
        }
    }
}

async fn serve_io<S>(shared: Arc<Shared>, io: S, conn: ConnInfo, kind: Listener) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match kind {
        Listener::Tcp => {
            let mut info = TransportInfo::new(TransportKind::Tcp);
            info.peer_addr = conn.peer;
            info.local_addr = conn.local;
            info.tls = conn.tls;
            let transport = StreamTransport::lines_duplex(io).with_info(info);
            shared.proto.serve(transport).await;
            Ok(())
        }
        Listener::Http => {
            let svc_shared = shared.clone();
            let service = service_fn(move |req| {
                let shared = svc_shared.clone();
                async move { Ok::<_, Infallible>(shared.respond(req, conn).await) }
            });
            let http = hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer)
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(FuturesIo::new(io), service)
                .with_upgrades();
            futures::pin_mut!(http);
            let stop = shared.lifecycle.shutdown_requested();
            futures::pin_mut!(stop);
            match future::select(http.as_mut(), stop).await {
                Either::Left((r, _)) => return r.map_err(io::Error::other),
                Either::Right(_) => {}
            }
            http.as_mut().graceful_shutdown();
            http.await.map_err(io::Error::other)
        }
    }
}

/// Serves `router` over any byte stream pair with Content-Length framing (LSP style) until
/// the reader ends.
pub async fn serve_io_content_length<R, W>(
    router: Router,
    config: ServerConfig,
    runtime: AsyncIoRuntime,
    reader: R,
    writer: W,
) where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let proto = ProtoServer::new(router, runtime, config);
    proto
        .serve(StreamTransport::content_length(reader, writer))
        .await;
}

/// Serves `router` over stdin/stdout with Content-Length framing (LSP style) until stdin ends,
/// on the default [`AsyncIoRuntime`].
pub async fn serve_stdio(router: Router, config: ServerConfig) {
    let runtime = AsyncIoRuntime::default();
    let (reader, writer) = crate::stdio::stdio();
    serve_io_content_length(router, config, runtime, reader, writer).await;
}
