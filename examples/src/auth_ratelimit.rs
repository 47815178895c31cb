//! auth_ratelimit: authentication, rate limiting and metrics in hooks (the RpcNode
//! `before_request` / `after_request` scenario), over HTTP.
//!
//! - `before_request` reads `Authorization: Bearer TOKEN` from the HTTP headers; a missing or
//!   unknown token is answered -32010 "Unauthorized". Each client (its token; its IP address
//!   when the server takes no tokens) may make `limit` calls per `window`; beyond, -32002
//!   "Rate limit exceeded".
//! - `after_request` counts calls and errors, per method too; the `metrics` method returns them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jsonrpc_proto::service::{CallInfo, Context, Hooks, Router, RouterError};
use jsonrpc_proto::{ErrorObject, RawValue};
use serde::{Deserialize, Serialize};
use serde_json::json;
use transport_tokio::{RunningServer, Server};

/// The code answering a call without a valid bearer token.
pub const UNAUTHORIZED: i64 = -32010;

/// Who may call, and how often.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The accepted bearer tokens; empty: no authentication, clients are told apart by IP.
    pub tokens: HashSet<String>,
    /// Calls allowed per client per window.
    pub limit: u32,
    /// The length of a rate-limit window.
    pub window: Duration,
}

/// Counts of answered calls, as the `metrics` method returns them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// Every answered request (rejected ones included).
    pub calls: u64,
    /// Requests answered with an error.
    pub errors: u64,
    /// Per method: `[calls, errors]`.
    pub by_method: BTreeMap<String, [u64; 2]>,
}

/// The hooks: authentication, a fixed-window rate limit per client, and metrics.
#[derive(Debug)]
pub struct Guard {
    policy: Policy,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    metrics: Mutex<Metrics>,
}

impl Guard {
    /// Hooks enforcing `policy`.
    pub fn new(policy: Policy) -> Arc<Guard> {
        Arc::new(Guard {
            policy,
            windows: Mutex::default(),
            metrics: Mutex::default(),
        })
    }

    /// A copy of the counts so far.
    pub fn metrics(&self) -> Metrics {
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn check(&self, call: &CallInfo<'_>) -> Result<(), ErrorObject> {
        let transport = &call.client.transport;
        let key = if self.policy.tokens.is_empty() {
            // Open server: the client is its IP address.
            match transport.peer_addr {
                Some(addr) => format!("ip:{}", addr.ip()),
                None => "ip:unknown".to_owned(),
            }
        } else {
            let token = transport
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            match token {
                Some(t) if self.policy.tokens.contains(t) => format!("token:{t}"),
                Some(_) => return Err(unauthorized("unknown bearer token")),
                None => return Err(unauthorized("missing Authorization: Bearer header")),
            }
        };
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (start, used) = windows.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= self.policy.window {
            (*start, *used) = (now, 0);
        }
        if *used >= self.policy.limit {
            let retry_in = self
                .policy
                .window
                .saturating_sub(now.duration_since(*start));
            return Err(ErrorObject::rate_limited().with_data(json!({
                "limit": self.policy.limit,
                "window_ms": self.policy.window.as_millis() as u64,
                "retry_after_ms": retry_in.as_millis() as u64,
            })));
        }
        *used += 1;
        Ok(())
    }
}

fn unauthorized(reason: &str) -> ErrorObject {
    ErrorObject::new(UNAUTHORIZED, "Unauthorized").with_data(json!({ "reason": reason }))
}

impl Hooks for Guard {
    fn before_request<'a>(
        &'a self,
        call: &'a CallInfo<'a>,
    ) -> BoxFuture<'a, Result<(), ErrorObject>> {
        Box::pin(std::future::ready(self.check(call)))
    }

    fn after_request(
        &self,
        call: &CallInfo<'_>,
        outcome: Result<&RawValue, &ErrorObject>,
        _elapsed: Duration,
    ) {
        let failed = u64::from(outcome.is_err());
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        m.calls += 1;
        m.errors += failed;
        let per = m.by_method.entry(call.method.to_owned()).or_default();
        per[0] += 1;
        per[1] += failed;
    }
}

/// The router: `echo`, `whoami` and `metrics`, guarded by `guard`.
pub fn router(guard: Arc<Guard>) -> Result<Router, RouterError> {
    let metrics_of = Arc::clone(&guard);
    Router::builder()
        .hooks_arc(guard)
        .method("echo", |_ctx: Context, (text,): (String,)| async move {
            Ok::<_, ErrorObject>(text)
        })
        .method("whoami", |ctx: Context, (): ()| async move {
            let peer = ctx.transport().peer_addr.map(|a| a.ip().to_string());
            Ok::<_, ErrorObject>(
                json!({ "transport": ctx.transport().kind.to_string(), "ip": peer }),
            )
        })
        .method("metrics", move |_ctx: Context, (): ()| {
            let snapshot = metrics_of.metrics();
            async move { Ok::<_, ErrorObject>(snapshot) }
        })
        .build()
}

/// Serves the guarded router over HTTP on `addr`.
pub async fn start(
    addr: &str,
    policy: Policy,
) -> Result<(RunningServer, Arc<Guard>), Box<dyn std::error::Error>> {
    let guard = Guard::new(policy);
    let server = Server::builder(router(Arc::clone(&guard))?)
        .http(addr)
        .node_name("auth_ratelimit")
        .start()
        .await?;
    Ok((server, guard))
}
