//! [`Client`]: calls, notifications and batches over one connection, and the stream of
//! notifications the other side pushes.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll};
use std::time::Duration;

use futures::channel::mpsc;
use futures::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::protocol::connection::{CallError, Config, SendError};
use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::protocol::message::write_call_head;
use crate::protocol::message::Notification;

use super::shared::{serialize_params, BatchSlot, CallSlot, PeerShared, RawAnswer, CANCEL_METHOD};
use super::subs::LagPolicy;
use super::transport::TransportError;

/// Why a call from a [`Client`] did not produce a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The other side answered with an error object (code, message and data as sent).
    #[error("{0}")]
    Rpc(ErrorObject),
    /// No answer came before the call's deadline.
    #[error("request timed out")]
    Timeout,
    /// The connection is closed (or closed before the answer came).
    #[error("connection closed")]
    Closed,
    /// The transport failed.
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
    /// The params could not be serialized, or are not an array or object.
    #[error("params cannot be sent: {0}")]
    Params(String),
    /// The result did not deserialize as the expected type.
    #[error("the result does not have the expected shape: {0}")]
    Deserialize(serde_json::Error),
    /// Too many calls await an answer (`Config::max_pending`); retry after some complete.
    #[error("{limit} calls already await an answer")]
    TooManyPending {
        /// The configured limit.
        limit: usize,
    },
}

impl ClientError {
    /// The error object, when the other side answered with one.
    pub fn as_rpc(&self) -> Option<&ErrorObject> {
        match self {
            ClientError::Rpc(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CallError> for ClientError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Remote(e) => ClientError::Rpc(e),
            CallError::TimedOut => ClientError::Timeout,
            CallError::Closed => ClientError::Closed,
        }
    }
}

impl From<SendError> for ClientError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Closed => ClientError::Closed,
            SendError::TooManyPending { limit } => ClientError::TooManyPending { limit },
        }
    }
}

/// Settings of a [`Client`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Protocol limits; `connection.request_timeout` (default 30 s) is the default deadline of
    /// each outgoing call.
    pub connection: Config,
    /// When a call's future is dropped before its answer, also send `$/cancelRequest {"id"}`
    /// so the other side drops its handler (default false; the call is forgotten either way).
    pub send_cancel_notifications: bool,
    /// Capacity of each [`Client::notifications`] stream (default 1024). When a consumer is
    /// slower than the pushes, new notifications for that stream are dropped with a warning:
    /// a slow consumer never blocks the connection.
    pub notification_buffer: usize,
    /// When serving a router ([`Client::with_router`]): the deadline of each handler (default
    /// 30 s; answered -32001).
    pub handler_timeout: Option<Duration>,
    /// When serving a router: room for notifications handlers push with
    /// [`Context::notify`](super::Context::notify) before they are dropped (default 1024).
    pub push_buffer: usize,
    /// What a subscription whose consumer falls `notification_buffer` items behind does
    /// (default [`LagPolicy::Pause`]: reading this connection pauses, nothing is lost;
    /// [`LagPolicy::End`]: that subscription ends, the connection reads on). Per
    /// subscription: [`Subscription::with_lag_policy`](super::Subscription::with_lag_policy).
    pub subscription_lag: LagPolicy,
}

crate::protocol::config_setters!(ClientConfig {
    with_connection => connection: Config,
    with_send_cancel_notifications => send_cancel_notifications: bool,
    with_notification_buffer => notification_buffer: usize,
    with_handler_timeout => handler_timeout: Option<Duration>,
    with_push_buffer => push_buffer: usize,
    with_subscription_lag => subscription_lag: LagPolicy,
});

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connection: Config::default(),
            send_cancel_notifications: false,
            notification_buffer: 1024,
            handler_timeout: Some(Duration::from_secs(30)),
            push_buffer: 1024,
            subscription_lag: LagPolicy::Pause,
        }
    }
}

/// A handle on one connection: calls, notifications, batches. Clone it freely; the
/// connection closes when the last handle is dropped or [`Client::close`] is called.
pub struct Client {
    shared: Arc<PeerShared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Clone for Client {
    fn clone(&self) -> Self {
        Client::from_shared(Arc::clone(&self.shared))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::SeqCst) == 1 && self.shared.close_when_unused
        {
            self.shared.wake();
        }
    }
}

impl Client {
    /// The connection's shared state (for the subscription client, `super::subscribe`).
    pub(crate) fn shared(&self) -> &Arc<PeerShared> {
        &self.shared
    }

    pub(crate) fn from_shared(shared: Arc<PeerShared>) -> Self {
        shared.handles.fetch_add(1, Ordering::SeqCst);
        Client { shared }
    }

    /// Calls `method` and reads the result as `R`. `params` must serialize to an array, an
    /// object, or `null`/`()` (no params). The request is sent at once; dropping the returned
    /// future forgets the call (and sends `$/cancelRequest` when configured).
    pub fn request<R: DeserializeOwned, P: Serialize>(
        &self,
        method: &str,
        params: P,
    ) -> ResponseFuture<R> {
        self.start_call(method, &params, None)
    }

    /// Like [`Client::request`] with its own deadline instead of the configured one.
    pub fn request_with_timeout<R: DeserializeOwned, P: Serialize>(
        &self,
        method: &str,
        params: P,
        timeout: Duration,
    ) -> ResponseFuture<R> {
        self.start_call(method, &params, Some(Some(timeout)))
    }

