//! [`SubscriptionSink`]: where a subscription's items go, with a send that can wait.

use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use serde::Serialize;

use crate::peer::subs::{Offered, SubKey};
use crate::peer::with_subs;
use crate::peer::PeerShared;
use crate::protocol::error::ErrorObject;

use super::config::OverflowPolicy;

/// Why [`SubscriptionSink::send`] did not deliver an item.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The subscription is over: the client unsubscribed or went away (or, under
    /// [`OverflowPolicy::Disconnect`], was disconnected for being too slow).
    #[error("the subscription is closed")]
    Closed,
    /// The item could not be serialized.
    #[error("the item cannot be serialized: {0}")]
    Serialize(String),
}

/// Why [`SubscriptionSink::try_send`] did not queue an item.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrySendError {
    /// The buffer is full (the client reads slowly); the item was not queued (under
    /// [`OverflowPolicy::DropNewest`] it is also counted in [`SubscriptionSink::dropped`]).
    #[error("the subscription's buffer is full")]
    Full,
    /// The subscription is over.
    #[error("the subscription is closed")]
    Closed,
    /// The item could not be serialized.
    #[error("the item cannot be serialized: {0}")]
    Serialize(String),
}

pub(super) struct SinkInner {
    peer: Arc<PeerShared>,
    key: SubKey,
    id: Arc<str>,
    /// `{"jsonrpc":"2.0","method":M,"params":{"subscription":"ID",` (then `"result":item}}`).
    prefix: Box<[u8]>,
    pub(super) overflow: OverflowPolicy,
    capacity: usize,
    dropped: AtomicU64,
    /// Set when nothing should be sent on drop (the subscribe call was never answered).
    forgotten: std::sync::atomic::AtomicBool,
}

impl Drop for SinkInner {
    fn drop(&mut self) {
        if self.forgotten.load(Ordering::SeqCst) {
            with_subs(&self.peer, |s, w| s.server.remove(self.key, w));
            return;
        }
        self.finish(None);
    }
}

impl SinkInner {
    fn frame(&self, member: &[u8], json: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(self.prefix.len() + member.len() + json.len() + 2);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(member);
        out.extend_from_slice(json);
        out.extend_from_slice(b"}}");
        Bytes::from(out)
    }

    /// Builds the item's frame from its JSON (serialized once, shared by a topic).
    pub(super) fn item_frame(&self, json: &[u8]) -> Bytes {
        self.frame(b"\"result\":", json)
    }

    fn finish(&self, error: Option<&ErrorObject>) {
        let mut json = Vec::new();
        match error {
            Some(e) => e.write_json(&mut json),
            None => json.extend_from_slice(b"null"),
        }
        let last = self.frame(b"\"error\":", &json);
        let wake = with_subs(&self.peer, |s, w| s.server.end(self.key, Some(last), w));
        if wake {
            self.peer.wake();
        }
    }

    /// One non-waiting offer, under the sink's policy.
    pub(super) fn offer_now(&self, frame: Bytes) -> Result<(), TrySendError> {
        let mut frame = Some(frame);
        let (offered, wake) = self
            .peer
            .lock()
            .subs
            .server
            .offer(self.key, &mut frame, None);
        if wake {
            self.peer.wake();
        }
        match offered {
            Offered::Queued => Ok(()),
            Offered::Closed => Err(TrySendError::Closed),
            // Not the client's fault (its answer is not out yet): never a disconnect.
            Offered::Early if self.overflow == OverflowPolicy::Disconnect => {
                Err(TrySendError::Full)
            }
            Offered::Early | Offered::Full => self.full(),
        }
    }

    /// A full buffer under the sink's policy (`Wait`: [`TrySendError::Full`]).
    fn full(&self) -> Result<(), TrySendError> {
        match self.overflow {
            OverflowPolicy::Disconnect => {
                tracing::warn!(subscription = %self.id, "client too slow for its subscription: disconnecting it");
                self.peer.request_abort();
                Err(TrySendError::Closed)
            }
            OverflowPolicy::DropNewest => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Err(TrySendError::Full)
            }
            _ => Err(TrySendError::Full),
        }
    }

    /// Queues `frame`, waiting for room under [`OverflowPolicy::Wait`].
    pub(super) async fn offer(&self, frame: Bytes) -> Result<(), SendError> {
        let mut frame = Some(frame);
        poll_fn(|cx| {
            let (offered, wake) =
                self.peer
                    .lock()
                    .subs
                    .server
                    .offer(self.key, &mut frame, Some(cx));
            if wake {
                self.peer.wake();
            }
            match offered {
                Offered::Queued => Poll::Ready(Ok(())),
                Offered::Closed => Poll::Ready(Err(SendError::Closed)),
                // Every policy waits for the subscribe answer to go out.
                Offered::Early => Poll::Pending,
                Offered::Full if self.overflow == OverflowPolicy::Wait => Poll::Pending,
                Offered::Full => Poll::Ready(match self.full() {
                    Ok(()) | Err(TrySendError::Full) => Ok(()),
                    Err(_) => Err(SendError::Closed),
                }),
            }
        })
        .await
    }
}

