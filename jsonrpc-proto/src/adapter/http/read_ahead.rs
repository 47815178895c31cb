//! [`ReadAhead`]: larger reads under a reader that asks for little at a time.
//!
//! A server's WebSocket reads through a small buffer (`adapter::ws::READ_BUFFER_SIZE`, kept
//! small for idle connections), and tungstenite asks the socket for at most that much per read:
//! with 384 bytes a 5.5 KB batch took 15 reads, one system call each (`strace -c` of our server
//! under `compare profile ours batch 1000`: 16,919 `recvfrom` for 1,000 batches). Under
//! this wrapper a read that fills the caller's buffer is taken as the sign of a burst, and the
//! next read asks the socket for [`READ_AHEAD`] bytes at once, handed out from memory
//! afterwards. The room is held for the burst only: it goes when it is handed out (unless
//! that read filled it) and when the socket has nothing more, so an idle connection holds none.
//!
//! A room that goes is kept for the next burst of any connection on the same thread (at most
//! [`POOL_MAX`] per thread), not freed: a fresh one is 16 KiB to zero, and a batch of 100 is
//! one burst, so zeroing it was 174 of the server's 3,076 instructions per call (callgrind,
//! `bench/profile/server-ws.sh ours ours batch 200 20100`, nearly all of libc's `memset`).

use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper::rt::{Read, ReadBuf, ReadBufCursor};

/// How much one read ahead asks for: 16 KiB (held only while a burst is handed out).
pub const READ_AHEAD: usize = 16 * 1024;

/// A read straight through (no burst seen) asks for at most this much: the caller's buffer, up
/// to 1 KiB, read through the stack.
const DIRECT_MAX: usize = 1024;

/// Rooms kept per thread between bursts (64 KiB at most, whatever the number of connections).
const POOL_MAX: usize = 4;

thread_local! {
    static POOL: RefCell<Vec<Box<Ahead>>> = const { RefCell::new(Vec::new()) };
}

/// A room for a burst: one the thread kept, else a new one.
fn room() -> Box<Ahead> {
    let kept = POOL.try_with(|p| p.borrow_mut().pop()).ok().flatten();
    let mut a = kept.unwrap_or_else(|| {
        Box::new(Ahead {
            start: 0,
            end: 0,
            refill: false,
            buf: [0; READ_AHEAD],
        })
    });
    a.start = 0;
    a.end = 0;
    a.refill = false;
    a
}

/// Keeps `a` for the thread's next burst, unless the thread keeps enough already.
fn keep(a: Box<Ahead>) {
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX {
            p.push(a);
        }
    });
}

/// How many rooms this thread keeps for its next bursts.
#[cfg(test)]
fn kept() -> usize {
    POOL.with(|p| p.borrow().len())
}

/// `inner`, read ahead in bursts (see the module docs); writes go straight through.
#[derive(Debug)]
pub struct ReadAhead<I> {
    inner: I,
    /// `Some` during a burst (a read filled what it asked for: more is likely waiting), with
    /// the room to read ahead into. One pointer: the wrapper lives in every connection's task,
    /// idle ones too.
    ahead: Option<Box<Ahead>>,
}

#[derive(Debug)]
struct Ahead {
    /// `buf[start..end]`: read ahead, not handed out yet.
    start: usize,
    end: usize,
    /// The last read ahead filled `buf`: the burst goes on once it is handed out.
    refill: bool,
    buf: [u8; READ_AHEAD],
}

impl<I> ReadAhead<I> {
    /// `inner`, with nothing read ahead yet.
    pub fn new(inner: I) -> Self {
        ReadAhead { inner, ahead: None }
    }

    /// The bytes read ahead and not handed out yet.
    pub fn buffered(&self) -> usize {
        self.ahead.as_ref().map_or(0, |a| a.end - a.start)
    }

    /// Ends the burst: the room goes back to the thread's pool.
    fn release(&mut self) {
        if let Some(a) = self.ahead.take() {
            keep(a);
        }
    }

    /// The room held for reading ahead (zero between bursts).
    pub fn capacity(&self) -> usize {
        if self.ahead.is_some() {
            READ_AHEAD
        } else {
            0
        }
    }

    /// Hands out what was read ahead; the room goes once it is empty, unless the burst goes on.
    fn hand_out(&mut self, out: &mut ReadBufCursor<'_>) {
        let Some(a) = self.ahead.as_mut() else {
            return;
        };
        let n = (a.end - a.start).min(out.remaining());
        out.put_slice(&a.buf[a.start..a.start + n]);
        a.start += n;
        if a.start == a.end {
            if a.refill {
                a.start = 0;
                a.end = 0;
            } else {
                self.release();
            }
        }
    }
}

