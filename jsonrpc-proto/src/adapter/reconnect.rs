//! A client that reconnects (for the adapters' TCP, Unix and WebSocket clients): a background
//! task keeps one connection open, opening a new one with exponential backoff and jitter after
//! it drops. Nothing that may have run is sent again: a call in flight when the connection
//! drops fails with [`ReconnectError::MayHaveRun`]; calls made while disconnected wait for the
//! next connection (or fail with [`ReconnectError::Unavailable`] once the attempts run out).
//!
//! The adapters build one from a function that opens a connection (`reconnect_tcp`,
//! `reconnect_unix`, `reconnect_ws`).
//!
//! Subscriptions: [`Reconnecting::subscribe`] gives a [`Resubscribing`] stream that survives
//! reconnects: after each one it calls the subscribe method again (same params) on the new
//! connection and goes on yielding its items. Items the server pushed while the client was
//! disconnected (or before the new subscription opened) are lost: the stream says where, with
//! a [`SubscriptionEvent::Resubscribed`] before the first item of each new subscription (and
//! [`Resubscribing::resubscribes`] counts them), so a caller that must not miss anything
//! fetches the state it missed when it sees one. A subscribe the server rejects after a
//! reconnect, or an end of the subscription by the server, ends the stream (with the
//! server's error, if it gave one).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::adapter::http::ConnectError;
use crate::peer::{Client, ClientError, EndReason, Runtime, Subscription, SubscriptionError};

/// How a [`Reconnecting`] client retries.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReconnectConfig {
    /// The wait before the first retry (default 100 ms); it doubles after each failure.
    pub initial_backoff: Duration,
    /// The longest wait between attempts (default 30 s).
    pub max_backoff: Duration,
    /// Attempts in a row after which waiting calls fail with [`ReconnectError::Unavailable`]
    /// (default `None`: keep trying; the background task always keeps trying).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl ReconnectConfig {
    /// The wait before retry number `attempt` (0-based): `initial * 2^attempt`, capped at
    /// `max_backoff`, then jittered to between half and all of it (so that many clients cut
    /// off together do not come back together).
    pub fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_backoff);
        let half = base / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_nanos(random % nanos)
    }
}

/// Why a call on a [`Reconnecting`] client failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconnectError {
    /// The connection dropped while the call was in flight. It may or may not have run on the
    /// server, so it was not sent again; retry it yourself if it is safe to.
    #[error("the connection was lost while `{method}` was in flight: it may or may not have run on the server, so it was not sent again")]
    MayHaveRun {
        /// The method called.
        method: String,
    },
    /// No connection could be opened within `max_attempts`.
    #[error("no connection: {0}")]
    Unavailable(String),
    /// The call failed on a live connection (an error answer, a timeout, bad params); for
    /// a [`Resubscribing`] stream, also the server's rejection of a subscribe, or the error
    /// it ended the subscription with.
    #[error(transparent)]
    Call(ClientError),
    /// A subscription item did not deserialize as the stream's item type (the stream goes on).
    #[error(transparent)]
    Item(SubscriptionError),
}

/// Opens one connection.
pub type ConnectFn =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Client, ConnectError>> + Send + Sync>;

struct State {
    client: Option<Client>,
    waiting: Vec<oneshot::Sender<Result<Client, String>>>,
    /// Failed attempts in a row.
    failures: u32,
    last_error: Option<String>,
}

struct Inner {
    state: Mutex<State>,
    config: ReconnectConfig,
}

/// A client that keeps a connection open (see the module docs). Clone it freely; the
/// background task stops when the last clone is dropped.
#[derive(Clone)]
pub struct Reconnecting {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconnecting")
            .field("connected", &self.current().is_some())
            .finish()
    }
}

fn random() -> u64 {
    RandomState::new().build_hasher().finish()
}

