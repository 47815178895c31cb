//! Clients over HTTP, WebSocket and TCP (each optionally with TLS), returning the async layer's
//! [`Client`]; the transports behind them, for raw use; and the outgoing connections under
//! them (TCP, then TLS through tokio-rustls). URLs, errors, the HTTP client's pooling and retry
//! policy are `jsonrpc_proto::adapter::http`'s, shared with every runtime.

use std::pin::Pin;

use futures::future::BoxFuture;
use jsonrpc_proto::adapter::connect::reconnecting;
use jsonrpc_proto::adapter::http::{
    host_of, ws_client_plan, Attempt, Connected, Endpoint, HttpConnect, HttpPostTransport,
    HTTP2_ALPN,
};
pub use jsonrpc_proto::adapter::http::{ConnectError, HttpClientConfig, HttpSink, HttpStream};
pub use jsonrpc_proto::adapter::reconnect::{
    ReconnectConfig, ReconnectError, Reconnecting, Resubscribing, SubscriptionEvent,
};
use jsonrpc_proto::adapter::ws::WsTransport;
use jsonrpc_proto::peer::{Client, Transport, TransportInfo, TransportKind};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;

use crate::io::StreamTransport;
use crate::runtime::TokioRuntime;
use crate::tls::{connector, server_name, TlsClientConfig};

/// Options of the `connect_*_with` and `reconnect_*` functions: built from
/// [`Default`] and the `with_*` setters, e.g.
/// `ConnectOptions::default().with_tls(Some(tls)).header("authorization", "secret")`. Its
/// `runtime` is a [`TokioRuntime`] (default: the current tokio runtime, [`TokioRuntime::new`]).
pub type ConnectOptions = jsonrpc_proto::adapter::connect::ConnectOptions<TokioRuntime>;

pub(crate) fn client<T: Transport>(transport: T, options: ConnectOptions) -> Client {
    let runtime = options.runtime.unwrap_or_default();
    match options.router {
        Some(router) => Client::with_router(transport, runtime, options.client, router),
        None => Client::new(transport, runtime, options.client),
    }
}

/// A client POSTing to `url` (`http://host:port/`).
pub async fn connect_http(url: &str) -> Result<Client, ConnectError> {
    connect_http_with(url, ConnectOptions::default()).await
}

/// A client POSTing to `url` (`http://` or `https://`) with options.
pub async fn connect_http_with(url: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
    let runtime = options.runtime.unwrap_or_default();
    let mut http = options.http;
    http.tls = options.tls;
    http.headers = options.headers;
    let transport = HttpTransport::with_runtime(url, http, runtime.clone())?;
    Ok(Client::new(transport, runtime, options.client))
}

/// A client over a WebSocket at `url` (`ws://host:port/ws`).
pub async fn connect_ws(url: &str) -> Result<Client, ConnectError> {
    connect_ws_with(url, ConnectOptions::default()).await
}

/// A client over a WebSocket at `url` (`ws://` or `wss://`) with options.
pub async fn connect_ws_with(url: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
    let transport = ws_transport(url, &options).await?;
    Ok(client(transport, options))
}

