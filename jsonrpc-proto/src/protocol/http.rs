//! HTTP semantics as pure decisions: which route a request takes, which status a rejection gets,
//! whether a content type is JSON, the health body, and the responses an HTTP client reports when
//! a POST fails. No HTTP library types: plain `&str`, `u16` and bytes in and out, so every runtime
//! adapter (hyper on tokio, async-io) makes the same decisions.
//!
//! ```
//! use jsonrpc_proto::http::{decide, Decision, Limits, RequestHead};
//!
//! let head = RequestHead {
//!     content_type: Some("application/json; charset=utf-8"),
//!     content_length: Some(42),
//!     has_content_length: true,
//!     ..RequestHead::new("POST", "/")
//! };
//! assert_eq!(decide(&head, &Limits::default()), Decision::Rpc);
//!
//! let head = RequestHead { method: "GET", ..head };
//! match decide(&head, &Limits::default()) {
//!     Decision::Reject(r) => {
//!         assert_eq!(r.status, 405);
//!         assert_eq!(r.allow, Some("POST"));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

use crate::protocol::error::{ErrorCode, ErrorObject};
use crate::protocol::id::Id;
use crate::protocol::message::{parse, write_response, Incoming, Message};

/// The default limit on an HTTP request body: 10 MiB.
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;

/// The path JSON-RPC calls are POSTed to.
pub const RPC_PATH: &str = "/";
/// The path WebSocket clients upgrade at.
pub const WS_PATH: &str = "/ws";
/// The path of the health check.
pub const HEALTH_PATH: &str = "/health";

/// The content type of JSON-RPC bodies and of the health body.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Status: the call was answered (also for JSON-RPC error responses).
pub const STATUS_OK: u16 = 200;
/// Status: the POST held only notifications; there is no body.
pub const STATUS_NO_CONTENT: u16 = 204;
/// Status: the WebSocket upgrade is accepted.
pub const STATUS_SWITCHING_PROTOCOLS: u16 = 101;

/// Limits applied to incoming HTTP requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest request body accepted, in bytes (default [`DEFAULT_MAX_BODY`]).
    pub max_body: usize,
}

crate::protocol::config_setters!(Limits {
    with_max_body => max_body: usize,
});

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// What the decision needs to know about an incoming request (before its body is read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// The request method, e.g. `"POST"`.
    pub method: &'a str,
    /// The request path without the query string, e.g. `"/"`.
    pub path: &'a str,
    /// The `Content-Type` header, if present.
    pub content_type: Option<&'a str>,
    /// The `Content-Length` header, if present and numeric.
    pub content_length: Option<u64>,
    /// True when the request asks for a WebSocket upgrade (`Upgrade: websocket`).
    pub websocket_upgrade: bool,
    /// The HTTP version as (major, minor), e.g. `(1, 1)`.
    pub version: (u8, u8),
    /// The form of the request-target (RFC 9112 §3.2).
    pub target: TargetForm,
    /// The value of every `Host` header line, in order (RFC 9112 §3.2 wants exactly one in
    /// HTTP/1.1, at most one in any version).
    pub hosts: &'a [&'a [u8]],
    /// The value of every `Transfer-Encoding` header line, in order.
    pub transfer_encoding: &'a [&'a [u8]],
    /// True when a `Content-Length` header is present, numeric or not.
    pub has_content_length: bool,
}

impl<'a> RequestHead<'a> {
    /// An HTTP/1.1 request in origin-form with one empty `Host` header and no body headers:
    /// set the fields that matter with struct update syntax.
    pub fn new(method: &'a str, path: &'a str) -> Self {
        RequestHead {
            method,
            path,
            content_type: None,
            content_length: None,
            websocket_upgrade: false,
            version: (1, 1),
            target: TargetForm::Origin,
            hosts: &[b""],
            transfer_encoding: &[],
            has_content_length: false,
        }
    }
}

/// The four forms of a request-target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`: the usual form.
    Origin,
    /// `http://host/path`: accepted like origin-form (the `Host` header's value is ignored).
    Absolute,
    /// `host:port`: only for CONNECT.
    Authority,
    /// `*`: only for OPTIONS.
    Asterisk,
}

/// A rejection: the status, the `Allow` header for 405, and a short plain-text body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status code.
    pub status: u16,
    /// The value of the `Allow` header (set for 405 only).
    pub allow: Option<&'static str>,
    /// A one-line explanation sent as `text/plain`.
    pub body: &'static str,
    /// Send `Connection: close` and close the connection after the answer (the request's
    /// framing cannot be trusted, or the server wants the connection back).
    pub close: bool,
}