impl<I> Drop for ReadAhead<I> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<I: Read + Unpin> Read for ReadAhead<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut out: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.buffered() > 0 {
            this.hand_out(&mut out);
            return Poll::Ready(Ok(()));
        }
        if out.remaining() >= READ_AHEAD {
            // Asks for as much as a read ahead would: nothing to gain from a copy.
            this.release();
            return Pin::new(&mut this.inner).poll_read(cx, out);
        }
        let Some(a) = this.ahead.as_mut() else {
            // Uninitialized: `filled` gives only what the read wrote, and nothing is zeroed.
            let mut stack = [MaybeUninit::<u8>::uninit(); DIRECT_MAX];
            let want = out.remaining().min(DIRECT_MAX);
            let mut rb = ReadBuf::uninit(&mut stack[..want]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, rb.unfilled()))?;
            let got = rb.filled();
            out.put_slice(got);
            if got.len() == want {
                // A burst: the next read reads ahead.
                this.ahead = Some(room());
            }
            return Poll::Ready(Ok(()));
        };
        let mut rb = ReadBuf::new(&mut a.buf);
        match Pin::new(&mut this.inner).poll_read(cx, rb.unfilled()) {
            Poll::Pending => {
                // The burst is over: the room goes until the next one.
                this.release();
                Poll::Pending
            }
            Poll::Ready(Err(e)) => {
                this.release();
                Poll::Ready(Err(e))
            }
            Poll::Ready(Ok(())) => {
                let got = rb.filled().len();
                if got == 0 {
                    // End of input: nothing to hand out, nothing to keep.
                    this.release();
                    return Poll::Ready(Ok(()));
                }
                a.start = 0;
                a.end = got;
                a.refill = got == READ_AHEAD;
                this.hand_out(&mut out);
                Poll::Ready(Ok(()))
            }
        }
    }
}

