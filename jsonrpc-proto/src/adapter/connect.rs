//! The options of every runtime adapter's clients (features `http-service`, `websocket` and
//! `tls`): one [`ConnectOptions`] over the adapter's runtime type, which each adapter names as
//! its own `ConnectOptions`, and [`reconnecting`], what the adapters' `reconnect_*` functions
//! share.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::adapter::http::{ConnectError, HttpClientConfig};
use crate::adapter::reconnect::{ConnectFn, ReconnectConfig, Reconnecting};
use crate::adapter::tls::TlsClientConfig;
use crate::adapter::ws::WsKeepAlive;
use crate::peer::{Client, ClientConfig, Runtime};
use crate::service::Router;

/// Options shared by the adapters' `connect_*_with` and `reconnect_*` functions, built from
/// [`Default`] and the `with_*` setters. `R` is the adapter's runtime.
///
/// ```
/// # use jsonrpc_proto::adapter::connect::ConnectOptions;
/// # use jsonrpc_proto::adapter::ws::WsKeepAlive;
/// # use std::time::Duration;
/// let options = ConnectOptions::<()>::default()
///     .header("authorization", "secret")
///     .with_max_message(1 << 20)
///     .with_ws_keep_alive(Some(WsKeepAlive::default().with_interval(Duration::from_secs(10))));
/// assert_eq!(options.headers.len(), 1);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ConnectOptions<R> {
    /// Trusted CA roots (and an optional client certificate) for https, wss and TLS over TCP
    /// (default `None`: plain connections only).
    pub tls: Option<TlsClientConfig>,
    /// Headers sent with every HTTP POST or with the WebSocket handshake (e.g. Authorization).
    pub headers: Vec<(String, String)>,
    /// The async layer's client settings (request timeout, limits).
    pub client: ClientConfig,
    /// A router this client serves to the server on the same connection (callbacks; WebSocket,
    /// TCP and Unix sockets only, ignored over HTTP).
    pub router: Option<Router>,
    /// HTTP settings (retries, backoff, keep-alive pool, HTTP/2); its `tls` and `headers` are
    /// taken from the fields above.
    pub http: HttpClientConfig,
    /// The largest WebSocket message accepted (0: the default 10 MiB).
    pub max_message: usize,
    /// WebSocket ping/pong keep-alive (default on, [`WsKeepAlive::default`]: a Ping after
    /// 30 s without a frame from the server, the connection closed when nothing comes within
    /// 20 s after it; `None`: no pings). It keeps a client that only listens for pushes within
    /// the server's idle timeout, and detects a dead server: the client's calls then fail and
    /// [`Client::closed`](crate::peer::Client::closed) completes.
    pub ws_keep_alive: Option<WsKeepAlive>,
    /// The runtime the client's tasks run on (default `None`: the adapter's default runtime,
    /// on tokio the current one).
    pub runtime: Option<R>,
}

impl<R> Default for ConnectOptions<R> {
    fn default() -> Self {
        ConnectOptions {
            tls: None,
            headers: Vec::new(),
            client: ClientConfig::default(),
            router: None,
            http: HttpClientConfig::default(),
            max_message: 0,
            ws_keep_alive: Some(WsKeepAlive::default()),
            runtime: None,
        }
    }
}

crate::protocol::config_setters!(<R> ConnectOptions<R> {
    with_tls => tls: Option<TlsClientConfig>,
    with_headers => headers: Vec<(String, String)>,
    with_client => client: ClientConfig,
    with_router => router: Option<Router>,
    with_http => http: HttpClientConfig,
    with_max_message => max_message: usize,
    with_ws_keep_alive => ws_keep_alive: Option<WsKeepAlive>,
    with_runtime => runtime: Option<R>,
});

impl<R> ConnectOptions<R> {
    /// Adds a header (HTTP POSTs, WebSocket handshake).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl<R> std::fmt::Debug for ConnectOptions<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be credentials: only their names are shown.
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ConnectOptions")
            .field("tls", &self.tls.is_some())
            .field("headers", &headers)
            .field("client", &self.client)
            .field("router", &self.router.is_some())
            .field("max_message", &self.max_message)
            .field("ws_keep_alive", &self.ws_keep_alive)
            .field("runtime", &self.runtime.is_some())
            .finish_non_exhaustive()
    }
}

/// A [`Reconnecting`] client that opens each connection with `connect(options)` (an adapter's
/// `connect_*_with`), on the runtime of `options` (its default when `None`).
pub fn reconnecting<R: Runtime + Default>(
    options: ConnectOptions<R>,
    config: ReconnectConfig,
    connect: impl Fn(ConnectOptions<R>) -> BoxFuture<'static, Result<Client, ConnectError>>
        + Send
        + Sync
        + 'static,
) -> Reconnecting {
    let runtime = options.runtime.clone().unwrap_or_default();
    let connect: ConnectFn = Arc::new(move || connect(options.clone()));
    Reconnecting::new(connect, config, runtime)
}