impl Rejection {
    /// 404 for a path the server does not serve.
    pub const NOT_FOUND: Rejection = Rejection {
        status: 404,
        allow: None,
        body: "Not found: POST JSON-RPC to /, upgrade WebSocket at /ws, GET /health",
        close: false,
    };
    /// 413 for a body over the limit.
    pub const PAYLOAD_TOO_LARGE: Rejection = Rejection {
        status: 413,
        allow: None,
        body: "Payload too large: the request body exceeds the server's limit",
        close: false,
    };
    /// 415 for a POST whose content type is not JSON.
    pub const UNSUPPORTED_MEDIA_TYPE: Rejection = Rejection {
        status: 415,
        allow: None,
        body: "Unsupported media type: send Content-Type: application/json",
        close: false,
    };
    /// 400 for a request at /ws that is not a valid WebSocket upgrade.
    pub const BAD_UPGRADE: Rejection = Rejection {
        status: 400,
        allow: None,
        body: "Bad request: /ws expects a WebSocket upgrade (GET with Upgrade: websocket)",
        close: false,
    };
    /// 426 for a WebSocket upgrade asking for a version other than 13: RFC 6455 §4.4 asks
    /// for the versions the server speaks in `Sec-WebSocket-Version` ([`WEBSOCKET_VERSION`]),
    /// which the adapters add.
    pub const WS_VERSION: Rejection = Rejection {
        status: 426,
        allow: None,
        body: "Upgrade required: this server speaks WebSocket version 13 (RFC 6455 section 4.4)",
        close: false,
    };
    /// 400 for a WebSocket upgrade without a valid `Sec-WebSocket-Key` or without
    /// `Sec-WebSocket-Version` (RFC 6455 §4.1, §4.2.1).
    pub const BAD_WS_HANDSHAKE: Rejection = Rejection {
        status: 400,
        allow: None,
        body: "Bad request: send Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key of 16 bytes in base64 (RFC 6455 section 4.1)",
        close: false,
    };
    /// 501 for a request method the server does not recognize (RFC 9110 §9.1).
    pub const UNKNOWN_METHOD: Rejection = Rejection {
        status: 501,
        allow: None,
        body: "Not implemented: unknown request method (methods are case-sensitive: POST JSON-RPC to /)",
        close: false,
    };
    /// 503 for a connection over the server's connection limit (send `Connection: close`).
    pub const TOO_MANY_CONNECTIONS: Rejection = Rejection {
        status: 503,
        allow: None,
        body: "Service unavailable: too many connections; retry later",
        close: true,
    };
    /// 408 for a request body that did not arrive within the body read timeout (send
    /// `Connection: close`).
    pub const BODY_TIMEOUT: Rejection = Rejection {
        status: 408,
        allow: None,
        body: "Request timeout: the request body did not arrive in time",
        close: true,
    };
    /// 400 for an HTTP/1.1 request without a `Host` header, any request with more than one,
    /// or one whose value is not a valid `host[:port]` (RFC 9112 §3.2).
    pub const BAD_HOST: Rejection = Rejection {
        status: 400,
        allow: None,
        body: "Bad request: send exactly one valid Host header (RFC 9112 section 3.2)",
        close: true,
    };
    /// 400 for authority-form (`host:port`) other than CONNECT or asterisk-form (`*`) other
    /// than OPTIONS (RFC 9112 §3.2.3, §3.2.4).
    pub const BAD_TARGET: Rejection = Rejection {
        status: 400,
        allow: None,
        body: "Bad request: the request-target must be a path such as / (RFC 9112 section 3.2)",
        close: true,
    };
    /// 400 for a request with both `Content-Length` and `Transfer-Encoding` (a smuggling
    /// attempt; RFC 9112 §6.1 lets a server refuse it, and it must close the connection).
    pub const LENGTH_AND_CHUNKED: Rejection = Rejection {
        status: 400,
        allow: None,
        body:
            "Bad request: send Content-Length or Transfer-Encoding, not both (RFC 9112 section 6.1)",
        close: true,
    };
    /// 400 for a `Transfer-Encoding` whose final coding is not `chunked`, or with `chunked`
    /// twice: the body's length cannot be known (RFC 9112 §6.3).
    pub const NOT_CHUNKED_LAST: Rejection = Rejection {
        status: 400,
        allow: None,
        body: "Bad request: the final transfer coding must be chunked, once (RFC 9112 section 6.3)",
        close: true,
    };
    /// 501 for a transfer coding other than `chunked` (RFC 9112 §6.1).
    pub const UNKNOWN_TRANSFER_CODING: Rejection = Rejection {
        status: 501,
        allow: None,
        body: "Not implemented: the only transfer coding understood is chunked",
        close: true,
    };
    /// 503 while the server shuts down.
    pub const SHUTTING_DOWN: Rejection = Rejection {
        status: 503,
        allow: None,
        body: "Service unavailable: the server is shutting down",
        close: false,
    };

