//! WebSocket transport (feature `websocket`) over any tungstenite message stream, shared by every
//! runtime adapter: `tokio_tungstenite::WebSocketStream` and `async_tungstenite::WebSocketStream`
//! both fit. One JSON text (a message or a batch) per text frame.
//!
//! Binary frames are refused with a close frame (code 1003, "unsupported data") and end the
//! connection; pings are answered with pongs; a close from the peer ends the stream after the
//! close handshake.
//!
//! Keep-alive ([`WsKeepAlive`], on by default on servers and clients: a Ping after 30 s of
//! silence, closed when nothing answers within 20 s): every frame received (data, ping, pong)
//! counts as life. A peer silent for `interval` gets a Ping; one that sends nothing within
//! `timeout` after it is sent a Close frame (1001, [`KEEP_ALIVE_TIMEOUT`]; not waited for) and
//! dropped: the stream fails with a `TimedOut` IO error, which ends the connection like any
//! other disconnect. The keep-alive runs while the connection reads (a client whose
//! subscription buffer is full and waits for its consumer sends no pings meanwhile). Pings and
//! pongs received are counted in the transport's [`Liveness`], which the server's idle timeout
//! counts as activity: a quiet client that answers pings (or sends its own) is not idle.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, Sink, Stream};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Message, Utf8Bytes};

use crate::peer::{Liveness, Runtime, Transport, TransportError, TransportInfo, TransportKind};

/// The default limit on one WebSocket message: 10 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// The reason sent in the close frame that refuses a binary message.
pub const BINARY_REFUSED: &str = "binary frames are not supported: send JSON-RPC as text frames";

/// The reason sent in the close frame (code 1009) that refuses a message over the size limit.
pub const TOO_BIG: &str = "message too big: over the receiver's WebSocket message size limit";

/// The reason sent with close code 1007 (a text message that is not UTF-8).
pub const INVALID_UTF8: &str = "invalid UTF-8 in a text message";

/// The reason sent with close code 1002 (a broken WebSocket framing rule).
pub const PROTOCOL_ERROR: &str =
    "WebSocket protocol error: reserved bits or opcode, bad control frame, or unmasked frame";

/// The reason sent in the close frame (code 1013, try again later) when the server is at its
/// connection limit.
pub const TOO_MANY_CONNECTIONS: &str = "too many connections: retry later";

/// The reason sent in the close frame (code 1001) to a peer that answered no ping in time.
pub const KEEP_ALIVE_TIMEOUT: &str = "keep-alive timeout: no answer to a ping";

/// The default silence after which a Ping is sent: 30 s (well within the server's default
/// 300 s idle timeout, and within the 60 s idle cut-off of common proxies and load balancers).
pub const DEFAULT_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// The default wait for any frame after a Ping before the peer is closed: 20 s.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// WebSocket ping/pong keep-alive (see the module docs). `Option<WsKeepAlive>` wherever it is
/// set: `None` sends no pings (pings from the peer are still answered).
///
/// ```
/// use std::time::Duration;
/// use jsonrpc_proto::adapter::ws::WsKeepAlive;
/// let keep_alive = WsKeepAlive::default()
///     .with_interval(Duration::from_secs(10))
///     .with_timeout(Duration::from_secs(5));
/// assert_eq!(keep_alive.interval, Duration::from_secs(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsKeepAlive {
    /// The silence (no frame received) after which a Ping is sent (default 30 s,
    /// [`DEFAULT_KEEP_ALIVE_INTERVAL`]). Zero pings again as soon as the peer answers.
    pub interval: Duration,
    /// How long after a Ping the peer has to send any frame before it is closed (default
    /// 20 s, [`DEFAULT_KEEP_ALIVE_TIMEOUT`]). Keep it above the round-trip time: zero closes
    /// the connection at its first ping.
    pub timeout: Duration,
}

