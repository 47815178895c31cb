//! The task that drives one connection: moves frames between the transport and the
//! [`Connection`], runs handlers concurrently, enforces handler deadlines, and delivers
//! answers to waiting callers.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskCx, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::{AbortHandle, Abortable, Aborted, BoxFuture, FutureExt};
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use futures::{Sink, SinkExt};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::protocol::connection::{push_lean, Call, Event, IncomingRequest, ResponseHandle};
use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::protocol::message::{Notification, Request};

use super::context::Context;
use super::dispatch::{panicked, Answer, CallResult, Dispatch, Reply};
use super::registry::Registry;

mod at_once;
mod slots;

use super::shared::{PeerShared, CANCEL_METHOD};
use super::TransportError;
pub(crate) use slots::cap_response;
use slots::{Guarded, Running, Slots, Work};

/// Frames queued for the transport beyond which the driver stops reading input and stops
/// taking server pushes.
const OUTBOX_HIGH: usize = 256;

/// After answers were recorded: takes the frames they produced into the outgoing queue,
/// releases the lock, wakes whom the answers concerned; gives the calls still in flight.
fn after_answers(
    mut inner: MutexGuard<'_, super::shared::Inner>,
    outbox: &mut VecDeque<Bytes>,
    wake: &mut Vec<Waker>,
) -> usize {
    while let Some(frame) = inner.conn.poll_transmit() {
        push_lean(outbox, frame);
    }
    let in_flight = inner.conn.in_flight();
    drop(inner);
    for w in wake.drain(..) {
        w.wake();
    }
    in_flight
}

/// What goes out before answers that are about to be recorded: pushes the handlers made before
/// they returned (as many as the outgoing queue has room for), then the frames the connection
/// queued earlier (this side's own calls).
fn before_answers(
    inner: &mut super::shared::Inner,
    outbox: &mut VecDeque<Bytes>,
    local_out: &mut VecDeque<Bytes>,
) {
    while outbox.len() < OUTBOX_HIGH {
        match inner.pushes.pop_front() {
            Some(frame) => push_lean(outbox, frame),
            None => break,
        }
    }
    while let Some(frame) = inner.conn.poll_transmit() {
        push_lean(local_out, frame);
    }
}
/// Frames read in one go before answers get their turn again.
const READ_BUDGET: usize = 64;
/// The same on a connection that serves: after this many calls read from one burst of input,
/// their answers are written before the rest of the burst is read. A peer with many calls in
/// flight then works on the first answers while this side works on its later calls, instead
/// of both sides taking turns at bursts of 64 (wrk-style pipelining of a 64-in-flight
/// WebSocket client: ~2x the calls per second on a 2-core machine, one more write per 16
/// calls).
const SERVE_READ_BUDGET: usize = 16;
/// Loop turns before the driver yields to the executor.
const TURN_BUDGET: usize = 128;
/// How long a connection stays quiet (nothing in flight either way) before it gives back the
/// room of its empty queues and tables: an idle connection then keeps only what it holds,
/// while one that is called again within this time reuses what it has.
const IDLE_RELEASE_AFTER: Duration = Duration::from_millis(100);
/// How long a closing connection may take to flush its last frames.
const CLOSE_FLUSH_LIMIT: Duration = Duration::from_secs(5);

/// What a connection serves, when it serves anything.
pub(crate) struct Serving {
    pub(crate) dispatch: Arc<dyn Dispatch>,
    pub(crate) ctx: Context,
    pub(crate) timeout: Option<Duration>,
    pub(crate) server: Option<Arc<Registry>>,
    pub(crate) shutdown_grace: Duration,
    /// Run each call's handler on a task of its own (`ServerConfig::spawn_calls`).
    pub(crate) spawn_calls: bool,
}

/// Why a serving byte stream (TCP, Unix socket, stdio) can no longer be read, told to the
/// peer before it closes: a frame over the limit, or framing that cannot be followed (a bad
/// Content-Length header). `None` for other failures, and for WebSocket and HTTP, whose
/// layers answer in their own protocol (a Close frame, a status).
fn unreadable(serving: &Serving, e: &TransportError) -> Option<String> {
    use super::TransportKind::{Stdio, Tcp, Unix};
    match e {
        TransportError::FrameTooLarge { limit, .. } => {
            Some(format!("a frame over the limit of {limit} bytes"))
        }
        TransportError::Protocol(why)
            if matches!(serving.ctx.transport().kind, Tcp | Stdio | Unix) =>
        {
            Some(format!("unreadable framing ({why})"))
        }
        _ => None,
    }
}

