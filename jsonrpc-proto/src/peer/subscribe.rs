//! The client side of subscriptions: [`Client::subscribe`] and the typed [`Subscription`]
//! stream.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll, Waker};

use futures::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use super::client::{Client, ClientError, ResponseFuture};
use super::shared::{serialize_params, CallSlot, PeerShared};
use super::subs::{EndReason, LagPolicy, Subs};

/// Why one item of a [`Subscription`] could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// The item did not deserialize as the subscription's item type (the stream goes on).
    #[error("a subscription item does not have the expected shape: {0}")]
    Deserialize(serde_json::Error),
}

impl Client {
    /// Subscribes: calls `subscribe_method` with `params` (array, object or `()`), and gives
    /// the server's items as a typed stream. Dropping the [`Subscription`] (or calling
    /// [`Subscription::unsubscribe`]) calls `unsubscribe_method` with `[id]`.
    ///
    /// Items are buffered per subscription up to `ClientConfig::notification_buffer`; what a
    /// full buffer means is the subscription's [`LagPolicy`] (`ClientConfig::subscription_lag`,
    /// or [`Subscription::with_lag_policy`]): by default reading this connection pauses until
    /// the stream's consumer catches up (nothing is lost, the server's producer is slowed), so
    /// keep polling a live subscription; under [`LagPolicy::End`] it ends instead.
    pub async fn subscribe<T: DeserializeOwned, P: Serialize>(
        &self,
        subscribe_method: &str,
        params: P,
        unsubscribe_method: &str,
    ) -> Result<Subscription<T>, ClientError> {
        let params = serialize_params(&params).map_err(ClientError::Params)?;
        let shared = self.shared();
        let now = shared.rt.now();
        let n = {
            let mut inner = shared.lock();
            if inner.finished {
                return Err(ClientError::Closed);
            }
            let id = inner
                .conn
                .request(subscribe_method, params.as_deref(), now)?;
            let n = id.as_u64().unwrap_or(0);
            inner.calls_mut().insert(n, CallSlot::default());
            inner.subs.client.expect(n, unsubscribe_method.into());
            n
        };
        shared.send_queued(1);
        let answer: ResponseFuture<Box<RawValue>> = ResponseFuture::pending(Arc::clone(shared), n);
        let mut guard = Opening {
            shared,
            n,
            unsubscribe: unsubscribe_method,
            done: false,
        };
        let raw = answer.await;
        guard.done = true;
        if raw.is_err() {
            // No answer (timeout, closed) or an error: no subscription opens for this call.
            shared.lock().subs.client.forget(n);
        }
        let raw = raw?;
        let id = raw.get().to_owned();
        Ok(Subscription {
            client: self.clone(),
            name: serde_json::from_str::<String>(&id).unwrap_or_else(|_| id.clone()),
            id: id.into(),
            unsubscribe: unsubscribe_method.into(),
            end: None,
            _item: PhantomData,
        })
    }

    /// Subscriptions of this side that are open (their streams not ended).
    pub fn active_subscriptions(&self) -> usize {
        self.shared().lock().subs.client.len()
    }
}

/// A subscribe call in flight: dropped before it completes, it cleans up after itself.
struct Opening<'a> {
    shared: &'a Arc<PeerShared>,
    n: u64,
    unsubscribe: &'a str,
    done: bool,
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The answer may have opened the subscription already: close it again.
        let opened = {
            let mut inner = self.shared.lock();
            if inner.subs.client.forget(self.n) {
                None
            } else {
                match inner
                    .calls_mut()
                    .get(&self.n)
                    .and_then(|s| s.result.as_ref())
                {
                    Some(Ok(raw)) => String::from_utf8(raw.bytes().to_vec()).ok(),
                    _ => None,
                }
            }
        };
        if let Some(id) = opened {
            close_remote(self.shared, &id, self.unsubscribe);
        }
    }
}

/// Stops routing to `id` and tells the server (a notification: nobody awaits the answer).
fn close_remote(shared: &PeerShared, id: &str, unsubscribe: &str) {
    let (open, unpaused) = shared.lock().subs.client.remove(id);
    if unpaused {
        shared.wake();
    }
    if open {
        if let Ok(params) = RawValue::from_string(format!("[{id}]")) {
            let mut inner = shared.lock();
            if !inner.finished {
                let _ = inner.conn.notify(unsubscribe, Some(&params));
            }
            drop(inner);
            shared.wake();
        }
    }
}