    /// Calls `method` with raw params and gives the raw result.
    pub fn request_raw(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> ResponseFuture<Box<RawValue>> {
        self.send_call(method, params.map(|p| p.get().as_bytes()), None)
    }

    /// Serializes the params straight into a buffer on the stack (most params are small),
    /// then the request frame once at its exact length: no allocation for the params.
    fn start_call<R, P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
        timeout: Option<Option<Duration>>,
    ) -> ResponseFuture<R> {
        let mut text = ParamsText::new();
        match text.serialize(params) {
            Ok(p) => self.send_call(method, p, timeout),
            Err(e) => ResponseFuture::failed(ClientError::Params(e)),
        }
    }

    fn send_call<R>(
        &self,
        method: &str,
        params: Option<&[u8]>,
        timeout: Option<Option<Duration>>,
    ) -> ResponseFuture<R> {
        let now = self.shared.rt.now();
        let sent = {
            let mut inner = self.shared.lock();
            if inner.finished {
                Err(SendError::Closed)
            } else {
                let timeout = timeout.unwrap_or(inner.conn.config().request_timeout);
                let r = inner.conn.request_text(method, params, now, timeout);
                if let Ok(id) = &r {
                    inner
                        .calls_mut()
                        .insert(id.as_u64().unwrap_or(0), CallSlot::default());
                }
                r.map(|id| (id, inner.may_write_direct(1)))
            }
        };
        match sent {
            Ok((id, may_direct)) => {
                self.shared.send_queued_if(1, may_direct);
                ResponseFuture::pending(Arc::clone(&self.shared), id.as_u64().unwrap_or(0))
            }
            Err(e) => ResponseFuture::failed(e.into()),
        }
    }

    /// Sends a notification (no answer).
    pub async fn notify<P: Serialize>(&self, method: &str, params: P) -> Result<(), ClientError> {
        let params = serialize_params(&params).map_err(ClientError::Params)?;
        self.notify_raw(method, params.as_deref())
    }

    /// Sends a notification with raw params.
    pub fn notify_raw(&self, method: &str, params: Option<&RawValue>) -> Result<(), ClientError> {
        {
            let mut inner = self.shared.lock();
            if inner.finished {
                return Err(ClientError::Closed);
            }
            inner.conn.notify(method, params)?;
        }
        self.shared.wake();
        Ok(())
    }

    /// A batch: add requests and notifications, then [`BatchBuilder::send`] them as one
    /// array; results come back by position of the requests.
    pub fn batch(&self) -> BatchBuilder<'_> {
        BatchBuilder {
            client: self,
            // room for a few calls; grows as usual beyond
            text: Vec::with_capacity(BATCH_TEXT_ROOM),
            entries: Vec::with_capacity(BATCH_TEXT_ROOM / 64),
            requests: 0,
            error: None,
        }
    }

    /// A stream of the notifications the other side sends that no local handler takes.
    /// Each stream holds up to `ClientConfig::notification_buffer` items; when its consumer
    /// falls behind, newer notifications for that stream are dropped (with a warning) rather
    /// than blocking the connection. Every stream sees every notification sent after it was
    /// created; the stream ends when the connection closes. Notifications that arrived before
    /// the first call (up to `notification_buffer` of them, e.g. a server's welcome pushed on
    /// connect) are kept and delivered first to the first stream.
    pub fn notifications(&self) -> Notifications {
        let (mut tx, rx) = mpsc::channel(self.shared.notification_buffer);
        let mut inner = self.shared.lock();
        let finished = inner.finished;
        let side = inner.client_side();
        if side.early_capacity > 0 {
            side.early_capacity = 0;
            for n in std::mem::take(&mut side.early) {
                // The channel has room for `notification_buffer` >= early.len() items.
                let _ = tx.try_send(n);
            }
        }
        if !finished {
            side.subscribers.push(tx);
        }
        Notifications { rx }
    }

    /// Closes the connection: pending calls fail with [`ClientError::Closed`], queued frames
    /// are flushed, the transport is closed. Completes when the connection has ended.
    pub async fn close(&self) {
        self.shared.request_close();
        let shared = &self.shared;
        shared.done().wait_until(|| shared.is_finished()).await;
    }

    /// Completes when the connection has ended: the peer closed it or went away, the transport
    /// failed, or [`Client::close`] was called. It does not close anything itself, and holding
    /// it does not keep the connection open. For a client this is the signal to reconnect.
    ///
    /// ```no_run
    /// # async fn f(client: jsonrpc_proto::peer::Client) {
    /// client.closed().await;
    /// eprintln!("disconnected");
    /// # }
    /// ```
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move {
            let s = &shared;
            s.done().wait_until(|| s.is_finished()).await;
        }
    }

    /// True once the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.is_finished()
    }

    /// Calls awaiting an answer.
    pub fn pending(&self) -> usize {
        self.shared.lock().conn.pending()
    }
}

/// The rules of [`serialize_params`] for params serialized as `text`: `null` is no params
/// (`Ok(false)`), an array or an object is sent (`Ok(true)`), anything else cannot be.
#[inline]
fn params_shape(text: &[u8]) -> Result<bool, String> {
    match text.first() {
        Some(b'[') | Some(b'{') => Ok(true),
        _ if text == b"null" => Ok(false),
        _ => Err(not_params(text)),
    }
}

/// The error of params that are not an array or an object (see [`params_shape`]).
#[cold]
fn not_params(text: &[u8]) -> String {
    format!(
        "params must serialize to an array or an object, not {}",
        String::from_utf8_lossy(text)
    )
}

/// Room on the stack for the params of one call; larger ones move to the heap.
const SMALL_PARAMS: usize = 256;

/// One call's params as serde_json writes them: on the stack up to [`SMALL_PARAMS`] bytes.
struct ParamsText {
    small: [u8; SMALL_PARAMS],
    len: usize,
    /// The whole text once it outgrew `small`.
    large: Vec<u8>,
}

