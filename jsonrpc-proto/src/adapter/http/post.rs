//! The HTTP client transport: one POST per frame through an adapter's [`HttpPoster`], with
//! retries only when the request cannot have been executed.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::Sink;
use http::{header, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};

use crate::peer::{Runtime, Transport, TransportError, TransportInfo, TransportKind};
use crate::protocol::http::{
    failure_responses, transport_failure, unanswered_responses, JSON_CONTENT_TYPE,
};

use super::url::Endpoint;

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
#[non_exhaustive]
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
    /// Speak HTTP/2 (default false: HTTP/1.1): with prior knowledge on `http://` (h2c; the
    /// server must speak it, as ours does), offered by ALPN on `https://` (`h2`, then
    /// `http/1.1`: a server that does not choose `h2` is spoken HTTP/1.1 to). Over HTTP/2
    /// every call is a stream of one shared connection, however many run at once (up to the
    /// server's `max_concurrent_streams`; more wait for a free stream).
    pub http2: bool,
    /// TLS settings for `https` URLs (trusted roots). Required for `https`.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::adapter::tls::TlsClientConfig>,
}

crate::protocol::config_setters!(HttpClientConfig {
    with_max_response => max_response: usize,
    with_retries => retries: u32,
    with_backoff => backoff: Duration,
    with_max_idle => max_idle: usize,
    with_headers => headers: Vec<(String, String)>,
    with_http2 => http2: bool,
    #[cfg(feature = "tls")] with_tls => tls: Option<crate::adapter::tls::TlsClientConfig>,
});

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            max_response: crate::protocol::http::DEFAULT_MAX_BODY,
            retries: 3,
            backoff: Duration::from_millis(100),
            max_idle: 8,
            headers: Vec::new(),
            http2: false,
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

impl HttpPostTransport {
    /// Replaces the connection info the client reports (e.g. `unix` set for HTTP over a Unix
    /// domain socket).
    pub fn with_info(mut self, info: TransportInfo) -> Self {
        self.info = info;
        self
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
            next: None,
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

/// Whether an answer may leave calls of its POST unanswered, judged cheaply: no body (a 204 or
/// an empty 200 to a POST that held calls), or a short body mentioning `null` (an error with
/// id null: the server could not read the request). A body with the wrong ids, or answering
/// part of a batch, is not looked for: those calls fail at their deadline.
fn worth_checking(answer: Option<&[u8]>) -> bool {
    match answer {
        None => true,
        Some(body) => body.len() <= 512 && body.windows(4).any(|w| w == b"null"),
    }
}

/// What a POST gives its connection: the response body (or the errors of a POST that failed),
/// then the errors of the calls the body left unanswered.
type Answered = (Option<Bytes>, Option<Bytes>);

/// The POSTs under way, shared by the two halves of an [`HttpPostTransport`].
struct Posts {
    running: FuturesUnordered<BoxFuture<'static, Answered>>,
    /// The second frame of a POST whose answer left calls unanswered (their errors), handed
    /// out right after its answer.
    next: Option<Bytes>,
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
        let post: BoxFuture<'static, Answered> = Box::pin(async move {
            match inner.post(frame.clone()).await {
                Ok(answer) => {
                    // The answer is all that the POST's calls will get: those it leaves
                    // unanswered fail now (not at their deadline). Checked where that is
                    // likely (see `worth_checking`): the check reads the request and the
                    // answer again, +7% instructions per call if done for every POST.
                    let rest = worth_checking(answer.as_deref())
                        .then(|| unanswered_responses(&frame, answer.as_deref()))
                        .flatten()
                        .map(Bytes::from);
                    if rest.is_some() {
                        tracing::debug!(url = %inner.url, "the answer to a POST left calls unanswered");
                    }
                    (answer, rest)
                }
                Err(reason) => {
                    tracing::debug!(url = %inner.url, %reason, "HTTP POST failed");
                    let errors = failure_responses(&frame, &transport_failure(&reason));
                    (errors.map(Bytes::from), None)
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
        if let Some(frame) = posts.next.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        loop {
            match posts.running.poll_next_unpin(cx) {
                Poll::Ready(Some((Some(body), rest))) => {
                    posts.next = rest;
                    return Poll::Ready(Some(Ok(body)));
                }
                Poll::Ready(Some((None, Some(rest)))) => return Poll::Ready(Some(Ok(rest))),
                // a notification-only POST: nothing to read
                Poll::Ready(Some((None, None))) => continue,
                Poll::Ready(None) if posts.closed => return Poll::Ready(None),
                Poll::Ready(None) | Poll::Pending => {
                    posts.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
    }
}
