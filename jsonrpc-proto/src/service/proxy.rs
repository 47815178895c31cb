//! Forwarding calls to another JSON-RPC server: a gateway or proxy node.
//!
//! A [`Proxy`] holds the way to an upstream server (a [`Client`] over any transport, or a
//! function that connects one) and the forwarding policy: a per-call timeout and retries with
//! exponential backoff. Routes added with [`RouterBuilder::forward`],
//! [`RouterBuilder::forward_as`], [`RouterBuilder::forward_prefix`] and
//! [`RouterBuilder::forward_prefix_stripped`] send matching calls upstream:
//!
//! - requests are forwarded as requests; the upstream result comes back unchanged, and an error
//!   object from upstream comes back with its code, message and data unchanged;
//! - notifications are forwarded as notifications;
//! - a call is retried (after a fresh connection, waiting `backoff`, doubling each time) only when
//!   it cannot have been executed upstream: connecting failed, or the connection was already
//!   closed so the call was never sent. A call that was sent is never retried: a timeout answers
//!   -32001, a connection lost while waiting answers -32000.
//!
//! ```
//! use jsonrpc_proto::peer::Client;
//! use jsonrpc_proto::service::{Context, Proxy, Router};
//! use jsonrpc_proto::ErrorObject;
//!
//! fn gateway(upstream: Client) -> Router {
//!     let proxy = Proxy::new(upstream);
//!     Router::builder()
//!         .method("ping", |_ctx: Context, (): ()| async { Ok::<_, ErrorObject>("pong") })
//!         // `calc.add` is called upstream as `add`.
//!         .forward_prefix_stripped("calc.", &proxy)
//!         .forward("version", &proxy)
//!         .build()
//!         .expect("valid routes")
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::lock::Mutex;
use serde_json::value::RawValue;

use crate::peer::{Client, ClientError};
use crate::protocol::error::{ErrorCode, ErrorObject};

use super::router::RawCall;
use super::{Context, RouterBuilder};

/// How a [`Proxy`] forwards: per-call timeout and retries.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Deadline of each forwarded request (default 30 s); `None`: the upstream client's own
    /// default. A request that times out is answered -32001 and never retried.
    pub timeout: Option<Duration>,
    /// How many times a call that could not be sent is tried again (default 3).
    pub retries: u32,
    /// The wait before the first retry; each next wait doubles (default 100 ms).
    pub backoff: Duration,
    /// The longest wait between two attempts (default 5 s).
    pub max_backoff: Duration,
    /// A circuit breaker: after this many failures in a row, calls fail fast for a cool-down,
    /// then one probe is let through (default `None`: no breaker).
    pub breaker: Option<BreakerConfig>,
}

crate::protocol::config_setters!(ProxyConfig {
    with_timeout => timeout: Option<Duration>,
    with_retries => retries: u32,
    with_backoff => backoff: Duration,
    with_max_backoff => max_backoff: Duration,
    with_breaker => breaker: Option<BreakerConfig>,
});

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            timeout: Some(Duration::from_secs(30)),
            retries: 3,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            breaker: None,
        }
    }
}

/// When a [`Proxy`] stops calling an upstream that keeps failing: after `failures` calls in a
/// row fail (upstream unreachable, connection lost, timed out; an error answered by upstream
/// is a success: it is alive), calls are answered -32000 at once for `cool_down`; then one
/// call is let through as a probe: its success closes the breaker, its failure opens it again.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Failures in a row that open the breaker (default 5).
    pub failures: u32,
    /// How long an open breaker fails calls fast before probing (default 10 s).
    pub cool_down: Duration,
}

crate::protocol::config_setters!(BreakerConfig {
    with_failures => failures: u32,
    with_cool_down => cool_down: Duration,
});

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: 5,
            cool_down: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BreakerState {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A probe is out since `since` (a probe dropped before it ended is given up after a
    /// cool-down, so the breaker cannot stay half-open for ever).
    HalfOpen {
        since: Instant,
    },
}

/// The breaker's state machine; time is passed in.
#[derive(Debug)]
struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
}

impl Breaker {
    fn new(config: BreakerConfig) -> Self {
        Breaker {
            config,
            state: BreakerState::Closed { failures: 0 },
        }
    }