impl ParamsText {
    fn new() -> Self {
        ParamsText {
            small: [0; SMALL_PARAMS],
            len: 0,
            large: Vec::new(),
        }
    }

    /// Serializes `params`; gives their text, `None` for no params (see [`params_shape`]).
    fn serialize<P: Serialize + ?Sized>(&mut self, params: &P) -> Result<Option<&[u8]>, String> {
        serde_json::to_writer(&mut *self, params).map_err(|e| e.to_string())?;
        let text = if self.large.is_empty() {
            &self.small[..self.len]
        } else {
            &self.large[..]
        };
        Ok(params_shape(text)?.then_some(text))
    }
}

impl std::io::Write for ParamsText {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.large.is_empty() {
            if let Some(room) = self.small.get_mut(self.len..self.len + bytes.len()) {
                room.copy_from_slice(bytes);
                self.len += bytes.len();
                return Ok(bytes.len());
            }
            self.large.reserve(2 * (self.len + bytes.len()));
            self.large.extend_from_slice(&self.small[..self.len]);
        }
        self.large.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The answer to one call; see [`Client::request`]. Dropping it before it completes forgets
/// the call.
#[must_use = "a call's future does nothing useful unless awaited; dropping it cancels the call"]
pub struct ResponseFuture<R> {
    shared: Option<Arc<PeerShared>>,
    id: u64,
    error: Option<ClientError>,
    _result: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for ResponseFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("id", &self.id)
            .finish()
    }
}

impl<R> ResponseFuture<R> {
    pub(crate) fn pending(shared: Arc<PeerShared>, id: u64) -> Self {
        ResponseFuture {
            shared: Some(shared),
            id,
            error: None,
            _result: PhantomData,
        }
    }

    fn failed(e: ClientError) -> Self {
        ResponseFuture {
            shared: None,
            id: 0,
            error: Some(e),
            _result: PhantomData,
        }
    }

    /// The id the request was sent with (`None` when it could not be sent).
    pub fn id(&self) -> Option<Id> {
        self.shared.as_ref().map(|_| Id::from(self.id))
    }

    fn poll_raw(&mut self, cx: &mut TaskCx<'_>) -> Poll<Result<RawAnswer, ClientError>> {
        let Some(shared) = &self.shared else {
            return Poll::Ready(Err(self.error.take().unwrap_or(ClientError::Closed)));
        };
        let mut inner = shared.lock();
        let done = match inner.calls_mut().get_mut(&self.id) {
            None => Some(Err(ClientError::Closed)),
            Some(slot) => match slot.result.take() {
                Some(r) => Some(r.map_err(ClientError::from)),
                None => {
                    if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        slot.waker = Some(cx.waker().clone());
                    }
                    None
                }
            },
        };
        match done {
            Some(r) => {
                inner.calls_mut().remove(&self.id);
                drop(inner);
                self.shared = None;
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }
}

impl<R: DeserializeOwned> Future for ResponseFuture<R> {
    type Output = Result<R, ClientError>;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.poll_raw(cx)
            .map(|r| r.and_then(|raw| from_answer(&raw).map_err(ClientError::Deserialize)))
    }
}

/// Reads a call's result as `R`: [`from_raw`]'s reading, on the text of the answer wherever it
/// is (in its frame or copied out).
pub(crate) fn from_answer<R: DeserializeOwned>(answer: &RawAnswer) -> Result<R, serde_json::Error> {
    match answer {
        RawAnswer::Owned(raw) => from_raw(raw),
        other => from_json_bytes(other.bytes()),
    }
}

/// [`from_raw`] for JSON text given as bytes (valid UTF-8): the same plain string fast path,
/// else serde_json's reading of the bytes (the same values and errors as of the text).
fn from_json_bytes<R: DeserializeOwned>(b: &[u8]) -> Result<R, serde_json::Error> {
    // by the first byte: a string can be plain only, a number small only
    match b.first() {
        Some(b'"') => {
            if let Some(text) = plain_str_bytes(b).and_then(|s| std::str::from_utf8(s).ok()) {
                if let Ok(value) = R::deserialize(PlainStr(text)) {
                    return Ok(value);
                }
            }
        }
        Some(b'0'..=b'9') => {
            if let Some(n) = small_uint(b) {
                if let Ok(value) = R::deserialize(SmallUint(n)) {
                    return Ok(value);
                }
            }
        }
        _ => {}
    }
    serde_json::from_slice(b)
}

/// The value of `json` when it is an unsigned integer of at most 18 digits without leading
/// zero (which serde_json reads as that `u64`).
fn small_uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 18 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        let d = c.wrapping_sub(b'0');
        (d <= 9).then(|| n * 10 + u64::from(d))
    })
}

/// Reads a result as `R`. A JSON string with nothing escaped (checked by our block scanner,
/// about a third of serde_json's cost per byte) is handed to `R`'s visitor as the borrowed
/// text, as serde_json hands it (a `String` result then costs one copy and no second scan of
/// serde_json's). Every other value, every other request of `R` (numbers, sequences, enums..)
/// and any error are serde_json's own reading of the text, so results and errors (with their
/// positions) are exactly serde_json's.
pub(crate) fn from_raw<R: DeserializeOwned>(raw: &RawValue) -> Result<R, serde_json::Error> {
    if let Some(text) = plain_str(raw.get()) {
        if let Ok(value) = R::deserialize(PlainStr(text)) {
            return Ok(value);
        }
    } else if let Some(n) = small_uint(raw.get().as_bytes()) {
        if let Ok(value) = R::deserialize(SmallUint(n)) {
            return Ok(value);
        }
    }
    serde_json::from_str(raw.get())
}

/// The content of `json` when it is one JSON string with no escape and no control character.
fn plain_str(json: &str) -> Option<&str> {
    let len = plain_str_bytes(json.as_bytes())?.len();
    // Quotes are ASCII: both ends are character boundaries.
    Some(&json[1..1 + len])
}

