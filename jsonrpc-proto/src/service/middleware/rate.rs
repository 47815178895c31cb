//! [`RateLimit`]: a fixed-window call budget per client, answered -32002.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::json;

use crate::peer::CallResult;
use crate::protocol::error::ErrorObject;

use super::{Middleware, Next, RpcRequest};

type KeyFn = dyn Fn(&RpcRequest) -> String + Send + Sync;

/// Each client may make `limit` calls per `window`; beyond, the call is answered -32002
/// "Rate limit exceeded" with `data: {limit, window_ms, retry_after_ms}`. Clients are told
/// apart by [`RateLimit::key_by`] (default: the peer's IP address, else the connection id),
/// so the budget holds across HTTP posts. Time is the connection's runtime clock.
#[derive(Clone)]
pub struct RateLimit {
    limit: u32,
    window: Duration,
    key: Arc<KeyFn>,
    windows: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("limit", &self.limit)
            .field("window", &self.window)
            .finish()
    }
}

/// The default client key: `ip:ADDR` when the transport knows the peer, else `conn:ID`.
pub fn default_key(req: &RpcRequest) -> String {
    match req.ctx.transport().peer_addr {
        Some(addr) => format!("ip:{}", addr.ip()),
        None => format!("conn:{}", req.ctx.client_id()),
    }
}

impl RateLimit {
    /// `limit` calls per client per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimit {
            limit,
            window,
            key: Arc::new(default_key),
            windows: Arc::default(),
        }
    }

    /// Tells clients apart by `key` (e.g. the principal an earlier middleware set).
    pub fn key_by<F>(mut self, key: F) -> Self
    where
        F: Fn(&RpcRequest) -> String + Send + Sync + 'static,
    {
        self.key = Arc::new(key);
        self
    }

    fn check(&self, key: String, now: Instant) -> Result<(), ErrorObject> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded memory: forget windows that are over when the table grows large.
        if windows.len() > 65_536 {
            let window = self.window;
            windows.retain(|_, (start, _)| now.saturating_duration_since(*start) < window);
        }
        let (start, used) = windows.entry(key).or_insert((now, 0));
        if now.saturating_duration_since(*start) >= self.window {
            (*start, *used) = (now, 0);
        }
        if *used >= self.limit {
            let retry_in = self
                .window
                .saturating_sub(now.saturating_duration_since(*start));
            return Err(ErrorObject::rate_limited().with_data(json!({
                "limit": self.limit,
                "window_ms": u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX),
                "retry_after_ms": u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
            })));
        }
        *used += 1;
        Ok(())
    }
}

impl Middleware for RateLimit {
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        let key = (self.key)(&req);
        match self.check(key, req.ctx.now()) {
            Ok(()) => next.run(req),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}
