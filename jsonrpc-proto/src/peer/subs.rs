//! Subscriptions as one connection sees them, behind the connection's lock.
//!
//! Server side ([`ServerSubs`]): one bounded queue of ready frames per subscription, drained by
//! the connection's driver round-robin into its outbox (so one busy subscription cannot starve
//! another of the same connection), with a waker for a producer waiting for room and wakers for
//! `closed()`. A subscription's frames only go out once the answer to its subscribe call did
//! (the driver reports answers by request id), and everything is dropped when the connection
//! ends. The layer above builds the frames and decides what a full queue means.
//!
//! Client side ([`ClientSubs`]): notifications whose `params.subscription` names a live
//! subscription are routed to it; a full subscription buffer pauses reading the connection
//! (lossless backpressure) until its consumer catches up, or, under [`LagPolicy::End`], ends
//! that subscription (an unsubscribe for the layer above to send) and reads on.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll, Waker};

use bytes::Bytes;
use futures::channel::oneshot;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::protocol::message::Notification;

/// Both sides' subscriptions of one connection.
#[derive(Default)]
pub(crate) struct Subs {
    pub(crate) server: ServerSubs,
    pub(crate) client: ClientSubs,
}

impl Subs {
    /// Empty registries; each client-side subscription buffers up to `client_buffer` items.
    pub(crate) fn new(client_buffer: usize) -> Self {
        let mut subs = Subs::default();
        subs.client.set_capacity(client_buffer);
        subs
    }

    /// Gives back the tables of both sides that hold nothing (a quiet connection).
    pub(crate) fn release_if_unused(&mut self) {
        self.server.release_if_unused();
        self.client.release_if_unused();
    }

    /// The connection ended: every subscription ends; returns nothing, wakes everyone.
    pub(crate) fn close_all(&mut self, wake: &mut Vec<Waker>) {
        self.server.close_all(wake);
        self.client.close_all(wake);
    }
}

/// Names one server-side subscription of a connection (stale once it is removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SubKey {
    index: u32,
    gen: u32,
}

struct Entry {
    id: Arc<str>,
    /// Which subscription pair it belongs to (its unsubscribe method's name).
    kind: Arc<str>,
    queue: VecDeque<Bytes>,
    capacity: usize,
    /// The subscribe call is not answered yet: its frames wait.
    awaiting: Option<Id>,
    /// Answered, but the answer's frame is not out yet (a batch waiting for its other
    /// members): its frames still wait.
    held: bool,
    /// The producer ended it: removed once its queue (with the final frame) is written.
    ended: bool,
    in_ready: bool,
    room: Option<Waker>,
    closed: Vec<Waker>,
    /// Dropped when the entry goes (the layer above counts live subscriptions with it).
    _guard: Box<dyn Send>,
}

#[derive(Default)]
struct Slot {
    gen: u32,
    entry: Option<Entry>,
}

/// Why a subscription could not be registered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RegisterError {
    /// The connection already holds its maximum.
    TooMany,
    /// The connection is closed.
    Closed,
}

/// What offering a frame did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Offered {
    /// Queued.
    Queued,
    /// The queue is full (a waker was stored when one was given).
    Full,
    /// The queue is full because the subscribe call's answer is not out yet (a waker was
    /// stored when one was given): room comes soon, whatever the client's speed.
    Early,
    /// The subscription is gone (unsubscribed, ended, or the connection closed).
    Closed,
}

/// The server-side subscriptions of one connection. Their tables are allocated at the first
/// subscription and given back when the connection is quiet with none left
/// ([`ServerSubs::release_if_unused`]): a connection that never subscribes keeps only this.
#[derive(Default)]
pub(crate) struct ServerSubs {
    tables: Option<Box<ServerTables>>,
    closed: bool,
    /// The generation the slots of the next tables start at: past every generation that
    /// released tables gave out, so a stale key never names a later subscription.
    next_gen: u32,
}

/// The tables of [`ServerSubs`], while it has any.
struct ServerTables {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_id: HashMap<Arc<str>, u32>,
    /// Subscriptions with frames ready to go, in turn (stale keys are skipped).
    ready: VecDeque<SubKey>,
    /// Subscriptions whose subscribe call awaits its answer.
    awaiting: usize,
    /// Subscriptions answered whose answer's frame is not out yet.
    held: usize,
    /// Frames queued over every subscription.
    queued: usize,
    /// The generation of new slots.
    first_gen: u32,
    /// One per subscription handler still running on this connection: all dropped when the
    /// connection closes, which ends (drops) those handlers' futures.
    handlers: Vec<oneshot::Sender<()>>,
    /// `handlers.len()` after the last pruning of finished handlers.
    pruned: usize,
}

impl ServerTables {
    fn new(first_gen: u32) -> Self {
        ServerTables {
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            ready: VecDeque::new(),
            awaiting: 0,
            held: 0,
            queued: 0,
            first_gen,
            handlers: Vec::new(),
            pruned: 0,
        }
    }

    /// True when nothing is registered and no subscription handler may still run.
    fn unused(&self) -> bool {
        self.by_id.is_empty() && self.handlers.iter().all(oneshot::Sender::is_canceled)
    }

    /// The first generation past every one these tables gave out.
    fn gen_after(&self) -> u32 {
        self.slots
            .iter()
            .map(|s| s.gen.wrapping_add(1))
            .fold(self.first_gen, u32::max)
    }

    fn entry(&self, key: SubKey) -> Option<&Entry> {
        let slot = self.slots.get(key.index as usize)?;
        (slot.gen == key.gen)
            .then_some(slot.entry.as_ref())
            .flatten()
    }

