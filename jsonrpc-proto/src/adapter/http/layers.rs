//! tower layers on the HTTP side: [`HttpLayers`] (the stack `ServerBuilder::http_layer`
//! collects), the per-connection hyper service adapters serve with ([`ConnService`]), the
//! CORS shorthand ([`cors_for_origins`]) and the Host allow-list ([`AllowHostsLayer`]).
//!
//! The stack wraps the whole HTTP surface (POST `/`, `/ws` upgrades, `/health`, `/metrics`):
//! layers see `http::Request<hyper::body::Incoming>` and may change the response body type
//! (compression does); they must pass the request's extensions on (every tower-http layer
//! does) so a WebSocket upgrade still works. The first layer added is the outermost.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll};

use bytes::Bytes;
use futures::future::{BoxFuture, Either, FutureExt, Map};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

use crate::protocol::http::Rejection;
use crate::service::middleware::Metrics;

use super::response::reject;

/// The boxed error of a layered response body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request every HTTP layer sees.
pub type HttpRequest = Request<Incoming>;

/// A response body after layers: boxed, as layers may change its type.
pub type LayeredBody = UnsyncBoxBody<Bytes, BoxError>;

/// The body a [`ConnService`] answers with: the plain body without layers, boxed with them.
pub type ResponseBody = http_body_util::Either<Full<Bytes>, LayeredBody>;

/// What the innermost layer wraps: the adapter's own request handling.
pub type HttpInner = BoxCloneSyncService<HttpRequest, Response<Full<Bytes>>, Infallible>;

/// What each layer wraps and is boxed back into: the layers inside it and the handling.
pub type HttpStack = BoxCloneSyncService<HttpRequest, Response<LayeredBody>, BoxError>;

type StackFn = Arc<dyn Fn(HttpStack) -> HttpStack + Send + Sync>;

/// The tower layers around a server's HTTP handling, outermost first, plus the metrics it
/// serves at `GET /metrics`. Empty by default (no layer: no boxing, no extra cost).
#[derive(Clone, Default)]
pub struct HttpLayers {
    layers: Vec<StackFn>,
    /// The metrics served at `GET /metrics` (`None`: 404 there, as any unknown path).
    pub metrics: Option<Metrics>,
}

impl fmt::Debug for HttpLayers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpLayers")
            .field("layers", &self.layers.len())
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

fn into_stack<S, B>(svc: S) -> HttpStack
where
    S: Service<HttpRequest, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let svc = svc.map_response(|r: Response<B>| r.map(|b| b.map_err(Into::into).boxed_unsync()));
    let svc = svc.map_err(Into::into);
    BoxCloneSyncService::new(svc)
}

impl HttpLayers {
    /// No layers.
    pub fn new() -> Self {
        HttpLayers::default()
    }

    /// Adds `layer` inside the ones added before (the first added is the outermost).
    pub fn push<L, B>(&mut self, layer: L)
    where
        L: Layer<HttpStack> + Send + Sync + 'static,
        L::Service: Service<HttpRequest, Response = Response<B>> + Clone + Send + Sync + 'static,
        <L::Service as Service<HttpRequest>>::Error: Into<BoxError>,
        <L::Service as Service<HttpRequest>>::Future: Send + 'static,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.layers
            .push(Arc::new(move |inner| into_stack(layer.layer(inner))));
    }

    /// True when no layer was added.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Counts one HTTP connection in the metrics' `http` connection gauge while the answer
    /// lives (`None` without metrics): for a connection the HTTP/1.1 codec serves.
    pub(crate) fn gauge(&self) -> Option<ConnGauge> {
        self.metrics.as_ref().map(ConnGauge::new)
    }

    /// The hyper service of one connection: `handle` (the adapter's request handling) inside
    /// the layers. Counts the connection in the `http` connection gauge while it lives.
    pub fn connection<F, Fut>(&self, handle: F) -> ConnService<F>
    where
        F: Fn(HttpRequest) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let gauge = self.metrics.as_ref().map(ConnGauge::new);
        if self.layers.is_empty() {
            return ConnService {
                kind: Kind::Plain(handle),
                _gauge: gauge,
            };
        }
        let inner: HttpInner = BoxCloneSyncService::new(tower::service_fn(move |req| {
            handle(req).map(Ok::<_, Infallible>)
        }));
        let mut stack = into_stack(inner);
        for layer in self.layers.iter().rev() {
            stack = layer(stack);
        }
        ConnService {
            kind: Kind::Layered(stack),
            _gauge: gauge,
        }
    }
}

/// Counts one open HTTP connection in the metrics while alive.
pub(crate) struct ConnGauge(Metrics);

