//! HTTP client transport: each frame is one POST; the response body, if any, is the next frame
//! received. Connections are kept alive and reused. Only failures where the request cannot have
//! been executed (the connection could not be opened, or a pooled connection was closed before
//! the request was written) are retried, with exponential backoff. Any other failure answers the
//! frame's calls at once with a -32000 error (see [`jsonrpc_proto::http::failure_responses`]).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::Sink;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use jsonrpc_proto::http::{failure_responses, transport_failure, JSON_CONTENT_TYPE};
use jsonrpc_proto::peer::{Transport, TransportError, TransportInfo, TransportKind};

use crate::connect::{connect_io, ConnectError, Endpoint};
use crate::tls::TlsClientConfig;

/// Settings of the HTTP client transport.
#[derive(Clone, Debug)]
pub struct HttpClientConfig {
    /// The largest response body accepted (default 10 MiB).
    pub max_response: usize,
    /// How many times a connect failure is retried (default 3).
    pub retries: u32,
    /// The first retry delay; each next one doubles (default 100 ms).
    pub backoff: Duration,
    /// How many idle keep-alive connections are kept (default 8).
    pub max_idle: usize,
    /// Extra headers sent with every POST (e.g. Authorization).
    pub headers: Vec<(String, String)>,
    /// TLS settings for `https` URLs (trusted roots). Required for `https`.
    pub tls: Option<TlsClientConfig>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            max_response: jsonrpc_proto::http::DEFAULT_MAX_BODY,
            retries: 3,
            backoff: Duration::from_millis(100),
            max_idle: 8,
            headers: Vec::new(),
            tls: None,
        }
    }
}

struct Inner {
    endpoint: Endpoint,
    config: HttpClientConfig,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    runtime: tokio::runtime::Handle,
}

/// A JSON-RPC transport over HTTP POSTs to one URL.
pub struct HttpTransport {
    inner: Arc<Inner>,
}

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
        Ok(HttpTransport {
            inner: Arc::new(Inner {
                endpoint,
                config,
                idle: Mutex::new(Vec::new()),
                runtime: tokio::runtime::Handle::current(),
            }),
        })
    }
}

impl Transport for HttpTransport {
    type Sink = HttpSink;
    type Stream = mpsc::UnboundedReceiver<Result<Bytes, TransportError>>;

    fn info(&self) -> TransportInfo {
        let mut info = TransportInfo::new(TransportKind::Http);
        info.tls = self.inner.endpoint.tls;
        info.path = Some(self.inner.endpoint.path.clone());
        info
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        let (tx, rx) = mpsc::unbounded();
        (
            HttpSink {
                inner: self.inner,
                tx: Some(tx),
            },
            rx,
        )
    }
}

/// The sending half of an [`HttpTransport`]: each frame starts one POST in the background.
pub struct HttpSink {
    inner: Arc<Inner>,
    tx: Option<mpsc::UnboundedSender<Result<Bytes, TransportError>>>,
}

impl Sink<Bytes> for HttpSink {
    type Error = TransportError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.tx.is_some() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Ready(Err(TransportError::Closed))
        }
    }

    fn start_send(self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        let tx = self.tx.clone().ok_or(TransportError::Closed)?;
        let inner = self.inner.clone();
        self.inner.runtime.spawn(async move {
            let answer = match inner.post(frame.clone()).await {
                Ok(Some(body)) => Some(body),
                Ok(None) => None,
                Err(reason) => {
                    tracing::debug!(url = %inner.endpoint.url, %reason, "HTTP POST failed");
                    failure_responses(&frame, &transport_failure(&reason)).map(Bytes::from)
                }
            };
            if let Some(body) = answer {
                let _ = tx.unbounded_send(Ok(body));
            }
        });
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<(), Self::Error>> {
        // The stream ends once the POSTs under way have delivered their answers.
        self.tx = None;
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Poll::Ready(Ok(()))
    }
}

enum Attempt {
    /// Not executed: safe to retry.
    Retry(String),
    /// May have been executed, or answered with an error: give up.
    Fail(String),
}

impl Inner {
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

    async fn post(&self, frame: Bytes) -> Result<Option<Bytes>, String> {
        let mut delay = self.config.backoff;
        let mut attempt = 0u32;
        loop {
            match self.try_post(frame.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(Attempt::Fail(reason)) => return Err(reason),
                Err(Attempt::Retry(reason)) => {
                    if attempt >= self.config.retries {
                        return Err(reason);
                    }
                    attempt += 1;
                    tracing::debug!(%reason, attempt, "retrying HTTP POST after {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }

    async fn try_post(&self, frame: Bytes) -> Result<Option<Bytes>, Attempt> {
        let mut sender = match self.take_idle() {
            Some(s) => s,
            None => self.open().await?,
        };
        if sender.ready().await.is_err() {
            return Err(Attempt::Retry("pooled connection closed".into()));
        }
        let mut builder = http::Request::post(self.endpoint.path.as_str())
            .header(http::header::HOST, self.endpoint.authority())
            .header(http::header::CONTENT_TYPE, JSON_CONTENT_TYPE)
            .header(http::header::ACCEPT, JSON_CONTENT_TYPE);
        for (name, value) in &self.config.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(frame))
            .map_err(|e| Attempt::Fail(format!("cannot build the request: {e}")))?;
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
        let status = response.status();
        let body = Limited::new(response.into_body(), self.config.max_response)
            .collect()
            .await
            .map_err(|e| Attempt::Fail(format!("reading the response body: {e}")))?
            .to_bytes();
        self.put_idle(sender);
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
}