    /// `Err(wait)`: fail fast, the next probe is due in `wait`.
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until } if now < until => Err(until - now),
            BreakerState::HalfOpen { since } if now < since + self.config.cool_down => {
                Err(since + self.config.cool_down - now)
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => {
                self.state = BreakerState::HalfOpen { since: now };
                Ok(())
            }
        }
    }

    fn record(&mut self, ok: bool, now: Instant) {
        let open = BreakerState::Open {
            until: now + self.config.cool_down,
        };
        self.state = match (self.state, ok) {
            (_, true) => BreakerState::Closed { failures: 0 },
            (BreakerState::Closed { failures }, false) => {
                let failures = failures.saturating_add(1);
                if failures >= self.config.failures.max(1) {
                    tracing::warn!(failures, "upstream failing: circuit breaker open");
                    open
                } else {
                    BreakerState::Closed { failures }
                }
            }
            (BreakerState::HalfOpen { .. }, false) => open,
            (state @ BreakerState::Open { .. }, false) => state,
        };
    }
}

type Connect = Arc<dyn Fn() -> BoxFuture<'static, Result<Client, String>> + Send + Sync>;

enum Upstream {
    /// One connection; once it is closed, forwarded calls fail.
    Fixed(Client),
    /// Connects on first use and again whenever the current connection has closed.
    Connect {
        connect: Connect,
        current: Mutex<Option<Client>>,
    },
}

/// Why an attempt failed.
enum Failure {
    /// Not executed upstream: may be tried again (on a fresh connection).
    Retry(String),
    /// Final: the error object answers the call.
    Final(ErrorObject),
    /// Final, and the upstream looks down (connection lost, timed out): counts for the breaker.
    Down(ErrorObject),
}

/// Forwards calls to an upstream JSON-RPC server; see the [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct Proxy {
    upstream: Arc<Upstream>,
    config: ProxyConfig,
    breaker: Arc<std::sync::Mutex<Option<Breaker>>>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &*self.upstream {
            Upstream::Fixed(_) => "client",
            Upstream::Connect { .. } => "connector",
        };
        f.debug_struct("Proxy")
            .field("upstream", &kind)
            .field("config", &self.config)
            .finish()
    }
}

impl Proxy {
    /// Forwards over one existing connection (any transport). Nothing is retried once it has
    /// closed: use [`Proxy::connect`] to reconnect.
    pub fn new(client: Client) -> Proxy {
        Proxy {
            upstream: Arc::new(Upstream::Fixed(client)),
            config: ProxyConfig::default(),
            breaker: Arc::default(),
        }
    }

    /// Forwards over connections made by `connect`: called on first use and whenever the
    /// current connection has closed. A connect error (e.g. connection refused) is retried
    /// with backoff.
    pub fn connect<F, Fut, E>(connect: F) -> Proxy
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Client, E>> + Send + 'static,
        E: fmt::Display,
    {
        let connect: Connect = Arc::new(move || {
            let fut = connect();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        });
        Proxy {
            upstream: Arc::new(Upstream::Connect {
                connect,
                current: Mutex::new(None),
            }),
            config: ProxyConfig::default(),
            breaker: Arc::default(),
        }
    }

    /// Sets the timeout and retry policy.
    pub fn with_config(mut self, config: ProxyConfig) -> Proxy {
        self.breaker = Arc::new(std::sync::Mutex::new(
            config.breaker.clone().map(Breaker::new),
        ));
        self.config = config;
        self
    }