impl Default for WsKeepAlive {
    fn default() -> Self {
        WsKeepAlive {
            interval: DEFAULT_KEEP_ALIVE_INTERVAL,
            timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
        }
    }
}

crate::protocol::config_setters!(WsKeepAlive {
    with_interval => interval: Duration,
    with_timeout => timeout: Duration,
});

/// The timers the keep-alive needs, from any [`Runtime`].
trait Clock: Send + Sync {
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
    fn now(&self) -> Instant;
}

impl<R: Runtime> Clock for R {
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Runtime::sleep_until(self, deadline)
    }
    fn now(&self) -> Instant {
        Runtime::now(self)
    }
}

/// The read buffer of a server's WebSocket connection, allocated up front and kept: 256 bytes.
/// tungstenite's default (128 KiB, allocated eagerly) made an idle connection cost ~137 KiB of
/// server memory, and tungstenite zero-fills up to this many free bytes of the buffer before
/// each read, so a small one is also cheaper per read. Each read takes at most this many bytes
/// (since tungstenite 0.27): the adapters put `adapter::http::ReadAhead` under it, so that a
/// burst (many small frames pipelined back to back, a large request) is read from the socket
/// 16 KiB at a time, not in a system call per 256 bytes. With it, 256 against 384 bytes costs
/// +0.25% instructions per call with 64 `add` calls in flight (6,108 -> 6,123 Ir per request,
/// `bench/profile/server-ws.sh ours ours ws-throughput 20000 20020`) and nothing measurable on
/// 1 MiB requests, for 128 bytes less per idle connection (without it, 256 cost +1.1%).
pub const READ_BUFFER_SIZE: usize = 256;

/// The read buffer of a client's WebSocket connection: 16 KiB. A client has few connections
/// and reads whole answers, some large: a 1 MiB answer takes 64 reads (4,096 with the server's
/// [`READ_BUFFER_SIZE`]). Larger buffers cost more than they save, as tungstenite zero-fills
/// up to this many bytes before every read, small answers included, and a client with many
/// connections allocates one per connection.
pub const CLIENT_READ_BUFFER_SIZE: usize = 16 * 1024;

/// The WebSocket limits of a server's connection, with its read buffer of [`READ_BUFFER_SIZE`].
pub fn ws_config(max_message: usize) -> WebSocketConfig {
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = READ_BUFFER_SIZE;
    config.max_message_size = Some(max_message);
    config.max_frame_size = Some(max_message);
    config
}

/// The WebSocket limits of a client's connection: those of [`ws_config`], with a read buffer
/// of [`CLIENT_READ_BUFFER_SIZE`].
pub fn ws_client_config(max_message: usize) -> WebSocketConfig {
    let mut config = ws_config(max_message);
    config.read_buffer_size = CLIENT_READ_BUFFER_SIZE;
    config
}

/// Refuses an accepted WebSocket of a server at its connection limit: sends a close frame
/// (1013, [`TOO_MANY_CONNECTIONS`]) and waits for the peer's close reply. Bound it with a
/// timer; drop the socket afterwards.
pub async fn refuse_busy<S: WsStreamLike>(mut ws: S) {
    use futures::{SinkExt, StreamExt};
    let close = CloseFrame {
        code: CloseCode::Again,
        reason: Utf8Bytes::from_static(TOO_MANY_CONNECTIONS),
    };
    if ws.send(Message::Close(Some(close))).await.is_ok() {
        while let Some(Ok(_)) = ws.next().await {}
    }
}

type Shared<S> = Arc<Mutex<S>>;

/// What a WebSocket stream must be: a stream and sink of tungstenite messages (the
/// `WebSocketStream` of tokio-tungstenite or async-tungstenite, after the handshake).
pub trait WsStreamLike:
    Stream<Item = Result<Message, tungstenite::Error>>
    + Sink<Message, Error = tungstenite::Error>
    + Unpin
    + Send
    + 'static
{
}

