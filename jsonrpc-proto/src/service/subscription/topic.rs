//! [`SubscriptionTopic`]: one item to every subscriber of a topic, serialized once.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use serde::Serialize;

use super::config::OverflowPolicy;
use super::sink::{SendError, SinkInner, SubscriptionSink, TrySendError};

/// What one [`SubscriptionTopic::broadcast`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastReport {
    /// Subscribers whose buffer took the item.
    pub delivered: usize,
    /// Subscribers whose buffer was full: the item was dropped for them (and, under
    /// `DropNewest`, counted on their sink).
    pub full: usize,
    /// Subscribers that were gone (or were disconnected for being too slow); removed.
    pub closed: usize,
}

/// The subscribers of one topic. Holds its sinks weakly: a subscription whose producer
/// dropped its sink (or whose client left) leaves the topic by itself. Cheap to clone.
#[derive(Clone, Default)]
pub struct SubscriptionTopic {
    sinks: Arc<Mutex<Vec<Weak<SinkInner>>>>,
}

impl fmt::Debug for SubscriptionTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionTopic")
            .field("subscribers", &self.len())
            .finish()
    }
}

impl SubscriptionTopic {
    /// A topic with no subscribers.
    pub fn new() -> Self {
        SubscriptionTopic::default()
    }

    /// Adds a subscriber.
    pub fn add(&self, sink: &SubscriptionSink) {
        self.lock().push(Arc::downgrade(&sink.inner));
    }

    /// Subscribers whose sink is still held.
    pub fn len(&self) -> usize {
        let mut sinks = self.lock();
        sinks.retain(|w| w.strong_count() > 0);
        sinks.len()
    }

    /// True when nobody subscribes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<SinkInner>>> {
        self.sinks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self) -> Vec<Arc<SinkInner>> {
        let mut sinks = self.lock();
        let mut live = Vec::with_capacity(sinks.len());
        sinks.retain(|w| match w.upgrade() {
            Some(s) => {
                live.push(s);
                true
            }
            None => false,
        });
        live
    }

    /// Sends `item` (serialized once) to every subscriber without waiting: a subscriber
    /// whose buffer is full misses it, whatever its policy (`Disconnect` ones are
    /// disconnected). A slow subscriber never slows the others.
    pub fn broadcast<T: Serialize>(&self, item: T) -> Result<BroadcastReport, SendError> {
        let json = serde_json::to_vec(&item).map_err(|e| SendError::Serialize(e.to_string()))?;
        let mut report = BroadcastReport::default();
        for sink in self.live() {
            match sink.offer_now(sink.item_frame(&json)) {
                Ok(()) => report.delivered += 1,
                Err(TrySendError::Full) => report.full += 1,
                Err(_) => report.closed += 1,
            }
        }
        Ok(report)
    }

    /// Sends `item` (serialized once) to every subscriber, waiting for room in each
    /// [`OverflowPolicy::Wait`] subscriber's buffer in turn: lossless, so the slowest such
    /// subscriber paces the sender. Returns how many took it.
    pub async fn send<T: Serialize>(&self, item: T) -> Result<usize, SendError> {
        let json = serde_json::to_vec(&item).map_err(|e| SendError::Serialize(e.to_string()))?;
        let mut delivered = 0;
        for sink in self.live() {
            let frame = sink.item_frame(&json);
            let ok = if sink.overflow == OverflowPolicy::Wait {
                sink.offer(frame).await.is_ok()
            } else {
                sink.offer_now(frame).is_ok()
            };
            delivered += usize::from(ok);
        }
        Ok(delivered)
    }
}
