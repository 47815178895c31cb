//! Clients over HTTP, WebSocket and TCP (each optionally with TLS), returning the async layer's
//! [`Client`].

use jsonrpc_proto::adapter::framed::StreamTransport;
use jsonrpc_proto::adapter::http::{host_of, ws_client_plan};
use jsonrpc_proto::adapter::ws::WsTransport;
use jsonrpc_proto::peer::{Client, ClientConfig, Transport, TransportInfo, TransportKind};
use jsonrpc_proto::service::Router;

use crate::connect::{connect_io, ConnectError};
use crate::http_client::{HttpClientConfig, HttpTransport};
use crate::runtime::AsyncIoRuntime;
use crate::tls::TlsClientConfig;

/// Options shared by the `connect_*_with` functions.
#[derive(Default)]
pub struct ConnectOptions {
    /// Trusted CA roots (and an optional client certificate) for https, wss and TLS over TCP.
    pub tls: Option<TlsClientConfig>,
    /// Headers sent with every HTTP POST or with the WebSocket handshake (e.g. Authorization).
    pub headers: Vec<(String, String)>,
    /// The async layer's client settings (request timeout, limits).
    pub client: ClientConfig,
    /// HTTP settings (retries, backoff, keep-alive pool); its `tls` and `headers` are taken
    /// from the fields above.
    pub http: HttpClientConfig,
    /// The largest WebSocket message accepted (0: the default 10 MiB).
    pub max_message: usize,
    /// The executor the client's tasks run on (default: [`AsyncIoRuntime::default`]).
    pub runtime: Option<AsyncIoRuntime>,
    /// A router this client serves to the server on the same connection (callbacks; WebSocket
    /// and TCP only, ignored over HTTP).
    pub router: Option<Router>,
}

fn client<T: Transport>(transport: T, options: ConnectOptions) -> Client {
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
    let plan = ws_client_plan(
        url,
        &options.headers,
        options.max_message,
        options.tls.is_some(),
    )?;
    let tls = options.tls.as_ref().filter(|_| plan.endpoint.tls);
    let io = connect_io(&plan.endpoint.addr(), &plan.endpoint.host, tls).await?;
    let (ws, _response) =
        async_tungstenite::client_async_with_config(plan.request, io, Some(plan.config))
            .await
            .map_err(|e| ConnectError::Handshake {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
    Ok(client(WsTransport::new(ws, plan.info), options))
}

/// A client over raw TCP with newline-delimited JSON, to `addr` ("host:port").
pub async fn connect_tcp(addr: &str) -> Result<Client, ConnectError> {
    connect_tcp_with(addr, ConnectOptions::default()).await
}

/// A client over raw TCP (TLS when `options.tls` is set; the server name is the host of
/// `addr`).
pub async fn connect_tcp_with(addr: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
    let host = host_of(addr).ok_or_else(|| ConnectError::Url {
        url: addr.to_owned(),
        reason: "expected host:port".into(),
    })?;
    let io = connect_io(addr, host, options.tls.as_ref()).await?;
    let mut info = TransportInfo::new(TransportKind::Tcp);
    info.tls = options.tls.is_some();
    let transport = StreamTransport::lines_duplex(io).with_info(info);
    Ok(client(transport, options))
}