    fn method_not_allowed(allow: &'static str) -> Rejection {
        Rejection {
            status: 405,
            allow: Some(allow),
            body: "Method not allowed: see the Allow header",
            close: false,
        }
    }
}

/// Where an incoming HTTP request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Read the body (within [`Limits::max_body`]) and hand it to the JSON-RPC server.
    Rpc,
    /// Upgrade to a WebSocket connection.
    WebSocket,
    /// Answer with [`health_body`].
    Health,
    /// Answer with this status and body.
    Reject(Rejection),
}

/// Decides what to do with a request from its head alone.
///
/// First the message rules every HTTP/1.1 server MUST apply (RFC 9112): exactly one valid
/// `Host` ([`Rejection::BAD_HOST`]), a request-target form that fits the method
/// ([`Rejection::BAD_TARGET`]), no `Content-Length` beside `Transfer-Encoding`
/// ([`Rejection::LENGTH_AND_CHUNKED`]), `chunked` as the final and only understood transfer
/// coding ([`Rejection::NOT_CHUNKED_LAST`], [`Rejection::UNKNOWN_TRANSFER_CODING`]); then the
/// route.
pub fn decide(head: &RequestHead<'_>, limits: &Limits) -> Decision {
    if let Err(r) = check_message(head) {
        return Decision::Reject(r);
    }
    route(head, limits)
}

/// The RFC 9112 message rules of [`decide`], without the routing.
pub fn check_message(head: &RequestHead<'_>) -> Result<(), Rejection> {
    // RFC 9112 §3.2: 400 for an HTTP/1.1 request lacking Host, and for any request with more
    // than one Host line or an invalid value. With absolute-form the value is ignored
    // (§3.2.2), not the count.
    // HTTP/2 and 3 carry the authority in a pseudo-header instead.
    if head.version.0 <= 1 {
        let too_few = head.version >= (1, 1) && head.hosts.is_empty();
        if too_few || head.hosts.len() > 1 {
            return Err(Rejection::BAD_HOST);
        }
        if head.target != TargetForm::Absolute && !head.hosts.iter().all(|h| is_valid_host(h)) {
            return Err(Rejection::BAD_HOST);
        }
    }
    match head.target {
        TargetForm::Authority if head.method != "CONNECT" => return Err(Rejection::BAD_TARGET),
        TargetForm::Asterisk if head.method != "OPTIONS" => return Err(Rejection::BAD_TARGET),
        _ => {}
    }
    if head.transfer_encoding.is_empty() {
        return Ok(());
    }
    if head.has_content_length {
        return Err(Rejection::LENGTH_AND_CHUNKED);
    }
    let codings: Vec<&[u8]> = head
        .transfer_encoding
        .iter()
        .flat_map(|line| line.split(|&b| b == b','))
        .map(|c| {
            // A coding's name, without parameters or surrounding whitespace.
            let name = c.split(|&b| b == b';').next().unwrap_or(c);
            name.trim_ascii()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
    match codings.last() {
        Some(last) if chunked(last) => {}
        _ => return Err(Rejection::NOT_CHUNKED_LAST),
    }
    if codings.iter().filter(|c| chunked(c)).count() > 1 {
        return Err(Rejection::NOT_CHUNKED_LAST);
    }
    if !codings.iter().all(chunked) {
        return Err(Rejection::UNKNOWN_TRANSFER_CODING);
    }
    Ok(())
}

/// True for a `Host` value of the form `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2);
/// the empty value is valid (a target without authority).
pub fn is_valid_host(value: &[u8]) -> bool {
    plain_host(value).unwrap_or_else(|| full_host_check(value))
}

/// The usual `Host` in one pass: a reg-name or IPv4 address of plain bytes, then an optional
/// `:` and digits. `None` for anything else (brackets, percent-encoding, surrounding
/// whitespace, a port that is not digits), which [`full_host_check`] decides: the same answer
/// either way, for two thirds of the instructions of the full rules (165 against 245 per
/// request for `127.0.0.1:PORT` under wrk, callgrind).
fn plain_host(value: &[u8]) -> Option<bool> {
    for (i, &b) in value.iter().enumerate() {
        if b == b':' {
            return value[i + 1..]
                .iter()
                .all(u8::is_ascii_digit)
                .then_some(true);
        }
        if !HOST_CHAR[usize::from(b)] {
            return None;
        }
    }
    Some(true)
}

/// [`is_valid_host`] by the full rules.
fn full_host_check(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    let (host, port) = if let Some(rest) = value.strip_prefix(b"[") {
        // IP-literal: `[` IPv6address / IPvFuture `]`.
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..end];
        let literal_ok = !literal.is_empty()
            && literal
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b":._~!$&'()*+,;=-".contains(&b));
        if !literal_ok {
            return false;
        }
        match &rest[end + 1..] {
            [] => (&[][..], None),
            [b':', port @ ..] => (&[][..], Some(port)),
            _ => return false,
        }
    } else {
        match value.iter().position(|&b| b == b':') {
            Some(i) => (&value[..i], Some(&value[i + 1..])),
            None => (value, None),
        }
    };
    if !port.is_none_or(|p| p.iter().all(u8::is_ascii_digit)) {
        return false;
    }
    // reg-name or IPv4address: unreserved, pct-encoded, sub-delims.
    let mut i = 0;
    while i < host.len() {
        let b = host[i];
        if b == b'%' {
            let hex = host.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !HOST_CHAR[usize::from(b)] {
            return false;
        }
        i += 1;
    }
    true
}

/// The bytes of a reg-name or IPv4address besides `%`: unreserved and sub-delims (RFC 3986
/// §3.2.2), one table look-up per byte.
const HOST_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

/// The request methods of RFC 9110 section 9 and RFC 5789 (PATCH): any other token is a
/// method this server does not recognize (methods are case-sensitive: `post` is not `POST`).
fn is_known_method(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "CONNECT" | "OPTIONS" | "TRACE" | "PATCH"
    )
}

