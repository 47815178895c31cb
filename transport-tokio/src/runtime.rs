//! [`TokioRuntime`]: the async layer's [`Runtime`] on tokio.

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use jsonrpc_proto::peer::Runtime;

/// Spawns on the current tokio runtime and sleeps with tokio's timer.
///
/// Build it inside a tokio runtime ([`TokioRuntime::new`] captures the current handle), or from
/// an explicit [`tokio::runtime::Handle`].
#[derive(Clone, Debug)]
pub struct TokioRuntime {
    handle: tokio::runtime::Handle,
}

impl TokioRuntime {
    /// The runtime this is called from. Panics outside a tokio runtime (a programming error).
    pub fn new() -> Self {
        TokioRuntime {
            handle: tokio::runtime::Handle::current(),
        }
    }

    /// The runtime behind `handle`.
    pub fn from_handle(handle: tokio::runtime::Handle) -> Self {
        TokioRuntime { handle }
    }

    /// The tokio handle tasks are spawned on.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Default for TokioRuntime {
    fn default() -> Self {
        TokioRuntime::new()
    }
}

impl Runtime for TokioRuntime {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        drop(self.handle.spawn(task));
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        // Entering the handle binds the timer to this runtime even when called from elsewhere.
        let _guard = self.handle.enter();
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).boxed()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}
