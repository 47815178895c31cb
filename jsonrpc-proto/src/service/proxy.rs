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
use std::time::Duration;

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
}

crate::protocol::config_setters!(ProxyConfig {
    with_timeout => timeout: Option<Duration>,
    with_retries => retries: u32,
    with_backoff => backoff: Duration,
    with_max_backoff => max_backoff: Duration,
});

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            timeout: Some(Duration::from_secs(30)),
            retries: 3,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
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
}

/// Forwards calls to an upstream JSON-RPC server; see the [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct Proxy {
    upstream: Arc<Upstream>,
    config: ProxyConfig,
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
        }
    }

    /// Sets the timeout and retry policy.
    pub fn with_config(mut self, config: ProxyConfig) -> Proxy {
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
        let mut delay = self.config.backoff;
        let mut tries = 0u32;
        loop {
            let reason = match attempt().await {
                Ok(v) => return Ok(v),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Retry(reason)) => reason,
            };
            let fixed = matches!(&*self.upstream, Upstream::Fixed(_));
            if fixed || tries >= self.config.retries {
                tracing::debug!(method, %reason, tries, "upstream unavailable; giving up");
                return Err(unavailable(&reason));
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