impl<T> WsStreamLike for T where
    T: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin
        + Send
        + 'static
{
}

/// A WebSocket connection carrying JSON-RPC frames.
pub struct WsTransport<S> {
    ws: S,
    info: TransportInfo,
    liveness: Liveness,
    keep_alive: Option<(WsKeepAlive, Box<dyn Clock>)>,
}

impl<S: WsStreamLike> WsTransport<S> {
    /// Wraps an established WebSocket (after the handshake, on either side), without
    /// keep-alive pings (see [`WsTransport::with_keep_alive`]). Pings and pongs received are
    /// counted in the [`Liveness`] of its info.
    pub fn new(ws: S, mut info: TransportInfo) -> Self {
        let liveness = info.liveness.get_or_insert_with(Liveness::new).clone();
        WsTransport {
            ws,
            info,
            liveness,
            keep_alive: None,
        }
    }

    /// Sends pings as `keep_alive` says, timed on `rt`, and closes a peer that does not
    /// answer (see the module docs); `None`: no pings.
    pub fn with_keep_alive<R: Runtime>(mut self, keep_alive: Option<WsKeepAlive>, rt: R) -> Self {
        self.keep_alive = keep_alive.map(|k| (k, Box::new(rt) as Box<dyn Clock>));
        self
    }

    /// Wraps an established WebSocket with info of kind [`TransportKind::WebSocket`].
    pub fn from_stream(ws: S) -> Self {
        Self::new(ws, TransportInfo::new(TransportKind::WebSocket))
    }
}

impl<S: WsStreamLike> Transport for WsTransport<S> {
    type Sink = WsSink<S>;
    type Stream = WsStream<S>;

    fn info(&self) -> TransportInfo {
        self.info.clone()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        let shared = Arc::new(Mutex::new(self.ws));
        let beat = self.keep_alive.map(|(config, clock)| {
            Box::new(Beat {
                last_seen: clock.now(),
                config,
                clock,
                ping_sent: None,
                send_ping: false,
                flush: false,
                timer: None,
            })
        });
        (
            WsSink { ws: shared.clone() },
            WsStream {
                ws: shared,
                state: ReadState::Open,
                liveness: self.liveness,
                beat,
            },
        )
    }
}

fn lock<S>(ws: &Shared<S>) -> MutexGuard<'_, S> {
    // A panic while holding the lock cannot leave the stream half-updated in a way we rely on.
    ws.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ws_err(e: tungstenite::Error) -> TransportError {
    match e {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            TransportError::Closed
        }
        tungstenite::Error::Io(io) => TransportError::Io(io),
        tungstenite::Error::Capacity(c) => TransportError::Protocol(format!("WebSocket: {c}")),
        other => TransportError::Protocol(format!("WebSocket: {other}")),
    }
}

/// The Close frame a read error calls for: 1007 for invalid UTF-8 in a text message, 1002 for
/// a broken framing rule (reserved bits or opcodes, a fragmented or oversized control frame, an
/// unmasked client frame, a stray continuation, a bad close frame). `None` when the connection
/// is gone already (reset without Close, anything after a Close) or for IO errors.
fn close_code_for(e: &tungstenite::Error) -> Option<(CloseCode, &'static str)> {
    use tungstenite::error::ProtocolError as P;
    match e {
        tungstenite::Error::Utf8(_) => Some((CloseCode::Invalid, INVALID_UTF8)),
        tungstenite::Error::Protocol(
            P::ResetWithoutClosingHandshake | P::ReceivedAfterClosing | P::SendAfterClosing,
        ) => None,
        tungstenite::Error::Protocol(_) => Some((CloseCode::Protocol, PROTOCOL_ERROR)),
        _ => None,
    }
}

enum ReadState {
    Open,
    /// A binary or oversized message arrived: send a close frame with this code and reason
    /// (until `sent`), then report the error with the reason. No `CloseFrame` kept: its
    /// reason is a static text, and a smaller state keeps every connection's task smaller.
    Refusing {
        code: CloseCode,
        reason: &'static str,
        sent: bool,
    },
    Done,
}