/// [`plain_str`] of JSON text as bytes.
fn plain_str_bytes(b: &[u8]) -> Option<&[u8]> {
    let last = b.len().checked_sub(1)?;
    let plain = last > 0
        && b[0] == b'"'
        && crate::protocol::message::scan::next_string_special(b, 1) == last
        && b[last] == b'"';
    plain.then(|| &b[1..last])
}

/// The deserializer of a plain JSON string's content (see [`from_raw`]): answers what
/// serde_json answers for a string (`visit_borrowed_str`, `visit_some`,
/// `visit_newtype_struct`) and refuses the rest, which then goes to serde_json.
struct PlainStr<'de>(&'de str);

/// The refusal that sends a read to serde_json.
fn not_plain() -> serde_json::Error {
    serde::de::Error::custom("not read as a plain string")
}

macro_rules! to_serde_json {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: serde::de::Visitor<'de>>(
                self,
                $($arg: $ty,)*
                visitor: V,
            ) -> Result<V::Value, Self::Error> {
                let _ = ($($arg,)* visitor);
                Err(not_plain())
            }
        )*
    };
}

/// What a plain value answers as serde_json does: `Some` of itself (a string or a number is
/// not null) and a newtype of itself, except serde_json's own private types (`RawValue`,
/// `Number`), which go to serde_json.
macro_rules! some_and_newtype {
    () => {
        fn deserialize_option<V: serde::de::Visitor<'de>>(
            self,
            v: V,
        ) -> Result<V::Value, Self::Error> {
            v.visit_some(self)
        }

        fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
            self,
            name: &'static str,
            v: V,
        ) -> Result<V::Value, Self::Error> {
            if name.starts_with("$serde_json") {
                return Err(not_plain());
            }
            v.visit_newtype_struct(self)
        }
    };
}

impl<'de> serde::Deserializer<'de> for PlainStr<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_borrowed_str(self.0)
    }

    fn deserialize_str<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_borrowed_str(self.0)
    }

    fn deserialize_string<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_borrowed_str(self.0)
    }

    some_and_newtype!();

    to_serde_json! {
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}

/// The deserializer of a small unsigned integer (see [`small_uint`]): answers what
/// serde_json answers for it (`visit_u64` for any value and every number request but
/// 128-bit ones, `visit_some`, `visit_newtype_struct`) and refuses the rest, which then goes
/// to serde_json.
struct SmallUint(u64);

macro_rules! small_uint_visits_u64 {
    ($($method:ident)*) => {
        $(
            fn $method<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
                v.visit_u64(self.0)
            }
        )*
    };
}

impl<'de> serde::Deserializer<'de> for SmallUint {
    type Error = serde_json::Error;

    small_uint_visits_u64! {
        deserialize_any deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64
    }

    some_and_newtype!();

    to_serde_json! {
        deserialize_bool();
        deserialize_i128();
        deserialize_u128();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}

impl<R> Drop for ResponseFuture<R> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            forget_calls(&shared, &[self.id]);
        }
    }
}

/// Forgets calls whose answers nobody awaits any more (and sends `$/cancelRequest` for each
/// when configured).
fn forget_calls(shared: &PeerShared, ids: &[u64]) {
    let mut inner = shared.lock();
    for &n in ids {
        inner.calls_mut().remove(&n);
        if inner.conn.cancel(&Id::from(n)) && shared.send_cancel {
            let params = serde_json::value::to_raw_value(&serde_json::json!({ "id": n }));
            if let Ok(params) = params {
                let _ = inner.conn.notify(CANCEL_METHOD, Some(&params));
            }
        }
    }
    drop(inner);
    shared.wake();
}

/// The ids of a batch of `len` requests from `first`, as [`Connection`]'s ids are allocated
/// (one after the other, 0 skipped when they wrap around).
///
/// [`Connection`]: crate::protocol::connection::Connection
fn batch_ids(first: u64, len: usize) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(first), |n| Some(n.wrapping_add(1).max(1))).take(len)
}

/// How a sent batch awaits its answers.
enum Awaiting {
    /// One [`BatchSlot`] for the whole batch (its ids contiguous from `first`).
    Batch { first: u64, len: usize },
    /// A [`CallSlot`] per call (ids that wrapped around), taken by position: `ids[..next]`
    /// taken so far, into `results`.
    Calls {
        ids: Vec<u64>,
        next: usize,
        results: Vec<Result<RawAnswer, ClientError>>,
    },
}

/// The results of a batch, by position, as they were collected.
enum Collected {
    /// Those of its [`BatchSlot`] (every one `Some` once the batch completed).
    Batch(Vec<Option<Result<RawAnswer, CallError>>>),
    /// Taken call by call.
    Calls(Vec<Result<RawAnswer, ClientError>>),
}

/// The answers a sent batch awaits, collected by position under one lock per wake-up.
/// Dropped before the last one came, it forgets the rest (as dropping a [`ResponseFuture`]
/// does).
struct BatchAnswers<'s> {
    shared: &'s PeerShared,
    awaiting: Awaiting,
    done: bool,
}