forward_write_to_inner!(ReadAhead);

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::task::Waker;

    use proptest::prelude::*;

    use super::*;

    /// A scripted socket: each step is one read's worth of data that has arrived (a read takes
    /// at most what the caller asks for and leaves the rest for the next), or a `Pending` gap.
    #[derive(Clone, Default)]
    struct Script(Arc<Mutex<Inner>>);

    #[derive(Default)]
    struct Inner {
        steps: VecDeque<Option<Vec<u8>>>,
        reads: usize,
    }

    impl Script {
        fn new(steps: Vec<Option<Vec<u8>>>) -> Self {
            Script(Arc::new(Mutex::new(Inner {
                steps: steps.into(),
                reads: 0,
            })))
        }
        fn reads(&self) -> usize {
            self.0.lock().unwrap().reads
        }
    }

    impl Read for Script {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            mut buf: ReadBufCursor<'_>,
        ) -> Poll<io::Result<()>> {
            let mut s = self.0.lock().unwrap();
            s.reads += 1;
            match s.steps.pop_front() {
                None => Poll::Ready(Ok(())),
                Some(None) => Poll::Pending,
                Some(Some(mut data)) => {
                    let n = data.len().min(buf.remaining());
                    buf.put_slice(&data[..n]);
                    if n < data.len() {
                        let rest = data.split_off(n);
                        s.steps.push_front(Some(rest));
                    }
                    Poll::Ready(Ok(()))
                }
            }
        }
    }

    /// Reads `r` as tungstenite does (at most `chunk` bytes per read) until the end of input;
    /// gives the bytes, and the capacity held at each `Pending`.
    fn drain(r: &mut ReadAhead<Script>, chunk: usize) -> (Vec<u8>, Vec<usize>) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut got = Vec::new();
        let mut held = Vec::new();
        loop {
            let mut space = vec![0u8; chunk];
            let mut rb = ReadBuf::new(&mut space);
            match Pin::new(&mut *r).poll_read(&mut cx, rb.unfilled()) {
                Poll::Pending => held.push(r.capacity()),
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        return (got, held);
                    }
                    got.extend_from_slice(rb.filled());
                }
                Poll::Ready(Err(e)) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_burst_takes_three_reads_not_one_per_small_buffer() {
        let batch: Vec<u8> = (0..5_500).map(|i| (i % 251) as u8).collect();
        let script = Script::new(vec![Some(batch.clone()), None]);
        let mut r = ReadAhead::new(script.clone());
        let (got, held) = drain(&mut r, 384);
        assert_eq!(got, batch);
        // 384 straight through, the other 5,116 at once, the Pending, the end of input.
        assert_eq!(script.reads(), 4);
        assert_eq!(held, vec![0], "nothing held while the socket has nothing");
        assert_eq!(r.capacity(), 0);
    }

    #[test]
    fn small_reads_go_straight_through_and_hold_nothing() {
        let steps = vec![
            Some(b"{\"a\":1}".to_vec()),
            None,
            Some(b"[1]".to_vec()),
            None,
        ];
        let script = Script::new(steps);
        let mut r = ReadAhead::new(script.clone());
        let (got, held) = drain(&mut r, 384);
        assert_eq!(got, b"{\"a\":1}[1]");
        assert_eq!(script.reads(), 5);
        assert_eq!(held, vec![0, 0]);
    }

    #[test]
    fn a_long_burst_keeps_its_room_until_the_socket_runs_dry() {
        let big: Vec<u8> = (0..100_000).map(|i| (i % 253) as u8).collect();
        let script = Script::new(vec![Some(big.clone()), None]);
        let mut r = ReadAhead::new(script.clone());
        let (got, held) = drain(&mut r, 384);
        assert_eq!(got, big);
        // 384, then ceil(99,616 / 16,384) = 7 reads ahead, the Pending, the end.
        assert_eq!(script.reads(), 1 + 7 + 2);
        assert_eq!(held, vec![0]);
    }

    #[test]
    fn a_large_caller_buffer_reads_straight_through() {
        let big = vec![7u8; 40_000];
        let script = Script::new(vec![Some(big.clone())]);
        let mut r = ReadAhead::new(script.clone());
        let (got, _) = drain(&mut r, READ_AHEAD);
        assert_eq!(got, big);
        assert_eq!(script.reads(), 4);
        assert_eq!(r.capacity(), 0);
    }

    #[test]
    fn an_error_ends_the_burst_and_frees_the_room() {
        struct Failing(usize);
        impl Read for Failing {
            fn poll_read(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
                mut buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                self.0 += 1;
                if self.0 == 1 {
                    let n = buf.remaining();
                    buf.put_slice(&vec![1u8; n]);
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Err(io::Error::from(io::ErrorKind::ConnectionReset)))
            }
        }
        let mut r = ReadAhead::new(Failing(0));
        let mut cx = Context::from_waker(Waker::noop());
        let mut space = [0u8; 384];
        let mut rb = ReadBuf::new(&mut space);
        assert!(matches!(
            Pin::new(&mut r).poll_read(&mut cx, rb.unfilled()),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(rb.filled().len(), 384);
        let mut rb = ReadBuf::new(&mut space);
        match Pin::new(&mut r).poll_read(&mut cx, rb.unfilled()) {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.capacity(), 0);
    }

    #[test]
    fn a_room_that_goes_is_kept_for_the_next_burst_and_the_pool_is_bounded() {
        let batch = vec![3u8; 5_500];
        // Each burst ends at a `Pending`: the room goes back to this thread's pool.
        let before = kept();
        let script = Script::new(vec![Some(batch.clone()), None]);
        let mut r = ReadAhead::new(script);
        let (got, _) = drain(&mut r, 384);
        assert_eq!(got, batch);
        let after_one = kept();
        assert!((1..=POOL_MAX).contains(&after_one));
        assert!(after_one >= before.min(POOL_MAX));
        // A second connection's burst takes the kept room (stale bytes never come out) and
        // gives it back.
        let other: Vec<u8> = (0..5_500).map(|i| (i % 7) as u8).collect();
        let script = Script::new(vec![Some(other.clone()), None]);
        let mut r2 = ReadAhead::new(script);
        let (got, _) = drain(&mut r2, 384);
        assert_eq!(got, other);
        assert_eq!(kept(), after_one);
        // Many connections mid-burst at once, all dropped: the pool keeps at most POOL_MAX.
        let mut cx = Context::from_waker(Waker::noop());
        let mut many = Vec::new();
        for _ in 0..POOL_MAX * 3 {
            let mut r = ReadAhead::new(Script::new(vec![Some(vec![1u8; 5_000]), None]));
            let mut space = [0u8; 384];
            let mut rb = ReadBuf::new(&mut space);
            assert!(Pin::new(&mut r)
                .poll_read(&mut cx, rb.unfilled())
                .is_ready());
            assert_eq!(r.capacity(), READ_AHEAD, "mid-burst: the room is held");
            many.push(r);
        }
        drop(many);
        assert_eq!(kept(), POOL_MAX);
    }

    proptest! {
        /// Whatever the arrival pattern and the caller's buffer, the bytes come out unchanged,
        /// in order, and no room is held while the socket has nothing.
        #[test]
        fn bytes_come_out_as_they_went_in(
            arrivals in proptest::collection::vec(
                prop_oneof![
                    3 => proptest::collection::vec(any::<u8>(), 1..40_000).prop_map(Some),
                    1 => Just(None),
                ],
                0..12,
            ),
            chunk in 1usize..20_000,
        ) {
            let expected: Vec<u8> = arrivals.iter().flatten().flatten().copied().collect();
            let gaps = arrivals.iter().filter(|a| a.is_none()).count();
            let script = Script::new(arrivals);
            let mut r = ReadAhead::new(script);
            let (got, held) = drain(&mut r, chunk);
            prop_assert_eq!(got, expected);
            prop_assert_eq!(held.len(), gaps);
            prop_assert!(held.iter().all(|&c| c == 0));
            prop_assert_eq!(r.capacity(), 0);
        }
    }
}
