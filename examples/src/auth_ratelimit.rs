//! auth_ratelimit: authentication, rate limiting and call counts as middleware (the RpcNode
//! `before_request` / `after_request` scenario), over HTTP.
//!
//! The chain, outermost first: [`Counter`] (counts every answered call) -> [`Auth`] (reads
//! `Authorization: Bearer TOKEN`; a missing or unknown token is answered -32010
//! "Unauthorized"; otherwise it sets the request-scoped [`Principal`] the handlers read) ->
//! jsonrpc-proto's `RateLimit` keyed by that principal (`limit` calls per `window`; beyond,
//! -32002 "Rate limit exceeded") -> the handler. Without tokens the principal is the
//! client's IP address.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use jsonrpc_proto::peer::CallResult;
use jsonrpc_proto::service::middleware::{Middleware, Next, RateLimit, RpcRequest};
use jsonrpc_proto::service::{Context, Router, RouterError};
use jsonrpc_proto::ErrorObject;
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

/// Who is calling: `token:T` or `ip:ADDR`. Set by [`Auth`] for each call; read by handlers
/// with `ctx.extension::<Principal>()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal(pub String);

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

/// The authentication middleware: rejects or sets the [`Principal`].
#[derive(Debug)]
pub struct Auth {
    tokens: HashSet<String>,
}

impl Auth {
    fn principal(&self, ctx: &Context) -> Result<Principal, ErrorObject> {
        let transport = ctx.transport();
        if self.tokens.is_empty() {
            // Open server: the client is its IP address.
            return Ok(Principal(match transport.peer_addr {
                Some(addr) => format!("ip:{}", addr.ip()),
                None => "ip:unknown".to_owned(),
            }));
        }
        let token = transport
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match token {
            Some(t) if self.tokens.contains(t) => Ok(Principal(format!("token:{t}"))),
            Some(_) => Err(unauthorized("unknown bearer token")),
            None => Err(unauthorized("missing Authorization: Bearer header")),
        }
    }
}

impl Middleware for Auth {
    fn call(&self, mut req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        match self.principal(&req.ctx) {
            Ok(p) => {
                req.ctx.insert_extension(p);
                next.run(req)
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

fn unauthorized(reason: &str) -> ErrorObject {
    ErrorObject::new(UNAUTHORIZED, "Unauthorized").with_data(json!({ "reason": reason }))
}

/// The outermost middleware: counts every answered request, per method too.
#[derive(Debug, Default)]
pub struct Counter {
    metrics: Mutex<Metrics>,
}

impl Counter {
    /// A copy of the counts so far.
    pub fn metrics(&self) -> Metrics {
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn record(&self, method: &str, failed: bool) {
        let failed = u64::from(failed);
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        m.calls += 1;
        m.errors += failed;
        let per = m.by_method.entry(method.to_owned()).or_default();
        per[0] += 1;
        per[1] += failed;
    }
}

/// What the server shares with the test: the counts.
pub type Guard = Counter;

/// [`Counter`] as a middleware (it stays shared with whoever reads the counts).
struct Counting(Arc<Counter>);

impl Middleware for Counting {
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        if req.is_notification() {
            return next.run(req);
        }
        let (this, method) = (Arc::clone(&self.0), req.method.to_string());
        let call = next.run(req);
        Box::pin(async move {
            let result = call.await;
            this.record(&method, result.is_err());
            result
        })
    }
}

/// The router: `echo`, `whoami` and `metrics`, behind counting, auth and the rate limit.
pub fn router(policy: Policy, counter: Arc<Counter>) -> Result<Router, RouterError> {
    let metrics_of = Arc::clone(&counter);
    let limit = RateLimit::new(policy.limit, policy.window).key_by(|req: &RpcRequest| {
        req.ctx
            .extension::<Principal>()
            .map_or_else(|| "anonymous".to_owned(), |p| p.0.clone())
    });
    Router::builder()
        .middleware(Counting(counter))
        .middleware(Auth {
            tokens: policy.tokens,
        })
        .middleware(limit)
        .method("echo", |_ctx: Context, (text,): (String,)| async move {
            Ok::<_, ErrorObject>(text)
        })
        .method("whoami", |ctx: Context, (): ()| async move {
            let peer = ctx.transport().peer_addr.map(|a| a.ip().to_string());
            let principal = ctx.extension::<Principal>().map(|p| p.0.clone());
            Ok::<_, ErrorObject>(json!({
                "transport": ctx.transport().kind.to_string(),
                "ip": peer,
                "principal": principal,
            }))
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
    let counter = Arc::new(Counter::default());
    let server = Server::builder(router(policy, Arc::clone(&counter))?)
        .http(addr)
        .node_name("auth_ratelimit")
        .start()
        .await?;
    Ok((server, counter))
}
