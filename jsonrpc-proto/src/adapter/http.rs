//! Runtime-agnostic HTTP glue over the `http` and `http-body` types (feature `http-service`):
//! what both runtime adapters would otherwise write twice around hyper.
//!
//! - Server: [`HttpService::handle`] takes one request (any body type: hyper's `Incoming`
//!   included) and returns the response, or a WebSocket upgrade for the adapter to complete.
//!   Routing, statuses and the health body come from [`crate::protocol::http`]; calls from
//!   [`Server::handle_http`].
//! - Client: [`Endpoint`] (URL parsing), [`post_request`] and [`read_response`] around one
//!   POST, and [`HttpPostTransport`], a [`Transport`] that posts each frame through an
//!   adapter-provided [`HttpPoster`] with retries (only when the request cannot have been
//!   executed) and exponential backoff on the [`Runtime`]'s timer.
//!
//! ```
//! use jsonrpc_proto::adapter::http::Endpoint;
//! let e = Endpoint::parse("https://example.com/rpc", "http", "https").unwrap();
//! assert!(e.tls);
//! assert_eq!((e.host.as_str(), e.port, e.path.as_str()), ("example.com", 443, "/rpc"));
//! ```

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::Sink;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};

use crate::peer::{Runtime, Server, Transport, TransportError, TransportInfo, TransportKind};
use crate::protocol::http::{
    decide, failure_responses, health_body, is_websocket_upgrade, transport_failure, Decision,
    Limits, Rejection, RequestHead, JSON_CONTENT_TYPE,
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
}

impl ConnInfo {
    /// The transport info of a connection of `kind` on this socket (addresses and TLS set).
    pub fn transport_info(&self, kind: TransportKind) -> TransportInfo {
        let mut info = TransportInfo::new(kind);
        info.peer_addr = self.peer;
        info.local_addr = self.local;
        info.tls = self.tls;
        info
    }
}

/// What to do with a request after [`HttpService::handle`].
pub enum HttpOutcome<B> {
    /// Send this response.
    Respond(Response<Full<Bytes>>),
    /// A valid WebSocket upgrade: send [`switching_protocols`] (101), then upgrade `request` with the HTTP
    /// library (`hyper::upgrade::on`) and serve the WebSocket with `info`.
    WebSocket {
        /// The request, kept for the upgrade.
        request: Box<Request<B>>,
        /// Kind WebSocket, with the handshake headers and path.
        info: TransportInfo,
        /// The `Sec-WebSocket-Key` to derive `Sec-WebSocket-Accept` from (see
        /// [`switching_protocols`]).
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
        }
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
        };
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

/// For a server at its connection limit: the `Sec-WebSocket-Key` of a request that is a
/// WebSocket upgrade (`GET /ws` with `Connection: upgrade` and `Upgrade: websocket`), to accept
/// and close at once with 1013 ([`crate::adapter::ws::refuse_busy`]); `None`: answer
/// [`reject_and_close`]`(`[`Rejection::TOO_MANY_CONNECTIONS`]`)`.
pub fn busy_upgrade_key<B>(req: &Request<B>) -> Option<HeaderValue> {
    let headers = req.headers();
    let head = RequestHead {
        method: req.method().as_str(),
        path: req.uri().path(),
        content_type: None,
        content_length: None,
        websocket_upgrade: is_websocket_upgrade(
            header_str(headers, header::CONNECTION),
            header_str(headers, header::UPGRADE),
        ),
    };
    match decide(&head, &Limits::default()) {
        Decision::WebSocket => headers.get(header::SEC_WEBSOCKET_KEY).cloned(),
        _ => None,
    }
}

