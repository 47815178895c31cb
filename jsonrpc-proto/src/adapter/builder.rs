//! What both runtime adapters' servers share (features `http-service` and `websocket`): one
//! generic [`ServerBuilder`] over the adapter's [`Listen`] implementation, its
//! [`ServerOptions`] and their defaults, the [`StartError`], and what `start` returns: the
//! [`RunningServer`] and its [`ShutdownHandle`]. An adapter adds only sockets, timers and
//! tasks.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::adapter::http::{
    cors_for_origins, AllowHostsLayer, BoxError, HttpLayers, HttpRequest, HttpStack,
    DEFAULT_BODY_READ_TIMEOUT,
};
use crate::adapter::lifecycle::Lifecycle;
use crate::adapter::slots::SocketSlots;
use crate::adapter::ws::{WsKeepAlive, DEFAULT_MAX_MESSAGE};
use crate::peer::{Runtime, ServerConfig, ServerHandle};
use crate::protocol::http::Limits;
use crate::service::middleware::Metrics;
use crate::service::Router;

/// The default grace period of a shutdown: in-flight calls get this long to finish.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The default time a TLS handshake may take before the connection is dropped: 10 s.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default time a client has to send a complete HTTP request head (also the longest an
/// idle keep-alive connection waits for its next request): 30 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The address HTTP listens on when neither an HTTP nor a TCP address is given.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8000";

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// An address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS material could not be loaded.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::adapter::tls::TlsError),
    /// Neither an HTTP nor a TCP address was given.
    #[error("nothing to serve: give an HTTP or a TCP address")]
    NoListener,
    /// A Unix socket path is served by a live server (a connection to it was accepted).
    #[error("cannot listen on {}: another server is listening on it", .path.display())]
    UnixInUse {
        /// The socket path.
        path: std::path::PathBuf,
    },
}

impl From<crate::adapter::unix::UnixError> for StartError {
    fn from(e: crate::adapter::unix::UnixError) -> Self {
        use crate::adapter::unix::UnixError;
        match e {
            UnixError::InUse(path) => StartError::UnixInUse { path },
            UnixError::Io { path, source } => StartError::Bind {
                addr: path.display().to_string(),
                source,
            },
        }
    }
}

/// The settings of a listening server, for the adapter `L` that starts it. Built by
/// [`ServerBuilder`]; an adapter reads the fields in [`Listen::start`].
#[non_exhaustive]
pub struct ServerOptions<L: Listen> {
    /// The router served.
    pub router: Router,
    /// The HTTP / WebSocket / health address.
    pub http: Option<String>,
    /// The raw TCP (newline-delimited JSON) address.
    pub tcp: Option<String>,
    /// TLS on every listener.
    pub tls: Option<L::Tls>,
    /// The runtime to run on (`None`: the adapter's default).
    pub runtime: Option<L::Runtime>,
    /// The async layer's server configuration.
    pub config: ServerConfig,
    /// The name reported by `/health`.
    pub node_name: String,
    /// HTTP limits.
    pub limits: Limits,
    /// The largest WebSocket message accepted.
    pub max_ws_message: usize,
    /// WebSocket ping/pong keep-alive (default on: [`WsKeepAlive::default`]; `None`: off).
    pub ws_keep_alive: Option<WsKeepAlive>,
    /// How long a graceful shutdown waits for in-flight calls.
    pub grace: Duration,
    /// The time a client has to send a complete HTTP request head.
    pub header_read_timeout: Option<Duration>,
    /// The time a client has to send a complete HTTP request body.
    pub body_read_timeout: Option<Duration>,
    /// The time a TLS handshake may take.
    pub tls_handshake_timeout: Duration,
    /// The tower layers around HTTP handling and the metrics served at `GET /metrics`
    /// (hand it to `HttpService::with_layers`).
    pub http_layers: HttpLayers,
    /// Metrics on: the builder's `start` wraps the router in [`Metrics`] and puts them in
    /// `http_layers` for `GET /metrics`.
    pub metrics: Option<Metrics>,
    /// The Unix domain socket path (newline-delimited JSON, as on TCP).
    pub unix: Option<std::path::PathBuf>,
    /// The permission bits the Unix socket files (`unix` and `http_unix`) are given (e.g.
    /// `0o660`; `None`: the umask's).
    pub unix_mode: Option<u32>,
    /// The Unix domain socket path HTTP, WebSocket and health are served on (as on the HTTP
    /// port, never TLS).
    pub http_unix: Option<std::path::PathBuf>,
    /// HTTP/1.1 POSTs at `/` served by the built-in codec (`adapter::http::serve_http1`,
    /// default `true`); `false`: hyper serves all of HTTP/1.1, as before the codec.
    pub http1_codec: bool,
    /// HTTP/2: the streams (calls) one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// HTTP/2: the largest request header list accepted, in bytes.
    pub max_header_list_size: u32,
    /// An HTTP listener handed in (systemd socket activation, pre-bound tests); used instead
    /// of binding `http`.
    pub http_listener: Option<std::net::TcpListener>,
    /// A raw TCP listener handed in; used instead of binding `tcp`.
    pub tcp_listener: Option<std::net::TcpListener>,
    /// A Unix listener handed in; used instead of binding `unix`. Its file is not removed.
    #[cfg(unix)]
    pub unix_listener: Option<std::os::unix::net::UnixListener>,
    /// A Unix listener handed in for HTTP; used instead of binding `http_unix`. Its file is
    /// not removed.
    #[cfg(unix)]
    pub http_unix_listener: Option<std::os::unix::net::UnixListener>,
}

