//! State shared between a connection's driver task and the handles that use it.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context as TaskCx, Poll, Waker};

use bytes::Bytes;
use futures::channel::mpsc;
use futures::task::{noop_waker_ref, AtomicWaker};
use futures::{Sink, SinkExt};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::protocol::connection::{CallError, Connection, Event, U64Map};
use crate::protocol::message::{borrow_raw, call_len, write_call, Notification};

use super::info::PushError;
use super::rt::{Rt, Signal};
use super::subs::Subs;
use super::TransportError;

/// The method of the LSP-style cancellation notification.
pub(crate) const CANCEL_METHOD: &str = "$/cancelRequest";

/// One outgoing call awaiting its answer.
#[derive(Default)]
pub(crate) struct CallSlot {
    pub(crate) result: Option<Result<RawAnswer, CallError>>,
    pub(crate) waker: Option<Waker>,
}

/// The requests of one sent batch awaiting their answers: ids `first..first + results.len()`
/// (a batch's ids are contiguous unless they wrapped around, when its calls get a
/// [`CallSlot`] each instead). One entry for the whole batch: no table entry per call.
pub(crate) struct BatchSlot {
    /// The id of its first request.
    pub(crate) first: u64,
    /// Each request's result once it ended, by position (id - `first`).
    pub(crate) results: Vec<Option<Result<RawAnswer, CallError>>>,
    /// How many of `results` are still `None`.
    pub(crate) missing: usize,
    /// Woken when the last result came (not per answer).
    pub(crate) waker: Option<Waker>,
}

impl BatchSlot {
    /// A batch of `len` requests from id `first`, none answered yet.
    pub(crate) fn new(first: u64, len: usize) -> Self {
        let mut results = Vec::with_capacity(len);
        results.resize_with(len, || None);
        BatchSlot {
            first,
            results,
            missing: len,
            waker: None,
        }
    }

    /// Records the result of the call at `at` (an earlier one there is replaced, as a
    /// [`CallSlot`]'s is); gives the waker once none is missing.
    fn set(&mut self, at: usize, result: Result<RawAnswer, CallError>) -> Option<Waker> {
        let slot = &mut self.results[at];
        if slot.is_none() {
            self.missing -= 1;
        }
        *slot = Some(result);
        if self.missing == 0 {
            self.waker.take()
        } else {
            None
        }
    }

    /// Ends every call without a result yet with `error`; gives the waker when that
    /// completed the batch.
    pub(crate) fn fail_missing(&mut self, error: impl Fn() -> CallError) -> Option<Waker> {
        if self.missing == 0 {
            return None;
        }
        for slot in self.results.iter_mut().filter(|s| s.is_none()) {
            *slot = Some(Err(error()));
        }
        self.missing = 0;
        self.waker.take()
    }
}

/// Answers up to this long are copied out of their frame as bytes ([`RawAnswer::Frame`]; the
/// small answers of a frame of several share one copy); longer ones as a raw value
/// ([`RawAnswer::Owned`]), read later as a `str` without checking their UTF-8 again.
const IN_FRAME: usize = 4096;

/// Answers up to this long (a number, a short string..) are kept in their call's slot
/// ([`RawAnswer::Inline`]): no allocation.
const INLINE: usize = 30;

/// A call's result as JSON text.
#[derive(Debug)]
pub(crate) enum RawAnswer {
    /// Copied out of its frame.
    Owned(Box<RawValue>),
    /// A view of the one copy of the answers of its frame (never of the frame itself, which
    /// shares the transport's read buffer: an answer read late keeps only answer text
    /// alive): valid JSON in valid UTF-8, checked when the frame was read.
    Frame(Bytes),
    /// A short answer's text, in place: `bytes[..len]`, as [`RawAnswer::Frame`].
    Inline {
        /// Its length, at most [`INLINE`].
        len: u8,
        /// The text, then zeros.
        bytes: [u8; INLINE],
    },
}