impl BatchAnswers<'_> {
    fn poll_collect(&mut self, cx: &mut TaskCx<'_>) -> Poll<Collected> {
        let mut inner = self.shared.lock();
        let collected = match &mut self.awaiting {
            Awaiting::Batch { first, len } => {
                let client = inner.client_side();
                match client.batch_index(*first) {
                    // Forgotten (cannot happen while this waits): ended with the connection.
                    None => Collected::Calls(
                        std::iter::repeat_with(|| Err(ClientError::Closed))
                            .take(*len)
                            .collect(),
                    ),
                    Some(i) => {
                        let batch = &mut client.batches[i];
                        if batch.missing > 0 {
                            if !batch
                                .waker
                                .as_ref()
                                .is_some_and(|w| w.will_wake(cx.waker()))
                            {
                                batch.waker = Some(cx.waker().clone());
                            }
                            return Poll::Pending;
                        }
                        Collected::Batch(client.batches.remove(i).results)
                    }
                }
            }
            Awaiting::Calls { ids, next, results } => {
                while let Some(&n) = ids.get(*next) {
                    let result = match inner.calls_mut().get_mut(&n) {
                        None => Err(ClientError::Closed),
                        Some(slot) => match slot.result.take() {
                            Some(r) => r.map_err(ClientError::from),
                            None => {
                                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                                    slot.waker = Some(cx.waker().clone());
                                }
                                return Poll::Pending;
                            }
                        },
                    };
                    inner.calls_mut().remove(&n);
                    results.push(result);
                    *next += 1;
                }
                Collected::Calls(std::mem::take(results))
            }
        };
        self.done = true;
        Poll::Ready(collected)
    }
}

impl Drop for BatchAnswers<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        match &self.awaiting {
            Awaiting::Batch { first, len } => {
                let unanswered: Vec<u64> = {
                    let mut inner = self.shared.lock();
                    let client = inner.client_side();
                    match client.batch_index(*first) {
                        Some(i) => {
                            let batch = client.batches.remove(i);
                            batch_ids(*first, *len)
                                .zip(&batch.results)
                                .filter(|(_, r)| r.is_none())
                                .map(|(n, _)| n)
                                .collect()
                        }
                        None => batch_ids(*first, *len).collect(),
                    }
                };
                forget_calls(self.shared, &unanswered);
            }
            Awaiting::Calls { ids, next, .. } => forget_calls(self.shared, &ids[*next..]),
        }
    }
}

/// The text a new [`BatchBuilder`] has room for (about eight small calls) before it grows.
const BATCH_TEXT_ROOM: usize = 512;

/// Builds a batch; see [`Client::batch`].
pub struct BatchBuilder<'c> {
    client: &'c Client,
    /// Every entry's text up to its id, back to back: `{"jsonrpc":"2.0","method":M` and
    /// `,"params":P` when it has params, as the frame holds it.
    text: Vec<u8>,
    entries: Vec<BatchEntry>,
    requests: usize,
    error: Option<ClientError>,
}

/// One call of a [`BatchBuilder`]: where its text ends in the builder's buffer.
struct BatchEntry {
    end: usize,
    is_request: bool,
}

impl fmt::Debug for BatchBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl BatchBuilder<'_> {
    /// Writes one entry's text up to its id straight into the builder's buffer, as the frame
    /// holds it (no allocation per call; the method escaped once, here).
    fn push<P: Serialize>(&mut self, method: &str, params: &P, is_request: bool) {
        let start = self.text.len();
        write_call_head(&mut self.text, method);
        let head_end = self.text.len();
        self.text.extend_from_slice(b",\"params\":");
        let params_start = self.text.len();
        let has_params = match serde_json::to_writer(&mut self.text, params) {
            Err(e) => Err(e.to_string()),
            Ok(()) => params_shape(&self.text[params_start..]),
        };
        match has_params {
            Ok(has_params) => {
                if !has_params {
                    self.text.truncate(head_end);
                }
                self.entries.push(BatchEntry {
                    end: self.text.len(),
                    is_request,
                });
            }
            Err(e) => {
                self.text.truncate(start);
                self.error.get_or_insert(ClientError::Params(e));
            }
        }
    }

    /// Adds a request; returns its position in the results.
    pub fn request<P: Serialize>(&mut self, method: &str, params: P) -> usize {
        self.push(method, &params, true);
        self.requests += 1;
        self.requests - 1
    }

    /// Adds a notification.
    pub fn notify<P: Serialize>(&mut self, method: &str, params: P) -> &mut Self {
        self.push(method, &params, false);
        self
    }

    /// Sends the batch as one array and waits for every answer. The results are in the order
    /// the requests were added. `Err` when the batch could not be sent at all.
    pub async fn send(self) -> Result<Vec<Result<Box<RawValue>, ClientError>>, ClientError> {
        self.send_answers(|r| r.map(RawAnswer::into_raw)).await
    }

    /// [`BatchBuilder::send`] with every result read as `T` (as [`Client::request`] reads
    /// one), straight from the frame it came in: no raw value is kept per answer. A result
    /// that does not deserialize as `T` is [`ClientError::Deserialize`] at its position; the
    /// others are unaffected.
    pub async fn send_as<T: DeserializeOwned>(
        self,
    ) -> Result<Vec<Result<T, ClientError>>, ClientError> {
        self.send_answers(|r| r.and_then(|a| from_answer(&a).map_err(ClientError::Deserialize)))
            .await
    }

    /// Sends the batch and gives each request's result, as `read` makes it of the answer.
    async fn send_answers<X>(
        self,
        mut read: impl FnMut(Result<RawAnswer, ClientError>) -> X,
    ) -> Result<Vec<X>, ClientError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let shared = &self.client.shared;
        let now = shared.rt.now();
        let awaiting = {
            let mut inner = shared.lock();
            if inner.finished {
                return Err(ClientError::Closed);
            }
            let config = inner.conn.config();
            let timeout = config.request_timeout;
            if inner.conn.pending() + self.requests > config.max_pending {
                return Err(ClientError::TooManyPending {
                    limit: config.max_pending,
                });
            }
            let inner = &mut *inner;
            // `,"id":`, the id's digits, `}` and a separator: at most 28 bytes.
            let size = self.text.len() + self.entries.len() * 28 + 2;
            let mut batch = inner.conn.batch_with_capacity(size, self.requests);
            let heads = self.entries.iter().scan(0, |start, entry| {
                let head = &self.text[*start..entry.end];
                *start = entry.end;
                Some((head, entry.is_request))
            });
            // The first and last ids allocated (see `batch_ids`).
            let ids = batch.calls_from_heads(heads, self.requests, now, timeout)?;
            batch.finish();
            let count = self.requests;
            let first = ids.map(|(first, _)| first);
            let last = ids.map_or(0, |(_, last)| last);
            match first {
                None => Awaiting::Calls {
                    ids: Vec::new(),
                    next: 0,
                    results: Vec::new(),
                },
                // contiguous: one entry for the batch
                Some(first) if last.wrapping_sub(first) == count as u64 - 1 => {
                    inner.client_side().add_batch(BatchSlot::new(first, count));
                    Awaiting::Batch { first, len: count }
                }
                Some(first) => {
                    let ids: Vec<u64> = batch_ids(first, count).collect();
                    inner.calls_mut().reserve(ids.len());
                    for &n in &ids {
                        inner.calls_mut().insert(n, CallSlot::default());
                    }
                    Awaiting::Calls {
                        results: Vec::with_capacity(ids.len()),
                        ids,
                        next: 0,
                    }
                }
            }
        };
        shared.send_queued(self.requests);
        let mut answers = BatchAnswers {
            shared,
            awaiting,
            done: false,
        };
        // Read outside the lock, in one pass.
        Ok(
            match std::future::poll_fn(|cx| answers.poll_collect(cx)).await {
                Collected::Batch(results) => results
                    .into_iter()
                    .map(|r| {
                        read(match r {
                            Some(r) => r.map_err(ClientError::from),
                            None => Err(ClientError::Closed),
                        })
                    })
                    .collect(),
                Collected::Calls(results) => results.into_iter().map(&mut read).collect(),
            },
        )
    }
}