impl<L: Listen> std::fmt::Debug for ServerOptions<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("router", &self.router)
            .field("http", &self.http)
            .field("tcp", &self.tcp)
            .field("tls", &self.tls.is_some())
            .field("config", &self.config)
            .field("node_name", &self.node_name)
            .field("limits", &self.limits)
            .field("max_ws_message", &self.max_ws_message)
            .field("ws_keep_alive", &self.ws_keep_alive)
            .field("grace", &self.grace)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("tls_handshake_timeout", &self.tls_handshake_timeout)
            .field("http_layers", &self.http_layers)
            .field("metrics", &self.metrics.is_some())
            .field("unix", &self.unix)
            .field("unix_mode", &self.unix_mode)
            .field("http_unix", &self.http_unix)
            .field("http1_codec", &self.http1_codec)
            .field("max_concurrent_streams", &self.max_concurrent_streams)
            .field("max_header_list_size", &self.max_header_list_size)
            .field("http_listener", &self.http_listener)
            .field("tcp_listener", &self.tcp_listener)
            .finish()
    }
}

impl<L: Listen> ServerOptions<L> {
    /// The defaults, serving `router`.
    pub fn new(router: Router) -> Self {
        ServerOptions {
            router,
            http: None,
            tcp: None,
            tls: None,
            runtime: None,
            config: ServerConfig::default(),
            node_name: "jsonrpc".to_owned(),
            limits: Limits::default(),
            max_ws_message: DEFAULT_MAX_MESSAGE,
            ws_keep_alive: Some(WsKeepAlive::default()),
            grace: DEFAULT_GRACE,
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            http_layers: HttpLayers::default(),
            metrics: None,
            unix: None,
            unix_mode: None,
            http_unix: None,
            http1_codec: true,
            max_concurrent_streams: crate::adapter::http::DEFAULT_MAX_CONCURRENT_STREAMS,
            max_header_list_size: crate::adapter::http::DEFAULT_MAX_HEADER_LIST_SIZE,
            http_listener: None,
            tcp_listener: None,
            #[cfg(unix)]
            unix_listener: None,
            #[cfg(unix)]
            http_unix_listener: None,
        }
    }

    /// True when a listener was handed in (`http_listener`, `tcp_listener`, `unix_listener`,
    /// `http_unix_listener`).
    pub fn has_handed_in_listener(&self) -> bool {
        #[cfg(unix)]
        let unix = self.unix_listener.is_some() || self.http_unix_listener.is_some();
        #[cfg(not(unix))]
        let unix = false;
        self.http_listener.is_some() || self.tcp_listener.is_some() || unix
    }

    /// The HTTP and TCP addresses to bind: HTTP on [`DEFAULT_HTTP_ADDR`] when neither is given
    /// (nor a Unix socket path, nor a listener handed in).
    pub fn listen_addrs(&self) -> (Option<String>, Option<String>) {
        let unix = self.unix.is_some() || self.http_unix.is_some();
        match (&self.http, &self.tcp) {
            (None, None) if unix || self.has_handed_in_listener() => (None, None),
            (None, None) => (Some(DEFAULT_HTTP_ADDR.to_owned()), None),
            (h, t) => (h.clone(), t.clone()),
        }
    }
}

