//! HTTP/2 next to HTTP/1.1 on one port: what both adapters' servers share around hyper-util's
//! version-detecting connection builder. The builder reads the first bytes of a connection to
//! tell the HTTP/2 preface (h2c with prior knowledge, or h2 after ALPN) from an HTTP/1.1
//! request; [`PrefaceDeadline`] bounds that read, as HTTP/1.1's header read timeout bounds the
//! request head (a client that connects and sends nothing is closed). The HTTP/2 defaults are
//! here too.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::rt::{Read, ReadBuf, ReadBufCursor, Sleep, Timer};

/// The default number of HTTP/2 streams (calls) one connection may have open at once: 128.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 128;

/// The default largest HTTP/2 request header list (decoded names and values): 64 KiB.
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 64 * 1024;

/// How often an HTTP/2 connection is pinged to detect a dead peer: 30 s; one that does not
/// answer within [`H2_KEEP_ALIVE_TIMEOUT`] is closed.
pub const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// How long an HTTP/2 ping may go unanswered: 20 s.
pub const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The length of the HTTP/2 client preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`): the bytes the
/// version detection reads at most.
const PREFACE_LEN: usize = 24;

/// A connection's IO whose first `PREFACE_LEN` (24) bytes must arrive within a deadline: a read
/// still waiting for them when it passes fails with `TimedOut` (the connection is closed).
/// After them, reads and writes go straight through.
pub struct PrefaceDeadline<I> {
    inner: I,
    remaining: usize,
    sleep: Option<Pin<Box<dyn Sleep>>>,
}

impl<I> PrefaceDeadline<I> {
    /// Wraps `inner`; `timeout` `None` sets no deadline.
    pub fn new(inner: I, timeout: Option<Duration>, timer: &impl Timer) -> Self {
        PrefaceDeadline {
            inner,
            remaining: PREFACE_LEN,
            sleep: timeout.map(|t| timer.sleep(t)),
        }
    }
}

impl<I: Read + Unpin> Read for PrefaceDeadline<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.remaining == 0 || this.sleep.is_none() {
            this.sleep = None;
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut scratch = [0u8; PREFACE_LEN];
        let len = this.remaining.min(buf.remaining());
        let mut small = ReadBuf::new(&mut scratch[..len]);
        match Pin::new(&mut this.inner).poll_read(cx, small.unfilled()) {
            Poll::Ready(Ok(())) => {
                let got = small.filled();
                this.remaining -= got.len();
                buf.put_slice(got);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP request or HTTP/2 preface within the header read timeout",
                ))),
                _ => Poll::Pending,
            },
        }
    }
}

forward_write_to_inner!(PrefaceDeadline);
