//! HTTP client transport: each frame is one POST (hyper 1 over tokio, TLS through
//! tokio-rustls); connections are kept alive and reused. The retry policy (only where the
//! request cannot have been executed, with exponential backoff) and the error answers are
//! `jsonrpc_proto::http_service`'s, shared with every runtime.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use jsonrpc_proto::http_service::{
    post_request, read_response, Attempt, Endpoint, HttpPostTransport, HttpPoster,
};
pub use jsonrpc_proto::http_service::{HttpClientConfig, HttpSink};
use jsonrpc_proto::peer::{Transport, TransportError, TransportInfo};

use crate::connect::{connect_io, ConnectError};
use crate::runtime::TokioRuntime;

/// A JSON-RPC transport over HTTP POSTs to one URL.
pub struct HttpTransport(HttpPostTransport);

impl HttpTransport {
    /// A transport POSTing to `url` (`http://` or `https://`). Must be called inside a tokio
    /// runtime; no connection is opened until the first frame is sent.
    pub fn new(url: &str, config: HttpClientConfig) -> Result<Self, ConnectError> {
        let endpoint = Endpoint::parse(url, "http", "https")?;
        if endpoint.tls && config.tls.is_none() {
            return Err(ConnectError::Url {
                url: url.to_owned(),
                reason: "https needs a TLS client config (trusted CA roots)".into(),
            });
        }
        let runtime = TokioRuntime::new();
        let poster = Arc::new(HyperPoster {
            endpoint: endpoint.clone(),
            config: config.clone(),
            idle: Mutex::new(Vec::new()),
            runtime: runtime.handle().clone(),
        });
        Ok(HttpTransport(HttpPostTransport::new(
            &endpoint, poster, runtime, &config,
        )))
    }
}

impl Transport for HttpTransport {
    type Sink = HttpSink;
    type Stream = futures::channel::mpsc::UnboundedReceiver<Result<Bytes, TransportError>>;

    fn info(&self) -> TransportInfo {
        self.0.info()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        self.0.split()
    }
}

/// One POST at a time over hyper, with a pool of idle keep-alive connections.
struct HyperPoster {
    endpoint: Endpoint,
    config: HttpClientConfig,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    runtime: tokio::runtime::Handle,
}

impl HyperPoster {
    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put_idle(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.config.max_idle {
            idle.push(sender);
        }
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, Attempt> {
        let addr = self.endpoint.addr();
        let io = connect_io(&addr, &self.endpoint.host, self.config.tls.as_ref())
            .await
            .map_err(|e| match e {
                ConnectError::Io { .. } => Attempt::Retry(e.to_string()),
                other => Attempt::Fail(other.to_string()),
            })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| Attempt::Retry(format!("HTTP handshake with {addr}: {e}")))?;
        self.runtime.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("HTTP client connection ended: {e}");
            }
        });
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

impl HttpPoster for HyperPoster {
    fn post(&self, frame: Bytes) -> BoxFuture<'_, Result<Option<Bytes>, Attempt>> {
        Box::pin(self.try_post(frame))
    }

    fn close(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
