//! gateway: a local server whose `calc.*` methods run on a remote calculator (the
//! RemoteRpcProxyNode scenario), built on [`jsonrpc_proto::service::Proxy`].
//!
//! Callers of the gateway see one server: `ping` and `gateway.info` answer locally; `calc.add`
//! is called upstream as `add` over HTTP or WebSocket, with a per-call timeout and retries
//! with backoff for calls that could not be sent. Upstream errors arrive unchanged.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jsonrpc_proto::service::{Context, Proxy, ProxyConfig, Router, RouterError};
use jsonrpc_proto::ErrorObject;
use serde_json::json;
use transport_tokio::{connect_http_with, connect_ws_with, ConnectOptions, RunningServer, Server};

/// How the gateway reaches the remote server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamTransport {
    /// One HTTP POST per call.
    Http,
    /// One persistent WebSocket, reconnected when it closes.
    Ws,
}

impl FromStr for UpstreamTransport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "http" => Ok(UpstreamTransport::Http),
            "ws" => Ok(UpstreamTransport::Ws),
            other => Err(format!("unknown transport {other:?} (http or ws)")),
        }
    }
}

impl fmt::Display for UpstreamTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpstreamTransport::Http => "http",
            UpstreamTransport::Ws => "ws",
        })
    }
}

/// Where and how calls are forwarded.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The remote server: `http://host:port/` or `ws://host:port/ws`.
    pub endpoint: String,
    /// The transport to the remote server.
    pub transport: UpstreamTransport,
    /// Deadline of each forwarded call.
    pub timeout: Duration,
    /// Retries of a call that could not be sent (connect failures).
    pub retries: u32,
    /// The first wait between attempts; it doubles each time.
    pub backoff: Duration,
}

impl GatewayConfig {
    /// Forwarding to `endpoint`, the transport read from its scheme (`ws`/`wss` or HTTP), 30 s
    /// timeout, 3 retries from 100 ms.
    pub fn new(endpoint: &str) -> Self {
        let transport = if endpoint.starts_with("ws") {
            UpstreamTransport::Ws
        } else {
            UpstreamTransport::Http
        };
        GatewayConfig {
            endpoint: endpoint.to_owned(),
            transport,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(100),
        }
    }
}

/// The proxy to the remote server: connects on first use (and again when a WebSocket closes).
pub fn proxy(config: &GatewayConfig) -> Proxy {
    let (endpoint, transport) = (config.endpoint.clone(), config.transport);
    let (retries, backoff) = (config.retries, config.backoff);
    Proxy::connect(move || {
        let endpoint = endpoint.clone();
        async move {
            let mut options = ConnectOptions::default();
            // The HTTP transport retries unsent POSTs itself (connect failures), with the same
            // policy; a WebSocket connect failure is retried by the proxy.
            options.http.retries = retries;
            options.http.backoff = backoff;
            match transport {
                UpstreamTransport::Http => connect_http_with(&endpoint, options).await,
                UpstreamTransport::Ws => connect_ws_with(&endpoint, options).await,
            }
        }
    })
    .with_config(
        ProxyConfig::default()
            .with_timeout(Some(config.timeout))
            .with_retries(config.retries)
            .with_backoff(config.backoff),
    )
}

/// The gateway's router: local `ping` and `gateway.info`, and `calc.*` forwarded upstream
/// without the prefix.
pub fn router(config: &GatewayConfig) -> Result<Router, RouterError> {
    let info = json!({
        "upstream": config.endpoint,
        "transport": config.transport.to_string(),
        "timeout_ms": config.timeout.as_millis() as u64,
        "retries": config.retries,
    });
    Router::builder()
        .method("ping", |_ctx: Context, (): ()| async {
            Ok::<_, ErrorObject>("pong")
        })
        .method("gateway.info", move |_ctx: Context, (): ()| {
            let info = info.clone();
            async move { Ok::<_, ErrorObject>(info) }
        })
        .forward_prefix_stripped("calc.", &proxy(config))
        .build()
}

/// Serves the gateway over HTTP (and WebSocket at `/ws`) on `addr`.
pub async fn start(
    addr: &str,
    config: &GatewayConfig,
) -> Result<RunningServer, Box<dyn std::error::Error>> {
    Ok(Server::builder(router(config)?)
        .http(addr)
        .node_name("gateway")
        .start()
        .await?)
}