/// Opens a WebSocket to `url` (handshake done) using the TLS, headers and size limit of
/// `options`.
pub async fn ws_transport(
    url: &str,
    options: &ConnectOptions,
) -> Result<WsTransport<WebSocketStream<BoxIo>>, ConnectError> {
    let plan = ws_client_plan(
        url,
        &options.headers,
        options.max_message,
        options.tls.is_some(),
    )?;
    let tls = options.tls.as_ref().filter(|_| plan.endpoint.tls);
    let io = connect_io(&plan.endpoint.addr(), &plan.endpoint.host, tls).await?;
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(plan.request, io, Some(plan.config))
            .await
            .map_err(|e| ConnectError::Handshake {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
    let runtime = options.runtime.clone().unwrap_or_default();
    Ok(WsTransport::new(ws, plan.info).with_keep_alive(options.ws_keep_alive, runtime))
}

/// A client over raw TCP with newline-delimited JSON, to `addr` ("host:port").
pub async fn connect_tcp(addr: &str) -> Result<Client, ConnectError> {
    connect_tcp_with(addr, ConnectOptions::default()).await
}

/// A client over raw TCP (TLS when `options.tls` is set; the server name is the host of
/// `addr`).
pub async fn connect_tcp_with(addr: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
    let transport = tcp_transport(addr, options.tls.as_ref()).await?;
    Ok(client(transport, options))
}

/// The byte-stream transport of a TCP client.
pub type TcpTransport = StreamTransport<tokio::io::ReadHalf<BoxIo>, tokio::io::WriteHalf<BoxIo>>;

/// Opens newline-delimited JSON over TCP to `addr` ("host:port"), with TLS when `tls` is set.
pub async fn tcp_transport(
    addr: &str,
    tls: Option<&TlsClientConfig>,
) -> Result<TcpTransport, ConnectError> {
    let host = host_of(addr).ok_or_else(|| ConnectError::Url {
        url: addr.to_owned(),
        reason: "expected host:port".into(),
    })?;
    let io = connect_io(addr, host, tls).await?;
    let mut info = TransportInfo::new(TransportKind::Tcp);
    info.tls = tls.is_some();
    Ok(StreamTransport::lines_duplex(io).with_info(info))
}

/// Any byte stream a connection can run on (TCP or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A boxed byte stream.
pub type BoxIo = Pin<Box<dyn Io>>;

/// Opens TCP to `addr`, then TLS when `tls` is given (verifying `host`): the byte stream
/// under every client, for building transports by hand.
pub async fn connect_io(
    addr: &str,
    host: &str,
    tls: Option<&TlsClientConfig>,
) -> Result<BoxIo, ConnectError> {
    open_io(addr, host, tls).await.map(|(io, _)| io)
}

/// [`connect_io`], also saying whether TLS's ALPN chose `h2`.
async fn open_io(
    addr: &str,
    host: &str,
    tls: Option<&TlsClientConfig>,
) -> Result<(BoxIo, bool), ConnectError> {
    let io_err = |source| ConnectError::Io {
        addr: addr.to_owned(),
        source,
    };
    let tcp = TcpStream::connect(addr).await.map_err(io_err)?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok((Box::pin(tcp), false)),
        Some(tls) => {
            let name = server_name(host)?;
            let stream = connector(tls).connect(name, tcp).await.map_err(io_err)?;
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
            Ok((Box::pin(stream), h2))
        }
    }
}

/// The TLS settings of an HTTP client: offering `h2` in ALPN when HTTP/2 is on.
pub(crate) fn http_tls(config: &HttpClientConfig) -> Option<TlsClientConfig> {
    let tls = config.tls.as_ref()?;
    Some(if config.http2 {
        tls.with_alpn(&HTTP2_ALPN)
    } else {
        tls.clone()
    })
}

/// The HTTP client's connector: [`connect_io`] as hyper IO.
struct TokioConnect(Option<TlsClientConfig>);

impl HttpConnect for TokioConnect {
    type Io = hyper_util::rt::TokioIo<BoxIo>;

    fn connect<'a>(
        &'a self,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<Connected<Self::Io>, Attempt>> {
        Box::pin(async move {
            match open_io(&endpoint.addr(), &endpoint.host, self.0.as_ref()).await {
                Ok((io, alpn_h2)) => Ok(Connected {
                    io: hyper_util::rt::TokioIo::new(io),
                    alpn_h2,
                }),
                Err(e @ ConnectError::Io { .. }) => Err(Attempt::Retry(e.to_string())),
                Err(e) => Err(Attempt::Fail(e.to_string())),
            }
        })
    }
}

/// A JSON-RPC transport over HTTP POSTs to one URL: each frame is one POST (hyper 1, TLS
/// through tokio-rustls); connections are kept alive and reused.
pub struct HttpTransport(pub(crate) HttpPostTransport);

impl HttpTransport {
    /// A transport POSTing to `url` (`http://` or `https://`), spawning its POSTs on the
    /// current tokio runtime ([`TokioRuntime::new`]: must be called inside one). No connection
    /// is opened until the first frame is sent.
    pub fn new(url: &str, config: HttpClientConfig) -> Result<Self, ConnectError> {
        Self::with_runtime(url, config, TokioRuntime::new())
    }

    /// Like [`HttpTransport::new`] on `runtime`.
    pub fn with_runtime(
        url: &str,
        config: HttpClientConfig,
        runtime: TokioRuntime,
    ) -> Result<Self, ConnectError> {
        let connector = TokioConnect(http_tls(&config));
        HttpPostTransport::hyper(url, connector, runtime, config).map(HttpTransport)
    }
}

impl Transport for HttpTransport {
    type Sink = HttpSink;
    type Stream = HttpStream;

    fn info(&self) -> TransportInfo {
        self.0.info()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        self.0.split()
    }
}

/// A TCP client to `addr` that reconnects with exponential backoff and jitter after the
/// connection drops; a call cut off by a drop fails with
/// [`ReconnectError::MayHaveRun`](jsonrpc_proto::adapter::reconnect::ReconnectError) and is
/// not sent again.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let client = transport_tokio::reconnect_tcp(
///     "127.0.0.1:9000",
///     transport_tokio::ConnectOptions::default(),
///     transport_tokio::ReconnectConfig::default(),
/// );
/// let sum: i64 = client.request("add", [1, 2]).await?;
/// # Ok(()) }
/// ```
pub fn reconnect_tcp(addr: &str, options: ConnectOptions, config: ReconnectConfig) -> Reconnecting {
    let addr = addr.to_owned();
    reconnecting(options, config, move |options| {
        let addr = addr.clone();
        Box::pin(async move { connect_tcp_with(&addr, options).await })
    })
}

/// A WebSocket client to `url` that reconnects like [`reconnect_tcp`].
pub fn reconnect_ws(url: &str, options: ConnectOptions, config: ReconnectConfig) -> Reconnecting {
    let url = url.to_owned();
    reconnecting(options, config, move |options| {
        let url = url.clone();
        Box::pin(async move { connect_ws_with(&url, options).await })
    })
}
