//! Unix domain sockets: the server's listener (newline-delimited JSON, as on TCP; a stale
//! socket file replaced, a live one refused, permissions set, the file removed on shutdown:
//! `jsonrpc_proto::adapter::unix`'s decisions) and the client, [`connect_unix`]; and the
//! clients of HTTP and WebSocket served on a Unix socket (`ServerBuilder::http_unix`):
//! [`connect_http_unix`] ([`HttpTransport::unix`]) and [`connect_ws_unix`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_net::unix::{UnixListener, UnixStream};
use futures::future::{self, Either};
use jsonrpc_proto::adapter::builder::StartError;
use jsonrpc_proto::adapter::framed::StreamTransport;
use jsonrpc_proto::adapter::http::ConnectError;
use jsonrpc_proto::adapter::lifecycle::Lifecycle;
use jsonrpc_proto::adapter::slots::{SocketSlot, SocketSlots};
use jsonrpc_proto::adapter::unix::{bind_error, clear_stale, socket_file_present, UnixSocketFile};
use jsonrpc_proto::peer::{Client, Server as ProtoServer, Transport, TransportInfo, TransportKind};

use async_tungstenite::WebSocketStream;
use futures::future::BoxFuture;
use jsonrpc_proto::adapter::http::{
    ws_client_plan, Attempt, Connected, Endpoint, HttpClientConfig, HttpConnect, HttpPostTransport,
};
use jsonrpc_proto::adapter::ws::WsTransport;

use crate::connect::{client, BoxIo, ConnectOptions, HttpTransport};
use crate::io::FuturesIo;
use crate::runtime::AsyncIoRuntime;
use jsonrpc_proto::adapter::connect::reconnecting;
use jsonrpc_proto::adapter::reconnect::{ReconnectConfig, Reconnecting};

/// What the Unix accept loop needs of the server (the listener's share of its state).
pub(crate) struct UnixServe {
    pub(crate) proto: ProtoServer,
    pub(crate) sockets: SocketSlots,
    pub(crate) lifecycle: Lifecycle,
    /// How long the one error line to a refused socket may take.
    pub(crate) refuse_timeout: Duration,
    pub(crate) runtime: AsyncIoRuntime,
}

impl UnixServe {
    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(self.lifecycle.track(task));
    }
}

/// Binds a Unix listener at `path`: a socket file a dead server left is replaced, one a live
/// server answers on is [`StartError::UnixInUse`].
pub(crate) async fn bind(
    path: &Path,
    mode: Option<u32>,
) -> Result<(UnixListener, UnixSocketFile), StartError> {
    if socket_file_present(path)? {
        let probe = UnixStream::connect(path).await.map(drop);
        clear_stale(path, probe)?;
    }
    let listener = UnixListener::bind(path).map_err(|e| bind_error(path, e))?;
    Ok((listener, UnixSocketFile::bound(path, mode)?))
}

/// Takes a Unix listener bound elsewhere (e.g. by systemd): its file is reported, not removed.
pub(crate) fn handed_in(
    l: std::os::unix::net::UnixListener,
) -> Result<(UnixListener, UnixSocketFile), StartError> {
    let path = l
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_owned))
        .unwrap_or_default();
    let listener = UnixListener::try_from(l).map_err(|e| bind_error(&path, e))?;
    Ok((listener, UnixSocketFile::not_owned(&path)))
}

/// Accepts Unix connections until shutdown and serves each as newline-delimited JSON.
pub(crate) async fn accept_loop(shared: Arc<UnixServe>, listener: UnixListener) {
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
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                async_io::Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = shared.sockets.acquire();
        if slot.busy() {
            tracing::warn!(
                limit = shared.sockets.max(),
                "too many connections: refusing one"
            );
        }
        let conn = shared.clone();
        shared.spawn(serve(conn, stream, slot));
    }
    tracing::debug!("Unix listener closed");
}

async fn serve(shared: Arc<UnixServe>, stream: UnixStream, slot: SocketSlot) {
    if slot.busy() {
        use futures::io::AsyncWriteExt;
        let mut stream = stream;
        let line = jsonrpc_proto::adapter::slots::too_many_connections_line();
        let write = async move {
            let _ = stream.write_all(&line).await;
            let _ = stream.close().await;
        };
        futures::pin_mut!(write);
        let timer = async_io::Timer::after(shared.refuse_timeout);
        let _ = future::select(write, timer).await;
        return;
    }
    let transport = StreamTransport::lines_duplex(stream).with_info(unix_info());
    shared.proto.serve(transport).await;
}

