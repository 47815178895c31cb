//! The state machine of one JSON-RPC peer, playing client and server at once.
//!
//! A [`Connection`] is fed complete frames ([`Connection::handle_frame`]) and the current time,
//! and hands back [`Event`]s to act on and frames to write ([`Connection::poll_transmit`]). It
//! never touches a socket or a clock, so it can be driven by any runtime, tested with a virtual
//! clock ([`crate::sim::Pair`]) and fuzzed.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use jsonrpc_proto::connection::{Config, Connection, Event};
//! use jsonrpc_proto::RawValue;
//!
//! let now = Instant::now();
//! let mut server = Connection::new(Config::default());
//! server.handle_frame(br#"{"jsonrpc":"2.0","method":"add","params":[2,3],"id":7}"#, now);
//! let Some(Event::Request(call)) = server.poll_event() else { panic!() };
//! assert_eq!(call.request.method, "add");
//! let five = RawValue::from_string("5".into()).unwrap();
//! server.respond(call.handle, Ok(&five)).unwrap();
//! assert_eq!(&server.poll_transmit().unwrap()[..], br#"{"jsonrpc":"2.0","result":5,"id":7}"#);
//!
//! // The client side: ids are allocated, answers matched, deadlines enforced.
//! let mut client = Connection::new(Config::default().with_request_timeout(Some(Duration::from_secs(1))));
//! let id = client.request("add", None, now).unwrap();
//! let _frame = client.poll_transmit().unwrap();
//! client.handle_timeout(now + Duration::from_secs(2));
//! assert!(matches!(client.poll_event(), Some(Event::Response { id: got, result: Err(_) }) if got == id));
//! ```
//!
//! # Limits
//! | limit | default | when exceeded |
//! | --- | --- | --- |
//! | [`Config::max_batch_len`] | 1024 | the whole batch is answered with one -32600 error object whose `data` says why |
//! | [`Config::max_in_flight`] | 1024 incoming calls awaiting an answer | that call is answered at once with -32003 "Server busy"; drivers should rather stop reading while [`Connection::in_flight`] is at the limit (backpressure) |
//! | [`Config::max_pending`] | 4096 outgoing calls awaiting an answer | [`Connection::request`] returns [`SendError::TooManyPending`] |
//! | [`Config::request_timeout`] | 30 s | the pending call ends with [`CallError::TimedOut`] (-32001) |
//!
//! Frame size is limited by the codec that found the frame ([`crate::codec`]), before it gets
//! here; nesting depth by [`crate::limits::nesting_exceeds`] before parsing (128 levels: deeper is
//! -32700 with id null, never a stack overflow).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::protocol::batch::BatchWriter;
use crate::protocol::error::{ErrorObject, ParseError};
use crate::protocol::id::Id;
use crate::protocol::message::{
    call_len, call_text_len, parse_compact, parse_general, response_frame, scan_answers,
    utf8_error, write_call, write_call_text, Entry, Incoming, Invalid, InvalidKind, Message,
    Notification, Request, Response, ResultText,
};

/// Limits and defaults of a [`Connection`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The longest incoming batch accepted (default 1024 members).
    pub max_batch_len: usize,
    /// Incoming requests that may await an answer at once (default 1024).
    pub max_in_flight: usize,
    /// Outgoing requests that may await an answer at once (default 4096).
    pub max_pending: usize,
    /// The deadline given to outgoing requests (default 30 s; `None`: no deadline).
    pub request_timeout: Option<Duration>,
}

crate::protocol::config_setters!(Config {
    with_max_batch_len => max_batch_len: usize,
    with_max_in_flight => max_in_flight: usize,
    with_max_pending => max_pending: usize,
    with_request_timeout => request_timeout: Option<Duration>,
});

impl Default for Config {
    fn default() -> Self {
        Config {
            max_batch_len: 1024,
            max_in_flight: 1024,
            max_pending: 4096,
            request_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Why an outgoing request did not get a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The peer answered with an error object.
    #[error("{0}")]
    Remote(ErrorObject),
    /// No answer came before the deadline.
    #[error("request timed out")]
    TimedOut,
    /// The connection closed before an answer came.
    #[error("connection closed before the answer came")]
    Closed,
}

impl CallError {
    /// The error object this stands for: the peer's, -32001 for a timeout, -32000 for a close.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            CallError::Remote(e) => e.clone(),
            CallError::TimedOut => ErrorObject::request_timeout(),
            CallError::Closed => ErrorObject::new(
                crate::protocol::error::ErrorCode::SERVER_ERROR,
                "Connection closed",
            ),
        }
    }
}

/// Why a message could not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// Too many outgoing requests await an answer; retry after some complete.
    #[error("{limit} requests already await an answer (Config::max_pending)")]
    TooManyPending {
        /// The configured limit.
        limit: usize,
    },
}

/// Why an answer could not be recorded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    /// The connection is closed; the answer is dropped.
    #[error("the connection is closed")]
    Closed,
    /// The handle does not belong to a call awaiting an answer on this connection.
    #[error("no call awaits an answer for this handle")]
    UnknownHandle,
}

/// The token that answers one incoming request. Not `Clone`: each request is answered once.
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "every incoming request must be answered with Connection::respond"]
pub struct ResponseHandle {
    /// The request's serial number on its connection (never reused).
    key: u64,
    /// Where its slot is in the in-flight table (reused once answered: `key` tells).
    index: u32,
}

#[cfg(test)]
impl ResponseHandle {
    /// A handle no call of any connection has (tests of `respond`'s refusals).
    pub(crate) fn forged(key: u64) -> Self {
        ResponseHandle {
            key,
            index: key as u32,
        }
    }
}

/// An incoming request and the handle to answer it with.
#[derive(Debug)]
pub struct IncomingRequest {
    /// The request.
    pub request: Request<'static>,
    /// Pass to [`Connection::respond`].
    pub handle: ResponseHandle,
}