impl ReadState {
    fn refusing(code: CloseCode, reason: &'static str) -> ReadState {
        ReadState::Refusing {
            code,
            reason,
            sent: false,
        }
    }
}

/// The receiving half of a [`WsTransport`].
pub struct WsStream<S> {
    ws: Shared<S>,
    state: ReadState,
    /// Counts pings and pongs received (for the server's idle timeout).
    liveness: Liveness,
    /// The keep-alive, when on (boxed: most of a connection's life it is only waited on).
    beat: Option<Box<Beat>>,
}

/// The keep-alive state of one connection.
struct Beat {
    config: WsKeepAlive,
    clock: Box<dyn Clock>,
    /// When a frame was last received.
    last_seen: Instant,
    /// When the unanswered Ping was due (its timeout runs from then, even while a peer that
    /// reads nothing keeps it from being written).
    ping_sent: Option<Instant>,
    /// A Ping is due and not yet handed to the socket.
    send_ping: bool,
    /// A Ping was handed to the socket and not yet flushed.
    flush: bool,
    /// The armed timer and its instant.
    timer: Option<(Instant, BoxFuture<'static, ()>)>,
}

/// The keep-alive gave up: the peer answered no ping in time.
struct NoAnswer;

impl Beat {
    /// Any frame received: the peer is alive.
    fn seen(&mut self) {
        self.last_seen = self.clock.now();
        self.ping_sent = None;
    }

    /// Sends a due Ping, flushes it, and waits on the timer. `Ready(Ok)` only when the
    /// socket failed (`Err` inside); `Ready(Err)` when the peer answered no ping in time.
    fn poll<S: WsStreamLike>(
        &mut self,
        cx: &mut Context<'_>,
        ws: &mut S,
    ) -> Poll<Result<tungstenite::Error, NoAnswer>> {
        loop {
            if self.send_ping {
                match Pin::new(&mut *ws).poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        if let Err(e) = Pin::new(&mut *ws).start_send(Message::Ping(Bytes::new())) {
                            return Poll::Ready(Ok(e));
                        }
                        self.send_ping = false;
                        self.flush = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Ok(e)),
                    // A peer that reads nothing: the timeout runs anyway.
                    Poll::Pending => {}
                }
            }
            if self.flush {
                match Pin::new(&mut *ws).poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.flush = false,
                    Poll::Ready(Err(e)) => return Poll::Ready(Ok(e)),
                    Poll::Pending => {}
                }
            }
            let due = match self.ping_sent {
                Some(at) => at + self.config.timeout,
                None => self.last_seen + self.config.interval,
            };
            // The timer is re-armed only when it fires early (frames move `due` later) or
            // when `due` moved earlier, not on every frame.
            if !matches!(&self.timer, Some((at, _)) if *at <= due) {
                self.timer = Some((due, self.clock.sleep_until(due)));
            }
            let Some((_, sleep)) = self.timer.as_mut() else {
                return Poll::Pending;
            };
            ready!(sleep.poll_unpin(cx));
            self.timer = None;
            let now = self.clock.now();
            if now < due {
                continue;
            }
            if self.ping_sent.is_some() {
                return Poll::Ready(Err(NoAnswer));
            }
            self.ping_sent = Some(now);
            self.send_ping = true;
        }
    }
}

/// Tells a peer that answered no ping why it is closed, without waiting for a peer that may
/// read nothing: the Close frame is written if the socket takes it now.
fn close_unanswered<S: WsStreamLike>(cx: &mut Context<'_>, ws: &mut S) {
    if let Poll::Ready(Ok(())) = Pin::new(&mut *ws).poll_ready(cx) {
        let close = CloseFrame {
            code: CloseCode::Away,
            reason: Utf8Bytes::from_static(KEEP_ALIVE_TIMEOUT),
        };
        if Pin::new(&mut *ws)
            .start_send(Message::Close(Some(close)))
            .is_ok()
        {
            let _ = Pin::new(&mut *ws).poll_flush(cx);
        }
    }
}

