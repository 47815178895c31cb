//! [`Timeout`]: per-method deadlines on the connection's runtime clock.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::{self, BoxFuture, Either};

use crate::peer::CallResult;
use crate::protocol::error::ErrorObject;

use super::{Middleware, Next, RpcRequest};

/// Answers a call -32001 "Request timeout" when the layers below and the handler take longer
/// than its method's deadline (the handler's future is dropped). Runs on any runtime (the
/// timer is the connection's, [`crate::peer::Context::sleep`]), unlike tower's `Timeout`,
/// which needs tokio's timer.
///
/// ```
/// use std::time::Duration;
/// use jsonrpc_proto::service::middleware::Timeout;
/// let t = Timeout::new(Duration::from_secs(5)).method("report", Duration::from_secs(60));
/// # let _ = t;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Timeout {
    default: Option<Duration>,
    methods: HashMap<String, Option<Duration>>,
}

impl Timeout {
    /// Every method gets `deadline` unless [`Timeout::method`] says otherwise.
    pub fn new(deadline: Duration) -> Self {
        Timeout {
            default: Some(deadline),
            methods: HashMap::new(),
        }
    }

    /// Only methods named with [`Timeout::method`] get a deadline.
    pub fn per_method() -> Self {
        Timeout::default()
    }

    /// `method` gets `deadline` instead of the default.
    pub fn method(mut self, method: &str, deadline: Duration) -> Self {
        self.methods.insert(method.to_owned(), Some(deadline));
        self
    }

    /// `method` gets no deadline from this middleware.
    pub fn unbounded(mut self, method: &str) -> Self {
        self.methods.insert(method.to_owned(), None);
        self
    }

    fn deadline_of(&self, method: &str) -> Option<Duration> {
        match self.methods.get(method) {
            Some(d) => *d,
            None => self.default,
        }
    }
}

impl Middleware for Timeout {
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        let Some(deadline) = self.deadline_of(&req.method) else {
            return next.run(req);
        };
        let sleep = req.ctx.sleep(deadline);
        let call = next.run(req);
        Box::pin(async move {
            match future::select(call, sleep).await {
                Either::Left((result, _)) => result,
                Either::Right(_) => Err(ErrorObject::request_timeout()),
            }
        })
    }
}
