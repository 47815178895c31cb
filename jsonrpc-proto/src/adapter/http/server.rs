//! The server side: [`HttpService`] answers one HTTP request (POST `/`, `GET /health`, a
//! WebSocket upgrade on `/ws`) for any body type.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};

use crate::peer::{Server, TransportInfo, TransportKind};
use crate::protocol::http::{
    check_message, decide, health_body, is_websocket_upgrade, Decision, Limits, Rejection,
    RequestHead,
};

use super::layers::{ConnService, HttpLayers, HttpRequest};
use super::response::{
    empty, header_str, headers_of, json_response, reject, reject_and_close, target_form, version_of,
};

/// What the adapter knows about the connection a request came on.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnInfo {
    /// The remote address.
    pub peer: Option<SocketAddr>,
    /// The local address.
    pub local: Option<SocketAddr>,
    /// True when the connection is protected by TLS.
    pub tls: bool,
    /// True when the connection came on a Unix domain socket (`TransportInfo::unix`).
    pub unix: bool,
}

impl ConnInfo {
    /// The transport info of a connection of `kind` on this socket (addresses and TLS set).
    pub fn transport_info(&self, kind: TransportKind) -> TransportInfo {
        let mut info = TransportInfo::new(kind);
        info.peer_addr = self.peer;
        info.local_addr = self.local;
        info.tls = self.tls;
        info.unix = self.unix;
        info
    }
}

/// What to do with a request after [`HttpService::handle`].
pub enum HttpOutcome<B> {
    /// Send this response.
    Respond(Response<Full<Bytes>>),
    /// A valid WebSocket upgrade: send [`switching_protocols`](super::switching_protocols) (101), then upgrade `request` with the HTTP
    /// library (`hyper::upgrade::on`) and serve the WebSocket with `info`.
    WebSocket {
        /// The request, kept for the upgrade.
        request: Box<Request<B>>,
        /// Kind WebSocket, with the handshake headers and path.
        info: TransportInfo,
        /// The `Sec-WebSocket-Key` to derive `Sec-WebSocket-Accept` from (see
        /// [`switching_protocols`](super::switching_protocols)).
        key: HeaderValue,
    },
}

/// A JSON-RPC [`Server`] behind HTTP: POST `/`, WebSocket `/ws`, `GET /health`.
#[derive(Clone, Debug)]
pub struct HttpService {
    server: Server,
    node_name: Arc<str>,
    limits: Limits,
    body_read_timeout: Option<Duration>,
    layers: HttpLayers,
}

/// The default time a client has to send a complete request body: 30 s (then 408).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

impl HttpService {
    /// Serves `server`, naming itself `node_name` in `/health`.
    pub fn new(server: Server, node_name: &str, limits: Limits) -> Self {
        HttpService {
            server,
            node_name: node_name.into(),
            limits,
            body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
            layers: HttpLayers::default(),
        }
    }

    /// The tower layers around every request and the metrics served at `GET /metrics`
    /// (`ServerOptions::http_layers`).
    pub fn with_layers(mut self, layers: HttpLayers) -> Self {
        self.layers = layers;
        self
    }

