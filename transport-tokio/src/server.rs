//! The tokio server: HTTP POST, WebSocket (`/ws`) and `/health` on one port (plain or TLS), an
//! optional raw TCP listener (newline-delimited JSON), stdio serving, and graceful shutdown.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use jsonrpc_proto::http::{
    decide, health_body, is_websocket_upgrade, Decision, Limits, Rejection, RequestHead,
    JSON_CONTENT_TYPE,
};
use jsonrpc_proto::peer::{
    Server as ProtoServer, ServerConfig, ServerHandle, TransportInfo, TransportKind,
};
use jsonrpc_proto::service::Router;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::framed::StreamTransport;
use crate::runtime::TokioRuntime;
use crate::tls::{TlsError, TlsServerConfig};
use crate::ws::{ws_config, WsTransport, DEFAULT_MAX_MESSAGE};

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

    /// Binds the listeners and starts serving in the background.
    pub async fn start(self) -> Result<RunningServer, StartError> {
        let http_addr = match (&self.http, &self.tcp) {
            (None, None) => Some("127.0.0.1:8000".to_owned()),
            (h, _) => h.clone(),
        };
        let bind = |addr: String| async move {
            TcpListener::bind(&addr)
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
        let runtime = TokioRuntime::new();
        let proto = ProtoServer::new(self.router, runtime, self.config);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (force_tx, force_rx) = watch::channel(false);
        let (alive_tx, alive_rx) = mpsc::channel::<()>(1);
        let shared = Arc::new(Shared {
            proto,
            node_name: self.node_name,
            limits: self.limits,
            max_ws_message: self.max_ws_message,
            tls: self.tls,
            shutdown: shutdown_rx,
            force: force_rx,
            alive: alive_tx,
        });
        let http_local = http_listener.as_ref().and_then(|l| l.local_addr().ok());
        let tcp_local = tcp_listener.as_ref().and_then(|l| l.local_addr().ok());
        if let Some(listener) = http_listener {
            shared.spawn(accept_loop(shared.clone(), listener, Listener::Http));
        }
        if let Some(listener) = tcp_listener {
            shared.spawn(accept_loop(shared.clone(), listener, Listener::Tcp));
        }
        let handle = shared.proto.handle();
        Ok(RunningServer {
            http_addr: http_local,
            tcp_addr: tcp_local,
            handle,
            shutdown: ShutdownHandle {
                tx: Arc::new(shutdown_tx),
            },
            force: force_tx,
            alive: alive_rx,
            shared: Some(shared),
            grace: self.grace,
        })
    }
}

/// Stops a running server from anywhere (Clone). See [`RunningServer::shutdown`].
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    /// Starts a graceful shutdown: stop accepting, close WebSockets, let calls finish.
    pub fn shutdown(&self) {
        let _ = self.tx.send(true);
    }

    /// True once a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        *self.tx.borrow()
    }
}

/// A server that is listening. Drop it to stop at once; call [`RunningServer::shutdown`] for a
/// graceful stop.
pub struct RunningServer {
    http_addr: Option<SocketAddr>,
    tcp_addr: Option<SocketAddr>,
    handle: ServerHandle,
    shutdown: ShutdownHandle,
    force: watch::Sender<bool>,
    alive: mpsc::Receiver<()>,
    shared: Option<Arc<Shared>>,
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
    pub async fn wait(mut self) {
        let mut rx = self.shutdown.tx.subscribe();
        let _ = rx.wait_for(|s| *s).await;
        self.finish().await;
    }

    /// Graceful shutdown: stop accepting, send WebSocket close frames, let in-flight calls
    /// finish within the grace period, then stop every connection.
    pub async fn shutdown(mut self) {
        self.shutdown.shutdown();
        self.finish().await;
    }

    async fn finish(&mut self) {
        self.handle.shutdown();
        // Tasks hold a clone of the `alive` sender; it closes when the last one ends.
        if let Some(shared) = self.shared.take() {
            drop(shared);
        }
        let idle = async { while self.alive.recv().await.is_some() {} };
        if tokio::time::timeout(self.grace, idle).await.is_err() {
            tracing::warn!("grace period over: stopping the connections still open");
        }
        let _ = self.force.send(true);
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        let _ = self.force.send(true);
    }
}

struct Shared {
    proto: ProtoServer,
    node_name: String,
    limits: Limits,
    max_ws_message: usize,
    tls: Option<TlsServerConfig>,
    shutdown: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
}

impl Shared {
    fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Spawns a task that counts as alive and is stopped when the grace period is over.
    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let token = self.alive.clone();
        let mut force = self.force.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = task => {}
                _ = force.wait_for(|f| *f) => {}
            }
            drop(token);
        });
    }
}

#[derive(Clone, Copy)]
enum Listener {
    Http,
    Tcp,
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, kind: Listener) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
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
    let local = stream.local_addr().ok();
    match shared.tls.clone() {
        None => serve_io(shared, stream, peer, local, false, kind).await,
        Some(tls) => {
            let accept = tls.acceptor().accept(stream);
            let tls_stream = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, accept)
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                })??;
            serve_io(shared, tls_stream, peer, local, true, kind).await
        }
    }
}

