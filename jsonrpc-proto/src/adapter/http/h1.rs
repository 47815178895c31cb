//! The HTTP/1.1 connection loop both adapters run before hyper: [`serve_http1`] drives the
//! sans-IO [`ServerConn`](crate::http1::ServerConn) over hyper's IO and timer traits and
//! serves JSON-RPC POSTs at `/` (and their rejections) itself, with the same answers as
//! [`HttpService::handle`]. Every other request (another path, `/health`, `/metrics`, a
//! WebSocket or any other upgrade) and the HTTP/2 preface (h2c with prior knowledge) hand the
//! connection back, with the bytes already read replayed first ([`Rewind`]), for hyper to
//! serve from there.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use hyper::rt::{Read, ReadBuf, ReadBufCursor, Sleep, Timer, Write};

use crate::peer::{HeaderSource, Headers, HttpScratch, TransportKind};
use crate::protocol::http::{Decision, Rejection, JSON_CONTENT_TYPE, RPC_PATH};
use crate::protocol::http1::{Event, Head, Http1Limits, ResponseHead, ServerConn};

use super::server::{ConnInfo, HttpService};

/// The HTTP/2 client preface: a connection starting with it is handed to hyper.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How [`serve_http1`] ended.
pub enum Http1Outcome<I> {
    /// The connection is over (closed by either side, or a timeout, or shutdown).
    Closed,
    /// Hand the connection to hyper: a request this loop does not serve, or HTTP/2. The IO
    /// replays the bytes already read before reading on.
    HandOff(Rewind<I>),
}

impl<I> std::fmt::Debug for Http1Outcome<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Http1Outcome::Closed => f.write_str("Closed"),
            Http1Outcome::HandOff(_) => f.write_str("HandOff"),
        }
    }
}

/// What [`serve_http1`] needs besides the IO.
pub struct Http1Serve<'a, T, S> {
    /// The service whose answers are given (its server, limits, body read timeout).
    pub service: &'a HttpService,
    /// The connection's addresses and TLS.
    pub conn: &'a ConnInfo,
    /// The runtime's timer (hyper's trait).
    pub timer: &'a T,
    /// The time a client has to send a request head, from the moment the connection waits
    /// for one (`None`: no limit). Then the connection is closed.
    pub header_read_timeout: Option<Duration>,
    /// Completes when the server shuts down gracefully: an idle connection closes at once, a
    /// request under way is answered (with `connection: close`) first.
    pub shutdown: S,
    /// True once the server shuts down (the same signal as `shutdown`, read without polling).
    pub shutting_down: &'a (dyn Fn() -> bool + Send + Sync),
}

