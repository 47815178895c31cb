//! [`AsyncIoRuntime`]: the async layer's [`Runtime`] on async-io's timer, with a pluggable
//! spawner (smol, async-std, or any closure).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use jsonrpc_proto::peer::Runtime;

type Spawner = Arc<dyn Fn(BoxFuture<'static, ()>) + Send + Sync>;

/// Sleeps with `async_io::Timer` and spawns through a spawner: smol's
/// ([`AsyncIoRuntime::smol`]), async-std's ([`AsyncIoRuntime::async_std`]) or your own
/// ([`AsyncIoRuntime::with_spawner`]). Sockets are async-io's, so any executor works.
#[derive(Clone)]
pub struct AsyncIoRuntime {
    spawner: Spawner,
    name: &'static str,
}

impl fmt::Debug for AsyncIoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncIoRuntime")
            .field("spawner", &self.name)
            .finish()
    }
}

impl AsyncIoRuntime {
    /// Spawns with `spawner` (the task must be run to completion in the background).
    pub fn with_spawner<F>(spawner: F) -> Self
    where
        F: Fn(BoxFuture<'static, ()>) + Send + Sync + 'static,
    {
        AsyncIoRuntime {
            spawner: Arc::new(spawner),
            name: "custom",
        }
    }

    /// Spawns on smol's global executor (`smol::spawn(..).detach()`).
    #[cfg(feature = "smol")]
    pub fn smol() -> Self {
        AsyncIoRuntime {
            spawner: Arc::new(|task| smol::spawn(task).detach()),
            name: "smol",
        }
    }

    /// Spawns on async-std's executor (`async_std::task::spawn`).
    #[cfg(feature = "async-std")]
    pub fn async_std() -> Self {
        AsyncIoRuntime {
            spawner: Arc::new(|task| {
                async_std::task::spawn(task);
            }),
            name: "async-std",
        }
    }

    /// Spawns a future on this runtime.
    pub fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        (self.spawner)(Box::pin(task))
    }
}

impl Default for AsyncIoRuntime {
    /// smol's executor when the `smol` feature is on, else async-std's, else one thread per
    /// task running `async_io::block_on`.
    fn default() -> Self {
        #[cfg(feature = "smol")]
        return AsyncIoRuntime::smol();
        #[cfg(all(not(feature = "smol"), feature = "async-std"))]
        return AsyncIoRuntime::async_std();
        #[cfg(not(any(feature = "smol", feature = "async-std")))]
        AsyncIoRuntime {
            spawner: Arc::new(|task| {
                std::thread::spawn(move || async_io::block_on(task));
            }),
            name: "thread-per-task",
        }
    }
}

impl Runtime for AsyncIoRuntime {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        (self.spawner)(task)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            async_io::Timer::at(deadline).await;
        })
    }
}