/// Notifications pushed by the other side; see [`Client::notifications`].
pub struct Notifications {
    rx: mpsc::Receiver<Notification<'static>>,
}

impl fmt::Debug for Notifications {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifications").finish()
    }
}

impl Stream for Notifications {
    type Item = Notification<'static>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

#[cfg(test)]
mod from_raw_tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).expect("valid JSON")
    }

    /// `from_raw` gives exactly what serde_json gives: the same value, or the same error text
    /// (position included).
    fn same<R: DeserializeOwned + PartialEq + fmt::Debug>(json: &str) {
        let ours = from_raw::<R>(&raw(json)).map_err(|e| e.to_string());
        let serde = serde_json::from_str::<R>(json).map_err(|e| e.to_string());
        assert_eq!(ours, serde, "{json}");
    }

    #[test]
    fn strings_read_as_serde_json_reads_them() {
        let long = format!("\"{}\"", "A".repeat(1 << 20));
        let long_escaped = format!("\"{}\\n\"", "A".repeat(100_000));
        for json in [
            "\"\"",
            "\"a\"",
            "\"caf\u{e9} \u{1f980} \u{7f}\"",
            "\"a\\\"b\"",
            "\"\\u00e9\\ud83e\\udd80\"",
            "\"back\\\\slash\"",
            long.as_str(),
            long_escaped.as_str(),
        ] {
            same::<String>(json);
            same::<Option<String>>(json);
            same::<Box<str>>(json);
            same::<serde_json::Value>(json);
            same::<std::path::PathBuf>(json);
        }
        assert!(plain_str(&long).is_some());
        assert!(plain_str(&long_escaped).is_none());
    }

    /// `from_json_bytes` (answers read in their frame) and `from_raw` give exactly what
    /// serde_json gives.
    fn same_bytes<R: DeserializeOwned + PartialEq + fmt::Debug>(json: &str) {
        let ours = from_json_bytes::<R>(json.as_bytes()).map_err(|e| e.to_string());
        let serde = serde_json::from_str::<R>(json).map_err(|e| e.to_string());
        assert_eq!(ours, serde, "{json}");
        if serde_json::from_str::<&RawValue>(json).is_ok() {
            same::<R>(json);
        }
    }

    #[test]
    fn integers_and_strings_in_frames_read_as_serde_json_reads_them() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Count(u32);
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(untagged)]
        enum Either {
            N(u8),
            S(String),
        }
        for json in [
            "0",
            "3",
            "255",
            "256",
            "65536",
            "4294967296",
            "999999999999999999",
            "9999999999999999999",
            "18446744073709551616",
            "-1",
            "-0",
            "01",
            "1.5",
            "1e3",
            "\"3\"",
            "\"a\\nb\"",
            "null",
            "true",
            "[1]",
        ] {
            same_bytes::<i64>(json);
            same_bytes::<u64>(json);
            same_bytes::<u8>(json);
            same_bytes::<i8>(json);
            same_bytes::<u32>(json);
            same_bytes::<f64>(json);
            same_bytes::<f32>(json);
            same_bytes::<i128>(json);
            same_bytes::<u128>(json);
            same_bytes::<Option<u16>>(json);
            same_bytes::<Count>(json);
            same_bytes::<Either>(json);
            same_bytes::<bool>(json);
            same_bytes::<String>(json);
            same_bytes::<char>(json);
            same_bytes::<()>(json);
            same_bytes::<serde_json::Value>(json);
            same_bytes::<serde_json::Number>(json);
            same_bytes::<Vec<u8>>(json);
        }
        let n: Box<RawValue> = from_json_bytes(b"42").expect("raw");
        assert_eq!(n.get(), "42");
        assert_eq!(small_uint(b"42"), Some(42));
        for json in ["", "-1", "01", "1.0", "1234567890123456789", "4a"] {
            assert_eq!(small_uint(json.as_bytes()), None, "{json}");
        }
    }

    #[test]
    fn other_values_and_other_types_are_serde_json_s_reading() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        enum Mode {
            Fast,
        }
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Name(String);
        for json in [
            "\"Fast\"",
            "\"Slow\"",
            "\"ab\"",
            "\"1.2.3.4\"",
            "\"x\"",
            "\"\"",
        ] {
            same::<Mode>(json);
            same::<Name>(json);
            same::<char>(json);
            same::<i64>(json);
            same::<Vec<String>>(json);
            same::<std::net::Ipv4Addr>(json);
            same::<()>(json);
            same::<bool>(json);
        }
        for json in ["1", "null", "[\"a\"]", "{\"a\":\"b\"}", "true", "-0.5"] {
            same::<String>(json);
            same::<Option<String>>(json);
            same::<serde_json::Value>(json);
            same::<i64>(json);
        }
        // a raw result read as a raw value again is serde_json's own
        let r = raw("\"abc\"");
        let back: Box<RawValue> = from_raw(&r).expect("raw");
        assert_eq!(back.get(), "\"abc\"");
        for json in ["", "\"", "x\"", "\"a\"b\"", "\"\\\"", "a"] {
            assert_eq!(plain_str(json), None, "{json}");
        }
    }
}