impl<S: WsStreamLike> Stream for WsStream<S> {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                ReadState::Done => return Poll::Ready(None),
                ReadState::Refusing { code, reason, sent } => {
                    let (code, reason) = (*code, *reason);
                    let mut ws = lock(&this.ws);
                    if !*sent {
                        match Pin::new(&mut *ws).poll_ready(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Ok(())) => {
                                let close = CloseFrame {
                                    code,
                                    reason: Utf8Bytes::from_static(reason),
                                };
                                let _ = Pin::new(&mut *ws).start_send(Message::Close(Some(close)));
                            }
                            Poll::Ready(Err(_)) => {}
                        }
                        *sent = true;
                    }
                    let _ = ready!(Pin::new(&mut *ws).poll_flush(cx));
                    drop(ws);
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(TransportError::Protocol(format!(
                        "WebSocket: {reason}"
                    )))));
                }
                ReadState::Open => {
                    let mut ws = lock(&this.ws);
                    let next = match Pin::new(&mut *ws).poll_next(cx) {
                        Poll::Ready(next) => next,
                        Poll::Pending => {
                            let Some(beat) = this.beat.as_mut() else {
                                return Poll::Pending;
                            };
                            match ready!(beat.poll(cx, &mut *ws)) {
                                Ok(e) => Some(Err(e)),
                                Err(NoAnswer) => {
                                    let timeout = beat.config.timeout;
                                    tracing::debug!(
                                        ?timeout,
                                        "the WebSocket peer answered no ping in time: closing"
                                    );
                                    close_unanswered(cx, &mut *ws);
                                    this.state = ReadState::Done;
                                    return Poll::Ready(Some(Err(TransportError::Io(
                                        std::io::Error::new(
                                            std::io::ErrorKind::TimedOut,
                                            format!(
                                                "WebSocket keep-alive: no answer to a ping within {timeout:?}"
                                            ),
                                        ),
                                    ))));
                                }
                            }
                        }
                    };
                    drop(ws);
                    if let (Some(beat), Some(Ok(_))) = (this.beat.as_mut(), &next) {
                        beat.seen();
                    }
                    match next {
                        None => {
                            this.state = ReadState::Done;
                            return Poll::Ready(None);
                        }
                        Some(Err(tungstenite::Error::Capacity(e))) => {
                            tracing::debug!("refusing a WebSocket message: {e}");
                            this.state = ReadState::refusing(CloseCode::Size, TOO_BIG);
                        }
                        Some(Err(e)) if close_code_for(&e).is_some() => {
                            // RFC 6455 §7.1.7: fail the connection with a Close frame first,
                            // so the peer learns why (not just 1006).
                            tracing::debug!("the peer broke the WebSocket protocol: {e}");
                            let (code, reason) =
                                close_code_for(&e).unwrap_or((CloseCode::Protocol, PROTOCOL_ERROR));
                            this.state = ReadState::refusing(code, reason);
                        }
                        Some(Err(e)) => {
                            this.state = ReadState::Done;
                            return match ws_err(e) {
                                TransportError::Closed => Poll::Ready(None),
                                other => Poll::Ready(Some(Err(other))),
                            };
                        }
                        Some(Ok(Message::Text(text))) => {
                            return Poll::Ready(Some(Ok(Bytes::from(text))));
                        }
                        Some(Ok(Message::Binary(_))) => {
                            tracing::debug!("refusing a binary WebSocket message");
                            this.state =
                                ReadState::refusing(CloseCode::Unsupported, BINARY_REFUSED);
                        }
                        Some(Ok(Message::Close(_))) => {
                            // tungstenite queued the close reply; the next poll sees the end.
                            continue;
                        }
                        // Pongs to pings are queued by tungstenite and written on the next poll.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                            this.liveness.beat();
                            continue;
                        }
                        Some(Ok(Message::Frame(_))) => continue,
                    }
                }
            }
        }
    }
}