    fn entry_mut(&mut self, key: SubKey) -> Option<&mut Entry> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.gen != key.gen {
            return None;
        }
        slot.entry.as_mut()
    }

    /// Live subscriptions.
    fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Registers a subscription whose subscribe call (`awaiting`) is being answered.
    #[allow(clippy::too_many_arguments)]
    fn register(
        &mut self,
        id: Arc<str>,
        kind: Arc<str>,
        capacity: usize,
        awaiting: Id,
        max: usize,
        guard: Box<dyn Send>,
    ) -> Result<SubKey, RegisterError> {
        if self.by_id.len() >= max || self.by_id.contains_key(&id) {
            return Err(RegisterError::TooMany);
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    gen: self.first_gen,
                    entry: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.entry = Some(Entry {
            id: Arc::clone(&id),
            kind,
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            awaiting: Some(awaiting),
            held: false,
            ended: false,
            in_ready: false,
            room: None,
            closed: Vec::new(),
            _guard: guard,
        });
        self.awaiting += 1;
        self.by_id.insert(id, index);
        Ok(SubKey {
            index,
            gen: slot.gen,
        })
    }

    fn remove_at(&mut self, index: u32, wake: &mut Vec<Waker>) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        let Some(mut entry) = slot.entry.take() else {
            return;
        };
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(index);
        self.by_id.remove(&entry.id);
        self.queued -= entry.queue.len();
        if entry.awaiting.is_some() {
            self.awaiting -= 1;
        }
        if entry.held {
            self.held -= 1;
        }
        wake.extend(entry.room.take());
        wake.append(&mut entry.closed);
    }

    /// Removes a subscription by id (unsubscribe); false when this connection has no such
    /// subscription of that kind. Frames not yet handed to the driver are dropped.
    fn remove_by_id(&mut self, id: &str, kind: &str, wake: &mut Vec<Waker>) -> bool {
        let Some(&index) = self.by_id.get(id) else {
            return false;
        };
        let matches = self.slots[index as usize]
            .entry
            .as_ref()
            .is_some_and(|e| &*e.kind == kind && !e.ended);
        if matches {
            self.remove_at(index, wake);
        }
        matches
    }

    /// Removes a subscription now (the producer gave up on it).
    fn remove(&mut self, key: SubKey, wake: &mut Vec<Waker>) {
        if self.entry(key).is_some() {
            self.remove_at(key.index, wake);
        }
    }

    /// Offers one frame. With `cx`, a full queue stores the task's waker for room.
    /// Returns whether the driver must be woken too.
    fn offer(
        &mut self,
        key: SubKey,
        frame: &mut Option<Bytes>,
        cx: Option<&mut TaskCx<'_>>,
    ) -> (Offered, bool) {
        let Some(entry) = self.entry_mut(key) else {
            return (Offered::Closed, false);
        };
        if entry.ended {
            return (Offered::Closed, false);
        }
        if entry.queue.len() >= entry.capacity {
            if let Some(cx) = cx {
                if !entry.room.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    entry.room = Some(cx.waker().clone());
                }
            }
            let full = if entry.awaiting.is_some() || entry.held {
                Offered::Early
            } else {
                Offered::Full
            };
            return (full, false);
        }
        let Some(f) = frame.take() else {
            return (Offered::Queued, false);
        };
        entry.queue.push_back(f);
        let wake = entry.awaiting.is_none() && !entry.held && !entry.in_ready;
        if wake {
            entry.in_ready = true;
        }
        self.queued += 1;
        if wake {
            self.ready.push_back(key);
        }
        (Offered::Queued, wake)
    }

    /// Ends a subscription after its queued frames and `last` (written regardless of room).
    /// Returns whether the driver must be woken.
    fn end(&mut self, key: SubKey, last: Option<Bytes>, wake: &mut Vec<Waker>) -> bool {
        let Some(entry) = self.entry_mut(key) else {
            return false;
        };
        if entry.ended {
            return false;
        }
        let pushed = last.is_some();
        if let Some(last) = last {
            entry.queue.push_back(last);
        }
        entry.ended = true;
        wake.extend(entry.room.take());
        wake.append(&mut entry.closed);
        if entry.queue.is_empty() {
            self.remove_at(key.index, wake);
            return false;
        }
        let schedule = entry.awaiting.is_none() && !entry.held && !entry.in_ready;
        if schedule {
            entry.in_ready = true;
        }
        if pushed {
            self.queued += 1;
        }
        if schedule {
            self.ready.push_back(key);
        }
        schedule
    }

    /// Frames queued for one subscription (0 once it is gone).
    fn queue_len(&self, key: SubKey) -> usize {
        self.entry(key).map_or(0, |e| e.queue.len())
    }

    /// Ready when the subscription is gone or ended; else stores the waker.
    fn poll_closed(&mut self, key: SubKey, cx: &mut TaskCx<'_>) -> Poll<()> {
        match self.entry_mut(key) {
            Some(e) if !e.ended => {
                if !e.closed.iter().any(|w| w.will_wake(cx.waker())) {
                    e.closed.push(cx.waker().clone());
                }
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }

    /// True while the subscription lives (not unsubscribed, ended or disconnected).
    fn is_live(&self, key: SubKey) -> bool {
        self.entry(key).is_some_and(|e| !e.ended)
    }

    /// The answer to request `id` was recorded: a subscription it created may send now
    /// (`ok`), or never (an error answer replaced it: deadline, cancellation).
    fn answered(&mut self, id: &Id, ok: bool, wake: &mut Vec<Waker>) {
        if self.awaiting == 0 {
            return;
        }
        let Some(index) = self.slots.iter().position(|s| {
            s.entry
                .as_ref()
                .is_some_and(|e| e.awaiting.as_ref() == Some(id))
        }) else {
            return;
        };
        if !ok {
            self.remove_at(index as u32, wake);
            return;
        }
        self.awaiting -= 1;
        let Some(e) = self.slots[index].entry.as_mut() else {
            return;
        };
        e.awaiting = None;
        e.held = true;
        self.held += 1;
    }

    /// A frame of answers went out: subscriptions whose answer was recorded before may send.
    /// (A subscribe call inside a batch is answered with the batch, which goes out as one
    /// frame when its last member is answered.)
    fn answers_out(&mut self) {
        if self.held == 0 {
            return;
        }
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let Some(e) = slot.entry.as_mut().filter(|e| e.held) else {
                continue;
            };
            e.held = false;
            self.held -= 1;
            if !e.queue.is_empty() && !e.in_ready {
                e.in_ready = true;
                self.ready.push_back(SubKey {
                    index: index as u32,
                    gen: slot.gen,
                });
            }
        }
    }

    /// True when some subscription awaits the answer to its subscribe call.
    fn awaiting_answers(&self) -> bool {
        self.awaiting > 0
    }

    /// Moves ready frames into `out` (one per subscription in turn) until it holds `high`;
    /// collects the wakers of producers that got room (woken at half capacity, in batches).
    fn drain(&mut self, out: &mut VecDeque<Bytes>, high: usize, wake: &mut Vec<Waker>) {
        while out.len() < high {
            let Some(key) = self.ready.pop_front() else {
                break;
            };
            let index = key.index;
            let Some(e) = self
                .slots
                .get_mut(index as usize)
                .filter(|s| s.gen == key.gen)
                .and_then(|s| s.entry.as_mut())
            else {
                continue;
            };
            if !e.in_ready {
                continue;
            }
            let Some(frame) = e.queue.pop_front() else {
                e.in_ready = false;
                continue;
            };
            self.queued -= 1;
            out.push_back(frame);
            if e.queue.len() <= e.capacity / 2 {
                wake.extend(e.room.take());
            }
            if e.queue.is_empty() {
                e.in_ready = false;
                if e.ended {
                    self.remove_at(index, wake);
                }
            } else {
                self.ready.push_back(key);
            }
        }
    }

    /// Completes (`Ok` or `Err`, either means it) when this connection closes: a subscription
    /// handler's task races its handler against it. At once when the connection is closed.
    fn watch_close(&mut self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        // Finished handlers dropped their receiver: forget them now and then (amortized).
        if self.handlers.len() >= 2 * self.pruned.max(8) {
            self.handlers.retain(|h| !h.is_canceled());
            self.pruned = self.handlers.len();
        }
        self.handlers.push(tx);
        rx
    }

    fn close_all(&mut self, wake: &mut Vec<Waker>) {
        for index in 0..self.slots.len() as u32 {
            self.remove_at(index, wake);
        }
        self.ready.clear();
        self.handlers.clear();
        self.pruned = 0;
    }
}