/// [`reject`] with `Connection: close`: for 408 and for a server at its connection limit
/// ([`Rejection::TOO_MANY_CONNECTIONS`]).
pub fn reject_and_close(r: Rejection) -> Response<Full<Bytes>> {
    let mut response = reject(r);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Every header, names in lower case, values lossily as text.
pub fn headers_of(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn header_str(map: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    map.get(name).and_then(|v| v.to_str().ok())
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// The response of a [`Rejection`]: its status, `Allow` for 405, a plain-text body.
pub fn reject(r: Rejection) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(r.status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if let Some(allow) = r.allow {
        builder = builder.header(header::ALLOW, allow);
    }
    builder
        .body(Full::new(Bytes::from_static(r.body.as_bytes())))
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

/// A 200 response with a JSON body.
pub fn json_response(body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, JSON_CONTENT_TYPE)
        .body(Full::new(body))
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

/// The 101 answer accepting a WebSocket upgrade; `accept` is derived from the request's key
/// (tungstenite's `derive_accept_key`).
pub fn switching_protocols(accept: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

/// Why an endpoint URL is not usable.
#[derive(Debug, thiserror::Error)]
#[error("invalid endpoint {url:?}: {reason}")]
pub struct UrlError {
    /// The URL given.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed `http`, `https`, `ws` or `wss` URL.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// True for the secure scheme.
    pub tls: bool,
    /// The host (DNS name or IP literal, without brackets).
    pub host: String,
    /// The port (default 80 / 443).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
    /// The URL as given.
    pub url: String,
}

impl Endpoint {
    /// Parses `url`, whose scheme must be `plain` or `secure` (e.g. "http", "https").
    pub fn parse(url: &str, plain: &str, secure: &str) -> Result<Endpoint, UrlError> {
        let bad = |reason: String| UrlError {
            url: url.to_owned(),
            reason,
        };
        let uri: http::Uri = url.parse().map_err(|e| bad(format!("{e}")))?;
        let tls = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case(plain) => false,
            Some(s) if s.eq_ignore_ascii_case(secure) => true,
            other => {
                return Err(bad(format!(
                    "scheme {other:?} is not {plain:?} or {secure:?}"
                )))
            }
        };
        let host = uri.host().ok_or_else(|| bad("no host".into()))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Endpoint {
            tls,
            host,
            port,
            path,
            url: url.to_owned(),
        })
    }

    /// `host:port` (IPv6 hosts in brackets), for connecting.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The Host header value.
    pub fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.addr()
                .rsplit_once(':')
                .map_or_else(|| self.host.clone(), |(h, _)| h.to_owned())
        } else {
            self.addr()
        }
    }
}

/// Splits `host:port` (IPv6 in brackets) into the host, for TLS server names.
pub fn host_of(addr: &str) -> Option<&str> {
    addr.rsplit_once(':')
        .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'))
}

/// The outcome of one attempt at a POST.
#[derive(Debug)]
pub enum Attempt {
    /// Not executed (the connection could not be opened, or the request was not written):
    /// safe to retry.
    Retry(String),
    /// May have been executed, or was answered with an error: give up.
    Fail(String),
}

/// Settings of the HTTP client transport.
#[derive(Clone, Debug)]
pub struct HttpClientConfig {
    /// The largest response body accepted (default 10 MiB).
    pub max_response: usize,
    /// How many times a failure before execution is retried (default 3).
    pub retries: u32,
    /// The first retry delay; each next one doubles (default 100 ms).
    pub backoff: Duration,
    /// How many idle keep-alive connections are kept (default 8).
    pub max_idle: usize,
    /// Extra headers sent with every POST (e.g. Authorization).
    pub headers: Vec<(String, String)>,
    /// TLS settings for `https` URLs (trusted roots). Required for `https`.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::adapter::tls::TlsClientConfig>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            max_response: crate::protocol::http::DEFAULT_MAX_BODY,
            retries: 3,
            backoff: Duration::from_millis(100),
            max_idle: 8,
            headers: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// The POST of one frame to `endpoint`, with the JSON content type and `headers`.
pub fn post_request(
    endpoint: &Endpoint,
    headers: &[(String, String)],
    frame: Bytes,
) -> Result<Request<Full<Bytes>>, Attempt> {
    let mut builder = Request::post(endpoint.path.as_str())
        .header(header::HOST, endpoint.authority())
        .header(header::CONTENT_TYPE, JSON_CONTENT_TYPE)
        .header(header::ACCEPT, JSON_CONTENT_TYPE);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(frame))
        .map_err(|e| Attempt::Fail(format!("cannot build the request: {e}")))
}

/// Reads the answer to a POST: `Some(body)` for 200 with a body, `None` for 204 or an empty
/// 200, [`Attempt::Fail`] for any other status or a body over `max` bytes.
pub async fn read_response<B>(response: Response<B>, max: usize) -> Result<Option<Bytes>, Attempt>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let status = response.status();
    let body = Limited::new(response.into_body(), max)
        .collect()
        .await
        .map_err(|e| Attempt::Fail(format!("reading the response body: {e}")))?
        .to_bytes();
    match status.as_u16() {
        200 if body.iter().all(u8::is_ascii_whitespace) => Ok(None),
        200 => Ok(Some(body)),
        204 => Ok(None),
        code => {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            Err(Attempt::Fail(format!(
                "server answered {code}: {}",
                text.trim()
            )))
        }
    }
}