impl ConnGauge {
    fn new(m: &Metrics) -> Self {
        m.add_connections(crate::peer::TransportKind::Http, 1);
        ConnGauge(m.clone())
    }
}

impl Drop for ConnGauge {
    fn drop(&mut self) {
        self.0.add_connections(crate::peer::TransportKind::Http, -1);
    }
}

enum Kind<F> {
    Plain(F),
    Layered(HttpStack),
}

/// The `hyper::service::Service` of one HTTP connection (see [`HttpLayers::connection`]).
pub struct ConnService<F> {
    kind: Kind<F>,
    _gauge: Option<ConnGauge>,
}

impl<F> fmt::Debug for ConnService<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnService(..)")
    }
}

type Plain = fn(Response<Full<Bytes>>) -> Result<Response<ResponseBody>, Infallible>;

fn plain(r: Response<Full<Bytes>>) -> Result<Response<ResponseBody>, Infallible> {
    Ok(r.map(http_body_util::Either::Left))
}

impl<F, Fut> hyper::service::Service<HttpRequest> for ConnService<F>
where
    F: Fn(HttpRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Either<Map<Fut, Plain>, BoxFuture<'static, Result<Self::Response, Infallible>>>;

    fn call(&self, req: HttpRequest) -> Self::Future {
        match &self.kind {
            Kind::Plain(f) => Either::Left(f(req).map(plain as Plain)),
            Kind::Layered(stack) => Either::Right(
                stack
                    .clone()
                    .oneshot(req)
                    .map(|r| Ok(failed_to_500(r).map(http_body_util::Either::Right)))
                    .boxed(),
            ),
        }
    }
}

/// A layer's error as a 500 answer.
fn failed_to_500(r: Result<Response<LayeredBody>, BoxError>) -> Response<LayeredBody> {
    r.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "an HTTP layer failed a request: 500");
        let r = reject(Rejection {
            status: 500,
            allow: None,
            body: "Internal server error",
            close: false,
        });
        r.map(|b| b.map_err(|never| match never {}).boxed_unsync())
    })
}

/// A CORS layer (tower-http's) for browsers on `origins`: `"*"` allows any origin. Allows
/// POST, GET and OPTIONS with `Content-Type` and `Authorization` headers, and lets
/// preflights be cached 10 minutes. Give tower-http's `CorsLayer` to
/// `ServerBuilder::http_layer` for anything else.
pub fn cors_for_origins<I, S>(origins: I) -> tower_http::cors::CorsLayer
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<String> = origins.into_iter().map(|o| o.as_ref().to_owned()).collect();
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(std::time::Duration::from_secs(600))
}

/// Answers 403 to requests whose `Host` header (port ignored) is not in the list: a
/// DNS-rebinding defence for servers a browser can reach. `ServerBuilder::allow_hosts`.
#[derive(Clone, Debug)]
pub struct AllowHostsLayer {
    hosts: Arc<[String]>,
}

impl AllowHostsLayer {
    /// Allows `hosts` (names or addresses, without port; compared case-insensitively).
    pub fn new<I, S>(hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        AllowHostsLayer {
            hosts: hosts
                .into_iter()
                .map(|h| h.as_ref().to_ascii_lowercase())
                .collect(),
        }
    }
}

impl<S> Layer<S> for AllowHostsLayer {
    type Service = AllowHosts<S>;
    fn layer(&self, inner: S) -> AllowHosts<S> {
        AllowHosts {
            hosts: Arc::clone(&self.hosts),
            inner,
        }
    }
}

/// The service of [`AllowHostsLayer`].
#[derive(Clone, Debug)]
pub struct AllowHosts<S> {
    hosts: Arc<[String]>,
    inner: S,
}

/// The host part of a `Host` header value: `[v6]:port`, `name:port` or `name`.
fn host_part(value: &str) -> &str {
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    value.rsplit_once(':').map_or(value, |(h, _)| h)
}

impl<S, B, R> Service<Request<B>> for AllowHosts<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().host())
            .map(|h| host_part(h.trim()).to_ascii_lowercase());
        let allowed = host
            .as_ref()
            .is_some_and(|h| self.hosts.iter().any(|a| a == h));
        if !allowed {
            tracing::debug!(?host, "Host not in the allow-list: 403");
            let mut r = Response::new(R::default());
            *r.status_mut() = StatusCode::FORBIDDEN;
            return Box::pin(std::future::ready(Ok(r)));
        }
        Box::pin(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use super::host_part;

    #[test]
    fn host_part_strips_ports_and_brackets() {
        assert_eq!(host_part("localhost:8000"), "localhost");
        assert_eq!(host_part("example.com"), "example.com");
        assert_eq!(host_part("[::1]:80"), "::1");
        assert_eq!(host_part("[::1"), "::1");
    }
}
