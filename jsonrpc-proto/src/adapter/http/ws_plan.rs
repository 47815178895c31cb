//! The WebSocket client plan (feature `websocket`): the request an adapter's WebSocket client
//! sends, from a URL and extra headers.

use http::HeaderValue;

use crate::peer::{TransportInfo, TransportKind};

use super::connect::ConnectError;
use super::url::Endpoint;

/// What a WebSocket client needs before its runtime opens the socket and does the handshake:
/// the parsed endpoint, the handshake request (with the extra headers), the size limits and
/// the transport info. Built by [`ws_client_plan`].
pub struct WsClientPlan {
    /// The parsed `ws` / `wss` URL (connect to [`Endpoint::addr`], verify [`Endpoint::host`]).
    pub endpoint: Endpoint,
    /// The handshake request, for `client_async_with_config`.
    pub request: tungstenite::handshake::client::Request,
    /// The message size limits.
    pub config: tungstenite::protocol::WebSocketConfig,
    /// Kind WebSocket, with tls and path set.
    pub info: TransportInfo,
}

/// Prepares a WebSocket client connection to `url` sending `headers`, accepting messages up to
/// `max_message` bytes (0: the default). `tls_configured` says whether the caller has a TLS
/// client config (required for `wss`).
pub fn ws_client_plan(
    url: &str,
    headers: &[(String, String)],
    max_message: usize,
    tls_configured: bool,
) -> Result<WsClientPlan, ConnectError> {
    use tungstenite::client::IntoClientRequest;
    let endpoint = Endpoint::parse(url, "ws", "wss")?;
    if endpoint.tls && !tls_configured {
        return Err(ConnectError::Url {
            url: url.to_owned(),
            reason: "wss needs a TLS client config (trusted CA roots)".into(),
        });
    }
    let handshake_err = |reason: String| ConnectError::handshake(url, reason);
    let mut request = url
        .into_client_request()
        .map_err(|e| handshake_err(e.to_string()))?;
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| handshake_err(format!("header {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| handshake_err(format!("header value: {e}")))?;
        request.headers_mut().append(name, value);
    }
    let max = match max_message {
        0 => crate::adapter::ws::DEFAULT_MAX_MESSAGE,
        n => n,
    };
    let mut info = TransportInfo::new(TransportKind::WebSocket);
    info.tls = endpoint.tls;
    info.path = Some(endpoint.path.clone());
    Ok(WsClientPlan {
        endpoint,
        request,
        config: crate::adapter::ws::ws_client_config(max),
        info,
    })
}