/// Hands each answer `(id, start, end)` of `frame` to `f`, in order, copied out of the frame:
/// the small answers of a frame of several share one copy of their part of it.
pub(crate) fn copy_answers(
    frame: &[u8],
    answers: &[(u64, usize, usize)],
    mut f: impl FnMut(u64, RawAnswer),
) {
    let medium =
        |&&(_, start, end): &&(u64, usize, usize)| (INLINE + 1..=IN_FRAME).contains(&(end - start));
    let shared = match (answers.iter().find(medium), answers.iter().rfind(medium)) {
        (Some(first), Some(last)) if answers.len() > 1 => {
            Some((first.1, Bytes::copy_from_slice(&frame[first.1..last.2])))
        }
        _ => None,
    };
    for &(n, start, end) in answers {
        let text = &frame[start..end];
        let small = text.len() <= IN_FRAME;
        let answer = match &shared {
            _ if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text);
                RawAnswer::Inline {
                    len: text.len() as u8,
                    bytes,
                }
            }
            Some((from, copy)) if small => RawAnswer::Frame(copy.slice(start - from..end - from)),
            _ if small => RawAnswer::Frame(Bytes::copy_from_slice(text)),
            _ => RawAnswer::owned(frame, start, end),
        };
        f(n, answer);
    }
}

impl RawAnswer {
    /// The answer at `frame[start..end]`, which [`Connection::handle_answers`] checked.
    fn owned(frame: &[u8], start: usize, end: usize) -> Self {
        // checked: cannot fail
        let text = std::str::from_utf8(&frame[start..end]).unwrap_or_default();
        match borrow_raw(text) {
            Some(raw) => RawAnswer::Owned(raw.to_owned()),
            None => RawAnswer::Owned(
                serde_json::from_str::<Box<RawValue>>(text)
                    .unwrap_or_else(|_| Box::<RawValue>::default()),
            ),
        }
    }

    /// The JSON text.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            RawAnswer::Owned(raw) => raw.get().as_bytes(),
            RawAnswer::Frame(b) => b,
            RawAnswer::Inline { len, bytes } => &bytes[..usize::from(*len)],
        }
    }

    /// The text as an owned raw value.
    pub(crate) fn into_raw(self) -> Box<RawValue> {
        match self {
            RawAnswer::Owned(raw) => raw,
            other => std::str::from_utf8(other.bytes())
                .ok()
                .and_then(borrow_raw)
                .map(ToOwned::to_owned)
                .unwrap_or_default(),
        }
    }
}

/// This side's calls and notification streams: what a client uses. A served connection
/// allocates it only when a handler calls its peer back or takes its notifications
/// ([`Inner::client_side`]), and gives it back when it holds nothing again
/// ([`Inner::release_client_side`]).
#[derive(Default)]
pub(crate) struct ClientSide {
    /// Outgoing calls by numeric id.
    pub(crate) calls: U64Map<CallSlot>,
    /// Streams of notifications no handler took.
    pub(crate) subscribers: Vec<mpsc::Sender<Notification<'static>>>,
    /// Notifications that arrived before the first subscriber (client side only), handed to
    /// it when it subscribes; at most `early_capacity` (newer ones are dropped).
    pub(crate) early: VecDeque<Notification<'static>>,
    /// How many early notifications are kept; 0 once someone subscribed (or on served
    /// connections, where nobody may ever subscribe).
    pub(crate) early_capacity: usize,
    /// Room for the answers of one frame ([`Inner::handle_answers`]), kept between frames.
    pub(crate) answers: Vec<(u64, usize, usize)>,
    /// Sent batches awaiting answers, sorted by first id (ranges never overlap: ids are
    /// unique among calls pending).
    pub(crate) batches: Vec<BatchSlot>,
}

impl ClientSide {
    /// The position in `batches` of the batch whose first id is `first`.
    pub(crate) fn batch_index(&self, first: u64) -> Option<usize> {
        self.batches.binary_search_by_key(&first, |b| b.first).ok()
    }

    /// Records a sent batch (kept sorted by first id).
    pub(crate) fn add_batch(&mut self, batch: BatchSlot) {
        let at = self.batches.partition_point(|b| b.first < batch.first);
        self.batches.insert(at, batch);
    }

    /// The batch holding call `n` and the call's position in it.
    fn batch_of(&mut self, n: u64) -> Option<(&mut BatchSlot, usize)> {
        let i = self
            .batches
            .partition_point(|b| b.first <= n)
            .checked_sub(1)?;
        let b = &mut self.batches[i];
        let at = usize::try_from(n - b.first).ok()?;
        (at < b.results.len()).then_some((b, at))
    }
}

