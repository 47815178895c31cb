//! The tokio server: the [`Listen`] impl behind [`Server::builder`] and its accept loops. HTTP
//! POST, WebSocket (`/ws`) and `/health` on one port (plain or TLS) and on a Unix socket, an
//! optional raw TCP listener (newline-delimited JSON), and graceful shutdown.
//! Request handling is `jsonrpc_proto::adapter::http`'s and the shutdown bookkeeping
//! `jsonrpc_proto::adapter::lifecycle`'s; this file only accepts sockets and runs hyper.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as AutoBuilder;
use jsonrpc_proto::adapter::builder::{Listen, ServerOptions};
use jsonrpc_proto::adapter::http::{
    busy_upgrade_key, reject_and_close, serve_http1, switching_protocols, ConnInfo, ConnTimer,
    Http1Outcome, Http1Serve, HttpOutcome, HttpService, PrefaceDeadline, ReadAhead, Rewind,
    H2_KEEP_ALIVE_INTERVAL, H2_KEEP_ALIVE_TIMEOUT,
};
use jsonrpc_proto::adapter::lifecycle::Lifecycle;
use jsonrpc_proto::adapter::slots::{SocketSlot, SocketSlots};
use jsonrpc_proto::adapter::ws::{ws_config, WsKeepAlive, WsTransport};
use jsonrpc_proto::http::Rejection;
use jsonrpc_proto::peer::{Server as ProtoServer, TransportKind};
use jsonrpc_proto::service::Router;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::io::StreamTransport;
use crate::runtime::TokioRuntime;
use crate::tls::{acceptor, TlsServerConfig};

pub use jsonrpc_proto::adapter::http::DEFAULT_BODY_READ_TIMEOUT;

pub use jsonrpc_proto::adapter::builder::{
    ShutdownHandle, StartError, DEFAULT_GRACE, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_TLS_HANDSHAKE_TIMEOUT,
};

/// Builds and starts a [`RunningServer`]: jsonrpc-proto's generic builder over this crate's
/// [`Server`] (`Server::builder(router)`), with the same methods on every runtime.
pub type ServerBuilder = jsonrpc_proto::adapter::builder::ServerBuilder<Server>;

/// The entry point: `Server::builder(router)`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// A builder serving `router`. Without `.http(..)` or `.tcp(..)`, HTTP listens on
    /// 127.0.0.1:8000.
    pub fn builder(router: Router) -> ServerBuilder {
        ServerBuilder::new(router)
    }
}

impl Listen for Server {
    type Tls = TlsServerConfig;
    type Runtime = TokioRuntime;