    /// The hyper service of one connection: `handle` (the adapter's answer to one request,
    /// usually a call of [`HttpService::handle`] plus the WebSocket upgrade) inside this
    /// service's tower layers.
    pub fn connection<F, Fut>(&self, handle: F) -> ConnService<F>
    where
        F: Fn(HttpRequest) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        self.layers.connection(handle)
    }

    /// The time a client has to send a complete request body (default 30 s; `None`: no
    /// limit); later it gets 408 and the connection is closed. Slow-body (slowloris) defence.
    pub fn with_body_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// The server behind.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Handles one request: rejections, health, RPC posts; a WebSocket upgrade is handed back.
    pub async fn handle<B>(&self, req: Request<B>, conn: &ConnInfo) -> HttpOutcome<B>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let headers = req.headers();
        let lines = |name| {
            headers
                .get_all(name)
                .iter()
                .map(HeaderValue::as_bytes)
                .collect::<Vec<_>>()
        };
        let (hosts, transfer_encoding) = (lines(header::HOST), lines(header::TRANSFER_ENCODING));
        let head = RequestHead {
            method: req.method().as_str(),
            path: req.uri().path(),
            content_type: header_str(headers, header::CONTENT_TYPE),
            content_length: header_str(headers, header::CONTENT_LENGTH)
                .and_then(|v| v.parse().ok()),
            websocket_upgrade: is_websocket_upgrade(
                header_str(headers, header::CONNECTION),
                header_str(headers, header::UPGRADE),
            ),
            version: version_of(req.version()),
            target: target_form(req.uri()),
            hosts: &hosts,
            transfer_encoding: &transfer_encoding,
            has_content_length: headers.contains_key(header::CONTENT_LENGTH),
        };
        if let Some(metrics) = &self.layers.metrics {
            if req.uri().path() == "/metrics" {
                // The message rules (Host, framing) hold for the metrics path too.
                if let Err(r) = check_message(&head) {
                    return HttpOutcome::Respond(reject(r));
                }
                if req.method() != Method::GET && req.method() != Method::HEAD {
                    return HttpOutcome::Respond(reject(Rejection {
                        status: 405,
                        allow: Some("GET, HEAD"),
                        body: "Method not allowed: GET /metrics",
                        close: false,
                    }));
                }
                metrics.set_push_queue_depth(self.server.handle().push_queue_depth());
                let body = if req.method() == Method::HEAD {
                    Bytes::new()
                } else {
                    Bytes::from(metrics.render())
                };
                let mut r = Response::new(Full::new(body));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(crate::service::middleware::Metrics::CONTENT_TYPE),
                );
                return HttpOutcome::Respond(r);
            }
        }
        let decision = decide(&head, &self.limits);
        let info = |kind| {
            let mut info = conn.transport_info(kind);
            info.headers = headers_of(req.headers());
            info.path = Some(req.uri().path().to_owned());
            info
        };
        let shutting_down = self.server.handle().is_shutting_down();
        let respond = HttpOutcome::Respond;
        match decision {
            Decision::Reject(r) => respond(reject(r)),
            Decision::Health => {
                let handle = self.server.handle();
                let ws_clients = handle
                    .clients()
                    .iter()
                    .filter(|c| c.transport.kind == TransportKind::WebSocket)
                    .count();
                let body = health_body(&self.node_name, ws_clients, handle.pending_requests());
                if req.method() == Method::HEAD {
                    respond(json_response(Bytes::new()))
                } else {
                    respond(json_response(Bytes::from(body)))
                }
            }
            Decision::Rpc => {
                if shutting_down {
                    return respond(reject(Rejection::SHUTTING_DOWN));
                }
                let info = info(TransportKind::Http);
                let collect = Limited::new(req.into_body(), self.limits.max_body).collect();
                let collected = match self.body_read_timeout {
                    None => collect.await,
                    Some(t) => {
                        let sleep = self.server.sleep(t);
                        futures::pin_mut!(collect);
                        match futures::future::select(collect, sleep).await {
                            futures::future::Either::Left((r, _)) => r,
                            futures::future::Either::Right(_) => {
                                tracing::debug!(peer = ?conn.peer, "request body too slow: 408");
                                return respond(reject_and_close(Rejection::BODY_TIMEOUT));
                            }
                        }
                    }
                };
                let body = match collected {
                    Ok(b) => b.to_bytes(),
                    Err(e) => {
                        if e.downcast_ref::<http_body_util::LengthLimitError>()
                            .is_some()
                        {
                            return respond(reject(Rejection::PAYLOAD_TOO_LARGE));
                        }
                        tracing::debug!(peer = ?conn.peer, "reading a request body failed: {e}");
                        return respond(reject(Rejection {
                            status: 400,
                            allow: None,
                            body: "Bad request: the body could not be read",
                            close: true,
                        }));
                    }
                };
                respond(match self.server.handle_http(body, info).await {
                    Some(answer) => json_response(answer),
                    None => empty(StatusCode::NO_CONTENT),
                })
            }
            Decision::WebSocket => {
                if shutting_down {
                    return respond(reject(Rejection::SHUTTING_DOWN));
                }
                let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
                let version_ok = header_str(req.headers(), header::SEC_WEBSOCKET_VERSION)
                    .is_some_and(|v| v.trim() == "13");
                let Some(key) = key.filter(|_| version_ok) else {
                    return respond(reject(Rejection::BAD_UPGRADE));
                };
                let info = info(TransportKind::WebSocket);
                HttpOutcome::WebSocket {
                    request: Box::new(req),
                    info,
                    key,
                }
            }
        }
    }
}
