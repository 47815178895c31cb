//! [`HyperPoster`]: an [`HttpPoster`](super::post::HttpPoster) over hyper's HTTP/1.1 and
//! HTTP/2 clients.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};

use crate::peer::Runtime;

use super::connect::{ConnectError, Connected, HttpConnect};
use super::post::{
    post_request, read_response, Attempt, HttpClientConfig, HttpPostTransport, HttpPoster,
};
use super::url::Endpoint;

type H1 = http1::SendRequest<Full<Bytes>>;
type H2 = http2::SendRequest<Full<Bytes>>;

/// A connection just opened, speaking the protocol chosen for it.
enum Opened {
    H1(H1),
    H2(H2),
}

/// hyper's executor for the HTTP/2 client's connection task: the poster's runtime.
struct Exec<R>(Arc<R>);

impl<R> Clone for Exec<R> {
    fn clone(&self) -> Self {
        Exec(Arc::clone(&self.0))
    }
}

impl<R, F> hyper::rt::Executor<F> for Exec<R>
where
    R: Runtime,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    fn execute(&self, task: F) {
        self.0.spawn(Box::pin(task));
    }
}

/// The [`HttpPoster`] over hyper 1 for any runtime.
///
/// HTTP/1.1 (the default): a pool of idle keep-alive connections, one request at a time on
/// each. HTTP/2 ([`HttpClientConfig::http2`]): one connection shared by every call, each call
/// a stream of it (h2c with prior knowledge on `http`; on `https` when ALPN chooses `h2`, else
/// HTTP/1.1 as above); while it is being opened, other calls wait for it rather than open
/// their own, and a closed one is replaced by the next call.
///
/// A pooled connection found closed, or a request hyper hands back unsent, is
/// [`Attempt::Retry`]; a failure after sending is [`Attempt::Fail`].
pub struct HyperPoster<C, R> {
    connector: C,
    runtime: R,
    endpoint: Endpoint,
    config: HttpClientConfig,
    idle: std::sync::Mutex<Vec<H1>>,
    /// The shared HTTP/2 connection, once open.
    h2: std::sync::Mutex<Option<H2>>,
    /// Held while an HTTP/2 client opens its connection.
    opening: futures::lock::Mutex<()>,
    /// The server chose HTTP/1.1 over h2 in ALPN: open HTTP/1.1 connections without waiting
    /// for each other.
    alpn_refused_h2: AtomicBool,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

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
            h2: std::sync::Mutex::new(None),
            opening: futures::lock::Mutex::new(()),
            alpn_refused_h2: AtomicBool::new(false),
        }
    }

    fn take_idle(&self) -> Option<H1> {
        let mut idle = lock(&self.idle);
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put_idle(&self, sender: H1) {
        let mut idle = lock(&self.idle);
        if !sender.is_closed() && idle.len() < self.config.max_idle {
            idle.push(sender);
        }
    }

    /// The shared HTTP/2 connection, when one is open and not closed.
    fn live_h2(&self) -> Option<H2> {
        let mut h2 = lock(&self.h2);
        match h2.as_ref() {
            Some(s) if !s.is_closed() => Some(s.clone()),
            Some(_) => {
                *h2 = None;
                None
            }
            None => None,
        }
    }

    async fn open(&self) -> Result<Opened, Attempt> {
        let Connected { io, alpn_h2 } = self.connector.connect(&self.endpoint).await?;
        let addr = self.endpoint.addr();
        let h2 = alpn_h2 || (self.config.http2 && !self.endpoint.tls);
        if self.config.http2 && self.endpoint.tls && !alpn_h2 {
            tracing::debug!(%addr, "the server did not choose h2 in ALPN: HTTP/1.1");
            self.alpn_refused_h2.store(true, Ordering::Relaxed);
        }
        if h2 {
            // One stream until the server's SETTINGS tell its limit: a burst of calls on a
            // new connection then waits for them, instead of being refused (REFUSED_STREAM)
            // by a server that allows fewer than hyper's default guess of 100.
            let (sender, conn) = http2::Builder::new(Exec(Arc::new(self.runtime.clone())))
                .initial_max_send_streams(1)
                .handshake(io)
                .await
                .map_err(|e| Attempt::Retry(format!("HTTP/2 handshake with {addr}: {e}")))?;
            self.runtime.spawn(Box::pin(async move {
                if let Err(e) = conn.await {
                    tracing::debug!("HTTP/2 client connection ended: {e}");
                }
            }));
            return Ok(Opened::H2(sender));
        }
        let (sender, conn) = http1::handshake(io)
            .await
            .map_err(|e| Attempt::Retry(format!("HTTP handshake with {addr}: {e}")))?;
        self.runtime.spawn(Box::pin(async move {
            if let Err(e) = conn.await {
                tracing::debug!("HTTP client connection ended: {e}");
            }
        }));
        Ok(Opened::H1(sender))
    }

    async fn try_post(&self, frame: Bytes) -> Result<Option<Bytes>, Attempt> {
        if let Some(h2) = self.live_h2() {
            return self.post_h2(h2, frame).await;
        }
        if let Some(h1) = self.take_idle() {
            return self.post_h1(h1, frame).await;
        }
        // An HTTP/2 client opens one connection for all: the calls that come meanwhile wait.
        let serialize = self.config.http2 && !self.alpn_refused_h2.load(Ordering::Relaxed);
        let guard = if serialize {
            Some(self.opening.lock().await)
        } else {
            None
        };
        if let Some(h2) = self.live_h2() {
            drop(guard);
            return self.post_h2(h2, frame).await;
        }
        let opened = self.open().await;
        let opened = match opened {
            Ok(Opened::H2(sender)) => {
                *lock(&self.h2) = Some(sender.clone());
                Opened::H2(sender)
            }
            other => other?,
        };
        drop(guard);
        match opened {
            Opened::H2(sender) => self.post_h2(sender, frame).await,
            Opened::H1(sender) => self.post_h1(sender, frame).await,
        }
    }

    async fn post_h1(&self, mut sender: H1, frame: Bytes) -> Result<Option<Bytes>, Attempt> {
        if sender.ready().await.is_err() {
            return Err(Attempt::Retry("pooled connection closed".into()));
        }
        let request = post_request(&self.endpoint, &self.config.headers, frame)?;
        let response = sender.try_send_request(request).await.map_err(|mut e| {
            if e.take_message().is_some() {
                Attempt::Retry(format!("request not sent: {}", e.error()))
            } else {
                Attempt::Fail(format!(
                    "connection failed during the request: {}",
                    e.error()
                ))
            }
        })?;
        let answer = read_response(response, self.config.max_response).await?;
        self.put_idle(sender);
        Ok(answer)
    }

    async fn post_h2(&self, mut sender: H2, frame: Bytes) -> Result<Option<Bytes>, Attempt> {
        let mut request = post_request(&self.endpoint, &self.config.headers, frame)?;
        // HTTP/2 names the scheme and authority in pseudo-headers, taken from an absolute URI,
        // instead of a Host header.
        let scheme = if self.endpoint.tls { "https" } else { "http" };
        let uri = format!(
            "{scheme}://{}{}",
            self.endpoint.authority(),
            self.endpoint.path
        );
        *request.uri_mut() = uri
            .parse()
            .map_err(|e| Attempt::Fail(format!("cannot build the request URI {uri:?}: {e}")))?;
        request.headers_mut().remove(http::header::HOST);
        let response = sender.try_send_request(request).await.map_err(|mut e| {
            if e.take_message().is_some() {
                Attempt::Retry(format!("HTTP/2 request not sent: {}", e.error()))
            } else if refused_stream(e.error()) {
                // RFC 9113 section 8.7: REFUSED_STREAM means the server did no application
                // processing of the stream, so the call is safe to send again.
                Attempt::Retry(format!(
                    "HTTP/2 stream refused by the server (REFUSED_STREAM): {}",
                    e.error()
                ))
            } else {
                Attempt::Fail(format!(
                    "HTTP/2 stream failed during the request: {}",
                    e.error()
                ))
            }
        })?;
        read_response(response, self.config.max_response).await
    }
}

/// Whether `e` is the server's reset of the stream with REFUSED_STREAM. Only that reason
/// promises the request was not processed; any other reset, and a GOAWAY (which h2 also reports
/// for streams the server may have processed), may follow execution and is not retried.
fn refused_stream(e: &hyper::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(h2) = c.downcast_ref::<h2::Error>() {
            return h2.is_reset()
                && h2.is_remote()
                && h2.reason() == Some(h2::Reason::REFUSED_STREAM);
        }
        cause = c.source();
    }
    false
}

impl<C: HttpConnect, R: Runtime> HttpPoster for HyperPoster<C, R> {
    fn post(&self, frame: Bytes) -> BoxFuture<'_, Result<Option<Bytes>, Attempt>> {
        Box::pin(self.try_post(frame))
    }

    fn close(&self) {
        lock(&self.idle).clear();
        lock(&self.h2).take();
    }
}

impl HttpPostTransport {
    /// The HTTP client transport of an adapter: POSTs to `url` (`http://` or `https://`)
    /// through [`HyperPoster`] with `connector`, retrying per `config` (HTTP/2 when
    /// `config.http2`). `https` needs `config.tls`.
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