    async fn start(mut options: ServerOptions<Server>) -> Result<RunningServer, StartError> {
        let runtime = options.runtime.take().unwrap_or_default();
        let (http_addr, tcp_addr) = options.listen_addrs();
        let bind = |addr: String| async move {
            TcpListener::bind(addr.as_str())
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        // A listener handed in (socket activation, pre-bound) is used instead of binding.
        let handed_in = |l: std::net::TcpListener, what: &str| {
            l.set_nonblocking(true)
                .and_then(|()| TcpListener::from_std(l))
                .map_err(|source| StartError::Bind {
                    addr: format!("the {what} listener handed in"),
                    source,
                })
        };
        let http_listener = match (options.http_listener.take(), http_addr) {
            (Some(l), _) => Some(handed_in(l, "HTTP")?),
            (None, Some(a)) => Some(bind(a).await?),
            (None, None) => None,
        };
        let tcp_listener = match (options.tcp_listener.take(), tcp_addr) {
            (Some(l), _) => Some(handed_in(l, "TCP")?),
            (None, Some(a)) => Some(bind(a).await?),
            (None, None) => None,
        };
        let unix = match (options.unix_listener.take(), &options.unix) {
            (Some(l), _) => Some(crate::unix::handed_in(l)?),
            (None, Some(path)) => Some(crate::unix::bind(path, options.unix_mode).await?),
            (None, None) => None,
        };
        let http_unix = match (options.http_unix_listener.take(), &options.http_unix) {
            (Some(l), _) => Some(crate::unix::handed_in(l)?),
            (None, Some(path)) => Some(crate::unix::bind(path, options.unix_mode).await?),
            (None, None) => None,
        };
        let sockets = SocketSlots::new(options.config.max_connections);
        let proto = ProtoServer::new(options.router, runtime.clone(), options.config);
        let lifecycle = Lifecycle::new();
        let shared = Arc::new(Shared {
            http: HttpService::new(proto.clone(), &options.node_name, options.limits)
                .with_body_read_timeout(options.body_read_timeout)
                .with_layers(options.http_layers),
            sockets: sockets.clone(),
            header_read_timeout: options.header_read_timeout,
            tls_handshake_timeout: options.tls_handshake_timeout,
            proto,
            max_ws_message: options.max_ws_message,
            ws_keep_alive: options.ws_keep_alive,
            tls: options.tls,
            lifecycle: lifecycle.clone(),
            max_concurrent_streams: options.max_concurrent_streams,
            max_header_list_size: options.max_header_list_size,
            http1_codec: options.http1_codec,
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
        let http_unix_file = http_unix.map(|(listener, file)| {
            shared.spawn(accept_unix_http(shared.clone(), listener));
            file
        });
        let unix_file = unix.map(|(listener, file)| {
            let serve = Arc::new(crate::unix::UnixServe {
                proto: shared.proto.clone(),
                sockets: shared.sockets.clone(),
                lifecycle: shared.lifecycle.clone(),
                refuse_timeout: shared.tls_handshake_timeout,
            });
            shared.spawn(crate::unix::accept_loop(serve, listener));
            file
        });
        let running = RunningServer::new(
            http_local,
            tcp_local,
            sockets,
            shared.proto.handle(),
            lifecycle,
            runtime,
            options.grace,
        );
        let running = match unix_file {
            Some(file) => running.with_unix(file),
            None => running,
        };
        Ok(match http_unix_file {
            Some(file) => running.with_http_unix(file),
            None => running,
        })
    }
}

/// A server that is listening. Drop it to stop at once; call [`RunningServer::shutdown`] for a
/// graceful stop.
pub type RunningServer = jsonrpc_proto::adapter::builder::RunningServer<TokioRuntime>;

struct Shared {
    proto: ProtoServer,
    http: HttpService,
    sockets: SocketSlots,
    header_read_timeout: Option<Duration>,
    tls_handshake_timeout: Duration,
    max_ws_message: usize,
    ws_keep_alive: Option<WsKeepAlive>,
    tls: Option<TlsServerConfig>,
    lifecycle: Lifecycle,
    max_concurrent_streams: u32,
    max_header_list_size: u32,
    http1_codec: bool,
    runtime: TokioRuntime,
}

impl Shared {
    /// Spawns a task that counts as alive and is stopped when the grace period is over.
    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(self.lifecycle.track(task));
    }

    async fn respond(
        self: &Arc<Self>,
        req: Request<Incoming>,
        conn: ConnInfo,
        slot: Arc<SocketSlot>,
    ) -> Response<Full<Bytes>> {
        if slot.busy() {
            return self.refuse_busy(req, conn, slot);
        }
        match self.http.handle(req, &conn).await {
            HttpOutcome::Respond(response) => response,
            HttpOutcome::WebSocket {
                mut request,
                info,
                key,
            } => {
                let upgrade = hyper::upgrade::on(&mut *request);
                let shared = self.clone();
                // Only what the task needs is moved in, the info boxed: the task lives as long
                // as the connection and keeps room for everything it captured.
                let info = Box::new(info);
                self.spawn(async move {
                    // Nothing of the upgrade is kept while the connection is served.
                    let upgraded = match upgrade.await {
                        Ok(upgraded) => upgraded,
                        Err(e) => {
                            tracing::debug!(peer = ?info.peer_addr, "WebSocket upgrade failed: {e}");
                            return;
                        }
                    };
                    // Read ahead in bursts: tungstenite asks for READ_BUFFER_SIZE bytes at a time.
                    let ws = WebSocketStream::from_raw_socket(
                        TokioIo::new(ReadAhead::new(upgraded)),
                        Role::Server,
                        Some(ws_config(shared.max_ws_message)),
                    )
                    .await;
                    // Out of its box, which goes now (not when the task ends).
                    let info = {
                        let boxed = info;
                        *boxed
                    };
                    let transport = WsTransport::new(ws, info)
                        .with_keep_alive(shared.ws_keep_alive, shared.runtime.clone());
                    shared.proto.serve(transport).await;
                    // The upgraded socket stays counted while it is served.
                    drop(slot);
                });
                switching_protocols(&derive_accept_key(key.as_bytes()))
            }
        }
    }

    /// Over the connection limit: 503 with `Connection: close`; a WebSocket upgrade is
    /// accepted and closed at once with code 1013 and [`crate::ws::TOO_MANY_CONNECTIONS`]
    /// (browsers cannot read the status of a refused handshake, but they can read a close
    /// reason).
    fn refuse_busy(
        self: &Arc<Self>,
        mut req: Request<Incoming>,
        conn: ConnInfo,
        slot: Arc<SocketSlot>,
    ) -> Response<Full<Bytes>> {
        let Some(key) = busy_upgrade_key(&req) else {
            return reject_and_close(Rejection::TOO_MANY_CONNECTIONS);
        };
        let upgrade = hyper::upgrade::on(&mut req);
        let max = self.max_ws_message;
        self.spawn(async move {
            let _slot = slot;
            let Ok(upgraded) = upgrade.await else {
                return;
            };
            let ws = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(ws_config(max)),
            )
            .await;
            // Close 1013, then wait for the peer's close reply (bounded), then drop the socket.
            let bye = jsonrpc_proto::adapter::ws::refuse_busy(ws);
            if tokio::time::timeout(Duration::from_secs(5), bye)
                .await
                .is_err()
            {
                tracing::debug!(peer = ?conn.peer, "refused WebSocket did not answer the close");
            }
        });
        switching_protocols(&derive_accept_key(key.as_bytes()))
    }
}

/// hyper's executor for HTTP/2 streams: tasks tracked by the server's lifecycle.
#[derive(Clone)]
struct Exec(Arc<Shared>);

impl<F> hyper::rt::Executor<F> for Exec
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    fn execute(&self, task: F) {
        self.0.spawn(task);
    }
}