/// Serves HTTP/1.1 JSON-RPC POSTs on `io` until the connection ends or a request needs hyper:
/// one for another path than `/`, with an `Upgrade` header, or the HTTP/2 preface ends the loop
/// with [`Http1Outcome::HandOff`]. Every answer is the one [`HttpService::handle`] gives on the
/// same request: rejections (405, 415, 413, 400 for the Host and framing rules, 503 while
/// shutting down), 408 and close when a body is slower than the body read timeout, 200 with
/// the JSON answer or 204. Requests pipelined behind one another are answered in order.
pub async fn serve_http1<I, T, S>(io: I, serve: Http1Serve<'_, T, S>) -> io::Result<Http1Outcome<I>>
where
    I: Read + Write + Unpin,
    T: Timer,
    S: Future<Output = ()>,
{
    // Counted in the metrics' connection gauge while the codec serves it; a connection handed
    // off is counted again by hyper's service (`HttpService::connection`).
    let gauge = serve.service.connection_gauge();
    let outcome = serve_codec(io, serve).await;
    drop(gauge);
    outcome
}

async fn serve_codec<I, T, S>(io: I, serve: Http1Serve<'_, T, S>) -> io::Result<Http1Outcome<I>>
where
    I: Read + Write + Unpin,
    T: Timer,
    S: Future<Output = ()>,
{
    let Http1Serve {
        service,
        conn: conn_info,
        timer,
        header_read_timeout,
        shutdown,
        shutting_down,
    } = serve;
    let mut io = io;
    let mut conn = ServerConn::new(Http1Limits::from_limits(service.limits()));
    let mut clock = Deadline::default();
    futures::pin_mut!(shutdown);
    let mut stopping = false;
    let mut served = 0u64;
    let mut scratch = HttpScratch::default();
    loop {
        if served == 0 {
            // The first bytes may be the HTTP/2 preface: hyper serves that.
            let b = conn.buffered();
            if b.len() >= H2_PREFACE.len() && b.starts_with(H2_PREFACE) {
                return Ok(Http1Outcome::HandOff(Rewind::new(
                    io,
                    Bytes::copy_from_slice(b),
                )));
            }
            if !b.is_empty() && b.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(b) {
                match read_head_bytes(
                    &mut io,
                    &mut conn,
                    timer,
                    &mut clock,
                    header_read_timeout,
                    shutdown.as_mut(),
                    &mut stopping,
                )
                .await?
                {
                    true => continue,
                    false => return Ok(Http1Outcome::Closed),
                }
            }
        }
        match conn.poll_event() {
            Event::NeedData => {
                flush(&mut io, &mut conn).await?;
                if stopping && conn.is_idle() {
                    return finish(io, conn).await;
                }
                if !read_head_bytes(
                    &mut io,
                    &mut conn,
                    timer,
                    &mut clock,
                    header_read_timeout,
                    shutdown.as_mut(),
                    &mut stopping,
                )
                .await?
                {
                    return Ok(Http1Outcome::Closed);
                }
            }
            Event::Head(head) => {
                clock.clear();
                let path = head.path();
                if (path != RPC_PATH && !path.is_empty()) || head.has_upgrade() {
                    flush(&mut io, &mut conn).await?;
                    // The input as it came: the head, the body that came with it, the rest.
                    let mut replay = BytesMut::from(head.as_bytes());
                    for part in conn.unread() {
                        replay.extend_from_slice(part);
                    }
                    return Ok(Http1Outcome::HandOff(Rewind::new(io, replay.freeze())));
                }
                served += 1;
                let decision = head.decide(service.limits());
                let answer = match decision {
                    Decision::Rpc if shutting_down() => Answer::Reject(Rejection::SHUTTING_DOWN),
                    Decision::Rpc => {
                        match read_body(&mut io, &mut conn, timer, service.body_read_timeout())
                            .await?
                        {
                            Body::Complete(body) => {
                                let mut info = conn_info.transport_info(TransportKind::Http);
                                info.path = Some(head.path().to_owned());
                                info.headers = Headers::from_source(HeadHeaders(head));
                                match service
                                    .server()
                                    .handle_http_in(body, info, &mut scratch)
                                    .await
                                {
                                    Some(json) => Answer::Json(json),
                                    None => Answer::NoContent,
                                }
                            }
                            Body::Rejected(r) => {
                                if r == Rejection::BODY_TIMEOUT {
                                    tracing::debug!(peer = ?conn_info.peer, "request body too slow: 408");
                                }
                                Answer::Reject(r)
                            }
                            Body::Closed => return Ok(Http1Outcome::Closed),
                        }
                    }
                    Decision::Reject(r) => Answer::Reject(r),
                    // Not given for `/`; served by hyper if it ever were.
                    Decision::Health | Decision::WebSocket => Answer::Reject(Rejection::NOT_FOUND),
                };
                if stopping || shutting_down() {
                    stopping = true;
                    conn.close_after_current();
                }
                let now = unix_secs();
                match answer {
                    Answer::Json(json) => conn.write_response(
                        &ResponseHead::new(200).with_content_type(Some(JSON_CONTENT_TYPE)),
                        &json,
                        now,
                    ),
                    Answer::NoContent => conn.write_response(&ResponseHead::new(204), b"", now),
                    Answer::Reject(r) => conn.write_rejection(&r, now),
                }
            }
            Event::Error(r) => conn.write_rejection(&r, unix_secs()),
            Event::Closed => return finish(io, conn).await,
            // Bodies are read by `read_body`; a request is always answered before the next
            // event. Nothing else to do but close.
            Event::Data(_) | Event::End | Event::Paused => return finish(io, conn).await,
        }
    }
}

enum Answer {
    Json(Bytes),
    NoContent,
    Reject(Rejection),
}

enum Body {
    Complete(Bytes),
    Rejected(Rejection),
    /// The peer went away (or the IO failed) while the body was read.
    Closed,
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes out what is left and shuts the write side.
async fn finish<I: Write + Unpin>(mut io: I, mut conn: ServerConn) -> io::Result<Http1Outcome<I>> {
    flush(&mut io, &mut conn).await?;
    let _ = std::future::poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await;
    Ok(Http1Outcome::Closed)
}

async fn flush<I: Write + Unpin>(io: &mut I, conn: &mut ServerConn) -> io::Result<()> {
    if conn.transmit().is_empty() {
        return Ok(());
    }
    while !conn.transmit().is_empty() {
        let n =
            std::future::poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, conn.transmit())).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        conn.consume_transmit(n);
    }
    std::future::poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await
}

fn poll_read_into<I: Read + Unpin>(
    io: &mut I,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut rb = ReadBuf::new(buf);
    match Pin::new(io).poll_read(cx, rb.unfilled()) {
        Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

/// Reads more of a request head (or the HTTP/2 preface). `false`: close the connection (the
/// header read timeout passed, or the server stops and the connection is idle, or the IO
/// failed).
async fn read_head_bytes<I, T, S>(
    io: &mut I,
    conn: &mut ServerConn,
    timer: &T,
    clock: &mut Deadline,
    timeout: Option<Duration>,
    mut shutdown: Pin<&mut S>,
    stopping: &mut bool,
) -> io::Result<bool>
where
    I: Read + Unpin,
    T: Timer,
    S: Future<Output = ()>,
{
    if let Some(t) = timeout {
        clock.start(timer, t);
    }
    let read = std::future::poll_fn(|cx| {
        if !*stopping && shutdown.as_mut().poll(cx).is_ready() {
            *stopping = true;
        }
        if *stopping && conn.is_idle() {
            return Poll::Ready(Ok(None));
        }
        if let Poll::Ready(r) = poll_read_into(io, cx, conn.read_buf()) {
            return Poll::Ready(r.map(Some));
        }
        if clock.poll_expired(timer, cx) {
            return Poll::Ready(Ok(None));
        }
        Poll::Pending
    })
    .await;
    match read {
        Ok(Some(0)) => {
            conn.eof();
            Ok(true)
        }
        Ok(Some(n)) => {
            conn.filled(n);
            Ok(true)
        }
        Ok(None) => Ok(false),
        // A reset between requests is how many clients leave.
        Err(e) if conn.is_idle() => {
            tracing::trace!("HTTP/1 connection ended: {e}");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Reads the current request's body to its end, within the body read timeout (counted from
/// the first read that has to wait; a body that came with its head costs no timer).
async fn read_body<I, T>(
    io: &mut I,
    conn: &mut ServerConn,
    timer: &T,
    timeout: Option<Duration>,
) -> io::Result<Body>
where
    I: Read + Write + Unpin,
    T: Timer,
{
    let mut first: Option<Bytes> = None;
    let mut more: Option<BytesMut> = None;
    let mut sleep: Option<Pin<Box<dyn Sleep>>> = None;
    loop {
        match conn.poll_event() {
            Event::Data(piece) => match (&first, &mut more) {
                (None, _) => first = Some(piece),
                (Some(f), None) => {
                    let mut buf = BytesMut::with_capacity(f.len() + piece.len());
                    buf.extend_from_slice(f);
                    buf.extend_from_slice(&piece);
                    more = Some(buf);
                }
                (Some(_), Some(buf)) => buf.extend_from_slice(&piece),
            },
            Event::End => {
                return Ok(Body::Complete(match (first, more) {
                    (_, Some(buf)) => buf.freeze(),
                    (Some(f), None) => f,
                    (None, None) => Bytes::new(),
                }))
            }
            Event::Error(r) => return Ok(Body::Rejected(r)),
            Event::NeedData => {
                // A `100 Continue` may be waiting.
                if flush(io, conn).await.is_err() {
                    return Ok(Body::Closed);
                }
                if sleep.is_none() {
                    sleep = timeout.map(|t| timer.sleep(t));
                }
                let read = std::future::poll_fn(|cx| {
                    if let Poll::Ready(r) = poll_read_into(io, cx, conn.read_buf()) {
                        return Poll::Ready(r.map(Some));
                    }
                    match sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
                        Some(Poll::Ready(())) => Poll::Ready(Ok(None)),
                        _ => Poll::Pending,
                    }
                })
                .await;
                match read {
                    Ok(Some(0)) => conn.eof(),
                    Ok(Some(n)) => conn.filled(n),
                    Ok(None) => return Ok(Body::Rejected(Rejection::BODY_TIMEOUT)),
                    Err(e) => {
                        tracing::debug!("reading a request body failed: {e}");
                        return Ok(Body::Closed);
                    }
                }
            }
            Event::Head(_) | Event::Paused | Event::Closed => return Ok(Body::Closed),
        }
    }
}

/// The header read deadline: one runtime timer for the connection, armed at the first
/// deadline and moved on lazily (a request answered before its deadline costs no timer
/// operation; see [`ConnTimer`](super::ConnTimer)).
#[derive(Default)]
struct Deadline {
    /// The deadline of the head being read, if one is.
    at: Option<Instant>,
    sleep: Option<(Pin<Box<dyn Sleep>>, Instant)>,
}

impl Deadline {
    fn start<T: Timer>(&mut self, timer: &T, timeout: Duration) {
        if self.at.is_none() {
            self.at = Some(timer.now() + timeout);
        }
    }

    fn clear(&mut self) {
        self.at = None;
    }

    /// True once the deadline has passed.
    fn poll_expired<T: Timer>(&mut self, timer: &T, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.at else {
            return false;
        };
        loop {
            match &mut self.sleep {
                None => self.sleep = Some((timer.sleep_until(at), at)),
                Some((sleep, armed)) if *armed > at => {
                    timer.reset(sleep, at);
                    *armed = at;
                }
                Some((sleep, armed)) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return false,
                    Poll::Ready(()) if *armed == at => return true,
                    Poll::Ready(()) => {
                        timer.reset(sleep, at);
                        *armed = at;
                    }
                },
            }
        }
    }
}

/// A request head moved into its [`TransportInfo`](crate::peer::TransportInfo): read in place.
struct HeadHeaders(Head);

impl HeaderSource for HeadHeaders {
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.0.header(name)
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (name, value) in self.0.headers() {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            f(&name, value);
        }
    }
}

/// An IO that first replays bytes already read from it, then reads on: how a connection
/// started by [`serve_http1`] is handed to hyper.
pub struct Rewind<I> {
    pre: Bytes,
    inner: I,
}

impl<I> Rewind<I> {
    /// `inner`, with `pre` read first.
    pub fn new(inner: I, pre: Bytes) -> Self {
        Rewind { pre, inner }
    }
}

impl<I: Read + Unpin> Read for Rewind<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.pre.is_empty() {
            let n = this.pre.len().min(buf.remaining());
            buf.put_slice(&this.pre.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

forward_write_to_inner!(Rewind);