/// A request or notification of a frame, borrowed from it
/// ([`Connection::handle_frame_calls`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Call<'a> {
    /// A request and the handle to answer it with.
    Request(Request<'a>, ResponseHandle),
    /// A notification.
    Notification(Notification<'a>),
}

/// What happened on a connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The peer called a method and awaits an answer.
    Request(IncomingRequest),
    /// The peer sent a notification (events keep arrival order).
    Notification(Notification<'static>),
    /// An outgoing request ended: exactly once per request (answer, timeout or close).
    Response {
        /// The id [`Connection::request`] returned.
        id: Id,
        /// The result, or why there is none.
        result: Result<Box<RawValue>, CallError>,
    },
    /// A response whose id matches no pending request (unknown, or answered already).
    UnmatchedResponse(Response<'static>),
    /// An invalid entry. A request-like one was answered with -32600 already.
    Invalid(Invalid),
    /// A frame that was not JSON; answered with -32700 already.
    ParseError(ParseError),
}

/// Queues `item`, allocating room for exactly one the first time: most connections never hold
/// more than one event or frame at a time, and an idle connection keeps its queues' capacity
/// (the default first allocation is four slots). Growth beyond is the usual doubling.
pub(crate) fn push_lean<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.capacity() == 0 {
        queue.reserve_exact(1);
    }
    queue.push_back(item);
}

/// A fast hasher for the connection's own integer keys (no outside input reaches it).
#[derive(Default)]
pub(crate) struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;
type U64Set = HashSet<u64, BuildHasherDefault<U64Hasher>>;

struct Slot {
    id: Id,
    batch: Option<u64>,
}

/// The incoming requests awaiting their answers: a slab (a vector of slots with a list of
/// the free ones) rather than a hash map, since this side picks the keys. A handle names its
/// slot's index and its request's serial number; a slot answers only the handle with its
/// serial, so a stale or forged handle is refused even once its index is reused.
struct InFlight {
    slots: Vec<InFlightEntry>,
    /// The first free slot, whose entry names the next one ([`NO_SLOT`]: none).
    free: u32,
    len: u32,
}

/// The end of [`InFlight`]'s list of free slots.
const NO_SLOT: u32 = u32::MAX;

enum InFlightEntry {
    /// The request of this serial number and what its answer needs.
    Used(u64, Slot),
    /// Free; the next free slot.
    Free(u32),
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight {
            slots: Vec::new(),
            free: NO_SLOT,
            len: 0,
        }
    }
}

impl InFlight {
    fn len(&self) -> usize {
        self.len as usize
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.free = NO_SLOT;
        self.len = 0;
    }

    /// Stores `slot` for the request of serial number `key`; gives its handle.
    fn insert(&mut self, key: u64, slot: Slot) -> ResponseHandle {
        let entry = InFlightEntry::Used(key, slot);
        let index = match self.slots.get_mut(self.free as usize) {
            Some(free) => {
                let index = self.free;
                if let InFlightEntry::Free(next) = std::mem::replace(free, entry) {
                    self.free = next;
                }
                index
            }
            None => {
                // `Config::max_in_flight` bounds the table far below u32::MAX slots.
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i != NO_SLOT)
                    .expect("in-flight table under 2^32 - 1");
                self.slots.push(entry);
                index
            }
        };
        self.len += 1;
        ResponseHandle { key, index }
    }

    fn get(&self, handle: &ResponseHandle) -> Option<&Slot> {
        match self.slots.get(handle.index as usize) {
            Some(InFlightEntry::Used(key, slot)) if *key == handle.key => Some(slot),
            _ => None,
        }
    }

    fn remove(&mut self, handle: &ResponseHandle) -> Option<Slot> {
        let entry = self.slots.get_mut(handle.index as usize)?;
        if !matches!(entry, InFlightEntry::Used(key, _) if *key == handle.key) {
            return None;
        }
        let InFlightEntry::Used(_, slot) = std::mem::replace(entry, InFlightEntry::Free(self.free))
        else {
            return None;
        };
        self.free = handle.index;
        self.len -= 1;
        Some(slot)
    }
}

/// This side's outgoing calls: allocated at the first request, given back when a quiet
/// connection has none pending ([`Connection::release_idle_memory`]). A served connection that
/// never calls its peer back keeps only the pointer.
#[derive(Default)]
struct Outgoing {
    /// Outgoing requests awaiting an answer, by id, with their deadline.
    pending: U64Map<Option<Instant>>,
    pending_with_deadline: usize,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Ids forgotten by [`Connection::cancel`] whose late answers are dropped quietly.
    cancelled: U64Set,
    cancelled_order: VecDeque<u64>,
    /// Requests of outgoing batches, one entry per batch (not in `pending`), sorted by first
    /// id; an entry goes when its last request ended.
    batches: Vec<PendingBatch>,
    /// Requests of `batches` still pending.
    batch_pending: usize,
}

/// The requests of one outgoing batch with one deadline and contiguous ids
/// `first..first + waiting.len()`: one entry and one timer for the batch.
struct PendingBatch {
    first: u64,
    deadline: Option<Instant>,
    /// By position (id - `first`): still awaiting its answer.
    waiting: Vec<bool>,
    /// How many of `waiting` are true (the entry goes at 0).
    left: usize,
}

impl Outgoing {
    /// Ends pending call `n` (answered, cancelled or timed out): gives its deadline, `None`
    /// when it was not pending.
    fn take(&mut self, n: u64) -> Option<Option<Instant>> {
        if !self.batches.is_empty() {
            let i = self.batches.partition_point(|b| b.first <= n);
            if let Some(b) = i.checked_sub(1).map(|i| &mut self.batches[i]) {
                if let Some(w) = usize::try_from(n - b.first)
                    .ok()
                    .and_then(|at| b.waiting.get_mut(at))
                {
                    if !*w {
                        return None;
                    }
                    *w = false;
                    b.left -= 1;
                    self.batch_pending -= 1;
                    let deadline = b.deadline;
                    if b.left == 0 {
                        // the batch's one timer entry is stale now
                        if deadline.is_some() {
                            self.pending_with_deadline -= 1;
                        }
                        self.batches.remove(i - 1);
                    }
                    return Some(deadline);
                }
            }
        }
        let deadline = self.pending.remove(&n)?;
        if deadline.is_some() {
            self.pending_with_deadline -= 1;
        }
        Some(deadline)
    }

    /// The position in `batches` of the batch whose first id is `first`.
    fn batch_index(&self, first: u64) -> Option<usize> {
        self.batches.binary_search_by_key(&first, |b| b.first).ok()
    }