#[derive(Clone, Copy)]
enum Listener {
    Http,
    Tcp,
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, kind: Listener) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shared.lifecycle.shutdown_requested() => break,
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
        // Counted until the socket closes; an upgraded WebSocket keeps a clone.
        let slot = Arc::new(shared.sockets.acquire());
        if slot.busy() {
            tracing::warn!(%peer, limit = shared.sockets.max(), "too many connections: refusing one");
        }
        let conn = shared.clone();
        shared.spawn(async move {
            if let Err(e) = serve_socket(conn, stream, peer, kind, slot).await {
                tracing::debug!(%peer, "connection ended with an error: {e}");
            }
        });
    }
    tracing::debug!("listener closed");
}

/// Accepts connections on the HTTP Unix socket until shutdown and serves each as the HTTP
/// port's are (never TLS): `ConnInfo::unix` set, no addresses.
async fn accept_unix_http(shared: Arc<Shared>, listener: tokio::net::UnixListener) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shared.lifecycle.shutdown_requested() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = Arc::new(shared.sockets.acquire());
        if slot.busy() {
            tracing::warn!(
                limit = shared.sockets.max(),
                "too many connections: refusing one"
            );
        }
        let conn = ConnInfo {
            unix: true,
            ..ConnInfo::default()
        };
        let task = shared.clone();
        shared.spawn(async move {
            if let Err(e) = serve_io(task, stream, conn, Listener::Http, slot, false).await {
                tracing::debug!("Unix HTTP connection ended with an error: {e}");
            }
        });
    }
    tracing::debug!("Unix HTTP listener closed");
}