enum Read {
    More(bool),
    /// The peer ended its input cleanly (end of stream; for TCP a half-close).
    Ended,
    /// The transport failed: nothing more can be read, and likely nothing written.
    Failed,
    /// Nothing more can be read, and the answer saying why is queued: flush, then close.
    Unreadable,
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum State {
    Open,
    /// Server shutdown, or the peer ended its input: no new input; in-flight calls finish
    /// (until the grace deadline on shutdown), their answers are flushed, then the connection
    /// closes.
    Draining,
    /// Flushing the last frames, then closing the sink.
    Closing,
}

pub(crate) struct Driver<Si, St> {
    shared: Arc<PeerShared>,
    /// Shared with callers of a client ([`PeerShared::send_queued`]); emptied when the
    /// connection ends, so that handles kept by the application do not keep the socket open.
    sink: Arc<Mutex<SinkSlot<Si>>>,
    stream: St,
    /// Answers and server pushes: written first; input is not read while this is long.
    outbox: VecDeque<Bytes>,
    /// Calls and notifications this side makes (bounded by `max_pending` for calls): written
    /// after answers, never a reason to stop reading (that could deadlock two peers that both
    /// send a lot).
    local_out: VecDeque<Bytes>,
    flush_needed: bool,
    serving: Option<Serving>,
    /// Handlers that did not finish at once and notification handlers; allocated for the
    /// first, given back when a quiet connection has none (a connection whose handlers all
    /// answer at once never pays for it, and an idle one keeps only this pointer).
    handlers: Option<Box<Handlers>>,
    timer: Option<(Instant, BoxFuture<'static, ()>)>,
    state: State,
    deadline: Option<Instant>,
    in_flight: usize,
    max_in_flight: usize,
    conn_timeout: Option<Instant>,
    events: Vec<Event>,
    answers: Vec<(ResponseHandle, CallResult)>,
    wake: Vec<Waker>,
    finished: bool,
    /// Server side: close the connection after this long without a frame in either direction
    /// while nothing is in flight (`ServerConfig::idle_timeout`).
    idle_timeout: Option<Duration>,
    /// When a frame was last read or written.
    last_activity: Instant,
    /// Signs of life without frames (WebSocket pings and pongs) and the count last seen:
    /// a change counts as activity for the idle timeout.
    liveness: Option<(super::Liveness, u64)>,
    /// Outgoing calls of this side awaiting answers (keeps an idle connection open).
    pending_out: usize,
    /// Server side: the largest result sent (`ServerConfig::max_response_size`).
    max_response: usize,
    /// Client side: a subscription's buffer is full; reading waits for its consumer.
    read_paused: Arc<AtomicBool>,
    /// Queues or tables may hold room since the connection was last quiet long enough
    /// ([`IDLE_RELEASE_AFTER`]).
    may_release: bool,
    /// Client side: callers woken with their answers by the last read that got any frame,
    /// unless the driver wrote this side's calls since; each of them is likely to make its
    /// next call at once ([`Driver::hold_calls`]).
    woken_by_read: usize,
    /// The last poll held this side's calls back for one turn of the executor.
    held_calls: bool,
}

/// The handlers a connection is running ([`Driver::handlers`]).
#[derive(Default)]
struct Handlers {
    /// Requests' handlers that did not finish at once.
    running: Option<FuturesUnordered<Running>>,
    slots: Slots,
    deadlines: VecDeque<(Instant, usize, u32)>,
    /// Notification handlers waiting for their turn, and the one running.
    notes: VecDeque<BoxFuture<'static, ()>>,
    note_current: Option<Guarded<()>>,
}

impl Handlers {
    fn no_running(&self) -> bool {
        self.running.as_ref().is_none_or(|r| r.is_empty())
    }

    fn no_notes(&self) -> bool {
        self.notes.is_empty() && self.note_current.is_none()
    }
}

/// The transport's sending half until the connection ends, then nothing: a write after the
/// end fails with [`TransportError::Closed`].
pub(crate) struct SinkSlot<Si>(Option<Si>);

impl<Si: Sink<Bytes, Error = TransportError> + Unpin> Sink<Bytes> for SinkSlot<Si> {
    type Error = TransportError;

    fn poll_ready(
        mut self: Pin<&mut Self>,
        cx: &mut TaskCx<'_>,
    ) -> Poll<Result<(), TransportError>> {
        match self.0.as_mut() {
            Some(sink) => sink.poll_ready_unpin(cx),
            None => Poll::Ready(Err(TransportError::Closed)),
        }
    }