fn unix_info() -> TransportInfo {
    TransportInfo::new(TransportKind::Unix)
}

/// The byte-stream transport of a Unix socket client (newline-delimited JSON).
pub type UnixTransport =
    StreamTransport<futures::io::ReadHalf<BoxIo>, futures::io::WriteHalf<BoxIo>>;

/// Opens newline-delimited JSON over the Unix domain socket at `path`.
pub async fn unix_transport(path: impl AsRef<Path>) -> Result<UnixTransport, ConnectError> {
    let path = path.as_ref();
    let stream = UnixStream::connect(path)
        .await
        .map_err(|source| ConnectError::Io {
            addr: path.display().to_string(),
            source,
        })?;
    let io: BoxIo = Box::pin(stream);
    Ok(StreamTransport::lines_duplex(io).with_info(unix_info()))
}

/// A client over the Unix domain socket at `path` (newline-delimited JSON).
///
/// ```no_run
/// # async fn f() -> Result<(), transport_async_std::ConnectError> {
/// let client = transport_async_std::connect_unix("/run/calc.sock").await?;
/// # Ok(()) }
/// ```
pub async fn connect_unix(path: impl AsRef<Path>) -> Result<Client, ConnectError> {
    connect_unix_with(path, ConnectOptions::default()).await
}

/// A client over the Unix domain socket at `path` with options (its `tls`, `headers` and
/// `http` are not used).
pub async fn connect_unix_with(
    path: impl AsRef<Path>,
    options: ConnectOptions,
) -> Result<Client, ConnectError> {
    let transport = unix_transport(path).await?;
    Ok(client(transport, options))
}

/// A client over the Unix socket at `path` that reconnects like
/// [`reconnect_tcp`](crate::reconnect_tcp) (e.g. across a restart of the server).
pub fn reconnect_unix(
    path: impl AsRef<Path>,
    options: ConnectOptions,
    config: ReconnectConfig,
) -> Reconnecting {
    let path = path.as_ref().to_owned();
    reconnecting(options, config, move |options| {
        let path = path.clone();
        Box::pin(async move { connect_unix_with(&path, options).await })
    })
}

async fn open_unix(path: &Path) -> Result<BoxIo, ConnectError> {
    let stream = UnixStream::connect(path)
        .await
        .map_err(|source| ConnectError::Io {
            addr: path.display().to_string(),
            source,
        })?;
    Ok(Box::pin(stream))
}

/// The error for an `https` or `wss` URL over a Unix socket (served without TLS).
fn no_tls_over_unix(url: &str, plain: &str) -> ConnectError {
    ConnectError::Url {
        url: url.to_owned(),
        reason: format!("HTTP on a Unix socket is served without TLS: use {plain}://"),
    }
}

/// The HTTP client's connector to a Unix socket: every connection goes to its path, whatever
/// the URL's host (which only names the `Host` / `:authority`).
struct UnixConnect(PathBuf);

impl HttpConnect for UnixConnect {
    type Io = FuturesIo<BoxIo>;

    fn connect<'a>(
        &'a self,
        _endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<Connected<Self::Io>, Attempt>> {
        Box::pin(async move {
            match open_unix(&self.0).await {
                Ok(io) => Ok(Connected {
                    io: FuturesIo::new(io),
                    alpn_h2: false,
                }),
                Err(e) => Err(Attempt::Retry(e.to_string())),
            }
        })
    }
}

impl HttpTransport {
    /// A transport POSTing to `url` over the Unix domain socket at `socket` (a server's
    /// `http_unix`), spawning its POSTs on the default [`AsyncIoRuntime`]. The URL gives the path and
    /// the `Host` (e.g. `http://localhost/`, as `curl --unix-socket` takes it); it must be
    /// `http://` (no TLS on a Unix socket). HTTP/2 with prior knowledge when `config.http2`.
    /// No connection is opened until the first frame is sent.
    pub fn unix(
        socket: impl AsRef<Path>,
        url: &str,
        config: HttpClientConfig,
    ) -> Result<Self, ConnectError> {
        Self::unix_with_runtime(socket, url, config, AsyncIoRuntime::default())
    }