impl ServerSubs {
    /// The tables, allocated now if there are none.
    fn tables(&mut self) -> &mut ServerTables {
        let first_gen = self.next_gen;
        self.tables
            .get_or_insert_with(|| Box::new(ServerTables::new(first_gen)))
    }

    /// Gives back the tables when no subscription is left and no subscription handler may
    /// still run (they are allocated again by the next subscription).
    pub(crate) fn release_if_unused(&mut self) {
        if let Some(t) = self.tables.take_if(|t| t.unused()) {
            self.next_gen = t.gen_after();
        }
    }

    /// True while the tables are allocated.
    #[cfg(test)]
    fn has_tables(&self) -> bool {
        self.tables.is_some()
    }

    /// Live subscriptions.
    pub(crate) fn len(&self) -> usize {
        self.tables.as_ref().map_or(0, |t| t.len())
    }

    /// Registers a subscription whose subscribe call (`awaiting`) is being answered.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn register(
        &mut self,
        id: Arc<str>,
        kind: Arc<str>,
        capacity: usize,
        awaiting: Id,
        max: usize,
        guard: Box<dyn Send>,
    ) -> Result<SubKey, RegisterError> {
        if self.closed {
            return Err(RegisterError::Closed);
        }
        self.tables()
            .register(id, kind, capacity, awaiting, max, guard)
    }

    /// Removes a subscription by id (unsubscribe); false when this connection has no such
    /// subscription of that kind. Frames not yet handed to the driver are dropped.
    pub(crate) fn remove_by_id(&mut self, id: &str, kind: &str, wake: &mut Vec<Waker>) -> bool {
        self.tables
            .as_mut()
            .is_some_and(|t| t.remove_by_id(id, kind, wake))
    }

    /// Removes a subscription now (the producer gave up on it).
    pub(crate) fn remove(&mut self, key: SubKey, wake: &mut Vec<Waker>) {
        if let Some(t) = self.tables.as_mut() {
            t.remove(key, wake);
        }
    }

    /// Offers one frame. With `cx`, a full queue stores the task's waker for room.
    /// Returns whether the driver must be woken too.
    pub(crate) fn offer(
        &mut self,
        key: SubKey,
        frame: &mut Option<Bytes>,
        cx: Option<&mut TaskCx<'_>>,
    ) -> (Offered, bool) {
        match self.tables.as_mut() {
            Some(t) => t.offer(key, frame, cx),
            None => (Offered::Closed, false),
        }
    }

    /// Ends a subscription after its queued frames and `last` (written regardless of room).
    /// Returns whether the driver must be woken.
    pub(crate) fn end(&mut self, key: SubKey, last: Option<Bytes>, wake: &mut Vec<Waker>) -> bool {
        self.tables.as_mut().is_some_and(|t| t.end(key, last, wake))
    }

    /// Frames queued for one subscription (0 once it is gone).
    pub(crate) fn queue_len(&self, key: SubKey) -> usize {
        self.tables.as_ref().map_or(0, |t| t.queue_len(key))
    }

    /// Ready when the subscription is gone or ended; else stores the waker.
    pub(crate) fn poll_closed(&mut self, key: SubKey, cx: &mut TaskCx<'_>) -> Poll<()> {
        match self.tables.as_mut() {
            Some(t) => t.poll_closed(key, cx),
            None => Poll::Ready(()),
        }
    }

    /// True while the subscription lives (not unsubscribed, ended or disconnected).
    pub(crate) fn is_live(&self, key: SubKey) -> bool {
        self.tables.as_ref().is_some_and(|t| t.is_live(key))
    }

    /// The answer to request `id` was recorded: a subscription it created may send now
    /// (`ok`), or never (an error answer replaced it: deadline, cancellation).
    pub(crate) fn answered(&mut self, id: &Id, ok: bool, wake: &mut Vec<Waker>) {
        if let Some(t) = self.tables.as_mut() {
            t.answered(id, ok, wake);
        }
    }

    /// A frame of answers went out: subscriptions whose answer was recorded before may send.
    pub(crate) fn answers_out(&mut self) {
        if let Some(t) = self.tables.as_mut() {
            t.answers_out();
        }
    }

    /// True when some subscription awaits the answer to its subscribe call.
    pub(crate) fn awaiting_answers(&self) -> bool {
        self.tables.as_ref().is_some_and(|t| t.awaiting_answers())
    }

    /// Moves ready frames into `out` (one per subscription in turn) until it holds `high`;
    /// collects the wakers of producers that got room (woken at half capacity, in batches).
    pub(crate) fn drain(&mut self, out: &mut VecDeque<Bytes>, high: usize, wake: &mut Vec<Waker>) {
        if let Some(t) = self.tables.as_mut() {
            t.drain(out, high, wake);
        }
    }

    /// Completes (`Ok` or `Err`, either means it) when this connection closes: a subscription
    /// handler's task races its handler against it. At once when the connection is closed.
    pub(crate) fn watch_close(&mut self) -> oneshot::Receiver<()> {
        if self.closed {
            // The sender is dropped at once: the receiver completes.
            return oneshot::channel().1;
        }
        self.tables().watch_close()
    }

    /// Handlers of this connection that may still run (finished ones are forgotten lazily).
    #[cfg(test)]
    pub(crate) fn running_handlers(&self) -> usize {
        self.tables.as_ref().map_or(0, |t| {
            t.handlers.iter().filter(|h| !h.is_canceled()).count()
        })
    }

    fn close_all(&mut self, wake: &mut Vec<Waker>) {
        self.closed = true;
        if let Some(mut t) = self.tables.take() {
            t.close_all(wake);
        }
    }
}