    fn start_send(mut self: Pin<&mut Self>, frame: Bytes) -> Result<(), TransportError> {
        match self.0.as_mut() {
            Some(sink) => sink.start_send_unpin(frame),
            None => Err(TransportError::Closed),
        }
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut TaskCx<'_>,
    ) -> Poll<Result<(), TransportError>> {
        match self.0.as_mut() {
            Some(sink) => sink.poll_flush_unpin(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut TaskCx<'_>,
    ) -> Poll<Result<(), TransportError>> {
        match self.0.as_mut() {
            Some(sink) => sink.poll_close_unpin(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

fn lock_sink<Si>(sink: &Mutex<Si>) -> MutexGuard<'_, Si> {
    // A panic while writing cannot leave the sink in a state worse than a failed write.
    sink.lock().unwrap_or_else(|e| e.into_inner())
}

impl<Si, St> Driver<Si, St> {
    pub(crate) fn new(
        shared: Arc<PeerShared>,
        sink: Si,
        stream: St,
        serving: Option<Serving>,
    ) -> Self {
        let (max_in_flight, read_paused) = {
            let inner = shared.lock();
            let max = inner.conn.config().max_in_flight.max(1);
            (max, inner.subs.client.paused_flag())
        };
        let server_config = serving
            .as_ref()
            .and_then(|s| s.server.as_deref())
            .map(|s| s.config());
        // A pipe to one peer (stdio: an editor's language server) or an in-process pair is
        // never cut off for being quiet: there is no slot to free for anyone else.
        let single_peer = serving.as_ref().is_some_and(|s| {
            matches!(
                s.ctx.transport().kind,
                super::TransportKind::Stdio | super::TransportKind::Memory
            )
        });
        let idle_timeout = server_config
            .and_then(|c| c.idle_timeout)
            .filter(|_| !single_peer);
        let max_response = server_config.map_or(usize::MAX, |c| c.max_response_size);
        let liveness = serving
            .as_ref()
            .filter(|_| idle_timeout.is_some())
            .and_then(|s| s.ctx.transport().liveness.clone())
            .map(|l| {
                let seen = l.beats();
                (l, seen)
            });
        let last_activity = shared.rt.now();
        Driver {
            shared,
            sink: Arc::new(Mutex::new(SinkSlot(Some(sink)))),
            stream,
            outbox: VecDeque::new(),
            local_out: VecDeque::new(),
            flush_needed: false,
            serving,
            handlers: None,
            timer: None,
            state: State::Open,
            deadline: None,
            in_flight: 0,
            max_in_flight,
            conn_timeout: None,
            events: Vec::new(),
            answers: Vec::new(),
            wake: Vec::new(),
            finished: false,
            idle_timeout,
            last_activity,
            liveness,
            pending_out: 0,
            max_response,
            read_paused,
            may_release: false,
            woken_by_read: 0,
            held_calls: false,
        }
    }

    /// The sending half, to share with callers ([`PeerShared::direct`]).
    pub(crate) fn sink_handle(&self) -> Arc<Mutex<SinkSlot<Si>>> {
        Arc::clone(&self.sink)
    }

    /// Tells callers whether they may write their own frames now (clients only): only while
    /// open with nothing queued or unflushed here.
    fn publish_busy(&self) {
        if self.shared.direct.get().is_some() {
            let busy = self.state != State::Open
                || !self.outbox.is_empty()
                || !self.local_out.is_empty()
                || self.flush_needed;
            let mut inner = self.shared.lock();
            inner.driver_busy = busy;
            inner.timer_at = self.timer.as_ref().map(|(at, _)| *at);
        }
    }

    /// Collects an answer (room for exactly one the first time, as [`push_lean`]).
    fn answer(&mut self, handle: ResponseHandle, result: CallResult) {
        if self.answers.capacity() == 0 {
            self.answers.reserve_exact(1);
        }
        self.answers.push((handle, result));
    }

    fn no_running(&self) -> bool {
        self.handlers.as_ref().is_none_or(|h| h.no_running())
    }

    /// No notification handler running or waiting.
    fn no_notes(&self) -> bool {
        self.handlers.as_ref().is_none_or(|h| h.no_notes())
    }

    /// True when the peer's end of input leaves our direction open, so answers can still be
    /// written: byte streams (TCP, stdio, pipes, Unix sockets) and memory pairs. A WebSocket
    /// ends only after a Close (no data may follow it); HTTP never gets here. Without
    /// handlers there is nothing to finish, so the kind does not matter.
    fn half_closable(&self) -> bool {
        self.serving.as_ref().is_some_and(|s| {
            !matches!(
                s.ctx.transport().kind,
                super::TransportKind::WebSocket | super::TransportKind::Http
            )
        })
    }

    fn server(&self) -> Option<&Registry> {
        self.serving.as_ref().and_then(|s| s.server.as_deref())
    }

    /// Takes new frames from the connection and pushes from handles; notes close requests.
    fn sync(&mut self) {
        let mut inner = self.shared.lock();
        // Frames taken below are written before any caller writes its own.
        inner.driver_busy = true;
        if inner.flush_requested {
            inner.flush_requested = false;
            self.flush_needed = true;
        }
        while let Some(frame) = inner.conn.poll_transmit() {
            push_lean(&mut self.local_out, frame);
        }
        while self.outbox.len() < OUTBOX_HIGH {
            match inner.pushes.pop_front() {
                Some(frame) => push_lean(&mut self.outbox, frame),
                None => break,
            }
        }
        inner
            .subs
            .server
            .drain(&mut self.outbox, OUTBOX_HIGH, &mut self.wake);
        self.in_flight = inner.conn.in_flight();
        self.pending_out = inner.conn.pending();
        self.conn_timeout = inner.conn.poll_timeout();
        let close = inner.close_requested
            || (self.shared.close_when_unused && self.shared.handles.load(Ordering::SeqCst) == 0);
        let abort = inner.abort_requested;
        if abort {
            inner.pushes.clear();
        }
        drop(inner);
        for w in self.wake.drain(..) {
            w.wake();
        }
        if abort {
            self.outbox.clear();
            self.local_out.clear();
            self.flush_needed = false;
        }
        if close && self.state != State::Closing {
            self.begin_closing();
        }
        let draining_without_limit = self.state == State::Draining && self.deadline.is_none();
        if self.state == State::Open || draining_without_limit {
            if let Some(deadline) = self.shutdown_deadline() {
                self.state = State::Draining;
                self.deadline = Some(deadline);
            }
        }
    }

    /// When the server shuts down: the end of the shutdown grace from now; otherwise `None`.
    fn shutdown_deadline(&self) -> Option<Instant> {
        if !self
            .server()
            .is_some_and(|s| s.shutting_down.load(Ordering::SeqCst))
        {
            return None;
        }
        let grace = self
            .serving
            .as_ref()
            .map_or(Duration::ZERO, |s| s.shutdown_grace);
        Some(self.shared.rt.now() + grace)
    }

    /// Closes the protocol state: pending outgoing calls fail at once; running handlers are
    /// dropped; queued frames are still flushed (for a bounded time).
    fn begin_closing(&mut self) {
        self.state = State::Closing;
        self.deadline = Some(self.shared.rt.now() + CLOSE_FLUSH_LIMIT);
        self.close_conn();
    }

    fn close_conn(&mut self) {
        let mut inner = self.shared.lock();
        inner.driver_busy = true;
        inner.conn.close();
        inner.drain_events(&mut self.wake, &mut self.events);
        while let Some(frame) = inner.conn.poll_transmit() {
            push_lean(&mut self.outbox, frame);
        }
        // Calls registered but never answered (e.g. raced with the close) end too.
        if let Some(c) = inner.client.as_deref_mut() {
            for slot in c.calls.values_mut() {
                if slot.result.is_none() {
                    slot.result = Some(Err(crate::protocol::connection::CallError::Closed));
                    if let Some(w) = slot.waker.take() {
                        self.wake.push(w);
                    }
                }
            }
            for batch in &mut c.batches {
                if let Some(w) =
                    batch.fail_missing(|| crate::protocol::connection::CallError::Closed)
                {
                    self.wake.push(w);
                }
            }
        }
        drop(inner);
        self.events.clear();
        self.drop_running();
        for w in self.wake.drain(..) {
            w.wake();
        }
    }

    fn drop_running(&mut self) {
        let unanswered = self
            .handlers
            .take()
            .map_or(0, |h| h.slots.iter().filter(|s| s.handle.is_some()).count());
        if unanswered > 0 {
            if let Some(server) = self.server() {
                server.calls_done(unanswered);
            }
        }
    }

    /// Marks the connection finished for everyone (idempotent).
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.state != State::Closing {
            self.state = State::Closing;
            self.close_conn();
        }
        {
            let mut inner = self.shared.lock();
            inner.finished = true;
            if let Some(c) = inner.client.as_deref_mut() {
                c.subscribers.clear();
            }
            inner.pushes.clear();
            inner.subs.close_all(&mut self.wake);
        }
        for w in self.wake.drain(..) {
            w.wake();
        }
        // The transport's sending half goes now (the receiving half goes with the driver):
        // a `Client` or `Subscription` the application still holds must not keep the socket
        // half open, with a peer that blocks writing to it never told.
        lock_sink(&self.sink).0 = None;
        self.shared.finished.store(true, Ordering::SeqCst);
        self.shared.notify_done();
    }
}

impl<Si, St> Drop for Driver<Si, St> {
    fn drop(&mut self) {
        // Dropped by the executor before it ended: callers must not wait forever.
        self.finish();
    }
}

impl<Si, St> Future for Driver<Si, St>
where
    Si: Sink<Bytes, Error = TransportError> + Unpin,
    St: Stream<Item = Result<Bytes, TransportError>> + Unpin,
{
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this.poll_drive(cx);
        if poll.is_pending() {
            this.publish_busy();
        }
        poll
    }
}

impl<Si, St> Driver<Si, St>
where
    Si: Sink<Bytes, Error = TransportError> + Unpin,
    St: Stream<Item = Result<Bytes, TransportError>> + Unpin,
{
    /// Writes queued frames while the sink accepts them, then flushes once.
    fn poll_write(&mut self, cx: &mut TaskCx<'_>) -> Result<bool, TransportError> {
        let mut progress = false;
        if self.outbox.is_empty() && self.local_out.is_empty() && !self.flush_needed {
            return Ok(false);
        }
        let mut sink = lock_sink(&self.sink);
        while !self.outbox.is_empty() || !self.local_out.is_empty() {
            match sink.poll_ready_unpin(cx) {
                Poll::Ready(Ok(())) => {
                    let frame = match self.outbox.pop_front() {
                        Some(f) => f,
                        None => self.local_out.pop_front().expect("checked non-empty"),
                    };
                    sink.start_send_unpin(frame)?;
                    self.flush_needed = true;
                    self.woken_by_read = 0;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        if progress && self.idle_timeout.is_some() {
            self.last_activity = self.shared.rt.now();
        }
        if self.flush_needed {
            match sink.poll_flush_unpin(cx) {
                Poll::Ready(Ok(())) => self.flush_needed = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        }
        Ok(progress)
    }

    /// Starts an incoming request; answers it at once when the handler is ready at once.
    fn start_request(&mut self, cx: &mut TaskCx<'_>, request: Request<'_>, handle: ResponseHandle) {
        let Some(serving) = &self.serving else {
            self.answers
                .push((handle, Err(ErrorObject::method_not_found())));
            return;
        };
        if let Some(server) = &serving.server {
            server.call_started();
        }
        let keep_method = serving
            .dispatch
            .observes_calls()
            .then(|| Box::<str>::from(&*request.method));
        let timeout = serving.timeout;
        match serving.dispatch.request(&serving.ctx, request) {
            Reply::Ready(r) => self.answer(handle, r),
            Reply::Pending(fut) => {
                let mut fut = AssertUnwindSafe(fut).catch_unwind();
                let work = if serving.spawn_calls {
                    let (remote, outcome) = fut.remote_handle();
                    self.shared.rt.spawn(Box::pin(remote));
                    Work::Spawned(outcome)
                } else {
                    match fut.poll_unpin(cx) {
                        Poll::Ready(Ok(r)) => {
                            self.answer(handle, r);
                            return;
                        }
                        Poll::Ready(Err(panic)) => {
                            let e =
                                panicked(keep_method.as_deref().unwrap_or("(handler)"), &*panic);
                            self.answer(handle, Err(e));
                            return;
                        }
                        Poll::Pending => Work::Inline(fut),
                    }
                };
                let (abort, reg) = AbortHandle::new_pair();
                let now = self.shared.rt.now();
                let h = self.handlers.get_or_insert_with(Default::default);
                let (key, gen) = h.slots.alloc(handle, abort, now, keep_method);
                let running = h.running.get_or_insert_with(FuturesUnordered::new);
                running.push(Running {
                    key,
                    fut: Abortable::new(work, reg),
                });
                if let Some(t) = timeout {
                    h.deadlines.push_back((now + t, key, gen));
                }
            }
        }
    }

    fn start_notification(&mut self, cx: &mut TaskCx<'_>, n: Notification<'static>) {
        let Some(serving) = &self.serving else {
            self.shared.lock().publish(n);
            return;
        };
        // Items of this side's own subscriptions go to them, not to its router.
        let Some(n) = self.shared.lock().route_subscription(n) else {
            return;
        };
        if n.method == CANCEL_METHOD && !serving.dispatch.has_method(CANCEL_METHOD) {
            self.cancel_incoming(n.params.as_deref());
            return;
        }
        match serving.dispatch.notification(&serving.ctx, n) {
            Ok(Some(fut)) => {
                let h = self.handlers.get_or_insert_with(Default::default);
                h.notes.push_back(fut);
                // Run it now when it is next in line, so that a request read after it
                // observes its effect when the handler does not need to wait.
                if h.note_current.is_none() && h.notes.len() == 1 {
                    self.poll_notes(cx);
                }
            }
            Ok(None) => {}
            Err(n) => self.shared.lock().publish(n),
        }
    }

    /// `$/cancelRequest {"id": ..}`: the running handler is dropped and answered -32800.
    fn cancel_incoming(&mut self, params: Option<&RawValue>) {
        #[derive(Deserialize)]
        struct CancelParams {
            id: Id,
        }
        let Some(Ok(CancelParams { id })) = params.map(|p| serde_json::from_str(p.get())) else {
            tracing::debug!("malformed $/cancelRequest ignored");
            return;
        };
        let key = {
            let inner = self.shared.lock();
            self.handlers.as_ref().and_then(|running| {
                running.slots.iter().position(|s| {
                    s.handle
                        .as_ref()
                        .is_some_and(|h| inner.conn.request_id(h) == Some(&id))
                })
            })
        };
        match key {
            Some(key) => self.abort_call(key, ErrorObject::request_cancelled()),
            None => tracing::debug!(%id, "$/cancelRequest for no running call"),
        }
    }

    /// Answers a running call with `error` and drops its handler.
    fn abort_call(&mut self, key: usize, error: ErrorObject) {
        let Some(slot) = self.handlers.as_mut().and_then(|h| h.slots.get_mut(key)) else {
            return;
        };
        let Some(handle) = slot.handle.take() else {
            return;
        };
        if let Some(abort) = &slot.abort {
            abort.abort();
        }
        if let (Some(method), Some(serving)) = (slot.method.as_deref(), &self.serving) {
            let inner = self.shared.lock();
            let id = inner.conn.request_id(&handle).cloned();
            drop(inner);
            let elapsed = self.shared.rt.now().saturating_duration_since(slot.started);
            serving
                .dispatch
                .call_aborted(&serving.ctx, method, id.as_ref(), &error, elapsed);
        }
        self.answer(handle, Err(error));
    }

    /// Polls running handlers and the notification queue; collects answers.
    fn poll_handlers(&mut self, cx: &mut TaskCx<'_>) -> bool {
        let mut progress = false;
        while let Some(h) = self.handlers.as_mut() {
            let Some(Poll::Ready(Some((key, outcome)))) =
                h.running.as_mut().map(|r| r.poll_next_unpin(cx))
            else {
                break;
            };
            progress = true;
            let handle = h.slots.get_mut(key).and_then(|s| s.handle.take());
            let answer = handle.map(|handle| {
                let result = match outcome {
                    Ok(Ok(r)) => r,
                    Ok(Err(panic)) => {
                        let method = h.slots[key].method.as_deref().unwrap_or("(handler)");
                        Err(panicked(method, &*panic))
                    }
                    Err(Aborted) => Err(ErrorObject::request_cancelled()),
                };
                (handle, result)
            });
            h.slots.free(key);
            if let Some((handle, result)) = answer {
                self.answer(handle, result);
            }
        }
        progress |= self.poll_notes(cx);
        progress
    }

    /// Runs queued notification handlers one after another, in arrival order.
    fn poll_notes(&mut self, cx: &mut TaskCx<'_>) -> bool {
        let mut progress = false;
        let Some(h) = self.handlers.as_mut() else {
            return false;
        };
        loop {
            if h.note_current.is_none() {
                match h.notes.pop_front() {
                    Some(f) => h.note_current = Some(AssertUnwindSafe(f).catch_unwind()),
                    None => break,
                }
            }
            let Some(cur) = h.note_current.as_mut() else {
                break;
            };
            match cur.poll_unpin(cx) {
                Poll::Ready(r) => {
                    if r.is_err() {
                        tracing::error!("notification handler panicked");
                    }
                    h.note_current = None;
                    progress = true;
                }
                Poll::Pending => break,
            }
        }
        progress
    }

    /// Records collected answers in the connection and takes the frames they produced.
    fn flush_answers(&mut self) {
        if self.answers.is_empty() {
            return;
        }
        let n = self.answers.len();
        let mut inner = self.shared.lock();
        inner.driver_busy = true;
        before_answers(&mut inner, &mut self.outbox, &mut self.local_out);
        let max = self.max_response;
        for (handle, result) in self.answers.drain(..) {
            let result = cap_response(result, max);
            // A subscription starts sending once the answer to its subscribe call is out.
            let sub = inner
                .subs
                .server
                .awaiting_answers()
                .then(|| inner.conn.request_id(&handle).cloned())
                .flatten();
            let frames = inner.conn.transmit_len();
            if let Err(e) = inner
                .conn
                .respond_text(handle, result.as_ref().map(Answer::as_text))
            {
                tracing::debug!(error = %e, "answer dropped");
            }
            if let Some(id) = sub {
                let ok = result.is_ok();
                inner.subs.server.answered(&id, ok, &mut self.wake);
            }
            if inner.conn.transmit_len() > frames {
                inner.subs.server.answers_out();
            }
        }
        self.in_flight = after_answers(inner, &mut self.outbox, &mut self.wake);
        if let Some(server) = self.server() {
            server.calls_done(n);
        }
    }

    /// Answers a batch [`at_once::take`] gave and queues its array, after the answers
    /// collected before it (as [`Driver::flush_answers`] would have queued them).
    fn answer_whole(&mut self, entries: Vec<crate::protocol::message::Entry<'_>>) {
        self.flush_answers();
        let Some(serving) = &self.serving else {
            return;
        };
        let Some(array) = at_once::answer(serving, entries, self.max_response) else {
            return;
        };
        let mut inner = self.shared.lock();
        inner.driver_busy = true;
        before_answers(&mut inner, &mut self.outbox, &mut self.local_out);
        inner.conn.push_answered_batch(array);
        self.in_flight = after_answers(inner, &mut self.outbox, &mut self.wake);
    }

    /// Arms and polls the one timer (outgoing deadlines, handler deadlines, grace/flush limit).
    fn poll_timer(&mut self, cx: &mut TaskCx<'_>) -> bool {
        let target = [
            self.conn_timeout,
            self.handlers
                .as_ref()
                .and_then(|h| h.deadlines.front())
                .map(|d| d.0),
            self.deadline,
            self.idle_deadline(),
            self.release_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
        // With nothing to wait for, a timer not yet fired stays armed: a client's caller that
        // writes its own call (without waking this task) relies on it when its deadline is
        // later (`PeerShared::send_queued`); an early wake-up is harmless.
        .or(self
            .timer
            .as_ref()
            .filter(|_| self.shared.direct.get().is_some())
            .map(|(at, _)| *at));
        let Some(target) = target else {
            self.timer = None;
            return false;
        };
        if !matches!(&self.timer, Some((at, _)) if target >= *at) {
            self.timer = Some((target, self.shared.rt.sleep_until(target)));
        }
        let Some((_, sleep)) = self.timer.as_mut() else {
            return false;
        };
        if sleep.poll_unpin(cx).is_pending() {
            return false;
        }
        self.timer = None;
        let now = self.shared.rt.now();
        {
            let mut inner = self.shared.lock();
            inner.conn.handle_timeout(now);
            inner.drain_events(&mut self.wake, &mut self.events);
            self.conn_timeout = inner.conn.poll_timeout();
        }
        for w in self.wake.drain(..) {
            w.wake();
        }
        while let Some(h) = self.handlers.as_mut() {
            let Some(&(_, key, gen)) = h.deadlines.front().filter(|d| d.0 <= now) else {
                break;
            };
            h.deadlines.pop_front();
            if h.slots
                .get(key)
                .is_some_and(|s| s.gen == gen && s.handle.is_some())
            {
                self.abort_call(key, ErrorObject::request_timeout());
            }
        }
        self.note_liveness();
        if self.release_deadline().is_some_and(|d| d <= now) {
            self.release_idle_memory();
        }
        if self.idle_deadline().is_some_and(|d| d <= now) {
            tracing::debug!("connection idle for too long: closing it");
            self.begin_closing();
        }
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            match self.state {
                State::Draining => self.begin_closing(),
                State::Closing => {
                    tracing::debug!("closing connection could not flush in time");
                    self.outbox.clear();
                    self.local_out.clear();
                    self.flush_needed = false;
                }
                State::Open => {}
            }
        }
        true
    }

    /// A ping or pong received since the last look counts as activity.
    fn note_liveness(&mut self) {
        if let Some((liveness, seen)) = &mut self.liveness {
            let beats = liveness.beats();
            if beats != *seen {
                *seen = beats;
                self.last_activity = self.shared.rt.now();
            }
        }
    }

    /// Client side, when this side's calls are all there is to write and fewer of them are
    /// queued than callers were woken with answers by the last read: those callers are
    /// most likely ready to run and to make their next calls at once, so the calls queued
    /// wait for one turn of the executor (the driver wakes itself and goes to the back of
    /// the queue) and then leave together, in one write, instead of one write per caller
    /// (many concurrent calls: fewer syscalls, fewer wake-ups of the peer). A lone call
    /// never waits: its caller writes it itself ([`PeerShared::send_queued`]), or it is the
    /// only caller woken.
    fn hold_calls(&self) -> bool {
        self.state == State::Open
            && self.outbox.is_empty()
            && !self.flush_needed
            && !self.local_out.is_empty()
            && self.woken_by_read > self.local_out.len()
            && self.shared.direct.get().is_some()
    }

    /// True while open with no call in flight either way and no handler left to run.
    fn quiet(&self) -> bool {
        self.state == State::Open
            && self.in_flight == 0
            && self.pending_out == 0
            && self.no_running()
            && self.no_notes()
    }

    /// When a quiet connection gives back the room of its empty queues: once per quiet spell.
    fn release_deadline(&self) -> Option<Instant> {
        (self.may_release && self.quiet()).then(|| self.last_activity + IDLE_RELEASE_AFTER)
    }

    /// Frees the room of the queues and tables that are empty (they allocate again when
    /// used): an idle connection keeps only what it holds.
    fn release_idle_memory(&mut self) {
        self.may_release = false;
        macro_rules! release {
            ($($field:ident),*) => {$(
                if self.$field.is_empty() {
                    self.$field = Default::default();
                }
            )*};
        }
        release!(outbox, local_out, events, answers, wake);
        if self.handlers.as_ref().is_some_and(|h| {
            h.no_running() && h.no_notes() && h.deadlines.is_empty() && h.slots.all_free()
        }) {
            self.handlers = None;
        }
        let mut inner = self.shared.lock();
        inner.conn.release_idle_memory();
        inner.release_client_side();
        if inner.pushes.is_empty() {
            inner.pushes = VecDeque::new();
        }
        inner.subs.release_if_unused();
    }

    /// When an idle connection is closed: only while open with no call in flight either way.
    /// Frames waiting to be written do not keep it open: a peer that stops reading (so that
    /// nothing can be written for that long) is cut off too.
    fn idle_deadline(&self) -> Option<Instant> {
        let idle = self.idle_timeout?;
        self.quiet().then(|| self.last_activity + idle)
    }

    /// Reads frames while limits allow; hands them to the connection and starts handlers.
    fn poll_read(&mut self, cx: &mut TaskCx<'_>) -> Read {
        let mut progress = false;
        // Read once per call, not per frame: the clock is not free (a vDSO call at best).
        let mut now = None;
        let mut woken = 0;
        let budget = if self.serving.is_some() {
            SERVE_READ_BUDGET
        } else {
            READ_BUDGET
        };
        for _ in 0..budget {
            if self.state != State::Open
                || self.outbox.len() >= OUTBOX_HIGH
                || self.in_flight >= self.max_in_flight
                || self
                    .handlers
                    .as_ref()
                    .is_some_and(|h| h.notes.len() >= self.max_in_flight)
                || self.read_paused.load(Ordering::SeqCst)
            {
                break;
            }
            match self.stream.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    progress = true;
                    let now = *now.get_or_insert_with(|| self.shared.rt.now());
                    self.last_activity = now;
                    self.may_release = true;
                    // The frame's calls, borrowed from it: started once the lock is released.
                    let mut calls = Vec::new();
                    // A batch answered whole ([`at_once`]), run once the lock is released.
                    let mut whole = None;
                    {
                        let mut inner = self.shared.lock();
                        inner.driver_busy = true;
                        // Frames queued before are this side's own calls; those after
                        // are error answers to malformed input.
                        while let Some(frame) = inner.conn.poll_transmit() {
                            push_lean(&mut self.local_out, frame);
                        }
                        if !inner.handle_answers(&frame, &mut self.wake) {
                            let taken = match &self.serving {
                                Some(s) => at_once::take(&frame, &inner, s),
                                None => at_once::Taken::Unread,
                            };
                            match taken {
                                at_once::Taken::Whole(entries) => whole = Some(entries),
                                at_once::Taken::Read(entries) => {
                                    inner.conn.handle_batch_calls(entries, &mut calls)
                                }
                                at_once::Taken::Unread => {
                                    inner.conn.handle_frame_calls(&frame, now, &mut calls)
                                }
                            }
                        }
                        inner.drain_events(&mut self.wake, &mut self.events);
                        while let Some(frame) = inner.conn.poll_transmit() {
                            push_lean(&mut self.outbox, frame);
                        }
                        self.in_flight = inner.conn.in_flight();
                    }
                    woken += self.wake.len();
                    for w in self.wake.drain(..) {
                        w.wake();
                    }
                    let mut events = std::mem::take(&mut self.events);
                    for ev in events.drain(..) {
                        match ev {
                            Event::Request(IncomingRequest { request, handle }) => {
                                self.start_request(cx, request, handle)
                            }
                            Event::Notification(n) => self.start_notification(cx, n),
                            _ => {}
                        }
                    }
                    self.events = events;
                    if let Some(entries) = whole {
                        self.answer_whole(entries);
                    }
                    for call in calls {
                        match call {
                            Call::Request(request, handle) => {
                                self.start_request(cx, request, handle)
                            }
                            Call::Notification(n) => self.start_notification(cx, n.into_owned()),
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::debug!(error = %e, "transport failed; closing the connection");
                    if let Some(why) = self.serving.as_ref().and_then(|s| unreadable(s, &e)) {
                        // The stream cannot be read on, but the peer can learn why: the answer
                        // goes out (best effort) after those already due, before it closes.
                        self.flush_answers();
                        let error = ErrorObject::invalid_request()
                            .with_data(format!("{why}: the connection closes"));
                        push_lean(
                            &mut self.outbox,
                            Bytes::from(crate::protocol::message::response_frame(
                                &Id::Null,
                                Err(&error),
                            )),
                        );
                        return Read::Unreadable;
                    }
                    return Read::Failed;
                }
                Poll::Ready(None) => return Read::Ended,
                Poll::Pending => {
                    self.note_liveness();
                    break;
                }
            }
        }
        if progress {
            // Counted per read, not summed: callers that write their own calls (one at a
            // time) never make a stale count hold a later one.
            self.woken_by_read = woken;
        }
        Read::More(progress)
    }

    fn poll_drive(&mut self, cx: &mut TaskCx<'_>) -> Poll<()> {
        if self.finished {
            return Poll::Ready(());
        }
        self.shared.waker.register(cx.waker());
        let held_before = std::mem::take(&mut self.held_calls);
        let mut hold = false;
        for _ in 0..TURN_BUDGET {
            self.sync();
            if !held_before && !hold && self.hold_calls() {
                // Written on the next poll, once the tasks ready now had their turn.
                hold = true;
                self.held_calls = true;
                cx.waker().wake_by_ref();
            }
            let mut progress = false;
            let written = if hold && self.state == State::Open {
                Ok(false)
            } else {
                self.poll_write(cx)
            };
            match written {
                Ok(p) => progress |= p,
                Err(e) => {
                    tracing::debug!(error = %e, "transport write failed; closing the connection");
                    self.outbox.clear();
                    self.local_out.clear();
                    self.finish();
                    return Poll::Ready(());
                }
            }
            if self.state == State::Closing {
                progress |= self.poll_timer(cx);
                if self.outbox.is_empty() && self.local_out.is_empty() && !self.flush_needed {
                    let closed = lock_sink(&self.sink).poll_close_unpin(cx);
                    if closed.is_pending() && self.deadline.is_some() {
                        return Poll::Pending;
                    }
                    self.finish();
                    return Poll::Ready(());
                }
                if !progress {
                    return Poll::Pending;
                }
                continue;
            }
            progress |= self.poll_handlers(cx);
            if !self.answers.is_empty() {
                self.flush_answers();
                progress = true;
            }
            progress |= self.poll_timer(cx);
            if self.state == State::Draining && self.no_running() && self.no_notes() {
                self.begin_closing();
                continue;
            }
            match self.poll_read(cx) {
                Read::Ended if self.half_closable() => {
                    // End of input (JSON-RPC 2.0 §5, RFC 9293 §3.6): read no more, finish
                    // every call received, flush every answer, then close. Outgoing calls
                    // can no longer be answered: they fail when the connection closes.
                    tracing::debug!("peer ended its input: finishing the calls received");
                    self.state = State::Draining;
                    self.deadline = self.shutdown_deadline();
                    continue;
                }
                Read::Ended | Read::Failed => {
                    // The transport failed: running handlers are dropped and pending calls
                    // fail now.
                    self.flush_answers();
                    let _ = self.poll_write(cx);
                    self.finish();
                    return Poll::Ready(());
                }
                Read::Unreadable => {
                    // The write side still works: the answers and the reason go out (bounded
                    // by the close flush limit), then the connection closes.
                    self.begin_closing();
                    continue;
                }
                Read::More(p) => progress |= p,
            }
            if !self.answers.is_empty() {
                self.flush_answers();
                progress = true;
            }
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