    /// True while call `n` awaits its answer.
    fn is_pending(&self, n: u64) -> bool {
        let i = self.batches.partition_point(|b| b.first <= n);
        let in_batch = i.checked_sub(1).and_then(|i| {
            let b = &self.batches[i];
            usize::try_from(n - b.first)
                .ok()
                .and_then(|at| b.waiting.get(at).copied())
        });
        in_batch.unwrap_or_else(|| self.pending.contains_key(&n))
    }

    /// True when the timer entry `(at, n)` still belongs to a pending call or batch.
    fn timer_live(
        pending: &U64Map<Option<Instant>>,
        batches: &[PendingBatch],
        at: Instant,
        n: u64,
    ) -> bool {
        pending.get(&n) == Some(&Some(at))
            || batches
                .binary_search_by_key(&n, |b| b.first)
                .is_ok_and(|i| batches[i].deadline == Some(at))
    }

    /// Rebuilds the timer heap when most of its entries belong to calls that ended already,
    /// so memory stays proportional to the calls still pending.
    fn compact_timers(&mut self) {
        if self.pending_with_deadline == 0 {
            // every entry left belongs to a call that ended
            self.timers.clear();
        } else if self.timers.len() > 2 * self.pending_with_deadline + 64 {
            let (pending, batches) = (&self.pending, &self.batches);
            self.timers
                .retain(|Reverse((at, n))| Outgoing::timer_live(pending, batches, *at, *n));
        }
    }
}

struct BatchState {
    writer: BatchWriter,
    outstanding: usize,
}

/// One peer's protocol state, client and server at once: frames and the current time in,
/// [`Event`]s and frames to write out. No IO, no clock, no threads.
///
/// # The calling contract
///
/// A driver (a task owning one transport) calls it in this loop; every call is cheap and
/// never blocks:
///
/// 1. **Input.** For each complete JSON text the codec finds, call
///    [`handle_frame`](Connection::handle_frame)`(frame, now)`. Then drain
///    [`poll_event`](Connection::poll_event) until `None`: requests ([`Event::Request`]) to
///    run, notifications in arrival order, responses to this side's calls (each call ends
///    exactly once: a result, an error object, a timeout or [`CallError::Closed`]), and
///    reports of invalid input (already answered where the specification says so).
/// 2. **Answers.** Answer every [`Event::Request`] once with
///    [`respond`](Connection::respond)`(handle, result)`, in any order and at any later time.
///    A request of a batch is held until the last call of that batch is answered; the batch
///    then leaves as one array.
/// 3. **Calls of this side.** [`request`](Connection::request),
///    [`notify`](Connection::notify) and [`batch`](Connection::batch) queue frames; `request`
///    returns the id it allocated and records the call's deadline from `now`.
/// 4. **Output.** After any of 1-3, drain [`poll_transmit`](Connection::poll_transmit) until
///    `None` and write the frames in that order (answers and calls share one queue; order
///    within it is the order they were produced).
/// 5. **Time.** [`poll_timeout`](Connection::poll_timeout) is the earliest deadline; when the
///    clock reaches it call [`handle_timeout`](Connection::handle_timeout)`(now)`, then drain
///    `poll_event` (timed-out calls) and `poll_transmit`. Re-read `poll_timeout` after every
///    step above: a new call or an answer may move it.
/// 6. **Backpressure.** While [`in_flight`](Connection::in_flight) is at
///    [`Config::max_in_flight`], stop reading input; a request over the limit that arrives
///    anyway is answered -32003 at once.
/// 7. **End.** [`close`](Connection::close) ends every pending call with
///    [`CallError::Closed`] (drain `poll_event`), refuses later sends with
///    [`SendError::Closed`], answers with [`RespondError::Closed`] and ignores later input;
///    frames already queued stay in `poll_transmit` for a last flush. To end gracefully,
///    answer every request first, drain `poll_transmit`, then close.
///
/// # Errors
///
/// Bad input is never an `Err` here: invalid JSON, invalid messages and over-limit batches
/// are answered on the wire as the specification asks and reported as events; the
/// connection goes on. The `Result`s are the caller's mistakes and limits:
/// [`SendError`] from `request`/`notify` (closed, or [`Config::max_pending`] reached: try
/// again after some calls end) and [`RespondError`] from `respond` (a handle of another
/// connection, or a closed one). Neither leaves the state machine inconsistent.
pub struct Connection {
    config: Config,
    next_id: u64,
    /// This side's calls, once it made any.
    out: Option<Box<Outgoing>>,
    next_handle: u64,
    incoming: InFlight,
    next_batch: u64,
    batches: U64Map<BatchState>,
    events: VecDeque<Event>,
    transmit: VecDeque<Bytes>,
    closed: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("pending", &self.pending())
            .field("in_flight", &self.incoming.len())
            .field("events", &self.events.len())
            .field("transmit", &self.transmit.len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new(Config::default())
    }
}

impl Connection {
    /// A new connection with the given limits.
    pub fn new(config: Config) -> Self {
        Connection {
            config,
            next_id: 1,
            out: None,
            next_handle: 0,
            incoming: InFlight::default(),
            next_batch: 0,
            batches: U64Map::default(),
            events: VecDeque::new(),
            transmit: VecDeque::new(),
            closed: false,
        }
    }

    /// Sets the next outgoing id (tests of ids wrapping around).
    #[cfg(test)]
    pub(crate) fn set_next_id(&mut self, n: u64) {
        self.next_id = n;
    }

    /// Entries in the deadline heap (tests check that it follows the calls still pending).
    #[cfg(test)]
    pub(crate) fn timer_count(&self) -> usize {
        self.out.as_ref().map_or(0, |o| o.timers.len())
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one complete JSON text received from the peer. Ignored once closed.
    pub fn handle_frame(&mut self, frame: &[u8], now: Instant) {
        self.handle_frame_into(frame, now, None);
    }

    /// [`Connection::handle_frame`] that hands the frame's requests and notifications to `calls`
    /// (in arrival order, borrowed from the frame: no copy of methods or params) instead of
    /// queuing them as owned events. Responses and invalid input still become events. Each
    /// [`Call::Request`] must be answered with [`Connection::respond`] like an
    /// [`Event::Request`].
    pub fn handle_frame_calls<'a>(
        &mut self,
        frame: &'a [u8],
        now: Instant,
        calls: &mut Vec<Call<'a>>,
    ) {
        self.handle_frame_into(frame, now, Some(calls));
    }