/// A server's stream of items of type `T` for one subscription; see [`Client::subscribe`].
///
/// Yields `Ok(item)` in the order the server sent them (`Err` for an item that does not
/// deserialize as `T`; the stream goes on), then ends (`None`) when the server ends the
/// subscription, the connection closes, or after [`Subscription::unsubscribe`];
/// [`Subscription::end_reason`] tells which. Dropping it unsubscribes. It holds its
/// connection open as a [`Client`] handle does.
pub struct Subscription<T> {
    client: Client,
    /// The id as the server sent it (raw JSON).
    id: Box<str>,
    /// The id as text (a JSON string's content).
    name: String,
    unsubscribe: Box<str>,
    end: Option<EndReason>,
    _item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.name)
            .field("end", &self.end)
            .finish()
    }
}

impl<T> Subscription<T> {
    /// The subscription id the server gave.
    pub fn id(&self) -> &str {
        &self.name
    }

    /// Why the stream ended; `None` while it is open.
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.end.as_ref()
    }

    /// Chooses what a full buffer means for this subscription from now on (default: the
    /// client's `ClientConfig::subscription_lag`). Switching a subscription whose buffer is
    /// full to [`LagPolicy::End`] ends it at once (after its buffered items) and unsubscribes.
    ///
    /// ```
    /// # use jsonrpc_proto::peer::{Client, LagPolicy, Subscription};
    /// # async fn demo(client: Client) -> Result<(), jsonrpc_proto::peer::ClientError> {
    /// // A ticker read now and then: better to lose it than to stall the connection.
    /// let ticker: Subscription<u64> = client
    ///     .subscribe("ticks_subscribe", (), "ticks_unsubscribe")
    ///     .await?
    ///     .with_lag_policy(LagPolicy::End);
    /// # drop(ticker);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_lag_policy(self, policy: LagPolicy) -> Self {
        if self.end.is_some() {
            return self;
        }
        let shared = self.client.shared();
        let (owed, unpaused) = {
            let mut inner = shared.lock();
            let (owed, unpaused) = inner.subs.client.set_lag(&self.id, policy);
            if let Some(unsubscribe) = owed {
                if let Ok(params) = RawValue::from_string(format!("[{}]", self.id)) {
                    if !inner.finished {
                        let _ = inner.conn.notify(&unsubscribe, Some(&params));
                    }
                }
                (true, unpaused)
            } else {
                (false, unpaused)
            }
        };
        if owed || unpaused {
            shared.wake();
        }
        self
    }

    /// Items received and not yet read.
    pub fn queue_len(&self) -> usize {
        self.client.shared().lock().subs.client.buffered(&self.id)
    }

    /// Unsubscribes and waits for the server's answer: true when the server still had the
    /// subscription. Items in flight are discarded.
    pub async fn unsubscribe(mut self) -> Result<bool, ClientError> {
        let shared = self.client.shared();
        let (open, unpaused) = shared.lock().subs.client.remove(&self.id);
        if unpaused {
            shared.wake();
        }
        self.end = Some(EndReason::Unsubscribed);
        if !open {
            return Ok(false);
        }
        let params = RawValue::from_string(format!("[{}]", self.id))
            .map_err(|e| ClientError::Params(e.to_string()))?;
        let answer: bool = serde_json::from_str(
            self.client
                .request_raw(&self.unsubscribe, Some(&params))
                .await?
                .get(),
        )
        .map_err(ClientError::Deserialize)?;
        Ok(answer)
    }
}

impl<T: DeserializeOwned> Stream for Subscription<T> {
    type Item = Result<T, SubscriptionError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.end.is_some() {
            return Poll::Ready(None);
        }
        let shared = this.client.shared();
        let mut unpaused = false;
        let polled = shared
            .lock()
            .subs
            .client
            .poll_item(&this.id, cx, &mut unpaused);
        if unpaused {
            shared.wake();
        }
        match polled {
            Poll::Ready(Ok(raw)) => Poll::Ready(Some(
                serde_json::from_str(raw.get()).map_err(SubscriptionError::Deserialize),
            )),
            Poll::Ready(Err(reason)) => {
                let (_, unpaused) = shared.lock().subs.client.remove(&this.id);
                if unpaused {
                    shared.wake();
                }
                this.end = Some(reason);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if self.end.is_none() {
            close_remote(self.client.shared(), &self.id, &self.unsubscribe);
        }
    }
}

/// Runs `f` on the connection's subscriptions, then wakes what it collected (after unlocking).
pub(crate) fn with_subs<T>(
    shared: &PeerShared,
    f: impl FnOnce(&mut Subs, &mut Vec<Waker>) -> T,
) -> T {
    let mut wake = Vec::new();
    let out = {
        let mut inner = shared.lock();
        f(&mut inner.subs, &mut wake)
    };
    for w in wake {
        w.wake();
    }
    out
}