async fn serve_socket(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    kind: Listener,
    slot: Arc<SocketSlot>,
) -> io::Result<()> {
    let mut conn = ConnInfo {
        peer: Some(peer),
        local: stream.local_addr().ok(),
        tls: false,
        unix: false,
    };
    if slot.busy() && matches!(kind, Listener::Tcp) {
        // One error line (plain TCP only), then close: no TLS handshake for a refused socket.
        if shared.tls.is_none() {
            use tokio::io::AsyncWriteExt;
            let mut stream = stream;
            let line = jsonrpc_proto::adapter::slots::too_many_connections_line();
            let write = async {
                stream.write_all(&line).await?;
                stream.shutdown().await
            };
            let _ = tokio::time::timeout(shared.tls_handshake_timeout, write).await;
        }
        return Ok(());
    }
    match shared.tls.clone() {
        None => serve_io(shared, stream, conn, kind, slot, false).await,
        Some(tls) => {
            let accept = acceptor(&tls).accept(stream);
            let tls_stream = tokio::time::timeout(shared.tls_handshake_timeout, accept)
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                })??;
            conn.tls = true;
            // After ALPN chose h2 the first bytes are HTTP/2's: hyper serves it all.
            let h2 = tls_stream.get_ref().1.alpn_protocol() == Some(b"h2");
            serve_io(shared, tls_stream, conn, kind, slot, h2).await
        }
    }
}

/// Serves one accepted socket: raw TCP lines, or HTTP (the HTTP/1.1 codec first when it may
/// serve the connection, hyper for the rest; `h2`: ALPN chose HTTP/2, hyper from the start).
async fn serve_io<S>(
    shared: Arc<Shared>,
    io: S,
    conn: ConnInfo,
    kind: Listener,
    slot: Arc<SocketSlot>,
    h2: bool,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match kind {
        Listener::Tcp => {
            let info = conn.transport_info(TransportKind::Tcp);
            let transport = StreamTransport::lines_duplex(io).with_info(info);
            shared.proto.serve(transport).await;
            Ok(())
        }
        Listener::Http => {
            let io = TokioIo::new(io);
            // A refused socket (over the connection limit), tower layers, the
            // switch off, or HTTP/2 after ALPN: hyper serves it all.
            let codec = shared.http1_codec && !h2 && !slot.busy() && !shared.http.has_layers();
            if !codec {
                return serve_hyper(shared, Rewind::new(io, Bytes::new()), conn, slot).await;
            }
            let lifecycle = shared.lifecycle.clone();
            let serve = Http1Serve {
                service: &shared.http,
                conn: &conn,
                timer: &TokioTimer::new(),
                header_read_timeout: shared.header_read_timeout,
                shutdown: lifecycle.shutdown_requested(),
                shutting_down: &|| lifecycle.is_shutting_down(),
            };
            match serve_http1(io, serve).await? {
                Http1Outcome::Closed => Ok(()),
                Http1Outcome::HandOff(io) => serve_hyper(shared, io, conn, slot).await,
            }
        }
    }
}

/// hyper serves the connection: HTTP/1.1 or HTTP/2 (h2c prior knowledge, h2 after ALPN), told
/// by the first bytes.
async fn serve_hyper<S>(
    shared: Arc<Shared>,
    io: Rewind<TokioIo<S>>,
    conn: ConnInfo,
    slot: Arc<SocketSlot>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc_shared = shared.clone();
    let service = shared.http.connection(move |req| {
        let shared = svc_shared.clone();
        let slot = slot.clone();
        async move { shared.respond(req, conn, slot).await }
    });
    let mut builder = AutoBuilder::new(Exec(shared.clone()));
    // HTTP/1: the header-read deadline of each request on one runtime timer.
    builder
        .http1()
        .timer(ConnTimer::new(TokioTimer::new()))
        .header_read_timeout(shared.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(shared.max_concurrent_streams)
        .max_header_list_size(shared.max_header_list_size)
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT);
    let io = PrefaceDeadline::new(io, shared.header_read_timeout, &TokioTimer::new());
    let http = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(http);
    tokio::select! {
        r = http.as_mut() => return r.map_err(io::Error::other),
        _ = shared.lifecycle.shutdown_requested() => {}
    }
    http.as_mut().graceful_shutdown();
    http.await.map_err(io::Error::other)
}
