//! The server side: [`HttpService`] answers one HTTP request (POST `/`, `GET /health`, a
//! WebSocket upgrade on `/ws`) for any body type.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use bytes::{Buf, BufMut, BytesMut};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;

use crate::peer::{HeaderSource, Headers, Server, TransportInfo, TransportKind};
use crate::protocol::http::{
    check_message, check_websocket_handshake, decide, health_body, is_websocket_upgrade, Decision,
    Limits, Rejection, RequestHead,
};

use super::layers::{ConnService, HttpLayers, HttpRequest};
use super::response::{
    empty, header_str, json_response, reject, reject_and_close, reject_websocket, target_form,
    version_of,
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

    /// The HTTP limits applied to requests.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The time a client has to send a complete request body (`None`: no limit).
    pub fn body_read_timeout(&self) -> Option<Duration> {
        self.body_read_timeout
    }

    /// True when tower layers are configured: every request must then go through hyper and
    /// [`HttpService::connection`] (the HTTP/1.1 codec of [`serve_http1`](super::serve_http1)
    /// does not run them). Metrics alone do not count: calls are counted by the router's
    /// middleware on every path, the codec counts its connections in the gauge, and
    /// `GET /metrics` is handed to hyper like every other path than `/`.
    pub fn has_layers(&self) -> bool {
        !self.layers.is_empty()
    }

    pub(crate) fn connection_gauge(&self) -> Option<super::layers::ConnGauge> {
        self.layers.gauge()
    }

    /// Handles one request: rejections, health, RPC posts; a WebSocket upgrade is handed back.
    pub async fn handle<B>(&self, req: Request<B>, conn: &ConnInfo) -> HttpOutcome<B>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let headers = req.headers();
        let scan = HeadScan::of(headers);
        // Every Transfer-Encoding line, only looked up when there is one (rare).
        let transfer_encoding: Vec<&[u8]> = if scan.transfer_encoding {
            headers
                .get_all(header::TRANSFER_ENCODING)
                .iter()
                .map(HeaderValue::as_bytes)
                .collect()
        } else {
            Vec::new()
        };
        let head = RequestHead {
            method: req.method().as_str(),
            path: req.uri().path(),
            content_type: scan.content_type,
            content_length: scan.content_length.and_then(|v| v.parse().ok()),
            websocket_upgrade: is_websocket_upgrade(scan.connection, scan.upgrade),
            version: version_of(req.version()),
            target: target_form(req.uri()),
            hosts: &scan.hosts[..scan.host_count],
            transfer_encoding: &transfer_encoding,
            has_content_length: scan.has_content_length,
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
                // The header map is moved into the handlers' view, not copied.
                let (parts, body) = req.into_parts();
                let mut info = conn.transport_info(TransportKind::Http);
                info.path = Some(parts.uri.path().to_owned());
                info.headers = Headers::from_source(RequestHeaders(parts.headers));
                let collect = read_body(body, self.limits.max_body);
                let collected = match self.body_read_timeout {
                    None => collect.await,
                    Some(t) => match within(collect, &self.server, t).await {
                        Some(r) => r,
                        None => {
                            tracing::debug!(peer = ?conn.peer, "request body too slow: 408");
                            return respond(reject_and_close(Rejection::BODY_TIMEOUT));
                        }
                    },
                };
                let body = match collected {
                    Ok(b) => b,
                    Err(BodyError::TooLarge) => {
                        return respond(reject(Rejection::PAYLOAD_TOO_LARGE));
                    }
                    Err(BodyError::Failed(e)) => {
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
                let checked = check_websocket_handshake(
                    header_str(req.headers(), header::SEC_WEBSOCKET_VERSION),
                    key.as_ref().map(HeaderValue::as_bytes),
                );
                let key = match (checked, key) {
                    (Ok(()), Some(key)) => key,
                    (Err(r), _) => return respond(reject_websocket(r)),
                    (Ok(()), None) => return respond(reject(Rejection::BAD_WS_HANDSHAKE)),
                };
                let mut info = conn.transport_info(TransportKind::WebSocket);
                // Kept as long as the connection lives: packed, not a pair of strings each.
                info.headers = Headers::packed(
                    req.headers()
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_bytes())),
                );
                info.path = Some(req.uri().path().to_owned());
                HttpOutcome::WebSocket {
                    request: Box::new(req),
                    info,
                    key,
                }
            }
        }
    }
}