/// What a runtime adapter provides to the generic [`ServerBuilder`]: its TLS configuration
/// type, its runtime, and how to bind and serve. Implemented once per adapter crate
/// (`transport-tokio`, `transport-async-std`); applications only name the adapter's
/// `ServerBuilder` alias.
pub trait Listen: Sized + Send + 'static {
    /// The adapter's TLS server configuration.
    type Tls: Send + 'static;
    /// The adapter's runtime.
    type Runtime: Runtime + Clone + Default;

    /// Binds the listeners of `options` and starts serving in the background.
    fn start(
        options: ServerOptions<Self>,
    ) -> impl Future<Output = Result<RunningServer<Self::Runtime>, StartError>> + Send;
}

/// Builds and starts a server of the adapter `L`: one builder, the same methods and
/// signatures on every runtime. Get one from the adapter's `Server::builder(router)`.
pub struct ServerBuilder<L: Listen> {
    options: ServerOptions<L>,
}

impl<L: Listen> std::fmt::Debug for ServerBuilder<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("options", &self.options)
            .finish()
    }
}

impl<L: Listen> ServerBuilder<L> {
    /// A builder serving `router`. Without `.http(..)` or `.tcp(..)`, HTTP listens on
    /// [`DEFAULT_HTTP_ADDR`].
    pub fn new(router: Router) -> Self {
        ServerBuilder {
            options: ServerOptions::new(router),
        }
    }

    /// Serves HTTP POST `/`, WebSocket `/ws` and `GET /health` on `addr` (e.g. "127.0.0.1:8000").
    /// HTTP/1.1 and HTTP/2 on the same port: h2c with prior knowledge, and h2 negotiated by
    /// ALPN under TLS (WebSocket upgrades are HTTP/1.1).
    pub fn http(mut self, addr: impl Into<String>) -> Self {
        self.options.http = Some(addr.into());
        self
    }

    /// Also serves newline-delimited JSON over raw TCP on `addr`.
    pub fn tcp(mut self, addr: impl Into<String>) -> Self {
        self.options.tcp = Some(addr.into());
        self
    }

    /// Also serves newline-delimited JSON (as on TCP, never TLS) on a Unix domain socket at
    /// `path`. A socket file left by a dead server is replaced; one a live server answers on is
    /// [`StartError::UnixInUse`]; anything else at `path` is [`StartError::Bind`]. The file is
    /// removed when the server stops. Given alone, no HTTP listener is started.
    ///
    /// ```no_run
    /// # async fn f<L: jsonrpc_proto::adapter::builder::Listen>(router: jsonrpc_proto::service::Router) {
    /// let server = jsonrpc_proto::adapter::builder::ServerBuilder::<L>::new(router)
    ///     .unix("/run/calc.sock")
    ///     .unix_mode(0o660)
    ///     .start()
    ///     .await;
    /// # }
    /// ```
    pub fn unix(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.options.unix = Some(path.into());
        self
    }

    /// Serves HTTP as on the HTTP port (POST `/`, WebSocket `/ws`, `GET /health`, `/metrics`
    /// when on; HTTP/1.1 and h2c with prior knowledge; never TLS) on a Unix domain socket at
    /// `path`, with the same limits. The socket file follows [`ServerBuilder::unix`]'s rules:
    /// a file left by a dead server is replaced, one a live server answers on is
    /// [`StartError::UnixInUse`], anything else at `path` is [`StartError::Bind`];
    /// [`ServerBuilder::unix_mode`] sets its permissions; it is removed when the server stops.
    /// Given alone (no `.http`, `.tcp`), nothing listens on TCP. Handlers see `TransportInfo::unix` set (kind
    /// `Http` or `WebSocket`, no addresses). Clients: the adapters' `connect_http_unix` and
    /// `connect_ws_unix`, or `curl --unix-socket PATH http://localhost/`.
    ///
    /// ```no_run
    /// # async fn f<L: jsonrpc_proto::adapter::builder::Listen>(router: jsonrpc_proto::service::Router) {
    /// let server = jsonrpc_proto::adapter::builder::ServerBuilder::<L>::new(router)
    ///     .http_unix("/run/calc-http.sock")
    ///     .unix_mode(0o660)
    ///     .start()
    ///     .await;
    /// # }
    /// ```
    pub fn http_unix(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.options.http_unix = Some(path.into());
        self
    }