/// Everything behind the connection's lock.
pub(crate) struct Inner {
    pub(crate) conn: Connection,
    /// This side's calls and notification streams, once used (always on clients).
    pub(crate) client: Option<Box<ClientSide>>,
    /// Server pushes waiting for room in the outgoing queue (bounded by `push_capacity`).
    pub(crate) pushes: VecDeque<Bytes>,
    /// Someone asked the driver to close.
    pub(crate) close_requested: bool,
    /// Someone asked the driver to drop the connection without flushing (a client too slow
    /// for its pushes).
    pub(crate) abort_requested: bool,
    /// The driver has ended: nothing will be sent or received any more.
    pub(crate) finished: bool,
    /// The driver may hold frames not yet written (or an unfinished flush), or is not open:
    /// a caller must not write its own frame ahead of them ([`PeerShared::send_queued`]).
    pub(crate) driver_busy: bool,
    /// A caller wrote a frame that is not flushed yet: the driver finishes the flush.
    pub(crate) flush_requested: bool,
    /// When the driver's timer fires (published with `driver_busy`): a caller that wrote its
    /// own call with an earlier deadline must wake the driver to move the timer.
    pub(crate) timer_at: Option<std::time::Instant>,
    /// Subscriptions of both sides ([`super::subs`]).
    pub(crate) subs: Subs,
}

impl Inner {
    /// Whether a caller that just queued one frame holding `calls` requests may write it itself
    /// ([`PeerShared::send_queued`]): exactly that frame is queued, no other call is in flight,
    /// the driver holds no frame that must go first and the connection is not closing.
    pub(crate) fn may_write_direct(&self, calls: usize) -> bool {
        !(self.driver_busy
            || self.finished
            || self.close_requested
            || self.conn.transmit_len() != 1
            || self.conn.pending() != calls)
    }

    /// This side's calls and notification streams, allocated at first use.
    pub(crate) fn client_side(&mut self) -> &mut ClientSide {
        self.client.get_or_insert_with(Box::default)
    }

    /// Outgoing calls by numeric id.
    pub(crate) fn calls_mut(&mut self) -> &mut U64Map<CallSlot> {
        &mut self.client_side().calls
    }

    /// A quiet connection gives back the room of its empty call table, and the whole
    /// [`ClientSide`] when it holds nothing and never will unasked (no early notifications
    /// kept for a first subscriber).
    pub(crate) fn release_client_side(&mut self) {
        let Some(c) = self.client.as_deref_mut() else {
            return;
        };
        if !c.calls.is_empty() || !c.batches.is_empty() {
            return;
        }
        if c.subscribers.is_empty() && c.early.is_empty() && c.early_capacity == 0 {
            self.client = None;
        } else {
            c.calls = Default::default();
            c.batches = Vec::new();
        }
    }

    /// Hands an outgoing call's result to its waiter; returns the waker to wake after unlock.
    pub(crate) fn deliver(
        &mut self,
        n: u64,
        result: Result<RawAnswer, CallError>,
    ) -> Option<Waker> {
        let client = self.client.as_deref_mut()?;
        if let Some((batch, at)) = client.batch_of(n) {
            return batch.set(at, result);
        }
        let slot = client.calls.get_mut(&n)?;
        slot.result = Some(result);
        slot.waker.take()
    }

    /// Reads `frame` with [`Connection::handle_answers`] (a frame of answers only, the usual
    /// frame of a client): hands each answer to its call without an event and without copying
    /// it out of the frame; returns false, having done nothing, for any other frame.
    pub(crate) fn handle_answers(&mut self, frame: &Bytes, wake: &mut Vec<Waker>) -> bool {
        let Some(client) = self.client.as_deref_mut() else {
            return false;
        };
        let mut answers = std::mem::take(&mut client.answers);
        let handled = self.conn.handle_answers(frame, &mut answers);
        // once for the frame: no answer of it starts a subscribe call
        let subscribing = self.subs.client.awaits_answers();
        copy_answers(frame, &answers, |n, answer| {
            if subscribing {
                self.subs.client.on_response(n, Some(answer.bytes()));
            }
            if let Some(w) = self.deliver(n, Ok(answer)) {
                wake.push(w);
            }
        });
        answers.clear();
        if let Some(client) = self.client.as_deref_mut() {
            client.answers = answers;
        }
        handled
    }