async fn serve_io<S>(
    shared: Arc<Shared>,
    io: S,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    tls: bool,
    kind: Listener,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match kind {
        Listener::Tcp => {
            let mut info = TransportInfo::new(TransportKind::Tcp);
            info.peer_addr = Some(peer);
            info.local_addr = local;
            info.tls = tls;
            let transport = StreamTransport::lines_duplex(io).with_info(info);
            shared.proto.serve(transport).await;
            Ok(())
        }
        Listener::Http => {
            let svc_shared = shared.clone();
            let service = service_fn(move |req| {
                let shared = svc_shared.clone();
                async move { Ok::<_, Infallible>(handle_request(shared, req, peer, local, tls).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            tokio::pin!(conn);
            let mut shutdown = shared.shutdown.clone();
            tokio::select! {
                r = conn.as_mut() => return r.map_err(io::Error::other),
                _ = shutdown.wait_for(|s| *s) => {}
            }
            conn.as_mut().graceful_shutdown();
            conn.await.map_err(io::Error::other)
        }
    }
}

fn headers_of(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn header_str(map: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    map.get(name).and_then(|v| v.to_str().ok())
}

fn reject(r: Rejection) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(r.status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if let Some(allow) = r.allow {
        builder = builder.header(header::ALLOW, allow);
    }
    builder
        .body(Full::new(Bytes::from_static(r.body.as_bytes())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn json_response(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, JSON_CONTENT_TYPE)
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn handle_request(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    tls: bool,
) -> Response<Full<Bytes>> {
    let headers = req.headers();
    let head = RequestHead {
        method: req.method().as_str(),
        path: req.uri().path(),
        content_type: header_str(headers, header::CONTENT_TYPE),
        content_length: header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        websocket_upgrade: is_websocket_upgrade(
            header_str(headers, header::CONNECTION),
            header_str(headers, header::UPGRADE),
        ),
    };
    let decision = decide(&head, &shared.limits);
    let info = |kind| {
        let mut info = TransportInfo::new(kind);
        info.peer_addr = Some(peer);
        info.local_addr = local;
        info.tls = tls;
        info.headers = headers_of(req.headers());
        info.path = Some(req.uri().path().to_owned());
        info
    };
    match decision {
        Decision::Reject(r) => reject(r),
        Decision::Health => {
            let handle = shared.proto.handle();
            let ws_clients = handle
                .clients()
                .iter()
                .filter(|c| c.transport.kind == TransportKind::WebSocket)
                .count();
            let body = health_body(&shared.node_name, ws_clients, handle.pending_requests());
            if req.method() == Method::HEAD {
                json_response(200, Bytes::new())
            } else {
                json_response(200, Bytes::from(body))
            }
        }
        Decision::Rpc => {
            if shared.is_shutting_down() {
                return reject(Rejection::SHUTTING_DOWN);
            }
            let info = info(TransportKind::Http);
            let body = match Limited::new(req.into_body(), shared.limits.max_body)
                .collect()
                .await
            {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        return reject(Rejection::PAYLOAD_TOO_LARGE);
                    }
                    tracing::debug!(%peer, "reading a request body failed: {e}");
                    return reject(Rejection {
                        status: 400,
                        allow: None,
                        body: "Bad request: the body could not be read",
                    });
                }
            };
            match shared.proto.handle_http(body, info).await {
                Some(answer) => json_response(200, answer),
                None => Response::builder()
                    .status(StatusCode::NO_CONTENT)
                    .body(Full::new(Bytes::new()))
                    .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
            }
        }
        Decision::WebSocket => {
            if shared.is_shutting_down() {
                return reject(Rejection::SHUTTING_DOWN);
            }
            let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
            let version_ok = header_str(req.headers(), header::SEC_WEBSOCKET_VERSION)
                .is_some_and(|v| v.trim() == "13");
            let Some(key) = key.filter(|_| version_ok) else {
                return reject(Rejection::BAD_UPGRADE);
            };
            let info = info(TransportKind::WebSocket);
            let upgrade = hyper::upgrade::on(&mut req);
            let conn_shared = shared.clone();
            shared.spawn(async move {
                match upgrade.await {
                    Ok(upgraded) => {
                        let ws = WebSocketStream::from_raw_socket(
                            TokioIo::new(upgraded),
                            Role::Server,
                            Some(ws_config(conn_shared.max_ws_message)),
                        )
                        .await;
                        conn_shared.proto.serve(WsTransport::new(ws, info)).await;
                    }
                    Err(e) => tracing::debug!(%peer, "WebSocket upgrade failed: {e}"),
                }
            });
            Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header(header::CONNECTION, "Upgrade")
                .header(header::UPGRADE, "websocket")
                .header(
                    header::SEC_WEBSOCKET_ACCEPT,
                    derive_accept_key(key.as_bytes()),
                )
                .body(Full::new(Bytes::new()))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
        }
    }
}

/// Serves `router` over stdin/stdout with Content-Length framing (LSP style) until stdin ends.
pub async fn serve_stdio(router: Router, config: ServerConfig) {
    let proto = ProtoServer::new(router, TokioRuntime::new(), config);
    let transport = StreamTransport::content_length(tokio::io::stdin(), tokio::io::stdout());
    proto.serve(transport).await;
}
