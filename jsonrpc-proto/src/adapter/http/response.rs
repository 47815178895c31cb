//! Response builders shared by both adapters' HTTP servers.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;

use crate::protocol::http::{
    check_websocket_handshake, decide, is_websocket_upgrade, Decision, Limits, Rejection,
    RequestHead, TargetForm, JSON_CONTENT_TYPE, WEBSOCKET_VERSION,
};

/// For a server at its connection limit: the `Sec-WebSocket-Key` of a request that is a
/// WebSocket upgrade (`GET /ws` with `Connection: upgrade` and `Upgrade: websocket`), to accept
/// and close at once with 1013 ([`crate::adapter::ws::refuse_busy`]); `None`: answer
/// [`reject_and_close`]`(`[`Rejection::TOO_MANY_CONNECTIONS`]`)`.
pub fn busy_upgrade_key<B>(req: &Request<B>) -> Option<HeaderValue> {
    let headers = req.headers();
    let head = RequestHead {
        websocket_upgrade: is_websocket_upgrade(
            header_str(headers, header::CONNECTION),
            header_str(headers, header::UPGRADE),
        ),
        ..RequestHead::new(req.method().as_str(), req.uri().path())
    };
    match decide(&head, &Limits::default()) {
        Decision::WebSocket => headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .filter(|key| {
                check_websocket_handshake(
                    header_str(headers, header::SEC_WEBSOCKET_VERSION),
                    Some(key.as_bytes()),
                )
                .is_ok()
            }),
        _ => None,
    }
}

/// [`reject`] for a refused WebSocket handshake: with `Sec-WebSocket-Version: 13` when the
/// version was the reason (RFC 6455 §4.4).
pub(super) fn reject_websocket(r: Rejection) -> Response<Full<Bytes>> {
    let mut response = reject(r);
    if r == Rejection::WS_VERSION {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static(WEBSOCKET_VERSION),
        );
    }
    response
}

/// [`reject`] with `Connection: close` whatever [`Rejection::close`] says.
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

pub(super) fn header_str(map: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    map.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn empty(status: StatusCode) -> Response<Full<Bytes>> {
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
    if r.close {
        // The HTTP library closes the connection after a response that says so.
        builder = builder.header(header::CONNECTION, "close");
    }
    builder
        .body(Full::new(Bytes::from_static(r.body.as_bytes())))
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

/// The request-target form of a parsed request URI (RFC 9112 §3.2).
pub(crate) fn target_form(uri: &http::Uri) -> TargetForm {
    if uri.scheme().is_some() {
        TargetForm::Absolute
    } else if uri.authority().is_some() {
        TargetForm::Authority
    } else if uri.path() == "*" {
        TargetForm::Asterisk
    } else {
        TargetForm::Origin
    }
}

/// The HTTP version as (major, minor).
pub(crate) fn version_of(v: http::Version) -> (u8, u8) {
    match v {
        http::Version::HTTP_09 => (0, 9),
        http::Version::HTTP_10 => (1, 0),
        http::Version::HTTP_2 => (2, 0),
        http::Version::HTTP_3 => (3, 0),
        _ => (1, 1),
    }
}

/// A 200 response with a JSON body.
pub fn json_response(body: Bytes) -> Response<Full<Bytes>> {
    // Built directly (the builder checks and converts each part at run time).
    let mut r = Response::new(Full::new(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    r
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