    /// Applies the events that concern outgoing calls; returns the others.
    pub(crate) fn drain_events(&mut self, wake: &mut Vec<Waker>, out: &mut Vec<Event>) {
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                Event::Response { id, result } => {
                    if let Some(n) = id.as_u64() {
                        self.subs
                            .client
                            .on_response(n, result.as_ref().ok().map(|r| r.get().as_bytes()));
                        if let Some(w) = self.deliver(n, result.map(RawAnswer::Owned)) {
                            wake.push(w);
                        }
                    }
                }
                Event::UnmatchedResponse(r) => {
                    tracing::debug!(id = %r.id, "response to no pending request dropped");
                }
                Event::Invalid(inv) => tracing::debug!(%inv, "invalid message received"),
                Event::ParseError(e) => tracing::debug!(error = %e, "unparsable frame received"),
                other => {
                    // Room for exactly one the first time, as `push_lean`.
                    if out.capacity() == 0 {
                        out.reserve_exact(1);
                    }
                    out.push(other)
                }
            }
        }
    }

    /// Hands a notification to this side's subscription it names, if any (else gives it
    /// back); sends the unsubscribe of a subscription that ended for lagging
    /// ([`LagPolicy::End`](super::subs::LagPolicy::End)): the caller is the driver, which
    /// writes it on its next turn.
    pub(crate) fn route_subscription(
        &mut self,
        n: Notification<'static>,
    ) -> Option<Notification<'static>> {
        let n = self.subs.client.route(n);
        for (id, unsubscribe) in self.subs.client.take_lagged() {
            if let Ok(params) = RawValue::from_string(format!("[{id}]")) {
                let _ = self.conn.notify(&unsubscribe, Some(&params));
            }
        }
        n
    }

    /// Offers a notification to every subscriber (never waits: a full stream loses it).
    pub(crate) fn publish(&mut self, n: Notification<'static>) {
        let Some(n) = self.route_subscription(n) else {
            return;
        };
        let Some(c) = self
            .client
            .as_deref_mut()
            .filter(|c| !c.subscribers.is_empty() || c.early_capacity > 0)
        else {
            tracing::debug!(method = %n.method, "notification with no handler and no subscriber dropped");
            return;
        };
        if c.subscribers.is_empty() {
            if c.early.len() < c.early_capacity {
                c.early.push_back(n);
            } else {
                tracing::warn!("notification buffer full before any subscriber: dropped");
            }
            return;
        }
        let last = c.subscribers.len() - 1;
        let mut n = Some(n);
        let mut i = 0;
        c.subscribers.retain_mut(|tx| {
            let item = if i == last {
                n.take().expect("taken once")
            } else {
                n.clone().expect("present until the last")
            };
            i += 1;
            match tx.try_send(item) {
                Ok(()) => true,
                Err(e) if e.is_full() => {
                    tracing::warn!(
                        "notification stream full (slow consumer): notification dropped"
                    );
                    true
                }
                Err(_) => false,
            }
        });
    }
}

/// Shared between the driver and every handle of one connection.
pub(crate) struct PeerShared {
    pub(crate) inner: Mutex<Inner>,
    pub(crate) waker: AtomicWaker,
    pub(crate) rt: Rt,
    pub(crate) send_cancel: bool,
    pub(crate) push_capacity: usize,
    pub(crate) notification_buffer: usize,
    /// User-facing [`super::Client`] handles alive.
    pub(crate) handles: AtomicUsize,
    /// Close the connection when the last user handle goes (clients, not served connections).
    pub(crate) close_when_unused: bool,
    pub(crate) finished: AtomicBool,
    /// Woken when the driver ends ([`PeerShared::notify_done`]); made by the first waiter
    /// ([`PeerShared::done`]): most served connections never have one.
    done: OnceLock<Box<Signal>>,
    /// The transport's sending half, shared with the driver (clients only): a caller writes
    /// its frame through it when the driver holds none, instead of waking the driver task
    /// (a thread hop when the caller runs on another thread).
    pub(crate) direct: OnceLock<Arc<Mutex<dyn DirectSink>>>,
}

/// A transport's sending half, as a caller uses it to write a frame without waiting.
pub(crate) trait DirectSink: Send {
    /// `poll_ready` without a waker to wake: Pending means "leave it to the driver".
    fn ready_now(&mut self) -> bool;
    /// Sends one frame and tries to flush it.
    fn send_now(&mut self, frame: Bytes) -> Sent;
}

/// How [`DirectSink::send_now`] went.
pub(crate) enum Sent {
    /// Written and flushed.
    Flushed,
    /// Taken, but the flush must wait: the driver finishes it.
    Unflushed,
    /// The transport failed: the connection ends, as when the driver's own write fails.
    Failed,
}