    /// Serves HTTP (as [`ServerBuilder::http_unix`]) on a Unix listener bound elsewhere (e.g.
    /// by systemd). Its socket file belongs to whoever bound it: it is not removed on
    /// shutdown, and `unix_mode` does not apply.
    #[cfg(unix)]
    pub fn http_unix_listener(mut self, listener: std::os::unix::net::UnixListener) -> Self {
        self.options.http_unix_listener = Some(listener);
        self
    }

    /// Serves HTTP (as [`ServerBuilder::http`]) on a listener bound elsewhere: by systemd
    /// (socket activation), by a test that pre-binds, or with socket options of your own. It
    /// is made non-blocking; `.http(addr)` is then not bound.
    ///
    /// ```no_run
    /// # async fn f<L: jsonrpc_proto::adapter::builder::Listen>(router: jsonrpc_proto::service::Router) -> std::io::Result<()> {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let server = jsonrpc_proto::adapter::builder::ServerBuilder::<L>::new(router)
    ///     .http_listener(listener)
    ///     .start()
    ///     .await;
    /// # Ok(()) }
    /// ```
    pub fn http_listener(mut self, listener: std::net::TcpListener) -> Self {
        self.options.http_listener = Some(listener);
        self
    }

    /// Serves newline-delimited JSON (as [`ServerBuilder::tcp`]) on a listener bound elsewhere.
    pub fn tcp_listener(mut self, listener: std::net::TcpListener) -> Self {
        self.options.tcp_listener = Some(listener);
        self
    }

    /// Serves newline-delimited JSON (as [`ServerBuilder::unix`]) on a Unix listener bound
    /// elsewhere (e.g. by systemd). Its socket file belongs to whoever bound it: it is not
    /// removed on shutdown, and `unix_mode` does not apply.
    #[cfg(unix)]
    pub fn unix_listener(mut self, listener: std::os::unix::net::UnixListener) -> Self {
        self.options.unix_listener = Some(listener);
        self
    }

    /// HTTP/1.1: `true` (the default) serves JSON-RPC POSTs at `/` with the built-in sans-IO
    /// codec (`jsonrpc_proto::http1`), cheaper per request than hyper, and hands everything
    /// else (`/health`, `/metrics`, WebSocket upgrades, HTTP/2) to hyper on the same
    /// connection. `false`: hyper serves all of HTTP/1.1, as before the codec (an escape
    /// hatch, and what the codec's differential test compares with). The answers are the
    /// same either way. With [`http_layer`](Self::http_layer) layers configured, hyper serves
    /// every request whatever this says; [`metrics`](Self::metrics) keep the codec.
    pub fn http1_codec(mut self, on: bool) -> Self {
        self.options.http1_codec = on;
        self
    }

    /// HTTP/2: the streams (calls) one connection may have open at once (default 128); the
    /// client is told in its SETTINGS and a stream over it is refused (REFUSED_STREAM).
    pub fn max_concurrent_streams(mut self, n: u32) -> Self {
        self.options.max_concurrent_streams = n;
        self
    }

    /// HTTP/2: the largest request header list accepted (default 64 KiB; over it the request
    /// gets 431).
    pub fn max_header_list_size(mut self, bytes: u32) -> Self {
        self.options.max_header_list_size = bytes;
        self
    }

    /// The permission bits of the Unix socket files, newline-delimited JSON ([`ServerBuilder::unix`])
    /// and HTTP ([`ServerBuilder::http_unix`]) alike (e.g. `0o660`: owner and group may connect).
    pub fn unix_mode(mut self, mode: u32) -> Self {
        self.options.unix_mode = Some(mode);
        self
    }

    /// Serves TLS (https, wss, and TLS on the TCP listener) with this configuration.
    pub fn tls(mut self, tls: L::Tls) -> Self {
        self.options.tls = Some(tls);
        self
    }

    /// The runtime the server's tasks and timers run on (default: the adapter's default).
    pub fn runtime(mut self, runtime: L::Runtime) -> Self {
        self.options.runtime = Some(runtime);
        self
    }