fn route(head: &RequestHead<'_>, limits: &Limits) -> Decision {
    // RFC 9110 section 9.1: an unrecognized method SHOULD get 501; a known one this resource
    // does not take gets 405 with Allow (below).
    if !is_known_method(head.method) {
        return Decision::Reject(Rejection::UNKNOWN_METHOD);
    }
    match head.path {
        RPC_PATH | "" => {
            if head.method != "POST" {
                return Decision::Reject(Rejection::method_not_allowed("POST"));
            }
            if !head.content_type.is_some_and(is_json_content_type) {
                return Decision::Reject(Rejection::UNSUPPORTED_MEDIA_TYPE);
            }
            if head
                .content_length
                .is_some_and(|len| len > limits.max_body as u64)
            {
                return Decision::Reject(Rejection::PAYLOAD_TOO_LARGE);
            }
            Decision::Rpc
        }
        WS_PATH => {
            if head.method != "GET" {
                Decision::Reject(Rejection::method_not_allowed("GET"))
            } else if head.websocket_upgrade {
                Decision::WebSocket
            } else {
                Decision::Reject(Rejection::BAD_UPGRADE)
            }
        }
        HEALTH_PATH => {
            if head.method == "GET" || head.method == "HEAD" {
                Decision::Health
            } else {
                Decision::Reject(Rejection::method_not_allowed("GET, HEAD"))
            }
        }
        _ => Decision::Reject(Rejection::NOT_FOUND),
    }
}

/// True for a JSON media type, in any case, with or without parameters such as `charset`:
/// `application/json`, the `application/json-rpc` and `application/jsonrequest` of the
/// JSON-RPC over HTTP draft (which older clients send), and any `application/...+json`
/// (RFC 6839 structured syntax suffix).
pub fn is_json_content_type(value: &str) -> bool {
    // What nearly every client sends (curl, wrk scripts, requests, jsonrpsee), decided without
    // splitting the value (its splits and searches cost ~540 of the server's ~11.9k
    // instructions per request: callgrind, `bench/profile/server-http.sh ours 64 5`).
    if value == "application/json" {
        return true;
    }
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let suffix = subtype
        .len()
        .checked_sub("+json".len())
        .filter(|&at| at > 0);
    kind.eq_ignore_ascii_case("application")
        && (["json", "json-rpc", "jsonrequest"]
            .iter()
            .any(|t| subtype.eq_ignore_ascii_case(t))
            || suffix.is_some_and(|at| {
                subtype
                    .get(at..)
                    .is_some_and(|s| s.eq_ignore_ascii_case("+json"))
            }))
}

/// The WebSocket version servers speak (RFC 6455 §4.4), sent in `Sec-WebSocket-Version` with
/// [`Rejection::WS_VERSION`].
pub const WEBSOCKET_VERSION: &str = "13";

/// What an upgrade's `Sec-WebSocket-Version` and `Sec-WebSocket-Key` (`None`: absent or not
/// text) call for: `Ok(())` to accept, else the rejection. The key must be 16 bytes in base64
/// (RFC 6455 §4.1): 22 characters of the base64 alphabet, then `==`.
pub fn check_websocket_handshake(
    version: Option<&str>,
    key: Option<&[u8]>,
) -> Result<(), Rejection> {
    match version.map(str::trim) {
        Some(WEBSOCKET_VERSION) => {}
        Some(_) => return Err(Rejection::WS_VERSION),
        None => return Err(Rejection::BAD_WS_HANDSHAKE),
    }
    let valid_key = key.map(<[u8]>::trim_ascii).is_some_and(|k| {
        k.len() == 24
            && k.ends_with(b"==")
            && k[..22]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
    });
    if valid_key {
        Ok(())
    } else {
        Err(Rejection::BAD_WS_HANDSHAKE)
    }
}