    /// Like [`HttpTransport::unix`] on `runtime`.
    pub fn unix_with_runtime(
        socket: impl AsRef<Path>,
        url: &str,
        config: HttpClientConfig,
        runtime: AsyncIoRuntime,
    ) -> Result<Self, ConnectError> {
        if Endpoint::parse(url, "http", "https")?.tls {
            return Err(no_tls_over_unix(url, "http"));
        }
        let connector = UnixConnect(socket.as_ref().to_owned());
        let transport = HttpPostTransport::hyper(url, connector, runtime, config)?;
        let mut info = transport.info();
        info.unix = true;
        Ok(HttpTransport(transport.with_info(info)))
    }
}

/// A client POSTing to `url` (e.g. `http://localhost/`) over the Unix domain socket at
/// `socket`: HTTP served by `ServerBuilder::http_unix`.
///
/// ```no_run
/// # async fn f() -> Result<(), transport_async_std::ConnectError> {
/// let client = transport_async_std::connect_http_unix("/run/calc-http.sock", "http://localhost/").await?;
/// # Ok(()) }
/// ```
pub async fn connect_http_unix(
    socket: impl AsRef<Path>,
    url: &str,
) -> Result<Client, ConnectError> {
    connect_http_unix_with(socket, url, ConnectOptions::default()).await
}

/// Like [`connect_http_unix`] with options (`http.http2` for h2c with prior knowledge;
/// `tls` is not used).
pub async fn connect_http_unix_with(
    socket: impl AsRef<Path>,
    url: &str,
    options: ConnectOptions,
) -> Result<Client, ConnectError> {
    let runtime = options.runtime.unwrap_or_default();
    let mut http = options.http;
    http.tls = None;
    http.headers = options.headers;
    let transport = HttpTransport::unix_with_runtime(socket, url, http, runtime.clone())?;
    Ok(Client::new(transport, runtime, options.client))
}

/// Opens a WebSocket to `url` (e.g. `ws://localhost/ws`; handshake done) over the Unix domain
/// socket at `socket`, with the headers and size limit of `options` (no TLS).
pub async fn ws_unix_transport(
    socket: impl AsRef<Path>,
    url: &str,
    options: &ConnectOptions,
) -> Result<WsTransport<WebSocketStream<BoxIo>>, ConnectError> {
    let mut plan = ws_client_plan(url, &options.headers, options.max_message, true)?;
    if plan.endpoint.tls {
        return Err(no_tls_over_unix(url, "ws"));
    }
    let io = open_unix(socket.as_ref()).await?;
    let (ws, _response) =
        async_tungstenite::client_async_with_config(plan.request, io, Some(plan.config))
            .await
            .map_err(|e| ConnectError::handshake(url, e))?;
    plan.info.unix = true;
    let runtime = options.runtime.clone().unwrap_or_default();
    Ok(WsTransport::new(ws, plan.info).with_keep_alive(options.ws_keep_alive, runtime))
}

/// A WebSocket client to `url` (e.g. `ws://localhost/ws`) over the Unix domain socket at
/// `socket`: WebSocket served by `ServerBuilder::http_unix`.
///
/// ```no_run
/// # async fn f() -> Result<(), transport_async_std::ConnectError> {
/// let client = transport_async_std::connect_ws_unix("/run/calc-http.sock", "ws://localhost/ws").await?;
/// # Ok(()) }
/// ```
pub async fn connect_ws_unix(socket: impl AsRef<Path>, url: &str) -> Result<Client, ConnectError> {
    connect_ws_unix_with(socket, url, ConnectOptions::default()).await
}

/// Like [`connect_ws_unix`] with options (a router for callbacks, headers, limits; `tls` is
/// not used).
pub async fn connect_ws_unix_with(
    socket: impl AsRef<Path>,
    url: &str,
    options: ConnectOptions,
) -> Result<Client, ConnectError> {
    let transport = ws_unix_transport(socket, url, &options).await?;
    Ok(client(transport, options))
}

/// A WebSocket client to `url` (e.g. `ws://localhost/ws`) over the Unix domain socket at
/// `socket` that reconnects like [`reconnect_tcp`](crate::reconnect_tcp) (e.g. across a
/// restart of the server on the same socket path).
pub fn reconnect_ws_unix(
    socket: impl AsRef<Path>,
    url: &str,
    options: ConnectOptions,
    config: ReconnectConfig,
) -> Reconnecting {
    let (socket, url) = (socket.as_ref().to_owned(), url.to_owned());
    reconnecting(options, config, move |options| {
        let (socket, url) = (socket.clone(), url.clone());
        Box::pin(async move { connect_ws_unix_with(&socket, &url, options).await })
    })
}