impl Reconnecting {
    /// Starts the background task on `rt`: it connects with `connect` at once, and again
    /// after each disconnection.
    pub fn new<R: Runtime>(connect: ConnectFn, config: ReconnectConfig, rt: R) -> Self {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                client: None,
                waiting: Vec::new(),
                failures: 0,
                last_error: None,
            }),
            config,
        });
        let weak = Arc::downgrade(&inner);
        rt.clone().spawn(Box::pin(supervise(weak, connect, rt)));
        Reconnecting { inner }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection open now, if there is one.
    pub fn current(&self) -> Option<Client> {
        self.lock().client.clone().filter(|c| !c.is_closed())
    }

    /// The open connection, waiting for the next one when there is none.
    pub async fn connected(&self) -> Result<Client, ReconnectError> {
        let rx = {
            let mut state = self.lock();
            if let Some(c) = state.client.clone().filter(|c| !c.is_closed()) {
                return Ok(c);
            }
            if let (Some(max), Some(e)) = (self.inner.config.max_attempts, &state.last_error) {
                if state.failures >= max {
                    return Err(ReconnectError::Unavailable(e.clone()));
                }
            }
            let (tx, rx) = oneshot::channel();
            state.waiting.push(tx);
            rx
        };
        match rx.await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(ReconnectError::Unavailable(e)),
            Err(_) => Err(ReconnectError::Unavailable("the client was dropped".into())),
        }
    }

    /// Calls `method` on the open connection (waiting for one if needed). A call cut off by a
    /// disconnection is [`ReconnectError::MayHaveRun`] and is not sent again.
    pub async fn request<R: DeserializeOwned, P: Serialize>(
        &self,
        method: &str,
        params: P,
    ) -> Result<R, ReconnectError> {
        let client = self.connected().await?;
        match client.request(method, params).await {
            Ok(r) => Ok(r),
            Err(ClientError::Closed | ClientError::Transport(_)) => {
                Err(ReconnectError::MayHaveRun {
                    method: method.to_owned(),
                })
            }
            Err(e) => Err(ReconnectError::Call(e)),
        }
    }

    /// Sends a notification on the open connection (waiting for one if needed).
    pub async fn notify<P: Serialize>(
        &self,
        method: &str,
        params: P,
    ) -> Result<(), ReconnectError> {
        let client = self.connected().await?;
        client
            .notify(method, params)
            .await
            .map_err(ReconnectError::Call)
    }
}

impl Reconnecting {
    /// Subscribes (as [`Client::subscribe`]) and keeps the subscription across reconnects:
    /// see [`Resubscribing`]. Fails when the first subscribe fails (the server's rejection is
    /// [`ReconnectError::Call`]); `params` are serialized once and sent again on each
    /// resubscribe. Dropping the stream unsubscribes.
    ///
    /// ```no_run
    /// # async fn f(client: jsonrpc_proto::adapter::reconnect::Reconnecting) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// use jsonrpc_proto::adapter::reconnect::SubscriptionEvent;
    /// let mut prices = client
    ///     .subscribe::<f64, _>("prices_subscribe", ["EURUSD"], "prices_unsubscribe")
    ///     .await?;
    /// while let Some(event) = prices.next().await {
    ///     match event? {
    ///         SubscriptionEvent::Item(price) => println!("{price}"),
    ///         // Reconnected: prices pushed meanwhile are lost; fetch the latest if needed.
    ///         SubscriptionEvent::Resubscribed { .. } => {}
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe<T, P>(
        &self,
        subscribe_method: &str,
        params: P,
        unsubscribe_method: &str,
    ) -> Result<Resubscribing<T>, ReconnectError>
    where
        T: DeserializeOwned + Send + 'static,
        P: Serialize,
    {
        let params = serde_json::to_value(&params)
            .map_err(|e| ReconnectError::Call(ClientError::Params(e.to_string())))?;
        let plan = Arc::new(Resubscribe {
            client: self.clone(),
            subscribe: subscribe_method.to_owned(),
            unsubscribe: unsubscribe_method.to_owned(),
            params,
        });
        let first = loop {
            match plan.open::<T>().await {
                Opened::Open(sub) => break sub,
                Opened::Lost => continue,
                Opened::Failed(e) => return Err(e),
            }
        };
        let resubscribes = Arc::new(AtomicU64::new(0));
        let state = Follow {
            plan,
            sub: Some(first),
            resubscribes: resubscribes.clone(),
        };
        Ok(Resubscribing {
            stream: futures::stream::unfold(Some(state), follow).boxed(),
            resubscribes,
        })
    }
}

/// What [`Reconnecting::subscribe`]'s stream yields (with `Err` for errors).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SubscriptionEvent<T> {
    /// An item the server sent.
    Item(T),
    /// The connection was lost and the subscription opened again on a new one (the
    /// `count`-th time): items the server pushed in between are lost. Comes before the new
    /// subscription's first item.
    Resubscribed {
        /// Resubscribes so far, this one included.
        count: u64,
    },
}

/// A subscription that survives reconnects (see [`Reconnecting::subscribe`] and the module
/// docs). Yields `Ok(SubscriptionEvent::Item(..))` in the server's order, an
/// `Ok(SubscriptionEvent::Resubscribed { .. })` where a reconnect may have lost items, and
/// `Err(ReconnectError::Item(..))` for an item that does not deserialize (the stream goes on).
/// It ends (`None`) when the server ends the subscription, after an `Err` when the server
/// gave an error or rejected a resubscribe, or when no connection can be opened within
/// `ReconnectConfig::max_attempts` (after an `Err(ReconnectError::Unavailable(..))`).
/// Dropping it unsubscribes on the open connection. It holds a clone of its [`Reconnecting`]
/// client, so the client keeps reconnecting while the stream lives.
pub struct Resubscribing<T> {
    stream: BoxStream<'static, Result<SubscriptionEvent<T>, ReconnectError>>,
    resubscribes: Arc<AtomicU64>,
}

