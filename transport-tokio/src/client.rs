//! Clients over HTTP, WebSocket and TCP (each optionally with TLS), returning the async layer's
//! [`Client`]; and the transports behind them, for raw use.

use jsonrpc_proto::adapter::http::{host_of, ws_client_plan};
use jsonrpc_proto::peer::{Client, ClientConfig, Transport, TransportInfo, TransportKind};
use jsonrpc_proto::service::Router;
use tokio_tungstenite::WebSocketStream;

use crate::connect::{connect_io, BoxIo, ConnectError};
use crate::framed::StreamTransport;
use crate::http_client::{HttpClientConfig, HttpTransport};
use crate::runtime::TokioRuntime;
use crate::tls::TlsClientConfig;
use crate::ws::WsTransport;

/// Options shared by the `connect_*_with` functions.
#[derive(Default)]
pub struct ConnectOptions {
    /// Trusted CA roots (and an optional client certificate) for https, wss and TLS over TCP.
    pub tls: Option<TlsClientConfig>,
    /// Headers sent with every HTTP POST or with the WebSocket handshake (e.g. Authorization).
    pub headers: Vec<(String, String)>,
    /// The async layer's client settings (request timeout, limits).
    pub client: ClientConfig,
    /// A router the client serves for calls from the server (WebSocket and TCP only).
    pub router: Option<Router>,
    /// HTTP settings (retries, backoff, keep-alive pool); its `tls` and `headers` are taken
    /// from the fields above.
    pub http: HttpClientConfig,
    /// The largest WebSocket message accepted (0: the default 10 MiB).
    pub max_message: usize,
}

impl ConnectOptions {
    /// Options trusting the CAs of `tls`.
    pub fn with_tls(tls: TlsClientConfig) -> Self {
        ConnectOptions {
            tls: Some(tls),
            ..ConnectOptions::default()
        }
    }

    /// Adds a header (HTTP POSTs, WebSocket handshake).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

fn client<T: Transport>(transport: T, client: ClientConfig, router: Option<Router>) -> Client {
    match router {
        Some(router) => Client::with_router(transport, TokioRuntime::new(), client, router),
        None => Client::new(transport, TokioRuntime::new(), client),
    }
}

/// A client POSTing to `url` (`http://host:port/`).
pub async fn connect_http(url: &str) -> Result<Client, ConnectError> {
    connect_http_with(url, ConnectOptions::default()).await
}

/// A client POSTing to `url` (`http://` or `https://`) with options.
pub async fn connect_http_with(url: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
    let mut http = options.http;
    http.tls = options.tls.map(Into::into);
    http.headers = options.headers;
    let transport = HttpTransport::new(url, http)?;
    Ok(client(transport, options.client, None))
}

/// A client over a WebSocket at `url` (`ws://host:port/ws`).
pub async fn connect_ws(url: &str) -> Result<Client, ConnectError> {
    connect_ws_with(url, ConnectOptions::default()).await
}

/// A client over a WebSocket at `url` (`ws://` or `wss://`) with options.
pub async fn connect_ws_with(url: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
    let transport = ws_transport(url, &options).await?;
    Ok(client(transport, options.client, options.router))
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
    let io = connect_io(
        &plan.endpoint.addr(),
        &plan.endpoint.host,
        tls.map(|t| &t.0),
    )
    .await?;
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(plan.request, io, Some(plan.config))
            .await
            .map_err(|e| ConnectError::Handshake {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
    Ok(WsTransport::new(ws, plan.info))
}

/// A client over raw TCP with newline-delimited JSON, to `addr` ("host:port").
pub async fn connect_tcp(addr: &str) -> Result<Client, ConnectError> {
    connect_tcp_with(addr, ConnectOptions::default()).await
}

/// A client over raw TCP (TLS when `options.tls` is set; the server name is the host of
/// `addr`).
pub async fn connect_tcp_with(addr: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
    let transport = tcp_transport(addr, options.tls.as_ref()).await?;
    Ok(client(transport, options.client, options.router))
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
    let io = connect_io(addr, host, tls.map(|t| &t.0)).await?;
    let mut info = TransportInfo::new(TransportKind::Tcp);
    info.tls = tls.is_some();
    Ok(StreamTransport::lines_duplex(io).with_info(info))
}