/// True when a `Connection`/`Upgrade` header pair asks for a WebSocket upgrade.
pub fn is_websocket_upgrade(connection: Option<&str>, upgrade: Option<&str>) -> bool {
    let conn_ok = connection.is_some_and(|c| {
        c.split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    });
    let upgrade_ok = upgrade.is_some_and(|u| {
        u.split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
    });
    conn_ok && upgrade_ok
}

/// The status of the answer to an RPC POST: 200 with a body, 204 when there is none.
pub fn rpc_status(body: Option<&[u8]>) -> u16 {
    match body {
        Some(_) => STATUS_OK,
        None => STATUS_NO_CONTENT,
    }
}

/// The health check body:
/// `{"status":"ok","node":NAME,"websocket_clients":N,"pending_requests":N}`.
pub fn health_body(node: &str, websocket_clients: usize, pending_requests: usize) -> String {
    let node = serde_json::to_string(node).unwrap_or_else(|_| "\"\"".to_owned());
    format!(
        "{{\"status\":\"ok\",\"node\":{node},\"websocket_clients\":{websocket_clients},\"pending_requests\":{pending_requests}}}"
    )
}

/// The error an HTTP client reports for the calls of a POST that failed: code -32000 with the
/// reason as message.
pub fn transport_failure(reason: &str) -> ErrorObject {
    ErrorObject::new(ErrorCode::SERVER_ERROR, format!("HTTP transport: {reason}"))
}

/// For a request frame (one call or a batch) whose POST failed, the response frame an HTTP client
/// transport hands to its connection so that each waiting call fails at once with `error`.
/// `None` when the frame holds no request with an id (only notifications, or unparsable).
pub fn failure_responses(frame: &[u8], error: &ErrorObject) -> Option<Vec<u8>> {
    let (ids, batch) = request_ids(frame)?;
    Some(error_responses(&ids, batch, error))
}

/// For a request frame whose POST was answered (`answer`: the response body, `None` for 204 or
/// an empty 200), the response frame an HTTP client transport hands to its connection after
/// the answer so that the calls the answer leaves unanswered fail at once instead of at their
/// deadline: over HTTP the answer to a POST is all its calls will get. Such a call fails with
/// the server's own error when the answer holds one with id null (it could not read the
/// request), else with -32000 saying that the answer held no response for it. `None` when
/// every call was answered (or the frame holds none).
pub fn unanswered_responses(frame: &[u8], answer: Option<&[u8]>) -> Option<Vec<u8>> {
    let (mut ids, batch) = request_ids(frame)?;
    let mut null_error = None;
    let answers = match answer.map(parse) {
        Some(Ok(Incoming::Single(entry))) => vec![entry],
        Some(Ok(Incoming::Batch(entries))) => entries,
        Some(Err(_)) | None => Vec::new(),
    };
    for entry in answers {
        if let Ok(Message::Response(r)) = entry {
            match (&r.id, r.result) {
                (Id::Null, Err(e)) => {
                    null_error.get_or_insert(e);
                }
                (id, _) => ids.retain(|sent| sent != id),
            }
        }
    }
    if ids.is_empty() {
        return None;
    }
    let error = null_error.unwrap_or_else(|| {
        transport_failure(match answer {
            Some(_) => "the server's answer holds no response to this call",
            None => "the server answered the POST without a body",
        })
    });
    Some(error_responses(&ids, batch || ids.len() > 1, &error))
}

/// The ids of the requests in a frame, and whether it is a batch; `None` when it holds no
/// request with an id (only notifications, or unparsable).
fn request_ids(frame: &[u8]) -> Option<(Vec<Id>, bool)> {
    let (ids, batch): (Vec<Id>, bool) = match parse(frame).ok()? {
        Incoming::Single(entry) => (request_id(entry).into_iter().collect(), false),
        Incoming::Batch(entries) => (entries.into_iter().filter_map(request_id).collect(), true),
    };
    (!ids.is_empty()).then_some((ids, batch))
}

/// One error response with `error` per id, as an array when `array` (else the only one).
fn error_responses(ids: &[Id], array: bool, error: &ErrorObject) -> Vec<u8> {
    let mut out = Vec::new();
    if array {
        out.push(b'[');
    }
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_response(&mut out, id, Err(error));
    }
    if array {
        out.push(b']');
    }
    out
}