/// Why a client-side subscription ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EndReason {
    /// This side unsubscribed.
    Unsubscribed,
    /// The server ended it; with the error it gave, if any.
    Server(Option<ErrorObject>),
    /// The connection closed.
    ConnectionClosed,
    /// Its consumer fell a whole buffer behind under [`LagPolicy::End`]: this side ended it
    /// (and told the server) after the items it had buffered.
    Lagged,
}

/// What a client does when a subscription's consumer falls behind: its buffer
/// (`ClientConfig::notification_buffer` items) is full and another item arrives. Set per
/// connection with `ClientConfig::with_subscription_lag`, per subscription with
/// `Subscription::with_lag_policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LagPolicy {
    /// Stop reading the connection until the consumer catches up (default): nothing is lost
    /// and the server's producer is slowed, but the whole connection waits for that one
    /// stream (answers to other calls and other subscriptions' items included).
    #[default]
    Pause,
    /// End the subscription: its stream yields the items it buffered, then ends with
    /// [`EndReason::Lagged`]; the server is sent the unsubscribe at once and the connection
    /// reads on. Later items of it are dropped.
    End,
}

struct ClientEntry {
    items: VecDeque<Box<RawValue>>,
    end: Option<EndReason>,
    waker: Option<Waker>,
    full: bool,
    lag: LagPolicy,
    /// The method that ends it on the server.
    unsubscribe: Arc<str>,
}

/// The client-side subscriptions of one connection, by the id the server gave.
pub(crate) struct ClientSubs {
    /// Allocated at the first subscribe call, given back when the connection is quiet with
    /// none left ([`ClientSubs::release_if_unused`]).
    tables: Option<Box<ClientTables>>,
    capacity: usize,
    full: usize,
    paused: Arc<AtomicBool>,
    closed: bool,
    /// The policy new subscriptions start with.
    lag: LagPolicy,
}

/// The tables of [`ClientSubs`], while it has any.
#[derive(Default)]
struct ClientTables {
    /// Subscribe calls awaiting their answer, by call number, with their unsubscribe method.
    pending: Vec<(u64, Arc<str>)>,
    by_id: HashMap<Box<str>, ClientEntry>,
    /// Subscriptions ended for lagging whose unsubscribe is not sent yet: (id as raw JSON,
    /// unsubscribe method).
    lagged: Vec<(Box<str>, Arc<str>)>,
}

impl Default for ClientSubs {
    fn default() -> Self {
        ClientSubs {
            tables: None,
            capacity: 1024,
            full: 0,
            paused: Arc::new(AtomicBool::new(false)),
            closed: false,
            lag: LagPolicy::Pause,
        }
    }
}

/// `params` of a subscription notification.
#[derive(Deserialize)]
struct SubParams<'a> {
    #[serde(borrow)]
    subscription: &'a RawValue,
    #[serde(default, deserialize_with = "some_raw")]
    result: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "some_raw")]
    error: Option<Box<RawValue>>,
}

fn some_raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

impl ClientSubs {
    /// Gives back the tables when no subscription is open or awaited and no unsubscribe is
    /// owed (they are allocated again by the next subscribe call).
    pub(crate) fn release_if_unused(&mut self) {
        self.tables
            .take_if(|t| t.pending.is_empty() && t.by_id.is_empty() && t.lagged.is_empty());
    }

    /// True while the tables are allocated.
    #[cfg(test)]
    fn has_tables(&self) -> bool {
        self.tables.is_some()
    }