/// The batch path against a scripted peer: answers matched by id exactly, in any order and
/// over several frames, with duplicates and unknown ids dropped, a missing answer ended by
/// its deadline, the rest of a batch ended by the connection's end.
#[cfg(test)]
mod batch_tests {

    use bytes::Bytes;
    use futures::channel::mpsc;
    use futures::executor::block_on;

    use futures::{SinkExt, StreamExt};
    use serde_json::Value;

    use super::*;
    use crate::peer::{BoxTransport, TransportInfo, TransportKind};

    use crate::peer::rt::Threads;

    /// A client over an in-memory pair; the test plays the other side with the channels.
    fn scripted(config: ClientConfig) -> (Client, mpsc::Receiver<Bytes>, mpsc::Sender<Bytes>) {
        let (client_tx, peer_rx) = mpsc::channel(16);
        let (peer_tx, client_rx) = mpsc::channel(16);
        let transport = BoxTransport::new(
            TransportInfo::new(TransportKind::Memory),
            client_tx.sink_map_err(|_| TransportError::Closed),
            client_rx.map(Ok),
        );
        (Client::new(transport, Threads, config), peer_rx, peer_tx)
    }

    /// The ids of the requests of a batch frame, in order.
    fn ids_of(frame: &[u8]) -> Vec<u64> {
        let calls: Vec<Value> = serde_json::from_slice(frame).expect("a batch array");
        calls
            .iter()
            .filter_map(|c| c.get("id").map(|id| id.as_u64().expect("numeric id")))
            .collect()
    }