fn request_id(entry: crate::protocol::message::Entry<'_>) -> Option<Id> {
    match entry {
        Ok(Message::Request(req)) => Some(req.id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass check of the usual `Host` answers as the full rules do, on values
        /// made of the bytes that matter to either.
        #[test]
        fn plain_host_agrees_with_the_full_rules(
            value in proptest::collection::vec(
                proptest::sample::select(b"az09.-_~!:%[]@ \t/5fF".to_vec()),
                0..24,
            )
        ) {
            proptest::prop_assert_eq!(is_valid_host(&value), full_host_check(&value));
            if let Some(ok) = plain_host(&value) {
                proptest::prop_assert_eq!(ok, full_host_check(&value));
            }
        }
    }

    #[test]
    fn calls_an_answer_leaves_unanswered_fail_with_a_reason() {
        let call = br#"{"jsonrpc":"2.0","method":"m","id":1}"#;
        let batch = br#"[{"jsonrpc":"2.0","method":"m","id":1},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","method":"m","id":"b"}]"#;
        let codes = |frame: Option<Vec<u8>>| -> Vec<(String, i64)> {
            let v: serde_json::Value = serde_json::from_slice(&frame.expect("errors")).unwrap();
            let list = match v {
                serde_json::Value::Array(a) => a,
                one => vec![one],
            };
            list.iter()
                .map(|r| (r["id"].to_string(), r["error"]["code"].as_i64().unwrap()))
                .collect()
        };
        // Answered (the same number in another spelling counts): nothing to add.
        assert_eq!(
            unanswered_responses(call, Some(br#"{"jsonrpc":"2.0","result":1,"id":1.0}"#)),
            None
        );
        assert_eq!(
            unanswered_responses(br#"{"jsonrpc":"2.0","method":"n"}"#, None),
            None
        );
        // No body, another id, garbage: -32000 for each call.
        assert_eq!(
            codes(unanswered_responses(call, None)),
            [("1".into(), -32000)]
        );
        let other = br#"{"jsonrpc":"2.0","result":1,"id":"1"}"#;
        assert_eq!(
            codes(unanswered_responses(call, Some(other))),
            [("1".into(), -32000)]
        );
        assert_eq!(
            codes(unanswered_responses(call, Some(b"nope"))),
            [("1".into(), -32000)]
        );
        // The server's own error with id null is passed on.
        let null =
            br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#;
        assert_eq!(
            codes(unanswered_responses(call, Some(null))),
            [("1".into(), -32700)]
        );
        // A batch answered in part: the rest, as an array.
        let part = br#"[{"jsonrpc":"2.0","result":1,"id":1}]"#;
        assert_eq!(
            codes(unanswered_responses(batch, Some(part))),
            [("\"b\"".into(), -32000)]
        );
        assert_eq!(
            codes(unanswered_responses(batch, None)),
            [("1".into(), -32000), ("\"b\"".into(), -32000)]
        );
    }

    #[test]
    fn websocket_handshakes_are_checked_as_rfc_6455_asks() {
        // The key of RFC 6455 section 1.3, and one with surrounding whitespace.
        let key = Some(&b"dGhlIHNhbXBsZSBub25jZQ=="[..]);
        assert_eq!(check_websocket_handshake(Some("13"), key), Ok(()));
        assert_eq!(
            check_websocket_handshake(Some(" 13 "), Some(b" dGhlIHNhbXBsZSBub25jZQ== ")),
            Ok(())
        );
        // Another version: 426 (the adapters add Sec-WebSocket-Version: 13); none: 400.
        for v in ["8", "12", "13, 8", ""] {
            assert_eq!(
                check_websocket_handshake(Some(v), key),
                Err(Rejection::WS_VERSION),
                "{v}"
            );
        }
        assert_eq!(
            check_websocket_handshake(None, key),
            Err(Rejection::BAD_WS_HANDSHAKE)
        );
        // Keys that are not 16 bytes in base64.
        for k in [
            &b"abc"[..],
            b"",
            b"dGhlIHNhbXBsZSBub25jZQ=",
            b"dGhlIHNhbXBsZSBub25jZQ===",
            b"dGhlIHNhbXBsZSBub25jZ===",
            b"dGhlIHNhbXBsZSBub25j*Q==",
            b"dGhlIHNhbXBsZSBub25jZQAA",
        ] {
            assert_eq!(
                check_websocket_handshake(Some("13"), Some(k)),
                Err(Rejection::BAD_WS_HANDSHAKE),
                "{}",
                String::from_utf8_lossy(k)
            );
        }
        assert_eq!(
            check_websocket_handshake(Some("13"), None),
            Err(Rejection::BAD_WS_HANDSHAKE)
        );
    }

    fn head<'a>(method: &'a str, path: &'a str, ct: Option<&'a str>) -> RequestHead<'a> {
        RequestHead {
            content_type: ct,
            ..RequestHead::new(method, path)
        }
    }

    fn status(d: Decision) -> u16 {
        match d {
            Decision::Reject(r) => r.status,
            Decision::Rpc | Decision::Health => 200,
            Decision::WebSocket => 101,
        }
    }

    fn reject(head: &RequestHead<'_>) -> Option<Rejection> {
        match decide(head, &Limits::default()) {
            Decision::Reject(r) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn host_char_table_is_unreserved_and_sub_delims() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b);
            assert_eq!(HOST_CHAR[usize::from(b)], expected, "byte {b}");
        }
    }

    #[test]
    fn host_rules_of_rfc_9112() {
        let json = Some("application/json");
        let post = RequestHead {
            content_type: json,
            hosts: &[b"example.com:8080"],
            ..RequestHead::new("POST", "/")
        };
        assert_eq!(reject(&post), None);
        for ok in [
            &b""[..],
            b"a",
            b"127.0.0.1",
            b"[::1]:80",
            b"x.y-z_~%41:",
            b"[v1.fe]",
        ] {
            let head = RequestHead {
                hosts: &[ok],
                ..post
            };
            assert_eq!(reject(&head), None, "{}", String::from_utf8_lossy(ok));
        }
        // Missing (HTTP/1.1), more than one (any version), invalid: 400 and close.
        let none = RequestHead { hosts: &[], ..post };
        assert_eq!(reject(&none), Some(Rejection::BAD_HOST));
        assert_eq!(reject(&none).map(|r| r.close), Some(true));
        let two = RequestHead {
            hosts: &[b"a", b"a"],
            ..post
        };
        assert_eq!(reject(&two), Some(Rejection::BAD_HOST));
        let old = RequestHead {
            version: (1, 0),
            ..none
        };
        assert_eq!(reject(&old), None, "HTTP/1.0 may omit Host");
        let old_two = RequestHead {
            version: (1, 0),
            ..two
        };
        assert_eq!(reject(&old_two), Some(Rejection::BAD_HOST));
        for bad in [
            &b"a b"[..],
            b"a:b",
            b"a:1:2",
            b"[::1",
            b"[]",
            b"a/b",
            b"%4",
            b"a@b",
            b"\xff",
        ] {
            let head = RequestHead {
                hosts: &[bad],
                ..post
            };
            assert_eq!(
                reject(&head),
                Some(Rejection::BAD_HOST),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // With absolute-form the value is ignored, the count is not.
        let absolute = RequestHead {
            target: TargetForm::Absolute,
            hosts: &[b"not a host"],
            ..post
        };
        assert_eq!(reject(&absolute), None);
        let absolute_none = RequestHead {
            hosts: &[],
            ..absolute
        };
        assert_eq!(reject(&absolute_none), Some(Rejection::BAD_HOST));
    }

    #[test]
    fn target_forms_of_rfc_9112() {
        let post = RequestHead {
            content_type: Some("application/json"),
            ..RequestHead::new("POST", "/")
        };
        let authority = RequestHead {
            target: TargetForm::Authority,
            path: "",
            ..post
        };
        assert_eq!(reject(&authority), Some(Rejection::BAD_TARGET));
        let asterisk = RequestHead {
            target: TargetForm::Asterisk,
            path: "*",
            ..post
        };
        assert_eq!(reject(&asterisk), Some(Rejection::BAD_TARGET));
        // The forms are allowed for their methods (which this server then does not serve).
        let connect = RequestHead {
            method: "CONNECT",
            ..authority
        };
        assert_eq!(reject(&connect).map(|r| r.status), Some(405));
        let options = RequestHead {
            method: "OPTIONS",
            ..asterisk
        };
        assert_eq!(reject(&options).map(|r| r.status), Some(404));
    }

    #[test]
    fn body_framing_rules_of_rfc_9112() {
        let post = RequestHead {
            content_type: Some("application/json"),
            ..RequestHead::new("POST", "/")
        };
        let te = |lines: &'static [&'static [u8]]| RequestHead {
            transfer_encoding: lines,
            ..post
        };
        assert_eq!(reject(&te(&[b"chunked"])), None);
        assert_eq!(reject(&te(&[b"Chunked"])), None);
        let both = RequestHead {
            has_content_length: true,
            content_length: Some(5),
            ..te(&[b"chunked"])
        };
        assert_eq!(reject(&both), Some(Rejection::LENGTH_AND_CHUNKED));
        assert_eq!(reject(&te(&[b"gzip"])), Some(Rejection::NOT_CHUNKED_LAST));
        assert_eq!(
            reject(&te(&[b"chunked, gzip"])),
            Some(Rejection::NOT_CHUNKED_LAST)
        );
        assert_eq!(
            reject(&te(&[b"chunked", b"chunked"])),
            Some(Rejection::NOT_CHUNKED_LAST)
        );
        assert_eq!(reject(&te(&[b""])), Some(Rejection::NOT_CHUNKED_LAST));
        assert_eq!(
            reject(&te(&[b"gzip, chunked"])),
            Some(Rejection::UNKNOWN_TRANSFER_CODING)
        );
        assert_eq!(
            reject(&te(&[b"gzip", b"chunked"])),
            Some(Rejection::UNKNOWN_TRANSFER_CODING)
        );
        for r in [
            Rejection::LENGTH_AND_CHUNKED,
            Rejection::NOT_CHUNKED_LAST,
            Rejection::UNKNOWN_TRANSFER_CODING,
        ] {
            assert!(r.close, "{r:?} closes the connection");
        }
    }

    #[test]
    fn routes_and_statuses() {
        let l = Limits::default();
        let json = Some("application/json");
        assert_eq!(decide(&head("POST", "/", json), &l), Decision::Rpc);
        assert_eq!(
            decide(
                &head("POST", "/", Some("Application/JSON; charset=UTF-8")),
                &l
            ),
            Decision::Rpc
        );
        assert_eq!(
            status(decide(&head("POST", "/", Some("text/plain")), &l)),
            415
        );
        assert_eq!(status(decide(&head("POST", "/", None), &l)), 415);
        assert_eq!(
            status(decide(&head("POST", "/", Some("application/jsonx")), &l)),
            415
        );
        for other_json in [
            "application/json",
            "application/json-rpc",
            "Application/JSONRequest",
            "application/vnd.api+json; charset=utf-8",
        ] {
            assert_eq!(
                decide(&head("POST", "/", Some(other_json)), &l),
                Decision::Rpc
            );
        }
        for not_json in [
            "application/+json",
            "text/json",
            "application",
            "json",
            "text/x+json",
        ] {
            assert_eq!(
                status(decide(&head("POST", "/", Some(not_json)), &l)),
                415,
                "{not_json}"
            );
        }
        assert_eq!(status(decide(&head("PUT", "/", json), &l)), 405);
        for unknown in ["post", "FOO", "Get"] {
            assert_eq!(
                status(decide(&head(unknown, "/", json), &l)),
                501,
                "{unknown}"
            );
            assert_eq!(
                status(decide(&head(unknown, "/health", None), &l)),
                501,
                "{unknown}"
            );
        }
        assert_eq!(status(decide(&head("GET", "/nope", None), &l)), 404);
        assert_eq!(decide(&head("GET", "/health", None), &l), Decision::Health);
        assert_eq!(status(decide(&head("POST", "/health", json), &l)), 405);
        assert_eq!(status(decide(&head("GET", "/ws", None), &l)), 400);
        let mut ws = head("GET", "/ws", None);
        ws.websocket_upgrade = true;
        assert_eq!(decide(&ws, &l), Decision::WebSocket);
        let mut big = head("POST", "/", json);
        big.content_length = Some(11);
        assert_eq!(status(decide(&big, &Limits { max_body: 10 })), 413);
        assert_eq!(decide(&big, &Limits { max_body: 11 }), Decision::Rpc);
    }

    #[test]
    fn upgrade_headers() {
        assert!(is_websocket_upgrade(
            Some("keep-alive, Upgrade"),
            Some("WebSocket")
        ));
        assert!(!is_websocket_upgrade(Some("keep-alive"), Some("websocket")));
        assert!(!is_websocket_upgrade(Some("upgrade"), None));
    }

    #[test]
    fn health() {
        let body = health_body("Calc \"1\"", 3, 2);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"status":"ok","node":"Calc \"1\"","websocket_clients":3,"pending_requests":2})
        );
        assert_eq!(rpc_status(None), 204);
        assert_eq!(rpc_status(Some(b"{}")), 200);
    }

    #[test]
    fn failures_answer_every_request() {
        let err = transport_failure("connection refused");
        let single = failure_responses(br#"{"jsonrpc":"2.0","method":"a","id":7}"#, &err).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&single).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["error"]["code"], -32000);
        let batch = failure_responses(
            br#"[{"jsonrpc":"2.0","method":"a","id":"x"},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","method":"b","id":2}]"#,
            &err,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&batch).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["id"], "x");
        assert!(failure_responses(br#"{"jsonrpc":"2.0","method":"n"}"#, &err).is_none());
        assert!(failure_responses(b"nope", &err).is_none());
    }
}