/// `fut`'s output, or `None` when `timeout` passes first. The timer is only created when `fut`
/// is not ready on its first poll: a body that came with its head (most do) costs no timer.
/// The deadline counts from that first poll, which follows the call at once.
async fn within<F: std::future::Future>(
    fut: F,
    server: &Server,
    timeout: Duration,
) -> Option<F::Output> {
    futures::pin_mut!(fut);
    let mut sleep = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        let sleep = sleep.get_or_insert_with(|| server.sleep(timeout));
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// What the decision reads of a request's headers, found in one pass over them (a lookup by
/// name hashes the name: six of them cost more than the pass).
struct HeadScan<'a> {
    /// The first two `Host` lines (a second one is enough to reject the request).
    hosts: [&'a [u8]; 2],
    host_count: usize,
    transfer_encoding: bool,
    content_type: Option<&'a str>,
    content_length: Option<&'a str>,
    has_content_length: bool,
    connection: Option<&'a str>,
    upgrade: Option<&'a str>,
}

impl<'a> HeadScan<'a> {
    fn of(headers: &'a HeaderMap) -> Self {
        let mut scan = HeadScan {
            hosts: [b"", b""],
            host_count: 0,
            transfer_encoding: false,
            content_type: None,
            content_length: None,
            has_content_length: false,
            connection: None,
            upgrade: None,
        };
        // The first line of a header, as `HeaderMap::get` gives it.
        fn first<'a>(slot: &mut Option<&'a str>, seen: &mut bool, value: &'a HeaderValue) {
            if !*seen {
                *seen = true;
                *slot = value.to_str().ok();
            }
        }
        let (mut ct, mut conn, mut up) = (false, false, false);
        for (name, value) in headers {
            if *name == header::HOST {
                if scan.host_count < 2 {
                    scan.hosts[scan.host_count] = value.as_bytes();
                    scan.host_count += 1;
                }
            } else if *name == header::CONTENT_LENGTH {
                let mut seen = scan.has_content_length;
                first(&mut scan.content_length, &mut seen, value);
                scan.has_content_length = true;
            } else if *name == header::CONTENT_TYPE {
                first(&mut scan.content_type, &mut ct, value);
            } else if *name == header::TRANSFER_ENCODING {
                scan.transfer_encoding = true;
            } else if *name == header::CONNECTION {
                first(&mut scan.connection, &mut conn, value);
            } else if *name == header::UPGRADE {
                first(&mut scan.upgrade, &mut up, value);
            }
        }
        scan
    }
}

/// A request's header map, moved into its [`TransportInfo`]: read in place.
struct RequestHeaders(HeaderMap);

impl HeaderSource for RequestHeaders {
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(HeaderValue::as_bytes)
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (name, value) in &self.0 {
            f(name.as_str(), value.as_bytes());
        }
    }
}

/// Why a request body could not be read.
enum BodyError {
    /// Over the limit: 413.
    TooLarge,
    /// The connection failed or the framing was wrong.
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

/// The whole body, at most `max` bytes. A body that comes in one piece (most) is handed on as
/// it is, without a copy or a list of pieces; more pieces are appended into one buffer.
async fn read_body<B>(body: B, max: usize) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    futures::pin_mut!(body);
    let mut first: Option<Bytes> = None;
    let mut more: Option<BytesMut> = None;
    let mut len = 0usize;
    while !body.is_end_stream() {
        let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await else {
            break;
        };
        let frame = frame.map_err(|e| BodyError::Failed(e.into()))?;
        // Trailers carry nothing JSON-RPC reads.
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        let n = data.remaining();
        len = len.saturating_add(n);
        if len > max {
            return Err(BodyError::TooLarge);
        }
        if n == 0 {
            continue;
        }
        match (&mut first, &mut more) {
            (None, _) => first = Some(data.copy_to_bytes(n)),
            (Some(f), None) => {
                let mut buf = BytesMut::with_capacity(len);
                buf.extend_from_slice(f);
                buf.put(data);
                more = Some(buf);
            }
            (Some(_), Some(buf)) => buf.put(data),
        }
    }
    Ok(match (first, more) {
        (_, Some(buf)) => buf.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Frame;
    use http_body_util::StreamBody;

    type Item = Result<Frame<Bytes>, std::io::Error>;

    fn body(frames: Vec<Item>) -> StreamBody<futures::stream::Iter<std::vec::IntoIter<Item>>> {
        StreamBody::new(futures::stream::iter(frames))
    }

    fn data(s: &'static str) -> Item {
        Ok(Frame::data(Bytes::from_static(s.as_bytes())))
    }

    fn read(frames: Vec<Item>, max: usize) -> Result<Bytes, BodyError> {
        futures::executor::block_on(read_body(body(frames), max))
    }

    #[test]
    fn a_body_in_one_piece_is_handed_on_without_a_copy() {
        let piece = Bytes::from_static(b"{\"jsonrpc\":\"2.0\"}");
        let frames = vec![Ok(Frame::data(piece.clone()))];
        let got = read(frames, 100).ok().unwrap();
        assert_eq!(got, piece);
        assert_eq!(got.as_ptr(), piece.as_ptr(), "the same bytes, not a copy");
    }

    #[test]
    fn pieces_are_joined_empty_ones_and_trailers_skipped() {
        let trailers = Ok(Frame::trailers(http::HeaderMap::new()));
        let frames = vec![data("ab"), data(""), data("cd"), trailers, data("e")];
        assert_eq!(&read(frames, 5).ok().unwrap()[..], b"abcde");
        assert!(read(Vec::new(), 5).ok().unwrap().is_empty());
    }

    #[test]
    fn the_limit_counts_every_piece_and_errors_are_passed_on() {
        assert!(matches!(
            read(vec![data("abc"), data("def")], 5),
            Err(BodyError::TooLarge)
        ));
        assert!(matches!(
            read(vec![data("abcdef")], 5),
            Err(BodyError::TooLarge)
        ));
        let failed = vec![data("ab"), Err(std::io::Error::other("reset"))];
        match read(failed, 5) {
            Err(BodyError::Failed(e)) => assert_eq!(e.to_string(), "reset"),
            _ => panic!("the body's error is passed on"),
        }
    }
}