    /// The timeout and retry policy.
    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// Calls `method` upstream with `params` and gives its raw result, retrying as described
    /// in the [module docs](self). `ctx` provides the runtime's clock for the backoff.
    pub async fn request(
        &self,
        ctx: &Context,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, ErrorObject> {
        self.with_retries(ctx, method, || self.try_request(method, params))
            .await
    }

    /// Sends the notification `method` upstream, retrying while it cannot be sent.
    pub async fn notify(
        &self,
        ctx: &Context,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<(), ErrorObject> {
        self.with_retries(ctx, method, || self.try_notify(method, params))
            .await
    }

    async fn with_retries<T, Fut>(
        &self,
        ctx: &Context,
        method: &str,
        attempt: impl Fn() -> Fut,
    ) -> Result<T, ErrorObject>
    where
        Fut: Future<Output = Result<T, Failure>>,
    {
        let rt = &ctx.inner.rt;
        if let Err(wait) = self.with_breaker(|b| b.admit(rt.now())).unwrap_or(Ok(())) {
            return Err(ErrorObject::new(
                ErrorCode::SERVER_ERROR,
                format!(
                    "Upstream unavailable: circuit breaker open after repeated failures; next probe in {} ms",
                    wait.as_millis()
                ),
            ));
        }
        let outcome = self.attempts(ctx, method, attempt).await;
        let ok = !matches!(outcome, Err((_, true)));
        self.with_breaker(|b| b.record(ok, rt.now()));
        outcome.map_err(|(e, _)| e)
    }

    fn with_breaker<R>(&self, f: impl FnOnce(&mut Breaker) -> R) -> Option<R> {
        let mut guard = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_mut().map(f)
    }

    /// The attempts of one call; the error says whether the upstream looked down.
    async fn attempts<T, Fut>(
        &self,
        ctx: &Context,
        method: &str,
        attempt: impl Fn() -> Fut,
    ) -> Result<T, (ErrorObject, bool)>
    where
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut delay = self.config.backoff;
        let mut tries = 0u32;
        loop {
            let reason = match attempt().await {
                Ok(v) => return Ok(v),
                Err(Failure::Final(e)) => return Err((e, false)),
                Err(Failure::Down(e)) => return Err((e, true)),
                Err(Failure::Retry(reason)) => reason,
            };
            let fixed = matches!(&*self.upstream, Upstream::Fixed(_));
            if fixed || tries >= self.config.retries {
                tracing::debug!(method, %reason, tries, "upstream unavailable; giving up");
                return Err((unavailable(&reason), true));
            }
            tries += 1;
            tracing::debug!(method, %reason, attempt = tries, ?delay, "upstream unavailable; retrying");
            let rt = &ctx.inner.rt;
            rt.sleep_until(rt.now() + delay).await;
            delay = (delay * 2).min(self.config.max_backoff);
        }
    }

    /// The current upstream connection, connecting when there is none or it has closed.
    async fn client(&self) -> Result<Client, Failure> {
        match &*self.upstream {
            Upstream::Fixed(client) if client.is_closed() => {
                Err(Failure::Retry("the upstream connection is closed".into()))
            }
            Upstream::Fixed(client) => Ok(client.clone()),
            Upstream::Connect { connect, current } => {
                // Held while connecting: concurrent calls wait for one connection attempt.
                let mut current = current.lock().await;
                if let Some(client) = current.as_ref().filter(|c| !c.is_closed()) {
                    return Ok(client.clone());
                }
                *current = None;
                let client = connect().await.map_err(Failure::Retry)?;
                *current = Some(client.clone());
                Ok(client)
            }
        }
    }

    async fn try_request(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, Failure> {
        let client = self.client().await?;
        let call = match self.config.timeout {
            Some(t) => client.request_with_timeout::<Box<RawValue>, _>(method, params, t),
            None => client.request_raw(method, params),
        };
        // No id: the call was refused before it was sent, so it cannot have run upstream.
        let sent = call.id().is_some();
        match call.await {
            Ok(result) => Ok(result),
            Err(e) if !sent => match e {
                ClientError::Closed | ClientError::Transport(_) => {
                    Err(Failure::Retry(format!("call not sent: {e}")))
                }
                other => Err(Failure::Final(local_error(other))),
            },
            Err(e @ (ClientError::Timeout | ClientError::Closed | ClientError::Transport(_))) => {
                Err(Failure::Down(local_error(e)))
            }
            Err(e) => Err(Failure::Final(local_error(e))),
        }
    }

    async fn try_notify(&self, method: &str, params: Option<&RawValue>) -> Result<(), Failure> {
        let client = self.client().await?;
        match client.notify_raw(method, params) {
            Ok(()) => Ok(()),
            Err(e @ ClientError::Closed) => {
                Err(Failure::Retry(format!("notification not sent: {e}")))
            }
            Err(e) => Err(Failure::Final(local_error(e))),
        }
    }

    /// Forwards one whole call under the upstream name `remote`.
    async fn forward_call(&self, ctx: Context, call: RawCall, remote: &str) -> ForwardResult {
        if call.is_notification() {
            if let Err(e) = self.notify(&ctx, remote, call.params.as_deref()).await {
                tracing::warn!(method = %call.method, error = %e, "notification not forwarded");
            }
            return Ok(None);
        }
        self.request(&ctx, remote, call.params.as_deref())
            .await
            .map(|raw| Some(Forwarded(raw)))
    }
}

/// `None` for a notification (its outcome goes nowhere).
type ForwardResult = Result<Option<Forwarded>, ErrorObject>;

/// An upstream result, serialized as the raw JSON it is.
struct Forwarded(Box<RawValue>);

impl serde::Serialize for Forwarded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// -32000: the upstream server could not be reached.
fn unavailable(reason: &str) -> ErrorObject {
    ErrorObject::new(
        ErrorCode::SERVER_ERROR,
        format!("Upstream unavailable: {reason}"),
    )
}

/// The error object answering a forwarded call that failed for `e`.
fn local_error(e: ClientError) -> ErrorObject {
    match e {
        // The upstream answer, exactly as it came.
        ClientError::Rpc(e) => e,
        ClientError::Timeout => ErrorObject::request_timeout(),
        ClientError::TooManyPending { .. } => ErrorObject::server_busy(),
        ClientError::Closed | ClientError::Transport(_) => ErrorObject::new(
            ErrorCode::SERVER_ERROR,
            format!("Upstream connection lost: {e}"),
        ),
        ClientError::Params(_) | ClientError::Deserialize(_) => {
            tracing::error!(error = %e, "forwarded call failed locally");
            ErrorObject::internal_error()
        }
    }
}

impl RouterBuilder {
    /// Forwards calls to `name` (requests and notifications) to `proxy`'s upstream under the
    /// same name.
    pub fn forward(self, name: &str, proxy: &Proxy) -> Self {
        self.forward_as(name, name, proxy)
    }

    /// Forwards calls to `name` to `proxy`'s upstream as calls to `remote`.
    pub fn forward_as(self, name: &str, remote: &str, proxy: &Proxy) -> Self {
        let (proxy, remote) = (proxy.clone(), Arc::<str>::from(remote));
        self.call_raw(name, move |ctx, call| {
            let (proxy, remote) = (proxy.clone(), Arc::clone(&remote));
            async move { proxy.forward_call(ctx, call, &remote).await }
        })
    }

    /// Forwards every method starting with `prefix` (and not registered by exact name) to
    /// `proxy`'s upstream under the same name.
    pub fn forward_prefix(self, prefix: &str, proxy: &Proxy) -> Self {
        let proxy = proxy.clone();
        self.prefix_raw(prefix, move |ctx, call| {
            let proxy = proxy.clone();
            async move {
                let remote = call.method.clone();
                proxy.forward_call(ctx, call, &remote).await
            }
        })
    }

    /// Forwards every method starting with `prefix` to `proxy`'s upstream with the prefix
    /// removed (`calc.add` is called upstream as `add`).
    pub fn forward_prefix_stripped(self, prefix: &str, proxy: &Proxy) -> Self {
        let proxy = proxy.clone();
        let len = prefix.len();
        self.prefix_raw(prefix, move |ctx, call| {
            let proxy = proxy.clone();
            async move {
                let remote = call.method.get(len..).unwrap_or_default().to_owned();
                if remote.is_empty() {
                    return Err(ErrorObject::method_not_found());
                }
                proxy.forward_call(ctx, call, &remote).await
            }
        })
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod breaker_tests {
    use super::*;

    #[test]
    fn opens_after_n_failures_fails_fast_then_probes_and_closes() {
        let t0 = Instant::now();
        let config = BreakerConfig::default()
            .with_failures(3)
            .with_cool_down(Duration::from_secs(10));
        let mut b = Breaker::new(config);
        for _ in 0..2 {
            assert!(b.admit(t0).is_ok());
            b.record(false, t0);
        }
        assert!(b.admit(t0).is_ok(), "still closed after 2 of 3");
        b.record(false, t0);
        let wait = b.admit(t0 + Duration::from_secs(4)).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_secs(6),
            "open: fail fast until the cool-down ends"
        );
        // After the cool-down one probe goes through; others still fail fast.
        let later = t0 + Duration::from_secs(10);
        assert!(b.admit(later).is_ok());
        assert!(b.admit(later).is_err(), "one probe at a time");
        b.record(false, later);
        assert!(b.admit(later).is_err(), "a failed probe opens it again");
        let much_later = later + Duration::from_secs(10);
        assert!(b.admit(much_later).is_ok());
        b.record(true, much_later);
        assert_eq!(b.state, BreakerState::Closed { failures: 0 });
        assert!(b.admit(much_later).is_ok());
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerConfig::default().with_failures(2));
        b.record(false, t0);
        b.record(true, t0);
        b.record(false, t0);
        assert!(b.admit(t0).is_ok());
    }
}