    /// The deadline of each call (default 30 s); a call over it is answered with -32001.
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.config.request_timeout = timeout;
        self
    }

    /// Replaces the async layer's server configuration.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.options.config = config;
        self
    }

    /// The name reported by `/health`.
    pub fn node_name(mut self, name: impl Into<String>) -> Self {
        self.options.node_name = name.into();
        self
    }

    /// The largest HTTP body accepted (default 10 MiB; larger gets 413).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.options.limits.max_body = bytes;
        self
    }

    /// The largest WebSocket message accepted (default 10 MiB).
    pub fn max_ws_message(mut self, bytes: usize) -> Self {
        self.options.max_ws_message = bytes;
        self
    }

    /// WebSocket ping/pong keep-alive (default: a Ping after 30 s without a frame from the
    /// client; a client that sends nothing within 20 s after it is closed). `None` sends no
    /// pings (the client's pings are still answered). Pings and pongs count as activity for
    /// [`ServerBuilder::idle_timeout`], so a client that answers them is never idle while the
    /// interval is shorter than the idle timeout; a dead peer is dropped after at most
    /// `interval + timeout`. See [`crate::adapter::ws`].
    ///
    /// ```no_run
    /// # async fn f<L: jsonrpc_proto::adapter::builder::Listen>(router: jsonrpc_proto::service::Router) {
    /// use std::time::Duration;
    /// use jsonrpc_proto::adapter::ws::WsKeepAlive;
    /// let server = jsonrpc_proto::adapter::builder::ServerBuilder::<L>::new(router)
    ///     .ws_keep_alive(Some(WsKeepAlive::default().with_interval(Duration::from_secs(15))))
    ///     .start()
    ///     .await;
    /// # }
    /// ```
    pub fn ws_keep_alive(mut self, keep_alive: Option<WsKeepAlive>) -> Self {
        self.options.ws_keep_alive = keep_alive;
        self
    }

    /// Sockets served at once, over all listeners (HTTP keep-alive, WebSocket, TCP; default
    /// 10 000, `ServerConfig::max_connections`). Over it: HTTP requests get 503 with
    /// `Connection: close`, a WebSocket upgrade is accepted and closed at once with code 1013
    /// and a reason, a plain TCP client gets one -32003 error line (id null) and is closed.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.options.config.max_connections = n;
        self
    }

    /// Closes TCP and WebSocket connections that read and write no frame for this long
    /// while nothing is in flight (default 300 s; `None`: never). WebSocket pings and pongs
    /// received count as frames (see [`ServerBuilder::ws_keep_alive`]).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.config.idle_timeout = timeout;
        self
    }

    /// The largest result sent in one response (default 10 MiB); over it the call is
    /// answered with -32603 "Response too large".
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.options.config.max_response_size = bytes;
        self
    }

    /// Runs each call's handler on a task of its own (default false: the handlers of one
    /// connection run on its task). Worth it when handlers are CPU-heavy; see
    /// `ServerConfig::spawn_calls`.
    pub fn spawn_calls(mut self, spawn: bool) -> Self {
        self.options.config.spawn_calls = spawn;
        self
    }

    /// The time a client has to send a complete HTTP request head, and the longest an idle
    /// keep-alive connection is kept (default 30 s; `None`: no limit). Slowloris defence.
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.header_read_timeout = timeout;
        self
    }

    /// The time a client has to send a complete HTTP request body (default 30 s; `None`: no
    /// limit); later: 408 and the connection is closed.
    pub fn body_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.body_read_timeout = timeout;
        self
    }

    /// The time a TLS handshake may take (default 10 s); later the socket is closed.
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.options.tls_handshake_timeout = timeout;
        self
    }

    /// How long a graceful shutdown waits for in-flight calls (default 10 s).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.options.grace = grace;
        self.options.config.shutdown_grace = grace;
        self
    }

    /// Wraps HTTP handling (POST `/`, `/ws` upgrades, `/health`, `/metrics`) in a tower
    /// layer: tower-http's `CorsLayer`, `CompressionLayer`, `SetRequestIdLayer` /
    /// `PropagateRequestIdLayer`, `TimeoutLayer` work as they are. The first layer added is
    /// the outermost. Layers see `http::Request<hyper::body::Incoming>`; they must keep the
    /// request's extensions (all of tower-http's do) for WebSocket upgrades to work.
    ///
    /// ```ignore
    /// Server::builder(router)
    ///     .http_layer(tower_http::compression::CompressionLayer::new())
    ///     .start().await?;
    /// ```
    pub fn http_layer<Ly, B>(mut self, layer: Ly) -> Self
    where
        Ly: tower::Layer<HttpStack> + Send + Sync + 'static,
        Ly::Service: tower::Service<HttpRequest, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        <Ly::Service as tower::Service<HttpRequest>>::Error: Into<BoxError>,
        <Ly::Service as tower::Service<HttpRequest>>::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.options.http_layers.push(layer);
        self
    }

    /// CORS for browsers on `origins` (`"*"`: any origin), as an HTTP layer at this point of
    /// the stack (see [`cors_for_origins`] for what it allows). Without it no CORS headers
    /// are sent, and a browser's preflight `OPTIONS` gets 405.
    ///
    /// ```ignore
    /// Server::builder(router).cors(["https://app.example.com"])
    /// ```
    pub fn cors<I, S>(self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.http_layer(cors_for_origins(origins))
    }

    /// Answers 403 to HTTP requests whose `Host` (port ignored) is not one of `hosts`, as an
    /// HTTP layer at this point of the stack (DNS-rebinding defence).
    pub fn allow_hosts<I, S>(self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.http_layer(AllowHostsLayer::new(hosts))
    }

    /// Prometheus metrics (default off): every call is counted and timed by a [`Metrics`]
    /// middleware outside the router's own, and `GET /metrics` on the HTTP port serves them
    /// in the text format (never on `/`). The metric names are in
    /// [`crate::service::middleware::metrics`].
    pub fn metrics(mut self, on: bool) -> Self {
        self.options.metrics = if on {
            Some(Metrics::for_methods(self.options.router.methods()))
        } else {
            None
        };
        self
    }

    /// Metrics on, kept in `metrics` (to read them in-process or add your own to its
    /// registry).
    pub fn metrics_with(mut self, metrics: Metrics) -> Self {
        self.options.metrics = Some(metrics);
        self
    }

    /// The settings so far.
    pub fn options(&self) -> &ServerOptions<L> {
        &self.options
    }

    /// Binds the listeners and starts serving in the background.
    pub async fn start(mut self) -> Result<RunningServer<L::Runtime>, StartError> {
        if let Some(metrics) = &self.options.metrics {
            self.options.router = self.options.router.with_metrics(metrics.clone());
            self.options.http_layers.metrics = Some(metrics.clone());
        }
        L::start(self.options).await
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

/// A server that is listening, its tasks tracked by a [`Lifecycle`] and timed on `R`. Drop it
/// to stop at once; call [`RunningServer::shutdown`] for a graceful stop.
pub struct RunningServer<R: Runtime> {
    sockets: SocketSlots,
    http_addr: Option<SocketAddr>,
    tcp_addr: Option<SocketAddr>,
    handle: ServerHandle,
    shutdown: ShutdownHandle,
    runtime: R,
    grace: Duration,
    unix: Option<crate::adapter::unix::UnixSocketFile>,
    http_unix: Option<crate::adapter::unix::UnixSocketFile>,
}

impl<R: Runtime> RunningServer<R> {
    /// What an adapter hands back from `start`: the bound addresses, the socket count, the
    /// async layer's handle, the lifecycle its tasks are tracked by, and the grace period.
    pub fn new(
        http_addr: Option<SocketAddr>,
        tcp_addr: Option<SocketAddr>,
        sockets: SocketSlots,
        handle: ServerHandle,
        lifecycle: Lifecycle,
        runtime: R,
        grace: Duration,
    ) -> Self {
        RunningServer {
            sockets,
            http_addr,
            tcp_addr,
            handle,
            shutdown: ShutdownHandle { lifecycle },
            runtime,
            grace,
            unix: None,
            http_unix: None,
        }
    }

    /// Records the Unix socket served; its file is removed when the server stops.
    pub fn with_unix(mut self, file: crate::adapter::unix::UnixSocketFile) -> Self {
        self.unix = Some(file);
        self
    }

    /// The path of the Unix domain socket listener.
    pub fn unix_path(&self) -> Option<&std::path::Path> {
        self.unix.as_ref().map(|f| f.path())
    }

    /// Records the Unix socket HTTP is served on; its file is removed when the server stops.
    pub fn with_http_unix(mut self, file: crate::adapter::unix::UnixSocketFile) -> Self {
        self.http_unix = Some(file);
        self
    }

    /// The path of the Unix domain socket HTTP, WebSocket and health are served on.
    pub fn http_unix_path(&self) -> Option<&std::path::Path> {
        self.http_unix.as_ref().map(|f| f.path())
    }

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

    /// Sockets open now (HTTP, WebSocket, TCP, Unix, including ones in a TLS handshake or
    /// being refused over the connection limit). An HTTP/2 connection is one socket however
    /// many calls it carries.
    pub fn open_connections(&self) -> usize {
        self.sockets.open()
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

impl<R: Runtime> Drop for RunningServer<R> {
    fn drop(&mut self) {
        self.shutdown.lifecycle.force();
    }
}