/// One POST attempt, provided by the adapter (its HTTP library, sockets and keep-alive pool).
pub trait HttpPoster: Send + Sync + 'static {
    /// POSTs `frame` once.
    fn post(&self, frame: Bytes) -> BoxFuture<'_, Result<Option<Bytes>, Attempt>>;
    /// Drops idle connections (the transport is closing).
    fn close(&self) {}
}

struct PostInner {
    poster: Arc<dyn HttpPoster>,
    sleep: Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>,
    retries: u32,
    backoff: Duration,
    url: String,
}

impl PostInner {
    async fn post(&self, frame: Bytes) -> Result<Option<Bytes>, String> {
        let mut delay = self.backoff;
        let mut attempt = 0u32;
        loop {
            match self.poster.post(frame.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(Attempt::Fail(reason)) => return Err(reason),
                Err(Attempt::Retry(reason)) => {
                    if attempt >= self.retries {
                        return Err(reason);
                    }
                    attempt += 1;
                    tracing::debug!(%reason, attempt, "retrying HTTP POST after {delay:?}");
                    (self.sleep)(delay).await;
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }
}

/// A JSON-RPC transport over HTTP POSTs: each frame is one POST; the response body, if any, is
/// the next frame received. A POST that fails answers its calls at once with -32000 (see
/// [`failure_responses`]).
///
/// The POSTs under way are polled by the receiving half ([`HttpStream`]), that is by the
/// connection's own task: no task is spawned per POST and an answer reaches the connection
/// without a hop through a channel.
pub struct HttpPostTransport {
    inner: Arc<PostInner>,
    info: TransportInfo,
}

impl HttpPostTransport {
    /// A transport for `endpoint` posting through `poster`, retrying per `config`.
    pub fn new<R: Runtime>(
        endpoint: &Endpoint,
        poster: Arc<dyn HttpPoster>,
        runtime: R,
        config: &HttpClientConfig,
    ) -> Self {
        let mut info = TransportInfo::new(TransportKind::Http);
        info.tls = endpoint.tls;
        info.path = Some(endpoint.path.clone());
        HttpPostTransport {
            inner: Arc::new(PostInner {
                poster,
                sleep: Arc::new(move |d| runtime.sleep_until(runtime.now() + d)),
                retries: config.retries,
                backoff: config.backoff,
                url: endpoint.url.clone(),
            }),
            info,
        }
    }
}

impl Transport for HttpPostTransport {
    type Sink = HttpSink;
    type Stream = HttpStream;

    fn info(&self) -> TransportInfo {
        self.info.clone()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        let posts = Arc::new(std::sync::Mutex::new(Posts {
            running: FuturesUnordered::new(),
            waker: None,
            closed: false,
        }));
        (
            HttpSink {
                inner: self.inner,
                posts: Arc::clone(&posts),
            },
            HttpStream { posts },
        )
    }
}

/// The POSTs under way, shared by the two halves of an [`HttpPostTransport`].
struct Posts {
    running: FuturesUnordered<BoxFuture<'static, Option<Bytes>>>,
    /// The receiving half's task, woken when a POST is added or the sink closes.
    waker: Option<std::task::Waker>,
    /// The sink closed: the stream ends once the POSTs under way have answered.
    closed: bool,
}

fn lock_posts(posts: &std::sync::Mutex<Posts>) -> std::sync::MutexGuard<'_, Posts> {
    // a panic while polling a POST cannot leave `Posts` half-updated: keep going
    posts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sending half of an [`HttpPostTransport`]: each frame starts one POST.
pub struct HttpSink {
    inner: Arc<PostInner>,
    posts: Arc<std::sync::Mutex<Posts>>,
}

impl Sink<Bytes> for HttpSink {
    type Error = TransportError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if lock_posts(&self.posts).closed {
            Poll::Ready(Err(TransportError::Closed))
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn start_send(self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        let inner = Arc::clone(&self.inner);
        let post: BoxFuture<'static, Option<Bytes>> = Box::pin(async move {
            match inner.post(frame.clone()).await {
                Ok(answer) => answer,
                Err(reason) => {
                    tracing::debug!(url = %inner.url, %reason, "HTTP POST failed");
                    failure_responses(&frame, &transport_failure(&reason)).map(Bytes::from)
                }
            }
        });
        let waker = {
            let mut posts = lock_posts(&self.posts);
            if posts.closed {
                return Err(TransportError::Closed);
            }
            posts.running.push(post);
            posts.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // No more POSTs; those under way (a notification sent just before closing, say) are
        // driven to the end here, since the connection reads nothing more once it closes:
        // their answers are dropped, the calls that wait for them fail as the connection
        // closes. The connection bounds how long closing may take.
        let waker = {
            let mut posts = lock_posts(&self.posts);
            posts.closed = true;
            while let Poll::Ready(Some(_)) = posts.running.poll_next_unpin(cx) {}
            if !posts.running.is_empty() {
                return Poll::Pending;
            }
            posts.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        self.inner.poster.close();
        Poll::Ready(Ok(()))
    }
}

/// The receiving half of an [`HttpPostTransport`]: drives the POSTs under way and yields
/// their response bodies (or, for a POST that failed, the error answers to its calls).
pub struct HttpStream {
    posts: Arc<std::sync::Mutex<Posts>>,
}

impl futures::Stream for HttpStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut posts = lock_posts(&self.posts);
        loop {
            match posts.running.poll_next_unpin(cx) {
                Poll::Ready(Some(Some(body))) => return Poll::Ready(Some(Ok(body))),
                // a notification-only POST: nothing to read
                Poll::Ready(Some(None)) => continue,
                Poll::Ready(None) if posts.closed => return Poll::Ready(None),
                Poll::Ready(None) | Poll::Pending => {
                    posts.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
    }
}

/// Why a client could not connect (shared by the runtime adapters' `connect_*` functions).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL or address is not usable.
    #[error("invalid endpoint {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TCP connection or TLS handshake failed.
    #[error("cannot connect to {addr}: {source}")]
    Io {
        /// host:port.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS set-up failed.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::adapter::tls::TlsError),
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake with {url} failed: {reason}")]
    Handshake {
        /// The URL.
        url: String,
        /// What the server answered or what broke.
        reason: String,
    },
}

impl ConnectError {
    /// The WebSocket handshake with `url` failed because of `reason`.
    pub fn handshake(url: &str, reason: impl std::fmt::Display) -> Self {
        ConnectError::Handshake {
            url: url.to_owned(),
            reason: reason.to_string(),
        }
    }
}

impl From<UrlError> for ConnectError {
    fn from(e: UrlError) -> Self {
        ConnectError::Url {
            url: e.url,
            reason: e.reason,
        }
    }
}

/// What a WebSocket client needs before its runtime opens the socket and does the handshake:
/// the parsed endpoint, the handshake request (with the extra headers), the size limits and
/// the transport info. Built by [`ws_client_plan`].
#[cfg(feature = "websocket")]
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
#[cfg(feature = "websocket")]
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
        config: crate::adapter::ws::ws_config(max),
        info,
    })
}

/// Opens one connection for the HTTP client: the adapter's TCP (and TLS) connect, as hyper IO.
pub trait HttpConnect: Send + Sync + 'static {
    /// The connection, as hyper reads and writes it.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;
    /// Connects to `endpoint` ([`Attempt::Retry`] when nothing can have been sent).
    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Self::Io, Attempt>>;
}

/// The [`HttpPoster`] over hyper 1 (HTTP/1.1) for any runtime: a pool of idle keep-alive
/// connections; a pooled connection found closed, or a request hyper hands back unsent, is
/// [`Attempt::Retry`]; a failure after sending is [`Attempt::Fail`].
pub struct HyperPoster<C, R> {
    connector: C,
    runtime: R,
    endpoint: Endpoint,
    config: HttpClientConfig,
    idle: std::sync::Mutex<Vec<hyper::client::conn::http1::SendRequest<Full<Bytes>>>>,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

impl<C: HttpConnect, R: Runtime> HyperPoster<C, R> {
    /// A poster to `endpoint` opening connections with `connector`; hyper's connection tasks
    /// run on `runtime`.
    pub fn new(connector: C, runtime: R, endpoint: Endpoint, config: HttpClientConfig) -> Self {
        HyperPoster {
            connector,
            runtime,
            endpoint,
            config,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Sender>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle();
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put_idle(&self, sender: Sender) {
        let mut idle = self.idle();
        if !sender.is_closed() && idle.len() < self.config.max_idle {
            idle.push(sender);
        }
    }

    async fn open(&self) -> Result<Sender, Attempt> {
        let io = self.connector.connect(&self.endpoint).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| {
                Attempt::Retry(format!("HTTP handshake with {}: {e}", self.endpoint.addr()))
            })?;
        self.runtime.spawn(Box::pin(async move {
            if let Err(e) = conn.await {
                tracing::debug!("HTTP client connection ended: {e}");
            }
        }));
        Ok(sender)
    }

    async fn try_post(&self, frame: Bytes) -> Result<Option<Bytes>, Attempt> {
        let mut sender = match self.take_idle() {
            Some(s) => s,
            None => self.open().await?,
        };
        if sender.ready().await.is_err() {
            return Err(Attempt::Retry("pooled connection closed".into()));
        }
        let request = post_request(&self.endpoint, &self.config.headers, frame)?;
        let response = match sender.try_send_request(request).await {
            Ok(r) => r,
            Err(mut e) => {
                return Err(if e.take_message().is_some() {
                    Attempt::Retry(format!("request not sent: {}", e.error()))
                } else {
                    Attempt::Fail(format!(
                        "connection failed during the request: {}",
                        e.error()
                    ))
                });
            }
        };
        let answer = read_response(response, self.config.max_response).await?;
        self.put_idle(sender);
        Ok(answer)
    }
}

impl<C: HttpConnect, R: Runtime> HttpPoster for HyperPoster<C, R> {
    fn post(&self, frame: Bytes) -> BoxFuture<'_, Result<Option<Bytes>, Attempt>> {
        Box::pin(self.try_post(frame))
    }

    fn close(&self) {
        self.idle().clear();
    }
}

impl HttpPostTransport {
    /// The HTTP client transport of an adapter: POSTs to `url` (`http://` or `https://`)
    /// through [`HyperPoster`] with `connector`, retrying per `config`. `https` needs
    /// `config.tls`.
    pub fn hyper<C: HttpConnect, R: Runtime>(
        url: &str,
        connector: C,
        runtime: R,
        config: HttpClientConfig,
    ) -> Result<Self, ConnectError> {
        let endpoint = Endpoint::parse(url, "http", "https")?;
        #[cfg(feature = "tls")]
        let tls_configured = config.tls.is_some();
        #[cfg(not(feature = "tls"))]
        let tls_configured = false;
        if endpoint.tls && !tls_configured {
            return Err(ConnectError::Url {
                url: url.to_owned(),
                reason: "https needs a TLS client config (trusted CA roots)".into(),
            });
        }
        let poster = HyperPoster::new(connector, runtime.clone(), endpoint.clone(), config.clone());
        Ok(HttpPostTransport::new(
            &endpoint,
            Arc::new(poster),
            runtime,
            &config,
        ))
    }
}
