//! [`ConcurrencyLimit`]: at most N calls of a method (or of all methods) at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::peer::CallResult;
use crate::protocol::error::ErrorObject;

use super::{Middleware, Next, RpcRequest};

struct Slots {
    max: usize,
    used: AtomicUsize,
}

/// Gives a slot back when the call ends, however it ends (answered, timed out, dropped).
struct Held(Arc<Slots>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Slots {
    fn try_take(self: &Arc<Self>) -> Option<Held> {
        let mut used = self.used.load(Ordering::Acquire);
        loop {
            if used >= self.max {
                return None;
            }
            match self.used.compare_exchange_weak(
                used,
                used + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Held(Arc::clone(self))),
                Err(now) => used = now,
            }
        }
    }
}

/// Bounds how many calls run at once, over all methods ([`ConcurrencyLimit::new`]) and per
/// method ([`ConcurrencyLimit::method`]). A call over a bound is answered at once with -32003
/// "Server busy" (load shedding: a JSON-RPC client cannot be made to wait without holding
/// its connection). To queue instead, use tower's `ConcurrencyLimitLayer` through
/// `RouterBuilder::layer`.
#[derive(Clone, Default)]
pub struct ConcurrencyLimit {
    all: Option<Arc<Slots>>,
    methods: HashMap<String, Arc<Slots>>,
}

impl std::fmt::Debug for ConcurrencyLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConcurrencyLimit")
            .field("all", &self.all.as_ref().map(|s| s.max))
            .field("methods", &self.methods.len())
            .finish()
    }
}

fn slots(max: usize) -> Arc<Slots> {
    Arc::new(Slots {
        max,
        used: AtomicUsize::new(0),
    })
}

impl ConcurrencyLimit {
    /// At most `max` calls at once over all methods.
    pub fn new(max: usize) -> Self {
        ConcurrencyLimit {
            all: Some(slots(max)),
            methods: HashMap::new(),
        }
    }

    /// No bound over all methods; add per-method ones with [`ConcurrencyLimit::method`].
    pub fn per_method() -> Self {
        ConcurrencyLimit::default()
    }

    /// At most `max` calls of `method` at once.
    pub fn method(mut self, method: &str, max: usize) -> Self {
        self.methods.insert(method.to_owned(), slots(max));
        self
    }
}

impl Middleware for ConcurrencyLimit {
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        let busy = || -> BoxFuture<'static, CallResult> {
            Box::pin(std::future::ready(Err(ErrorObject::server_busy())))
        };
        let all = match &self.all {
            Some(s) => match s.try_take() {
                Some(h) => Some(h),
                None => return busy(),
            },
            None => None,
        };
        let one = match self.methods.get(&*req.method) {
            Some(s) => match s.try_take() {
                Some(h) => Some(h),
                None => return busy(),
            },
            None => None,
        };
        let call = next.run(req);
        Box::pin(async move {
            let _held = (all, one);
            call.await
        })
    }
}