/// Sends one subscription's items to its client. Cheap to clone; when the last clone is
/// dropped the subscription ends (the client is told, after the items still queued).
///
/// Each subscription has a bounded buffer (see [`SubscriptionSink::capacity`]); what a full
/// buffer means is the subscription's [`OverflowPolicy`]. Items of one subscription arrive in
/// the order they were sent.
#[derive(Clone)]
pub struct SubscriptionSink {
    pub(super) inner: Arc<SinkInner>,
}

impl fmt::Debug for SubscriptionSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionSink")
            .field("id", &&*self.inner.id)
            .field("overflow", &self.inner.overflow)
            .field("queue_len", &self.queue_len())
            .field("dropped", &self.dropped())
            .finish()
    }
}

fn to_json<T: Serialize>(item: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(item).map_err(|e| e.to_string())
}

impl SubscriptionSink {
    pub(super) fn new(
        peer: Arc<PeerShared>,
        key: SubKey,
        id: Arc<str>,
        notification: &str,
        overflow: OverflowPolicy,
        capacity: usize,
    ) -> Self {
        let method = serde_json::to_string(notification).unwrap_or_else(|_| "\"\"".into());
        let prefix = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":{method},\"params\":{{\"subscription\":\"{id}\","
        );
        SubscriptionSink {
            inner: Arc::new(SinkInner {
                peer,
                key,
                id,
                prefix: prefix.into_bytes().into_boxed_slice(),
                overflow,
                capacity,
                dropped: AtomicU64::new(0),
                forgotten: Default::default(),
            }),
        }
    }

    /// Marks the sink as never answered: dropping it sends nothing.
    pub(super) fn forget(self) {
        self.inner.forgotten.store(true, Ordering::SeqCst);
    }

    /// Sends one item. Under [`OverflowPolicy::Wait`] (the default) waits for room in the
    /// buffer; under `DropNewest` never waits (a full buffer drops the item and counts it);
    /// under `Disconnect` a full buffer disconnects the client. `Err` when the subscription
    /// is over: stop producing.
    pub async fn send<T: Serialize>(&self, item: T) -> Result<(), SendError> {
        let json = to_json(&item).map_err(SendError::Serialize)?;
        self.inner.offer(self.inner.item_frame(&json)).await
    }

    /// Sends an item already serialized as JSON.
    pub async fn send_raw(&self, item: &serde_json::value::RawValue) -> Result<(), SendError> {
        self.inner
            .offer(self.inner.item_frame(item.get().as_bytes()))
            .await
    }

    /// Queues one item without waiting: [`TrySendError::Full`] when the buffer is full.
    pub fn try_send<T: Serialize>(&self, item: T) -> Result<(), TrySendError> {
        let json = to_json(&item).map_err(TrySendError::Serialize)?;
        self.inner.offer_now(self.inner.item_frame(&json))
    }

    /// Completes when the subscription is over: the client unsubscribed or went away.
    pub async fn closed(&self) {
        let peer = &self.inner.peer;
        let key = self.inner.key;
        poll_fn(|cx| peer.lock().subs.server.poll_closed(key, cx)).await
    }

    /// True once the subscription is over.
    pub fn is_closed(&self) -> bool {
        !self.inner.peer.lock().subs.server.is_live(self.inner.key)
    }

    /// Items waiting in this subscription's buffer now (at most [`SubscriptionSink::capacity`]).
    pub fn queue_len(&self) -> usize {
        self.inner.peer.lock().subs.server.queue_len(self.inner.key)
    }

    /// The buffer's size.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Items dropped for a full buffer (under [`OverflowPolicy::DropNewest`]).
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// The subscription id the client was given.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// This subscription's policy.
    pub fn overflow(&self) -> OverflowPolicy {
        self.inner.overflow
    }

    /// Ends the subscription now with `error` (the client's stream ends with it), after the
    /// items still queued. Other clones of this sink see it closed.
    pub fn close_with_error(&self, error: ErrorObject) {
        self.inner.finish(Some(&error));
    }
}