/// The sending half of a [`WsTransport`]: each frame goes out as one text message.
pub struct WsSink<S> {
    ws: Shared<S>,
}

impl<S: WsStreamLike> Sink<Bytes> for WsSink<S> {
    type Error = TransportError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut *lock(&self.ws))
            .poll_ready(cx)
            .map_err(ws_err)
    }

    fn start_send(self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        let text = Utf8Bytes::try_from(frame).map_err(|_| {
            TransportError::Protocol("WebSocket: a frame to send is not UTF-8".into())
        })?;
        Pin::new(&mut *lock(&self.ws))
            .start_send(Message::Text(text))
            .map_err(ws_err)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut *lock(&self.ws))
            .poll_flush(cx)
            .map_err(ws_err)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match ready!(Pin::new(&mut *lock(&self.ws)).poll_close(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) => match ws_err(e) {
                TransportError::Closed => Poll::Ready(Ok(())),
                other => Poll::Ready(Err(other)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use futures::StreamExt;
    use std::task::Waker;
    use tungstenite::error::ProtocolError as P;

    /// A clock moved by hand: sleepers complete once it reaches their deadline.
    #[derive(Clone)]
    struct Manual(Arc<Mutex<(Instant, Vec<Waker>)>>);

    impl Manual {
        fn new() -> Self {
            Manual(Arc::new(Mutex::new((Instant::now(), Vec::new()))))
        }
        fn advance(&self, d: Duration) {
            let wakers = {
                let mut g = self.0.lock().unwrap();
                g.0 += d;
                std::mem::take(&mut g.1)
            };
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    impl Runtime for Manual {
        fn spawn(&self, _task: BoxFuture<'static, ()>) {}
        fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
            let clock = self.0.clone();
            Box::pin(futures::future::poll_fn(move |cx| {
                let mut g = clock.lock().unwrap();
                if g.0 >= deadline {
                    Poll::Ready(())
                } else {
                    g.1.push(cx.waker().clone());
                    Poll::Pending
                }
            }))
        }
        fn now(&self) -> Instant {
            self.0.lock().unwrap().0
        }
    }

    /// A WebSocket whose input the test feeds and whose output it reads.
    struct Fake {
        input: mpsc::UnboundedReceiver<Result<Message, tungstenite::Error>>,
        sent: Arc<Mutex<Vec<Message>>>,
    }

    impl Stream for Fake {
        type Item = Result<Message, tungstenite::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.input.poll_next_unpin(cx)
        }
    }

    impl Sink<Message> for Fake {
        type Error = tungstenite::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, m: Message) -> Result<(), Self::Error> {
            self.sent.lock().unwrap().push(m);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    type Input = mpsc::UnboundedSender<Result<Message, tungstenite::Error>>;
    type Sent = Arc<Mutex<Vec<Message>>>;

    fn keep_alive_stream() -> (WsStream<Fake>, Input, Sent, Manual, Liveness) {
        let (tx, input) = mpsc::unbounded();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let clock = Manual::new();
        let transport = WsTransport::from_stream(Fake {
            input,
            sent: sent.clone(),
        })
        .with_keep_alive(
            Some(
                WsKeepAlive::default()
                    .with_interval(Duration::from_secs(30))
                    .with_timeout(Duration::from_secs(20)),
            ),
            clock.clone(),
        );
        let liveness = transport.info().liveness.expect("counted");
        let (_sink, stream) = transport.split();
        (stream, tx, sent, clock, liveness)
    }

    fn pings(sent: &Mutex<Vec<Message>>) -> usize {
        let sent = sent.lock().unwrap();
        sent.iter()
            .filter(|m| matches!(m, Message::Ping(_)))
            .count()
    }

    #[test]
    fn silence_gets_a_ping_and_an_unanswered_ping_closes() {
        let (mut stream, _tx, sent, clock, _) = keep_alive_stream();
        assert!(stream.next().now_or_never().is_none());
        clock.advance(Duration::from_secs(29));
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pings(&sent), 0, "no ping before the interval");
        clock.advance(Duration::from_secs(1));
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pings(&sent), 1, "a ping after the interval");
        clock.advance(Duration::from_secs(20));
        match stream.next().now_or_never() {
            Some(Some(Err(TransportError::Io(e)))) => {
                assert_eq!(e.kind(), std::io::ErrorKind::TimedOut)
            }
            other => panic!("expected the keep-alive timeout, got {other:?}"),
        }
        let close = sent.lock().unwrap().last().cloned();
        match close {
            Some(Message::Close(Some(f))) => {
                assert_eq!(u16::from(f.code), 1001);
                assert_eq!(f.reason.as_str(), KEEP_ALIVE_TIMEOUT);
            }
            other => panic!("expected close 1001, got {other:?}"),
        }
        assert!(matches!(stream.next().now_or_never(), Some(None)));
    }

    #[test]
    fn any_frame_is_life() {
        let (mut stream, tx, sent, clock, liveness) = keep_alive_stream();
        assert!(stream.next().now_or_never().is_none());
        clock.advance(Duration::from_secs(30));
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pings(&sent), 1);
        // A pong within the timeout: no close; counted for the idle timeout.
        clock.advance(Duration::from_secs(19));
        tx.unbounded_send(Ok(Message::Pong(Bytes::new()))).unwrap();
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(liveness.beats(), 1);
        clock.advance(Duration::from_secs(20));
        assert!(stream.next().now_or_never().is_none(), "still open");
        // Data postpones the next ping: 29 s after the data, none yet.
        tx.unbounded_send(Ok(Message::text("{}"))).unwrap();
        assert!(matches!(stream.next().now_or_never(), Some(Some(Ok(_)))));
        clock.advance(Duration::from_secs(29));
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pings(&sent), 1);
        clock.advance(Duration::from_secs(1));
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pings(&sent), 2);
    }

    #[test]
    fn clients_read_in_larger_chunks_than_servers_with_the_same_limits() {
        let (server, client) = (ws_config(1 << 20), ws_client_config(1 << 20));
        assert_eq!(server.read_buffer_size, READ_BUFFER_SIZE);
        assert_eq!(client.read_buffer_size, CLIENT_READ_BUFFER_SIZE);
        for c in [server, client] {
            assert_eq!(c.max_message_size, Some(1 << 20));
            assert_eq!(c.max_frame_size, Some(1 << 20));
        }
    }

    #[test]
    fn protocol_errors_get_their_close_codes() {
        let code = |e| close_code_for(&e).map(|(c, _)| u16::from(c));
        assert_eq!(code(tungstenite::Error::Utf8(String::new())), Some(1007));
        for p in [
            P::NonZeroReservedBits,
            P::UnknownControlFrameType(11),
            P::UnknownDataFrameType(3),
            P::FragmentedControlFrame,
            P::ControlFrameTooBig,
            P::UnmaskedFrameFromClient,
            P::MaskedFrameFromServer,
            P::UnexpectedContinueFrame,
            P::InvalidCloseSequence,
        ] {
            assert_eq!(code(tungstenite::Error::Protocol(p)), Some(1002));
        }
        // Nothing to say to a peer that is gone or already closing.
        for p in [
            P::ResetWithoutClosingHandshake,
            P::ReceivedAfterClosing,
            P::SendAfterClosing,
        ] {
            assert_eq!(code(tungstenite::Error::Protocol(p)), None);
        }
        assert_eq!(code(tungstenite::Error::ConnectionClosed), None);
    }
}