    /// [`Connection::handle_frame_calls`] for a frame already read into its batch members (by
    /// the compact reading, within the nesting limit): the same handling, without reading the
    /// frame again.
    pub(crate) fn handle_batch_calls<'a>(
        &mut self,
        entries: Vec<Entry<'a>>,
        calls: &mut Vec<Call<'a>>,
    ) {
        if !self.closed {
            self.handle_batch(entries, &mut Some(calls));
        }
    }

    fn handle_frame_into<'a>(
        &mut self,
        frame: &'a [u8],
        now: Instant,
        mut calls: Option<&mut Vec<Call<'a>>>,
    ) {
        let _ = now; // Incoming calls carry no deadline of ours; kept for symmetry and future use.
        if self.closed {
            return;
        }
        let max_depth = crate::protocol::limits::DEFAULT_MAX_DEPTH;
        // The compact fast path measures the nesting as it reads; other input is checked
        // before it is parsed.
        // UTF-8 is checked once, for both paths.
        let text = std::str::from_utf8(frame);
        let compact = text.ok().and_then(parse_compact);
        let parsed = match compact {
            Some((incoming, depth)) if depth <= max_depth => Ok(incoming),
            Some(_) => return self.too_deep(),
            None if crate::protocol::message::scan::nesting_exceeds(frame, max_depth) => {
                return self.too_deep()
            }
            None => match text {
                Ok(text) => parse_general(frame, text),
                Err(e) => Err(utf8_error(e)),
            },
        };
        match parsed {
            Err(e) => {
                self.reply(None, &Id::Null, Err(&ErrorObject::parse_error()));
                push_lean(&mut self.events, Event::ParseError(e));
            }
            Ok(Incoming::Single(entry)) => {
                self.handle_entry(entry, None, &mut calls);
            }
            Ok(Incoming::Batch(entries)) => self.handle_batch(entries, &mut calls),
        }
    }

    /// Takes the members of a batch; one over [`Config::max_batch_len`] is answered -32600
    /// whole.
    fn handle_batch<'a>(
        &mut self,
        entries: Vec<Entry<'a>>,
        calls: &mut Option<&mut Vec<Call<'a>>>,
    ) {
        if entries.len() > self.config.max_batch_len {
            let error = ErrorObject::invalid_request().with_data(format!(
                "batch of {} calls exceeds the limit of {}",
                entries.len(),
                self.config.max_batch_len
            ));
            self.reply(None, &Id::Null, Err(&error));
            push_lean(
                &mut self.events,
                Event::Invalid(Invalid {
                    id: Id::Null,
                    kind: InvalidKind::Request,
                    reason: "batch exceeds Config::max_batch_len",
                }),
            );
            return;
        }
        let key = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        self.batches.insert(
            key,
            BatchState {
                // Room for small answers (bounded); larger ones grow it.
                writer: BatchWriter::with_capacity(entries.len().saturating_mul(48).min(64 * 1024)),
                outstanding: 0,
            },
        );
        if let Some(calls) = calls.as_deref_mut() {
            calls.reserve(entries.len());
        }
        // Counted once for the batch (nothing answers a member before the loop ends).
        let mut started = 0;
        for entry in entries {
            started += usize::from(self.handle_entry(entry, Some(key), calls));
        }
        if let Some(b) = self.batches.get_mut(&key) {
            b.outstanding += started;
        }
        self.maybe_finish_batch(key);
    }

    /// The client's fast path of [`Connection::handle_frame`] for a frame that holds only
    /// successful answers in compact form (one, or an array of them; see
    /// [`scan_answers`]): no message is built and no event is queued for an answer to a
    /// pending call. Returns false, having done nothing, for any other frame (then call
    /// `handle_frame` or `handle_frame_calls` with it). On true, `answers` holds
    /// `(id, start, end)` of each answer to a pending call, in frame order, with
    /// `frame[start..end]` its result (valid JSON in valid UTF-8): each such call ended as if
    /// `handle_frame` had queued its [`Event::Response`], and the caller delivers the result.
    /// Answers to no pending call are handled as `handle_frame` handles them (dropped when
    /// cancelled, else [`Event::UnmatchedResponse`]).
    pub(crate) fn handle_answers(
        &mut self,
        frame: &[u8],
        answers: &mut Vec<(u64, usize, usize)>,
    ) -> bool {
        answers.clear();
        if self.closed {
            return true;
        }
        let max_depth = crate::protocol::limits::DEFAULT_MAX_DEPTH;
        if !scan_answers(frame, max_depth, self.config.max_batch_len, answers) {
            answers.clear();
            return false;
        }
        let mut kept = 0;
        for k in 0..answers.len() {
            let (n, start, end) = answers[k];
            let pending = self.out.as_deref_mut().and_then(|out| out.take(n));
            if pending.is_some() {
                answers[kept] = (n, start, end);
                kept += 1;
                continue;
            }
            // Unknown or answered already: as `handle_response` treats it (the text was
            // checked to be valid JSON in valid UTF-8).
            let text = std::str::from_utf8(&frame[start..end]).ok();
            if let Some(raw) = text.and_then(|t| serde_json::from_str::<&RawValue>(t).ok()) {
                self.handle_response(Response {
                    id: Id::from(n),
                    result: Ok(std::borrow::Cow::Borrowed(raw)),
                });
            }
        }
        answers.truncate(kept);
        // Once for the frame rather than per answer (`handle_response` does it per answer).
        if let Some(out) = self.out.as_deref_mut() {
            out.compact_timers();
        }
        true
    }

    /// Answers a frame nested too deeply with -32700 (id null), without parsing it.
    fn too_deep(&mut self) {
        let max = crate::protocol::limits::DEFAULT_MAX_DEPTH;
        let error =
            ErrorObject::parse_error().with_data(format!("nesting deeper than {max} levels"));
        self.reply(None, &Id::Null, Err(&error));
        push_lean(
            &mut self.events,
            Event::ParseError(ParseError(format!("nesting deeper than {max} levels"))),
        );
    }

    /// Takes one message of a frame; true when it is a request now in flight (a batch member
    /// then awaits its answer: the caller counts it in the batch).
    fn handle_entry<'a>(
        &mut self,
        entry: Entry<'a>,
        batch: Option<u64>,
        calls: &mut Option<&mut Vec<Call<'a>>>,
    ) -> bool {
        match entry {
            Ok(Message::Request(request)) => {
                if self.incoming.len() >= self.config.max_in_flight {
                    self.reply(batch, &request.id, Err(&ErrorObject::server_busy()));
                    return false;
                }
                let key = self.next_handle;
                self.next_handle = self.next_handle.wrapping_add(1);
                let handle = self.incoming.insert(
                    key,
                    Slot {
                        id: request.id.clone(),
                        batch,
                    },
                );
                match calls {
                    Some(calls) => calls.push(Call::Request(request, handle)),
                    None => push_lean(
                        &mut self.events,
                        Event::Request(IncomingRequest {
                            request: request.into_owned(),
                            handle,
                        }),
                    ),
                }
                return true;
            }
            Ok(Message::Notification(n)) => match calls {
                Some(calls) => calls.push(Call::Notification(n)),
                None => push_lean(&mut self.events, Event::Notification(n.into_owned())),
            },
            Ok(Message::Response(response)) => self.handle_response(response),
            Err(invalid) => {
                if invalid.kind == InvalidKind::Request {
                    self.reply(batch, &invalid.id, Err(&invalid.error()));
                }
                push_lean(&mut self.events, Event::Invalid(invalid));
            }
        }
        false
    }

    fn handle_response(&mut self, response: Response<'_>) {
        let Some(n) = response.id.as_u64() else {
            push_lean(
                &mut self.events,
                Event::UnmatchedResponse(response.into_owned()),
            );
            return;
        };
        let Some(out) = self.out.as_deref_mut() else {
            push_lean(
                &mut self.events,
                Event::UnmatchedResponse(response.into_owned()),
            );
            return;
        };
        match out.take(n) {
            Some(deadline) => {
                if deadline.is_some() {
                    out.compact_timers();
                }
                let result = match response.result {
                    Ok(raw) => Ok(raw.into_owned()),
                    Err(e) => Err(CallError::Remote(e)),
                };
                // The id as allocated (the answer may spell the same number `1.0`).
                push_lean(
                    &mut self.events,
                    Event::Response {
                        id: Id::from(n),
                        result,
                    },
                );
            }
            None if out.cancelled.remove(&n) => {
                // A late answer to a call the caller gave up on: dropped quietly.
            }
            None => push_lean(
                &mut self.events,
                Event::UnmatchedResponse(response.into_owned()),
            ),
        }
    }

    /// Writes an answer into its batch, or queues it as a frame of its own.
    fn reply(&mut self, batch: Option<u64>, id: &Id, result: Result<&RawValue, &ErrorObject>) {
        self.reply_text(batch, id, result.map(ResultText::Json));
    }

    /// [`Connection::reply`] for a [`ResultText`].
    fn reply_text(
        &mut self,
        batch: Option<u64>,
        id: &Id,
        result: Result<ResultText<'_>, &ErrorObject>,
    ) {
        if let Some(b) = batch.and_then(|b| self.batches.get_mut(&b)) {
            b.writer.push_text(id, result);
            return;
        }
        push_lean(&mut self.transmit, Bytes::from(response_frame(id, result)));
    }

    /// Queues the answers to a batch that its caller answered whole without handing its
    /// requests to this connection (all of them at once, in member order: the driver's path
    /// for batches of calls answered at once). Dropped once closed, as an answer would be.
    pub(crate) fn push_answered_batch(&mut self, array: Vec<u8>) {
        if !self.closed {
            push_lean(&mut self.transmit, Bytes::from(array));
        }
    }

    fn maybe_finish_batch(&mut self, key: u64) {
        if self.batches.get(&key).is_some_and(|b| b.outstanding == 0) {
            if let Some(state) = self.batches.remove(&key) {
                if let Some(array) = state.writer.finish() {
                    push_lean(&mut self.transmit, Bytes::from(array));
                }
            }
        }
    }

    /// The next thing that happened, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Answers an incoming request. A batch's answers leave as one array when its last
    /// request is answered.
    pub fn respond(
        &mut self,
        handle: ResponseHandle,
        result: Result<&RawValue, &ErrorObject>,
    ) -> Result<(), RespondError> {
        self.respond_text(handle, result.map(ResultText::Json))
    }

    /// [`Connection::respond`] for a [`ResultText`] (a text result written once, into its
    /// frame).
    pub(crate) fn respond_text(
        &mut self,
        handle: ResponseHandle,
        result: Result<ResultText<'_>, &ErrorObject>,
    ) -> Result<(), RespondError> {
        if self.closed {
            return Err(RespondError::Closed);
        }
        let slot = self
            .incoming
            .remove(&handle)
            .ok_or(RespondError::UnknownHandle)?;
        // One look-up of the batch for its entry, its count and its end.
        let batch = slot
            .batch
            .and_then(|key| self.batches.get_mut(&key).map(|b| (key, b)));
        match batch {
            Some((key, b)) => {
                b.writer.push_text(&slot.id, result);
                b.outstanding -= 1;
                if b.outstanding == 0 {
                    self.maybe_finish_batch(key);
                }
            }
            None => self.reply_text(None, &slot.id, result),
        }
        Ok(())
    }

    /// The id of the request a handle answers, while it awaits its answer.
    pub fn request_id(&self, handle: &ResponseHandle) -> Option<&Id> {
        self.incoming.get(handle).map(|s| &s.id)
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        if self.pending() >= self.config.max_pending {
            return Err(SendError::TooManyPending {
                limit: self.config.max_pending,
            });
        }
        Ok(())
    }

    /// Allocates an id, records the call as pending with its deadline, and returns the id.
    fn register(&mut self, now: Instant, timeout: Option<Duration>) -> u64 {
        let n = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let deadline = timeout.and_then(|t| now.checked_add(t));
        let out = self.out.get_or_insert_with(Box::default);
        if let Some(at) = deadline {
            out.timers.push(Reverse((at, n)));
            out.pending_with_deadline += 1;
        }
        out.pending.insert(n, deadline);
        n
    }

    /// Sends a request with the configured timeout; returns its id.
    pub fn request(
        &mut self,
        method: &str,
        params: Option<&RawValue>,
        now: Instant,
    ) -> Result<Id, SendError> {
        self.request_with_timeout(method, params, now, self.config.request_timeout)
    }

    /// Sends a request with its own timeout (`None`: no deadline); returns its id.
    pub fn request_with_timeout(
        &mut self,
        method: &str,
        params: Option<&RawValue>,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<Id, SendError> {
        self.check_can_send()?;
        let n = self.register(now, timeout);
        let id = Id::from(n);
        let mut out = Vec::with_capacity(call_len(method, params, Some(&id)));
        write_call(&mut out, method, params, Some(&id));
        push_lean(&mut self.transmit, Bytes::from(out));
        Ok(id)
    }

    /// [`Connection::request_with_timeout`] with params as JSON text the caller vouches for
    /// (an array or object serde_json wrote): the frame is written once, at its exact length.
    pub(crate) fn request_text(
        &mut self,
        method: &str,
        params: Option<&[u8]>,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<Id, SendError> {
        self.check_can_send()?;
        let id = Id::from(self.register(now, timeout));
        let mut out = Vec::with_capacity(call_text_len(method, params.map(<[u8]>::len), Some(&id)));
        write_call_text(&mut out, method, params, Some(&id));
        push_lean(&mut self.transmit, Bytes::from(out));
        Ok(id)
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Option<&RawValue>) -> Result<(), SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        let mut out = Vec::with_capacity(call_len(method, params, None));
        write_call(&mut out, method, params, None);
        push_lean(&mut self.transmit, Bytes::from(out));
        Ok(())
    }

    /// Starts an outgoing batch; it is sent as one array frame by [`OutgoingBatch::finish`]
    /// (or when dropped).
    pub fn batch(&mut self) -> OutgoingBatch<'_> {
        self.batch_with_capacity(0, 0)
    }

    /// [`Connection::batch`] with room for `bytes` of array text and `calls` requests.
    pub(crate) fn batch_with_capacity(&mut self, bytes: usize, calls: usize) -> OutgoingBatch<'_> {
        OutgoingBatch {
            conn: self,
            buf: Vec::with_capacity(bytes),
            entries: 0,
            run: None,
            calls_hint: calls,
        }
    }

    /// Forgets a pending outgoing request: it produces no event, and a late answer is dropped
    /// quietly. Returns false when the id was not pending.
    pub fn cancel(&mut self, id: &Id) -> bool {
        let Some(n) = id.as_u64() else { return false };
        let Some(out) = self.out.as_deref_mut() else {
            return false;
        };
        let Some(deadline) = out.take(n) else {
            return false;
        };
        if deadline.is_some() {
            out.compact_timers();
        }
        out.cancelled.insert(n);
        out.cancelled_order.push_back(n);
        // Remember at most `max_pending` forgotten ids: beyond that, the oldest one's late
        // answer would be reported as unmatched instead of dropped.
        while out.cancelled_order.len() > self.config.max_pending.max(1) {
            if let Some(old) = out.cancelled_order.pop_front() {
                out.cancelled.remove(&old);
            }
        }
        true
    }

    /// The next frame to write, if any: one complete JSON text (framing is the transport's job).
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    /// Frames waiting to be written.
    pub fn transmit_len(&self) -> usize {
        self.transmit.len()
    }

    /// When [`Connection::handle_timeout`] should next be called, if ever. It may name the
    /// deadline of a call that ended already: an early wake-up is harmless.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.out.as_ref()?.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Fails every pending request whose deadline is at or before `now` with
    /// [`CallError::TimedOut`].
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(out) = self.out.as_deref_mut() else {
            return;
        };
        while let Some(&Reverse((at, n))) = out.timers.peek() {
            if at > now {
                break;
            }
            out.timers.pop();
            if out.pending.get(&n) == Some(&Some(at)) {
                out.pending.remove(&n);
                out.pending_with_deadline -= 1;
                push_lean(
                    &mut self.events,
                    Event::Response {
                        id: Id::from(n),
                        result: Err(CallError::TimedOut),
                    },
                );
            } else if let Some(i) = out
                .batch_index(n)
                .filter(|&i| out.batches[i].deadline == Some(at))
            {
                // The batch's calls still pending, in id order.
                let batch = out.batches.remove(i);
                out.pending_with_deadline -= 1;
                out.batch_pending -= batch.left;
                for (k, _) in batch.waiting.iter().enumerate().filter(|(_, w)| **w) {
                    push_lean(
                        &mut self.events,
                        Event::Response {
                            id: Id::from(batch.first + k as u64),
                            result: Err(CallError::TimedOut),
                        },
                    );
                }
            }
        }
    }

    /// Closes the connection: every pending outgoing request ends with [`CallError::Closed`]
    /// (in id order), answers not yet given are dropped, and later sends fail. Frames already
    /// queued stay available from [`Connection::poll_transmit`].
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let mut ids: Vec<u64> = match self.out.take() {
            Some(out) => {
                let in_batches = out.batches.iter().flat_map(|b| {
                    let first = b.first;
                    b.waiting
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| **w)
                        .map(move |(k, _)| first + k as u64)
                });
                let in_batches: Vec<u64> = in_batches.collect();
                out.pending.into_keys().chain(in_batches).collect()
            }
            None => Vec::new(),
        };
        ids.sort_unstable();
        for n in ids {
            push_lean(
                &mut self.events,
                Event::Response {
                    id: Id::from(n),
                    result: Err(CallError::Closed),
                },
            );
        }
        self.incoming.clear();
        self.batches.clear();
    }

    /// True once [`Connection::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Frees the room kept by tables and queues that are empty now (a quiet connection keeps
    /// only what it holds); they allocate again when used.
    pub(crate) fn release_idle_memory(&mut self) {
        macro_rules! release {
            ($($field:ident),*) => {$(
                if self.$field.is_empty() {
                    self.$field = Default::default();
                }
            )*};
        }
        release!(incoming, batches, events, transmit);
        if let Some(out) = self.out.as_deref_mut() {
            if out.pending.is_empty() && out.batches.is_empty() && out.cancelled.is_empty() {
                // Nothing pending: the late-answer list and stale deadlines go too.
                self.out = None;
            } else {
                if out.cancelled_order.is_empty() {
                    out.cancelled_order = VecDeque::new();
                }
                out.compact_timers();
            }
        }
    }

    /// True while this side's outgoing tables are allocated.
    #[cfg(test)]
    pub(crate) fn has_outgoing(&self) -> bool {
        self.out.is_some()
    }

    /// Room kept for incoming requests (tests check that a quiet connection gives it back).
    #[cfg(test)]
    pub(crate) fn incoming_capacity(&self) -> usize {
        self.incoming.capacity()
    }

    /// True when nothing is left of earlier frames (no call either way awaiting its answer,
    /// no batch, no event or frame to take) and the tables are small: the connection can take
    /// the next HTTP body as a new one would, without allocating its tables again.
    pub(crate) fn reusable(&self) -> bool {
        /// Larger tables (a big batch's) are given back rather than kept for the next body.
        const KEEP: usize = 16;
        !self.closed
            && self.incoming.is_empty()
            && self.batches.is_empty()
            && self.events.is_empty()
            && self.transmit.is_empty()
            && self.out.as_ref().is_none_or(|o| {
                o.pending.is_empty()
                    && o.batches.is_empty()
                    && o.cancelled.is_empty()
                    && o.timers.is_empty()
            })
            && self.incoming.capacity() <= KEEP
            && self.batches.capacity() <= KEEP
            && self.events.capacity() <= KEEP
            && self.transmit.capacity() <= KEEP
    }

    /// Incoming requests awaiting an answer.
    pub fn in_flight(&self) -> usize {
        self.incoming.len()
    }

    /// Outgoing requests awaiting an answer.
    pub fn pending(&self) -> usize {
        self.out
            .as_ref()
            .map_or(0, |o| o.pending.len() + o.batch_pending)
    }

    /// True when an outgoing request with this id awaits its answer.
    pub fn is_pending(&self, id: &Id) -> bool {
        id.as_u64()
            .zip(self.out.as_ref())
            .is_some_and(|(n, o)| o.is_pending(n))
    }
}