    fn answer(id: u64, result: i64) -> String {
        format!(r#"{{"jsonrpc":"2.0","result":{result},"id":{id}}}"#)
    }

    #[test]
    fn batch_answers_are_matched_by_id_in_any_order_over_frames() {
        block_on(async {
            let (client, mut from_client, mut to_client) = scripted(ClientConfig::default());
            let c = client.clone();
            let sent = Threads::spawn_result(async move {
                let mut b = c.batch();
                for i in 0..6i64 {
                    b.request("add", [i, 100]);
                }
                b.notify("note", [1]);
                b.send_as::<i64>().await
            });
            let frame = from_client.next().await.expect("the batch frame");
            let ids = ids_of(&frame);
            assert_eq!(ids.len(), 6);
            // Reverse order, a duplicate of one, an unknown id, an error object; two answers
            // come in a later frame.
            let error = format!(
                r#"{{"jsonrpc":"2.0","error":{{"code":7,"message":"no"}},"id":{}}}"#,
                ids[2]
            );
            let first = [
                answer(ids[5], 5),
                answer(ids[3], 3),
                answer(ids[3], 33),
                answer(ids[5] + 1000, 9),
                error,
                answer(ids[0], 0),
            ];
            let first = format!("[{}]", first.join(","));
            to_client.send(Bytes::from(first)).await.expect("sent");
            let second = format!("[{},{}]", answer(ids[4], 4), answer(ids[1], 1));
            to_client.send(Bytes::from(second)).await.expect("sent");
            let got = sent.await.expect("batch sent");
            assert_eq!(got.len(), 6);
            for (i, r) in got.iter().enumerate() {
                match (i, r) {
                    (2, Err(ClientError::Rpc(e))) => assert_eq!(e.code.0, 7),
                    (i, Ok(v)) => assert_eq!(*v, i as i64, "position {i}"),
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(client.pending(), 0);
            // A late duplicate of an answered call is dropped; the client goes on.
            to_client
                .send(Bytes::from(answer(ids[0], 99)))
                .await
                .expect("sent");
            let c = client.clone();
            let sent = Threads::spawn_result(async move {
                let mut again = c.batch();
                again.request("add", [1, 1]);
                again.send_as::<i64>().await
            });
            let frame = from_client.next().await.expect("the second batch");
            let id = ids_of(&frame)[0];
            assert!(id > ids[5], "fresh ids");
            to_client
                .send(Bytes::from(answer(id, 2)))
                .await
                .expect("sent");
            let got = sent.await.expect("sent");
            assert!(matches!(&got[..], [Ok(2)]), "{got:?}");
        });
    }

    #[test]
    fn a_batch_answer_that_never_comes_times_out_and_the_end_closes_the_rest() {
        block_on(async {
            let config = ClientConfig::default().with_connection(
                Config::default().with_request_timeout(Some(Duration::from_millis(200))),
            );
            let (client, mut from_client, mut to_client) = scripted(config);
            let sent = two_adds(&client);
            let frame = from_client.next().await.expect("the batch frame");
            let ids = ids_of(&frame);
            to_client
                .send(Bytes::from(answer(ids[1], 7)))
                .await
                .expect("sent");
            let got = sent.await.expect("sent");
            assert!(
                matches!(&got[..], [Err(ClientError::Timeout), Ok(7)]),
                "{got:?}"
            );
            assert_eq!(client.pending(), 0);
            // The connection ends with a batch half answered: the rest is Closed.
            let sent = two_adds(&client);
            let frame = from_client.next().await.expect("the batch frame");
            let ids = ids_of(&frame);
            to_client
                .send(Bytes::from(answer(ids[0], 3)))
                .await
                .expect("sent");
            // give the driver the answer before the end of input
            std::thread::sleep(Duration::from_millis(50));
            drop(to_client);
            let got = sent.await.expect("sent");
            assert!(
                matches!(&got[..], [Ok(3), Err(ClientError::Closed)]),
                "{got:?}"
            );
        });
    }

    /// A batch's frame spells each method (escaped where it must be), params and id as a
    /// single call's would; a batch with params that cannot be sent is refused whole.
    #[test]
    fn batch_frames_spell_every_method_and_id_exactly() {
        block_on(async {
            let (client, mut from_client, mut to_client) = scripted(ClientConfig::default());
            let methods = ["add", "add", "a\"", "a\\\"", "a\\\"", "ad", "add", "add"];
            let c = client.clone();
            let sent = Threads::spawn_result(async move {
                let mut b = c.batch();
                for (i, m) in methods.iter().enumerate() {
                    if i == 5 {
                        b.notify(m, ());
                    } else {
                        b.request(m, [i]);
                    }
                }
                b.request("add", 5); // refused: the whole batch is
                let refused = b.send_as::<i64>().await;
                let mut b = c.batch();
                for (i, m) in methods.iter().enumerate() {
                    if i == 5 {
                        b.notify(m, ());
                    } else {
                        b.request(m, [i]);
                    }
                }
                (refused.is_err(), b.send_as::<i64>().await)
            });
            let frame = from_client.next().await.expect("the batch frame");
            let calls: Vec<Value> = serde_json::from_slice(&frame).expect("an array");
            let got: Vec<&str> = calls
                .iter()
                .map(|c| c["method"].as_str().unwrap())
                .collect();
            assert_eq!(got, methods);
            for (i, call) in calls.iter().enumerate() {
                assert_eq!(call["jsonrpc"], "2.0");
                if i == 5 {
                    assert!(call.get("id").is_none() && call.get("params").is_none());
                } else {
                    assert_eq!(call["params"], serde_json::json!([i]));
                }
            }
            let ids = ids_of(&frame);
            let answers: Vec<String> = ids.iter().map(|&n| answer(n, n as i64)).collect();
            let answers = format!("[{}]", answers.join(","));
            to_client.send(Bytes::from(answers)).await.expect("sent");
            let (refused, got) = sent.await;
            assert!(refused);
            let got: Vec<i64> = got
                .expect("sent")
                .into_iter()
                .map(|r| r.expect("ok"))
                .collect();
            let want: Vec<i64> = ids.iter().map(|&n| n as i64).collect();
            assert_eq!(got, want);
        });
    }

    /// Ids that wrap around (u64::MAX, then 1, 2) are not one run: the batch awaits them
    /// call by call, with the same results.
    #[test]
    fn a_batch_whose_ids_wrap_around_is_answered_by_position() {
        block_on(async {
            let (client, mut from_client, mut to_client) = scripted(ClientConfig::default());
            client.shared().lock().conn.set_next_id(u64::MAX);
            let c = client.clone();
            let sent = Threads::spawn_result(async move {
                let mut b = c.batch();
                for i in 0..3i64 {
                    b.request("add", [i]);
                }
                b.send_as::<i64>().await
            });
            let frame = from_client.next().await.expect("the batch frame");
            let ids = ids_of(&frame);
            assert_eq!(ids, [u64::MAX, 1, 2]);
            let answers = format!("[{},{}]", answer(ids[2], 2), answer(ids[1], 1));
            to_client.send(Bytes::from(answers)).await.expect("sent");
            let last = format!(r#"{{"jsonrpc":"2.0","result":0,"id":{}}}"#, u64::MAX);
            to_client.send(Bytes::from(last)).await.expect("sent");
            let got = sent.await.expect("sent");
            assert!(matches!(&got[..], [Ok(0), Ok(1), Ok(2)]), "{got:?}");
            assert_eq!(client.pending(), 0);
        });
    }

    /// Sends the batch `add [1,2]`, `add [3,4]` from a thread of its own; its results come
    /// back through the returned future.
    fn two_adds(
        client: &Client,
    ) -> impl std::future::Future<Output = Result<Vec<Result<i64, ClientError>>, ClientError>> {
        let c = client.clone();
        Threads::spawn_result(async move {
            let mut b = c.batch();
            b.request("add", [1, 2]);
            b.request("add", [3, 4]);
            b.send_as::<i64>().await
        })
    }

    impl Threads {
        /// Runs `f` on its own thread; its output comes back through the returned future.
        fn spawn_result<T: Send + 'static>(
            f: impl std::future::Future<Output = T> + Send + 'static,
        ) -> impl std::future::Future<Output = T> {
            let (tx, rx) = futures::channel::oneshot::channel();
            std::thread::spawn(move || {
                let _ = tx.send(block_on(f));
            });
            async move { rx.await.expect("the task ended") }
        }
    }
}
