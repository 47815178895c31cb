//! [`HyperPoster`]: an [`HttpPoster`](super::post::HttpPoster) over hyper's HTTP/1.1 client.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Full;

use crate::peer::Runtime;

use super::connect::{ConnectError, HttpConnect};
use super::post::{
    post_request, read_response, Attempt, HttpClientConfig, HttpPostTransport, HttpPoster,
};
use super::url::Endpoint;

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