impl<S: Sink<Bytes, Error = TransportError> + Send + Unpin> DirectSink for S {
    fn ready_now(&mut self) -> bool {
        let mut cx = TaskCx::from_waker(noop_waker_ref());
        matches!(self.poll_ready_unpin(&mut cx), Poll::Ready(Ok(())))
    }
    fn send_now(&mut self, frame: Bytes) -> Sent {
        let mut cx = TaskCx::from_waker(noop_waker_ref());
        if self.start_send_unpin(frame).is_err() {
            return Sent::Failed;
        }
        match self.poll_flush_unpin(&mut cx) {
            Poll::Ready(Ok(())) => Sent::Flushed,
            Poll::Ready(Err(_)) => Sent::Failed,
            Poll::Pending => Sent::Unflushed,
        }
    }
}

impl PeerShared {
    pub(crate) fn new(
        conn: Connection,
        rt: Rt,
        send_cancel: bool,
        push_capacity: usize,
        notification_buffer: usize,
        close_when_unused: bool,
    ) -> Self {
        PeerShared {
            inner: Mutex::new(Inner {
                conn,
                // A served connection allocates it if a handler calls back.
                client: close_when_unused.then(|| {
                    Box::new(ClientSide {
                        early_capacity: notification_buffer.max(1),
                        ..ClientSide::default()
                    })
                }),
                pushes: VecDeque::new(),
                close_requested: false,
                abort_requested: false,
                finished: false,
                driver_busy: true,
                flush_requested: false,
                timer_at: None,
                subs: Subs::new(notification_buffer),
            }),
            waker: AtomicWaker::new(),
            rt,
            send_cancel,
            push_capacity: push_capacity.max(1),
            notification_buffer: notification_buffer.max(1),
            handles: AtomicUsize::new(0),
            close_when_unused,
            finished: AtomicBool::new(false),
            done: OnceLock::new(),
            direct: OnceLock::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated in a way that
        // matters more than losing the connection, so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the driver.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    /// After a caller queued one frame holding `calls` requests: writes it through the
    /// transport at once when no other call is in flight (then the driver task may be asleep,
    /// and waking it can cost a thread hop), the driver holds no frame that must go first and
    /// the transport takes it without waiting; else wakes the driver to write it (with others
    /// queued meanwhile, in one flush).
    pub(crate) fn send_queued(&self, calls: usize) {
        self.send_queued_if(calls, true);
    }

    /// [`Self::send_queued`], told what the caller saw under the lock when it queued its frame
    /// ([`Inner::may_write_direct`]): when that already rules out the direct write (other calls
    /// in flight, the driver busy), the driver is woken without taking the lock again.
    pub(crate) fn send_queued_if(&self, calls: usize, may_direct: bool) {
        if !(may_direct && self.write_direct(calls)) {
            self.wake();
        }
    }

    fn write_direct(&self, calls: usize) -> bool {
        let Some(sink) = self.direct.get() else {
            return false;
        };
        // Busy: the driver is writing, or another caller is; the driver will write this one.
        let Ok(mut sink) = sink.try_lock() else {
            return false;
        };
        if !sink.ready_now() {
            return false;
        }
        let (frame, timer_late) = {
            let mut inner = self.lock();
            // Exactly one queued frame (this caller's) and none held by the driver: writing it
            // now keeps the order of frames.
            if !inner.may_write_direct(calls) {
                return false;
            }
            let Some(frame) = inner.conn.poll_transmit() else {
                return false;
            };
            // The driver's timer must fire by the earliest deadline of the calls pending.
            let timer_late = match (inner.conn.poll_timeout(), inner.timer_at) {
                (Some(deadline), Some(at)) => deadline < at,
                (Some(_), None) => true,
                (None, _) => false,
            };
            (frame, timer_late)
        };
        let sent = sink.send_now(frame);
        drop(sink);
        match sent {
            Sent::Flushed if !timer_late => {}
            Sent::Flushed => self.wake(),
            Sent::Unflushed => {
                self.lock().flush_requested = true;
                self.wake();
            }
            Sent::Failed => {
                tracing::debug!("transport write failed; closing the connection");
                self.request_abort();
            }
        }
        true
    }

    /// Pushes waiting in this connection's outgoing queue.
    pub(crate) fn queued_pushes(&self) -> usize {
        self.lock().pushes.len()
    }

    /// Queues an already serialized notification frame for this connection (bounded).
    pub(crate) fn push_frame(&self, frame: Bytes) -> Result<(), PushError> {
        {
            let mut inner = self.lock();
            if inner.finished || inner.close_requested || inner.conn.is_closed() {
                return Err(PushError::Closed);
            }
            if inner.pushes.len() >= self.push_capacity {
                tracing::warn!(
                    capacity = self.push_capacity,
                    "outgoing push queue full (slow client): notification dropped"
                );
                return Err(PushError::Full);
            }
            inner.pushes.push_back(frame);
        }
        self.wake();
        Ok(())
    }

    /// Serializes and queues a notification for this connection.
    pub(crate) fn push_notification<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<(), PushError> {
        self.push_frame(notification_frame(method, params)?)
    }

    /// Asks the driver to close the connection.
    pub(crate) fn request_close(&self) {
        self.lock().close_requested = true;
        self.wake();
    }

    /// Asks the driver to drop the connection at once, unsent frames included.
    pub(crate) fn request_abort(&self) {
        {
            let mut inner = self.lock();
            inner.close_requested = true;
            inner.abort_requested = true;
        }
        self.wake();
    }

    /// The signal of the driver's end, for a waiter: wait on it until
    /// [`PeerShared::is_finished`].
    pub(crate) fn done(&self) -> &Signal {
        let done = self.done.get_or_init(Box::default);
        // Pairs with the fence of `notify_done`: either the driver sees this signal and
        // notifies it, or the waiter's check that follows sees `finished`.
        fence(Ordering::SeqCst);
        done
    }

    /// The driver ended (after it stored `finished`): wakes the waiters, if any ever came.
    pub(crate) fn notify_done(&self) {
        fence(Ordering::SeqCst);
        if let Some(done) = self.done.get() {
            done.notify_all();
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

/// Serializes params for a call: `null` (e.g. `()`) means no params; anything else must be an
/// array or an object.
pub(crate) fn serialize_params<P: Serialize + ?Sized>(
    params: &P,
) -> Result<Option<Box<RawValue>>, String> {
    let raw = serde_json::value::to_raw_value(params).map_err(|e| e.to_string())?;
    match raw.get().as_bytes().first() {
        Some(b'[') | Some(b'{') => Ok(Some(raw)),
        _ if raw.get() == "null" => Ok(None),
        _ => Err(format!(
            "params must serialize to an array or an object, not {}",
            raw.get()
        )),
    }
}

/// One notification as a frame.
pub(crate) fn notification_frame<P: Serialize + ?Sized>(
    method: &str,
    params: &P,
) -> Result<Bytes, PushError> {
    let params = serialize_params(params).map_err(PushError::Params)?;
    let mut out = Vec::with_capacity(call_len(method, params.as_deref(), None));
    write_call(&mut out, method, params.as_deref(), None);
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers are copied out of their frame (which shares the transport's read buffer), the
    /// small ones of a frame of several into one shared copy, the others on their own.
    #[test]
    fn answers_are_copied_out_of_their_frame() {
        let big = format!("\"{}\"", "x".repeat(IN_FRAME));
        let medium = format!("\"{}\"", "y".repeat(40));
        let text = format!("[{{\"result\":1,\"id\":7}},{big},{medium},\"ab\",[2]]");
        let frame = Bytes::from(text.clone().into_bytes());
        let at = |part: &str| {
            let start = text.find(part).expect("part");
            (start, start + part.len())
        };
        let mut answers = Vec::new();
        for (n, part) in [
            (1, "1"),
            (2, big.as_str()),
            (5, medium.as_str()),
            (3, "\"ab\""),
            (4, "[2]"),
        ] {
            let (start, end) = at(part);
            answers.push((n, start, end));
        }
        let mut got = Vec::new();
        copy_answers(&frame, &answers, |n, a| got.push((n, a)));
        assert!(frame.is_unique(), "no answer keeps the frame");
        let texts: Vec<(u64, &[u8])> = got.iter().map(|(n, a)| (*n, a.bytes())).collect();
        assert_eq!(
            texts,
            [
                (1, &b"1"[..]),
                (2, big.as_bytes()),
                (5, medium.as_bytes()),
                (3, &b"\"ab\""[..]),
                (4, &b"[2]"[..])
            ]
        );
        assert!(matches!(got[0].1, RawAnswer::Inline { len: 1, .. }));
        assert!(matches!(got[1].1, RawAnswer::Owned(_)));
        assert!(matches!(got[2].1, RawAnswer::Frame(_)));
        // the answer of a frame of one
        let mut one = Vec::new();
        copy_answers(&frame, &answers[2..3], |n, a| one.push((n, a)));
        assert!(matches!(&one[..], [(5, RawAnswer::Frame(b))] if b == medium.as_bytes()));
        assert!(frame.is_unique());
    }
}