impl<T> std::fmt::Debug for Resubscribing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resubscribing")
            .field("resubscribes", &self.resubscribes())
            .finish()
    }
}

impl<T> Resubscribing<T> {
    /// How many times the subscription was opened again after a reconnect (each a possible
    /// gap in the items).
    pub fn resubscribes(&self) -> u64 {
        self.resubscribes.load(Ordering::SeqCst)
    }
}

impl<T> Stream for Resubscribing<T> {
    type Item = Result<SubscriptionEvent<T>, ReconnectError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream.poll_next_unpin(cx)
    }
}

/// How to open the subscription again.
struct Resubscribe {
    client: Reconnecting,
    subscribe: String,
    unsubscribe: String,
    params: serde_json::Value,
}

enum Opened<T> {
    Open(Subscription<T>),
    /// The connection dropped before the answer: try on the next one.
    Lost,
    Failed(ReconnectError),
}

impl Resubscribe {
    async fn open<T: DeserializeOwned>(&self) -> Opened<T> {
        let client = match self.client.connected().await {
            Ok(c) => c,
            Err(e) => return Opened::Failed(e),
        };
        match client
            .subscribe::<T, _>(&self.subscribe, &self.params, &self.unsubscribe)
            .await
        {
            Ok(sub) => Opened::Open(sub),
            Err(ClientError::Closed | ClientError::Transport(_)) => Opened::Lost,
            Err(e) => Opened::Failed(ReconnectError::Call(e)),
        }
    }
}

struct Follow<T> {
    plan: Arc<Resubscribe>,
    sub: Option<Subscription<T>>,
    resubscribes: Arc<AtomicU64>,
}

type Step<T> = (
    Result<SubscriptionEvent<T>, ReconnectError>,
    Option<Follow<T>>,
);

/// One step of a [`Resubscribing`] stream: `None` in the state means the stream ends after
/// this item.
async fn follow<T: DeserializeOwned>(state: Option<Follow<T>>) -> Option<Step<T>> {
    let mut state = state?;
    loop {
        let Some(sub) = state.sub.as_mut() else {
            match state.plan.open::<T>().await {
                Opened::Open(sub) => {
                    state.sub = Some(sub);
                    let count = state.resubscribes.fetch_add(1, Ordering::SeqCst) + 1;
                    tracing::debug!(count, "reconnecting client: subscription re-established");
                    return Some((Ok(SubscriptionEvent::Resubscribed { count }), Some(state)));
                }
                Opened::Lost => continue,
                Opened::Failed(e) => return Some((Err(e), None)),
            }
        };
        match sub.next().await {
            Some(Ok(item)) => return Some((Ok(SubscriptionEvent::Item(item)), Some(state))),
            Some(Err(e)) => return Some((Err(ReconnectError::Item(e)), Some(state))),
            None => match sub.end_reason() {
                Some(EndReason::ConnectionClosed) => {
                    tracing::debug!("reconnecting client: subscription lost with its connection");
                    state.sub = None;
                }
                Some(EndReason::Server(Some(e))) => {
                    let e = ReconnectError::Call(ClientError::Rpc(e.clone()));
                    return Some((Err(e), None));
                }
                _ => return None,
            },
        }
    }
}

async fn supervise<R: Runtime>(weak: Weak<Inner>, connect: ConnectFn, rt: R) {
    let mut attempt = 0u32;
    loop {
        let Some(config) = weak.upgrade().map(|i| i.config.clone()) else {
            return;
        };
        match connect().await {
            Ok(client) => {
                attempt = 0;
                let closed = client.closed();
                {
                    let Some(inner) = weak.upgrade() else { return };
                    let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.failures = 0;
                    state.last_error = None;
                    for w in state.waiting.drain(..) {
                        let _ = w.send(Ok(client.clone()));
                    }
                    state.client = Some(client);
                }
                closed.await;
                tracing::debug!("reconnecting client: connection lost");
            }
            Err(e) => {
                {
                    let Some(inner) = weak.upgrade() else { return };
                    let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.failures = state.failures.saturating_add(1);
                    state.last_error = Some(e.to_string());
                    if config.max_attempts.is_some_and(|max| state.failures >= max) {
                        for w in state.waiting.drain(..) {
                            let _ = w.send(Err(e.to_string()));
                        }
                    }
                }
                let wait = config.backoff(attempt, random());
                attempt = attempt.saturating_add(1);
                tracing::debug!(?wait, "reconnecting client: connect failed: {e}");
                rt.sleep_until(rt.now() + wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let c = ReconnectConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_attempts: None,
        };
        for r in [0, 1, 12345, u64::MAX] {
            let d0 = c.backoff(0, r);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = c.backoff(3, r);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d30 = c.backoff(30, r);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
    }
}
