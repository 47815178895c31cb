//! A client that reconnects (for the adapters' TCP, Unix and WebSocket clients): a background
//! task keeps one connection open, opening a new one with exponential backoff and jitter after
//! it drops. Nothing that may have run is sent again: a call in flight when the connection
//! drops fails with [`ReconnectError::MayHaveRun`]; calls made while disconnected wait for the
//! next connection (or fail with [`ReconnectError::Unavailable`] once the attempts run out).
//!
//! The adapters build one from a function that opens a connection (`reconnect_tcp`,
//! `reconnect_unix`, `reconnect_ws`); subscriptions are not re-established (a caller that
//! needs them waits on [`Reconnecting::connected`] and subscribes again).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::adapter::http::ConnectError;
use crate::peer::{Client, ClientError, Runtime};

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
    /// The call failed on a live connection (an error answer, a timeout, bad params).
    #[error(transparent)]
    Call(ClientError),
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