    /// The flag the driver reads to stop reading while a subscription buffer is full.
    pub(crate) fn paused_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.paused)
    }

    /// Buffer size of each subscription (the client's `notification_buffer`).
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
    }

    /// The policy of subscriptions opened from now on (the client's `subscription_lag`).
    pub(crate) fn set_default_lag(&mut self, lag: LagPolicy) {
        self.lag = lag;
    }

    /// Call `n` is a subscribe call: its answer (a subscription id) opens a subscription that
    /// `unsubscribe` ends.
    pub(crate) fn expect(&mut self, n: u64, unsubscribe: Arc<str>) -> bool {
        if self.closed {
            return false;
        }
        self.tables
            .get_or_insert_with(Default::default)
            .pending
            .push((n, unsubscribe));
        true
    }

    /// Forgets a subscribe call (its future was dropped); true when it was still pending.
    pub(crate) fn forget(&mut self, n: u64) -> bool {
        self.take_pending(n).is_some()
    }

    fn take_pending(&mut self, n: u64) -> Option<Arc<str>> {
        let pending = &mut self.tables.as_mut()?.pending;
        let i = pending.iter().position(|(p, _)| *p == n)?;
        Some(pending.swap_remove(i).1)
    }

    /// True while a subscribe call awaits its answer: [`ClientSubs::on_response`] has
    /// nothing to do otherwise (and no answer it is not given can make it true).
    #[inline]
    pub(crate) fn awaits_answers(&self) -> bool {
        self.tables.as_ref().is_some_and(|t| !t.pending.is_empty())
    }

    /// The answer to call `n` came: when it was a subscribe call that succeeded, its
    /// subscription starts receiving (before anything else is read). `result`: the result's
    /// JSON text (valid UTF-8), `None` when the call failed.
    pub(crate) fn on_response(&mut self, n: u64, result: Option<&[u8]>) {
        if self.tables.as_ref().is_none_or(|t| t.pending.is_empty()) {
            return;
        }
        let Some(unsubscribe) = self.take_pending(n) else {
            return;
        };
        let lag = self.lag;
        let text = result.and_then(|b| std::str::from_utf8(b).ok());
        if let (Some(text), Some(t)) = (text, self.tables.as_mut()) {
            t.by_id.insert(
                text.into(),
                ClientEntry {
                    items: VecDeque::new(),
                    end: None,
                    waker: None,
                    full: false,
                    lag,
                    unsubscribe,
                },
            );
        }
    }

    /// Takes a notification addressed to a live subscription; gives the others back.
    pub(crate) fn route(&mut self, n: Notification<'static>) -> Option<Notification<'static>> {
        let Some(t) = self.tables.as_mut().filter(|t| !t.by_id.is_empty()) else {
            return Some(n);
        };
        let Some(params) = n.params.as_deref() else {
            return Some(n);
        };
        let Ok(p) = serde_json::from_str::<SubParams<'_>>(params.get()) else {
            return Some(n);
        };
        let Some(entry) = t.by_id.get_mut(p.subscription.get()) else {
            return Some(n);
        };
        if entry.end.is_some() {
            return None;
        }
        match (p.result, p.error) {
            (Some(_), _) if entry.lag == LagPolicy::End && entry.items.len() >= self.capacity => {
                entry.end = Some(EndReason::Lagged);
                t.lagged
                    .push((p.subscription.get().into(), Arc::clone(&entry.unsubscribe)));
            }
            (Some(item), _) => {
                entry.items.push_back(item);
                if entry.lag == LagPolicy::Pause
                    && !entry.full
                    && entry.items.len() >= self.capacity
                {
                    entry.full = true;
                    self.full += 1;
                    self.paused.store(true, Ordering::SeqCst);
                }
            }
            (None, error) => {
                let error = error.and_then(|e| serde_json::from_str::<ErrorObject>(e.get()).ok());
                entry.end = Some(EndReason::Server(error));
            }
        }
        if let Some(w) = entry.waker.take() {
            w.wake();
        }
        None
    }

    /// Next item of subscription `id`: `Ready(Ok(item))`, `Ready(Err(reason))` once it ended
    /// and is drained, else Pending (waker stored). `unpaused` tells the caller to wake the
    /// driver.
    pub(crate) fn poll_item(
        &mut self,
        id: &str,
        cx: &mut TaskCx<'_>,
        unpaused: &mut bool,
    ) -> Poll<Result<Box<RawValue>, EndReason>> {
        let Some(entry) = self.tables.as_mut().and_then(|t| t.by_id.get_mut(id)) else {
            return Poll::Ready(Err(if self.closed {
                EndReason::ConnectionClosed
            } else {
                EndReason::Unsubscribed
            }));
        };
        if let Some(item) = entry.items.pop_front() {
            if entry.full && entry.items.len() < self.capacity {
                entry.full = false;
                self.full -= 1;
                if self.full == 0 {
                    self.paused.store(false, Ordering::SeqCst);
                    *unpaused = true;
                }
            }
            return Poll::Ready(Ok(item));
        }
        if let Some(end) = &entry.end {
            return Poll::Ready(Err(end.clone()));
        }
        if !entry
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            entry.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Unsubscribes owed to servers for subscriptions ended for lagging: (id as raw JSON,
    /// unsubscribe method). The caller sends them (notifications).
    pub(crate) fn take_lagged(&mut self) -> Vec<(Box<str>, Arc<str>)> {
        self.tables
            .as_mut()
            .map(|t| std::mem::take(&mut t.lagged))
            .unwrap_or_default()
    }

    /// Sets subscription `id`'s policy. Returns the unsubscribe method to send when that ends
    /// it now (its buffer is full already) and whether reading resumed.
    pub(crate) fn set_lag(&mut self, id: &str, lag: LagPolicy) -> (Option<Arc<str>>, bool) {
        let Some(entry) = self.tables.as_mut().and_then(|t| t.by_id.get_mut(id)) else {
            return (None, false);
        };
        entry.lag = lag;
        if lag != LagPolicy::End || entry.end.is_some() || entry.items.len() < self.capacity {
            return (None, false);
        }
        entry.end = Some(EndReason::Lagged);
        if let Some(w) = entry.waker.take() {
            w.wake();
        }
        let unsubscribe = Arc::clone(&entry.unsubscribe);
        let mut unpaused = false;
        if entry.full {
            entry.full = false;
            self.full -= 1;
            if self.full == 0 {
                self.paused.store(false, Ordering::SeqCst);
                unpaused = true;
            }
        }
        (Some(unsubscribe), unpaused)
    }

    /// Items buffered for subscription `id`.
    pub(crate) fn buffered(&self, id: &str) -> usize {
        self.tables
            .as_ref()
            .and_then(|t| t.by_id.get(id))
            .map_or(0, |e| e.items.len())
    }

    /// Live client-side subscriptions.
    pub(crate) fn len(&self) -> usize {
        self.tables.as_ref().map_or(0, |t| t.by_id.len())
    }

    /// Stops routing to subscription `id` (unsubscribe or drop); returns whether it was open
    /// (not ended by the server) and whether reading resumed.
    pub(crate) fn remove(&mut self, id: &str) -> (bool, bool) {
        let Some(entry) = self.tables.as_mut().and_then(|t| t.by_id.remove(id)) else {
            return (false, false);
        };
        let mut unpaused = false;
        if entry.full {
            self.full -= 1;
            if self.full == 0 {
                self.paused.store(false, Ordering::SeqCst);
                unpaused = true;
            }
        }
        (entry.end.is_none(), unpaused)
    }

    fn close_all(&mut self, wake: &mut Vec<Waker>) {
        self.closed = true;
        if let Some(t) = self.tables.as_mut() {
            t.pending.clear();
            t.lagged.clear();
            for entry in t.by_id.values_mut() {
                if entry.end.is_none() {
                    entry.end = Some(EndReason::ConnectionClosed);
                }
                // Nothing is read any more: no buffer holds reading back (and none is counted).
                entry.full = false;
                wake.extend(entry.waker.take());
            }
        }
        self.full = 0;
        self.paused.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn reg(subs: &mut ServerSubs, id: &str, req: u64, cap: usize) -> SubKey {
        subs.register(
            id.into(),
            "unsub".into(),
            cap,
            Id::from(req),
            8,
            Box::new(()),
        )
        .expect("registered")
    }

    fn offer(subs: &mut ServerSubs, key: SubKey, s: &'static str) -> Offered {
        subs.offer(key, &mut Some(Bytes::from_static(s.as_bytes())), None)
            .0
    }

    fn drain(subs: &mut ServerSubs) -> Vec<Bytes> {
        let mut out = VecDeque::new();
        subs.drain(&mut out, 100, &mut Vec::new());
        out.into_iter().collect()
    }

    #[test]
    fn frames_wait_for_the_subscribe_answer_then_go_in_order() {
        let mut subs = ServerSubs::default();
        let k = reg(&mut subs, "a", 1, 8);
        for s in ["1", "2", "3"] {
            assert_eq!(offer(&mut subs, k, s), Offered::Queued);
        }
        assert!(drain(&mut subs).is_empty(), "nothing before the answer");
        subs.answered(&Id::from(1), true, &mut Vec::new());
        assert!(
            drain(&mut subs).is_empty(),
            "nor before its frame (a batch not complete yet)"
        );
        subs.answers_out();
        assert_eq!(drain(&mut subs), ["1", "2", "3"]);
        assert_eq!(subs.queue_len(k), 0);
    }

    #[test]
    fn subscriptions_of_a_connection_take_turns() {
        let mut subs = ServerSubs::default();
        let a = reg(&mut subs, "a", 1, 8);
        let b = reg(&mut subs, "b", 2, 8);
        subs.answered(&Id::from(1), true, &mut Vec::new());
        subs.answers_out();
        subs.answered(&Id::from(2), true, &mut Vec::new());
        subs.answers_out();
        for s in ["a1", "a2", "a3"] {
            offer(&mut subs, a, s);
        }
        offer(&mut subs, b, "b1");
        assert_eq!(drain(&mut subs), ["a1", "b1", "a2", "a3"]);
    }

    #[test]
    fn a_full_buffer_refuses_and_wakes_the_producer_at_half() {
        let mut subs = ServerSubs::default();
        let k = reg(&mut subs, "a", 1, 4);
        subs.answered(&Id::from(1), true, &mut Vec::new());
        subs.answers_out();
        for s in ["1", "2", "3", "4"] {
            assert_eq!(offer(&mut subs, k, s), Offered::Queued);
        }
        let count = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = TaskCx::from_waker(&waker);
        let mut frame = Some(Bytes::from_static(b"5"));
        assert_eq!(subs.offer(k, &mut frame, Some(&mut cx)).0, Offered::Full);
        assert!(frame.is_some(), "a refused frame stays with the producer");
        let mut out = VecDeque::new();
        let mut wake = Vec::new();
        subs.drain(&mut out, 1, &mut wake);
        assert!(wake.is_empty(), "3 of 4 queued: not yet");
        subs.drain(&mut out, 2, &mut wake);
        assert_eq!(wake.len(), 1, "woken at half");
    }

    #[test]
    fn a_reused_slot_is_not_drained_through_a_stale_turn() {
        let mut subs = ServerSubs::default();
        let a = reg(&mut subs, "a", 1, 8);
        subs.answered(&Id::from(1), true, &mut Vec::new());
        subs.answers_out();
        offer(&mut subs, a, "a1");
        assert!(subs.remove_by_id("a", "unsub", &mut Vec::new()));
        let b = reg(&mut subs, "b", 2, 8);
        assert_eq!(offer(&mut subs, a, "late"), Offered::Closed, "stale key");
        offer(&mut subs, b, "b1");
        assert!(drain(&mut subs).is_empty(), "b awaits its answer");
        subs.answered(&Id::from(2), true, &mut Vec::new());
        subs.answers_out();
        assert_eq!(drain(&mut subs), ["b1"]);
    }

    #[test]
    fn ends_unsubscribes_errors_caps_and_close() {
        let mut subs = ServerSubs::default();
        let a = reg(&mut subs, "a", 1, 1);
        offer(&mut subs, a, "1");
        // The end goes out after the queued items, whatever the room.
        subs.end(a, Some(Bytes::from_static(b"end")), &mut Vec::new());
        assert!(!subs.is_live(a));
        assert!(!subs.remove_by_id("a", "unsub", &mut Vec::new()), "ended");
        subs.answered(&Id::from(1), true, &mut Vec::new());
        subs.answers_out();
        assert_eq!(drain(&mut subs), ["1", "end"]);
        assert_eq!(subs.len(), 0, "removed once written");
        // An error answer (deadline) removes the subscription it would have opened.
        reg(&mut subs, "b", 2, 1);
        subs.answered(&Id::from(2), false, &mut Vec::new());
        assert_eq!(subs.len(), 0);
        // The cap, the kind, the close.
        for i in 0..8 {
            reg(&mut subs, &format!("c{i}"), 10 + i, 1);
        }
        let over = subs.register("x".into(), "unsub".into(), 1, Id::from(99), 8, Box::new(()));
        assert_eq!(over, Err(RegisterError::TooMany));
        assert!(!subs.remove_by_id("c0", "other_unsub", &mut Vec::new()));
        subs.close_all(&mut Vec::new());
        assert_eq!(subs.len(), 0);
        let late = subs.register(
            "y".into(),
            "unsub".into(),
            1,
            Id::from(100),
            8,
            Box::new(()),
        );
        assert_eq!(late, Err(RegisterError::Closed));
    }

    #[test]
    fn closing_the_connection_signals_every_running_handler() {
        let mut subs = ServerSubs::default();
        let running: Vec<_> = (0..5).map(|_| subs.watch_close()).collect();
        // Handlers that finished drop their receiver and are forgotten (lazily).
        for _ in 0..1000 {
            drop(subs.watch_close());
        }
        assert_eq!(subs.running_handlers(), 5);
        let handlers = subs.tables.as_ref().map_or(0, |t| t.handlers.len());
        assert!(handlers <= 16, "bounded: {handlers}");
        subs.close_all(&mut Vec::new());
        for mut rx in running {
            assert!(rx.try_recv().is_err(), "fired: the sender is gone");
        }
        let mut after = subs.watch_close();
        assert!(
            after.try_recv().is_err(),
            "a handler of a closed connection stops at once"
        );
        assert_eq!(subs.running_handlers(), 0);
    }

    #[test]
    fn tables_come_with_the_first_subscription_and_go_after_the_last() {
        let mut subs = ServerSubs::default();
        assert!(
            !subs.has_tables(),
            "a connection that never subscribes has none"
        );
        assert_eq!(subs.len(), 0);
        assert!(!subs.awaiting_answers());
        let a = reg(&mut subs, "a", 1, 8);
        assert!(subs.has_tables());
        subs.release_if_unused();
        assert!(subs.has_tables(), "kept while a subscription lives");
        subs.answered(&Id::from(1), true, &mut Vec::new());
        subs.answers_out();
        assert_eq!(offer(&mut subs, a, "a1"), Offered::Queued);
        assert_eq!(drain(&mut subs), ["a1"]);
        assert!(subs.remove_by_id("a", "unsub", &mut Vec::new()));
        subs.release_if_unused();
        assert!(!subs.has_tables(), "given back after the last one");
        // The same slot index in the new tables: the old key names nothing.
        assert_eq!(offer(&mut subs, a, "late"), Offered::Closed);
        assert!(!subs.is_live(a));
        let b = reg(&mut subs, "b", 2, 8);
        assert_ne!(a, b);
        assert_eq!(offer(&mut subs, a, "late"), Offered::Closed, "stale key");
        assert!(!subs.is_live(a));
        assert!(subs.is_live(b));
        assert_eq!(offer(&mut subs, b, "b1"), Offered::Queued);
        subs.answered(&Id::from(2), true, &mut Vec::new());
        subs.answers_out();
        assert_eq!(drain(&mut subs), ["b1"]);
        // Released and allocated again, several times over.
        for round in 0..3u64 {
            subs.remove(b, &mut Vec::new());
            subs.release_if_unused();
            assert!(!subs.has_tables());
            let c = reg(&mut subs, "c", 10 + round, 8);
            assert_eq!(
                offer(&mut subs, b, "late"),
                Offered::Closed,
                "round {round}"
            );
            subs.remove(c, &mut Vec::new());
        }
    }

    #[test]
    fn a_running_handler_keeps_the_tables_and_a_closed_connection_allocates_none() {
        let mut subs = ServerSubs::default();
        let rx = subs.watch_close();
        assert!(subs.has_tables());
        subs.release_if_unused();
        assert!(subs.has_tables(), "its handler may still register");
        drop(rx);
        subs.release_if_unused();
        assert!(!subs.has_tables());
        subs.close_all(&mut Vec::new());
        let mut late = subs.watch_close();
        assert!(
            late.try_recv().is_err(),
            "completes at once: the sender is gone"
        );
        let refused = subs.register("z".into(), "unsub".into(), 1, Id::from(1), 8, Box::new(()));
        assert_eq!(refused, Err(RegisterError::Closed));
        assert!(!subs.has_tables(), "closed: nothing allocated");
    }

    fn note(params: &str) -> Notification<'static> {
        Notification {
            method: "m".into(),
            params: Some(std::borrow::Cow::Owned(
                RawValue::from_string(params.to_owned()).expect("json"),
            )),
        }
    }

    #[test]
    fn client_tables_come_with_the_first_subscribe_call_and_go_after_the_last() {
        let mut c = ClientSubs::default();
        assert!(!c.has_tables());
        assert!(c
            .route(note(r#"{"subscription":"s1","result":1}"#))
            .is_some());
        assert_eq!(c.len(), 0);
        for round in 0..3u64 {
            assert!(c.expect(round, "unsub".into()));
            assert!(c.has_tables());
            c.release_if_unused();
            assert!(c.has_tables(), "kept while a subscribe call is awaited");
            let id = RawValue::from_string(format!("\"s{round}\"")).expect("json");
            c.on_response(round, Some(id.get().as_bytes()));
            assert_eq!(c.len(), 1);
            let item = format!(r#"{{"subscription":"s{round}","result":{round}}}"#);
            assert!(c.route(note(&item)).is_none(), "routed, round {round}");
            assert_eq!(c.buffered(&format!("\"s{round}\"")), 1);
            c.release_if_unused();
            assert!(c.has_tables(), "kept while a subscription is open");
            assert_eq!(c.remove(&format!("\"s{round}\"")), (true, false));
            c.release_if_unused();
            assert!(!c.has_tables(), "given back after the last one");
            assert!(c.route(note(&item)).is_some(), "nobody takes it any more");
        }
        // A dropped subscribe call leaves nothing behind either.
        assert!(c.expect(9, "unsub".into()));
        assert!(c.forget(9));
        c.release_if_unused();
        assert!(!c.has_tables());
    }

    #[test]
    fn the_client_routes_by_id_pauses_when_full_and_resumes() {
        let mut c = ClientSubs::default();
        c.set_capacity(2);
        assert!(c.expect(7, "unsub".into()));
        let id = RawValue::from_string("\"s1\"".into()).expect("json");
        c.on_response(7, Some(id.get().as_bytes()));
        assert!(c
            .route(note(r#"{"subscription":"other","result":1}"#))
            .is_some());
        assert!(c.route(note(r#"[1]"#)).is_some());
        assert!(c
            .route(note(r#"{"subscription":"s1","result":1}"#))
            .is_none());
        assert!(!c.paused.load(Ordering::SeqCst));
        assert!(c
            .route(note(r#"{"subscription":"s1","result":null}"#))
            .is_none());
        assert!(c.paused.load(Ordering::SeqCst), "full: reading pauses");
        let waker = futures::task::noop_waker();
        let mut cx = TaskCx::from_waker(&waker);
        let mut unpaused = false;
        let first = c.poll_item("\"s1\"", &mut cx, &mut unpaused);
        assert!(matches!(first, Poll::Ready(Ok(ref r)) if r.get() == "1"));
        assert!(unpaused && !c.paused.load(Ordering::SeqCst));
        let second = c.poll_item("\"s1\"", &mut cx, &mut unpaused);
        assert!(matches!(second, Poll::Ready(Ok(ref r)) if r.get() == "null"));
        assert!(c
            .route(note(
                r#"{"subscription":"s1","error":{"code":5,"message":"bye"}}"#
            ))
            .is_none());
        let end = c.poll_item("\"s1\"", &mut cx, &mut unpaused);
        assert!(matches!(end, Poll::Ready(Err(EndReason::Server(Some(ref e)))) if e.code.0 == 5));
    }

    #[test]
    fn a_lagging_subscription_ends_instead_of_pausing() {
        let mut c = ClientSubs::default();
        c.set_capacity(2);
        c.set_default_lag(LagPolicy::End);
        c.expect(1, "stop".into());
        c.on_response(1, Some(b"\"s\""));
        for n in 1..=5 {
            let note = note(&format!(r#"{{"subscription":"s","result":{n}}}"#));
            assert!(
                c.route(note).is_none(),
                "still its item: dropped, not leaked"
            );
        }
        assert!(!c.paused.load(Ordering::SeqCst), "reading never paused");
        let owed = c.take_lagged();
        assert_eq!(owed.len(), 1, "one unsubscribe, however many items follow");
        assert_eq!((&*owed[0].0, &*owed[0].1), ("\"s\"", "stop"));
        let waker = futures::task::noop_waker();
        let mut cx = TaskCx::from_waker(&waker);
        let mut unpaused = false;
        for want in ["1", "2"] {
            let item = c.poll_item("\"s\"", &mut cx, &mut unpaused);
            assert!(matches!(item, Poll::Ready(Ok(ref r)) if r.get() == want));
        }
        let end = c.poll_item("\"s\"", &mut cx, &mut unpaused);
        assert!(matches!(end, Poll::Ready(Err(EndReason::Lagged))));
        assert_eq!(c.remove("\"s\""), (false, false), "no second unsubscribe");

        // Switching a paused subscription to End ends it and resumes reading.
        c.set_default_lag(LagPolicy::Pause);
        c.expect(2, "stop".into());
        c.on_response(2, Some(b"\"t\""));
        for n in 1..=2 {
            c.route(note(&format!(r#"{{"subscription":"t","result":{n}}}"#)));
        }
        assert!(c.paused.load(Ordering::SeqCst));
        let (owed, unpaused) = c.set_lag("\"t\"", LagPolicy::End);
        assert_eq!(owed.as_deref(), Some("stop"));
        assert!(unpaused && !c.paused.load(Ordering::SeqCst));
        assert_eq!(c.set_lag("\"t\"", LagPolicy::End), (None, false), "once");
    }

    #[test]
    fn a_full_buffer_is_still_read_after_the_connection_closed() {
        let mut c = ClientSubs::default();
        c.set_capacity(2);
        c.expect(1, "unsub".into());
        c.on_response(1, Some(b"\"s\""));
        for n in ["1", "2", "3"] {
            let note = note(&format!(r#"{{"subscription":"s","result":{n}}}"#));
            assert!(c.route(note).is_none());
        }
        assert!(c.paused.load(Ordering::SeqCst));
        c.close_all(&mut Vec::new());
        let waker = futures::task::noop_waker();
        let mut cx = TaskCx::from_waker(&waker);
        let mut unpaused = false;
        for want in ["1", "2", "3"] {
            let item = c.poll_item("\"s\"", &mut cx, &mut unpaused);
            assert!(matches!(item, Poll::Ready(Ok(ref r)) if r.get() == want));
        }
        let end = c.poll_item("\"s\"", &mut cx, &mut unpaused);
        assert!(matches!(end, Poll::Ready(Err(EndReason::ConnectionClosed))));
        assert_eq!(c.remove("\"s\""), (false, false));
        assert!(!c.paused.load(Ordering::SeqCst));
    }
}