/// Writes `,"id":N}`: the end of a call whose id is `n`.
fn write_id_end(out: &mut Vec<u8>, mut n: u64) {
    const START: &[u8] = b",\"id\":";
    // the digits right-aligned after the member name, then the brace
    let mut text = [0u8; START.len() + 20 + 1];
    let mut i = text.len() - 1;
    text[i] = b'}';
    loop {
        i -= 1;
        text[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits_start = i;
    i -= START.len();
    text[i..digits_start].copy_from_slice(START);
    out.extend_from_slice(&text[i..]);
}

/// `,"id":N}` for N, N+1, N+2..: the ends of requests with contiguous ids, counted up in
/// decimal in place instead of written from the number each time.
pub(crate) struct IdEnds {
    /// The text, right-aligned: `text[start..]`.
    text: [u8; ID_START.len() + 20 + 1],
    start: usize,
}

const ID_START: &[u8] = b",\"id\":";

impl IdEnds {
    /// The end of the call with id `n`, as [`write_id_end`] writes it.
    pub(crate) fn new(n: u64) -> Self {
        let mut first = Vec::with_capacity(ID_START.len() + 20 + 1);
        write_id_end(&mut first, n);
        let mut text = [0u8; ID_START.len() + 20 + 1];
        let start = text.len() - first.len();
        text[start..].copy_from_slice(&first);
        IdEnds { text, start }
    }

    /// The current text.
    pub(crate) fn get(&self) -> &[u8] {
        &self.text[self.start..]
    }

    /// Moves on to the next id (at most `u64::MAX`: a caller never goes beyond).
    pub(crate) fn advance(&mut self) {
        // the last digit, before the brace
        let mut i = self.text.len() - 2;
        loop {
            if self.text[i] != b'9' {
                self.text[i] += 1;
                return;
            }
            self.text[i] = b'0';
            if i == self.start + ID_START.len() {
                // all nines: one digit more, `1` then the zeros (the member name moves
                // one to the left, over nothing of the digits)
                self.start -= 1;
                self.text[self.start..self.start + ID_START.len()].copy_from_slice(ID_START);
                self.text[i - 1] = b'1';
                return;
            }
            i -= 1;
        }
    }
}

/// An outgoing batch under construction; see [`Connection::batch`].
pub struct OutgoingBatch<'c> {
    conn: &'c mut Connection,
    buf: Vec<u8>,
    entries: usize,
    /// The run of requests recorded as one [`PendingBatch`] when the batch is queued: ids
    /// contiguous from the first, one deadline. A request that cannot join it (another
    /// deadline, ids wrapping around) is registered on its own.
    run: Option<Run>,
    /// Room for this many requests in the run.
    calls_hint: usize,
}

/// The requests of an [`OutgoingBatch`] that will be one [`PendingBatch`].
struct Run {
    batch: PendingBatch,
    /// The `now` and timeout its deadline was made of: a request given the same joins it.
    now: Instant,
    timeout: Option<Duration>,
}

impl OutgoingBatch<'_> {
    /// [`Connection::check_can_send`], the requests of the run counted.
    fn check_can_send(&self) -> Result<(), SendError> {
        let run = self.run.as_ref().map_or(0, |r| r.batch.waiting.len());
        if self.conn.closed {
            return Err(SendError::Closed);
        }
        if self.conn.pending() + run >= self.conn.config.max_pending {
            return Err(SendError::TooManyPending {
                limit: self.conn.config.max_pending,
            });
        }
        Ok(())
    }

    /// [`Connection::register`] for a request of the batch: joins the batch's run when it
    /// can (recorded pending when the batch is queued).
    fn register(&mut self, now: Instant, timeout: Option<Duration>) -> u64 {
        let n = self.conn.next_id;
        if n == u64::MAX {
            return self.conn.register(now, timeout);
        }
        match &mut self.run {
            Some(run) => {
                let next = run.batch.first + run.batch.waiting.len() as u64;
                let same = run.timeout == timeout && (timeout.is_none() || run.now == now);
                if n != next || !same {
                    return self.conn.register(now, timeout);
                }
                run.batch.waiting.push(true);
            }
            None => {
                let mut waiting = Vec::with_capacity(self.calls_hint.max(1));
                waiting.push(true);
                self.run = Some(Run {
                    batch: PendingBatch {
                        first: n,
                        deadline: timeout.and_then(|t| now.checked_add(t)),
                        waiting,
                        left: 0,
                    },
                    now,
                    timeout,
                });
            }
        }
        self.conn.next_id = n + 1;
        n
    }

    #[inline]
    fn sep(&mut self) {
        self.buf.push(if self.entries == 0 { b'[' } else { b',' });
        self.entries += 1;
    }

    /// Adds a request with its own timeout (`None`: no deadline); returns its id.
    pub fn request(
        &mut self,
        method: &str,
        params: Option<&RawValue>,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<Id, SendError> {
        self.request_text(method, params.map(|p| p.get().as_bytes()), now, timeout)
    }

    /// Adds a notification.
    pub fn notify(&mut self, method: &str, params: Option<&RawValue>) -> Result<(), SendError> {
        self.notify_text(method, params.map(|p| p.get().as_bytes()))
    }

    /// [`OutgoingBatch::request`] with params as JSON text (an array or object serde_json
    /// wrote).
    pub(crate) fn request_text(
        &mut self,
        method: &str,
        params: Option<&[u8]>,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<Id, SendError> {
        self.check_can_send()?;
        let id = Id::from(self.register(now, timeout));
        self.sep();
        write_call_text(&mut self.buf, method, params, Some(&id));
        Ok(id)
    }

    /// [`OutgoingBatch::request_text`] with the call's text up to its id written already
    /// (`head`: [`write_call_head`](crate::protocol::message::write_call_head) and `,"params":P`, as [`write_call_text`] writes them):
    /// adds the id and the end. Returns the id.
    pub(crate) fn request_head(
        &mut self,
        head: &[u8],
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<u64, SendError> {
        self.check_can_send()?;
        let n = self.register(now, timeout);
        self.sep();
        self.buf.extend_from_slice(head);
        write_id_end(&mut self.buf, n);
        Ok(n)
    }

    /// Adds calls written up to their ids (see [`OutgoingBatch::request_head`]), in order:
    /// `(head, is_request)`, `requests` of them requests, all with the deadline of `timeout`
    /// from `now`. All or nothing: refused as a whole (closed, or `requests` more would
    /// exceed `max_pending`) before any is added. Returns the first and last ids of the
    /// requests, allocated one after the other ([`Connection::register`]'s order).
    pub(crate) fn calls_from_heads<'h>(
        &mut self,
        heads: impl Iterator<Item = (&'h [u8], bool)>,
        requests: usize,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<Option<(u64, u64)>, SendError> {
        if self.conn.closed {
            return Err(SendError::Closed);
        }
        let run = self.run.as_ref().map_or(0, |r| r.batch.waiting.len());
        if self.conn.pending() + run + requests > self.conn.config.max_pending {
            return Err(SendError::TooManyPending {
                limit: self.conn.config.max_pending,
            });
        }
        if requests == 0 {
            for (head, _) in heads {
                self.sep();
                self.buf.extend_from_slice(head);
                self.buf.push(b'}');
            }
            return Ok(None);
        }
        let first = self.conn.next_id;
        let mut ids = None;
        let Some(end) = first
            .checked_add(requests as u64)
            .filter(|_| self.run.is_none())
        else {
            // Ids that would wrap around, or a run started already: call by call (checked
            // above: none is refused).
            for (head, is_request) in heads {
                if is_request {
                    let n = self.request_head(head, now, timeout)?;
                    ids = Some((ids.map_or(n, |(f, _)| f), n));
                } else {
                    self.notify_head(head)?;
                }
            }
            return Ok(ids);
        };
        // One run of contiguous ids, one deadline.
        self.conn.next_id = end;
        let mut n = first;
        let mut ends = IdEnds::new(first);
        for (head, is_request) in heads {
            self.sep();
            self.buf.extend_from_slice(head);
            if is_request {
                let id = if n < end {
                    self.buf.extend_from_slice(ends.get());
                    n += 1;
                    if n < end {
                        ends.advance();
                    }
                    n - 1
                } else {
                    // more requests than announced: on their own
                    let id = self.conn.register(now, timeout);
                    write_id_end(&mut self.buf, id);
                    id
                };
                ids = Some((first, id));
            } else {
                self.buf.push(b'}');
            }
        }
        let taken = usize::try_from(n - first).unwrap_or(usize::MAX);
        if taken > 0 {
            self.run = Some(Run {
                batch: PendingBatch {
                    first,
                    deadline: timeout.and_then(|t| now.checked_add(t)),
                    waiting: vec![true; taken],
                    left: 0,
                },
                now,
                timeout,
            });
        }
        Ok(ids)
    }

    /// [`OutgoingBatch::notify_text`] with the notification's text but its end written
    /// already (see [`OutgoingBatch::request_head`]).
    pub(crate) fn notify_head(&mut self, head: &[u8]) -> Result<(), SendError> {
        if self.conn.closed {
            return Err(SendError::Closed);
        }
        self.sep();
        self.buf.extend_from_slice(head);
        self.buf.push(b'}');
        Ok(())
    }

    /// [`OutgoingBatch::notify`] with params as JSON text.
    pub(crate) fn notify_text(
        &mut self,
        method: &str,
        params: Option<&[u8]>,
    ) -> Result<(), SendError> {
        if self.conn.closed {
            return Err(SendError::Closed);
        }
        self.sep();
        write_call_text(&mut self.buf, method, params, None);
        Ok(())
    }

    /// The number of calls added so far.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when no call was added.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Queues the batch as one array frame (nothing for an empty batch).
    pub fn finish(self) {
        // The work happens in Drop.
    }
}

impl Drop for OutgoingBatch<'_> {
    fn drop(&mut self) {
        if let Some(Run { batch: mut run, .. }) = self.run.take() {
            run.left = run.waiting.len();
            let out = self.conn.out.get_or_insert_with(Box::default);
            out.batch_pending += run.left;
            if let Some(at) = run.deadline {
                out.timers.push(Reverse((at, run.first)));
                out.pending_with_deadline += 1;
            }
            let at = out.batches.partition_point(|b| b.first < run.first);
            out.batches.insert(at, run);
        }
        if self.entries == 0 || self.conn.closed {
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.push(b']');
        push_lean(&mut self.conn.transmit, Bytes::from(buf));
    }
}
