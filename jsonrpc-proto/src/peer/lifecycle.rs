//! [`Lifecycle`]: the start/stop bookkeeping of a listening server, for every runtime adapter:
//! a shutdown flag accept loops and HTTP connections watch, a count of the tasks still alive,
//! and a forced stop when the grace period is over.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{self, Either, FutureExt};
use futures::stream::{self, PollNext, StreamExt};

use super::rt::Signal;
use super::Runtime;

#[derive(Default)]
struct Inner {
    shutdown: AtomicBool,
    force: AtomicBool,
    alive: AtomicUsize,
    signal: Signal,
}

/// Shutdown flag, live-task count and forced stop of a server. Cheap to clone.
#[derive(Clone, Default)]
pub struct Lifecycle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("shutting_down", &self.is_shutting_down())
            .field("alive", &self.alive())
            .finish()
    }
}

struct AliveGuard(Arc<Inner>);

/// Completes once [`Lifecycle::force`] was called.
struct Forced(Arc<Inner>);

impl Future for Forced {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &*self.0;
        inner
            .signal
            .poll_until(cx, || inner.force.load(Ordering::SeqCst))
    }
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::SeqCst);
        self.0.signal.notify_all();
    }
}

impl Lifecycle {
    /// A running lifecycle.
    pub fn new() -> Self {
        Lifecycle::default()
    }

    /// Asks for a shutdown: accept loops stop, HTTP connections finish gracefully.
    pub fn shutdown(&self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        self.inner.signal.notify_all();
    }

    /// True once a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.load(Ordering::SeqCst)
    }

    /// Completes once a shutdown was asked for.
    pub async fn shutdown_requested(&self) {
        let inner = &self.inner;
        inner
            .signal
            .wait_until(|| inner.shutdown.load(Ordering::SeqCst))
            .await
    }

    /// Stops every tracked task now.
    pub fn force(&self) {
        self.inner.force.store(true, Ordering::SeqCst);
        self.inner.shutdown.store(true, Ordering::SeqCst);
        self.inner.signal.notify_all();
    }

    /// Tracked tasks still running.
    pub fn alive(&self) -> usize {
        self.inner.alive.load(Ordering::SeqCst)
    }

    /// Wraps `task` so that it counts as alive until it ends, and ends at [`Lifecycle::force`].
    ///
    /// Built from combinators rather than an `async` block: an `async` block would keep `task`
    /// twice (the captured value and the pinned copy it is polled in), doubling the memory of
    /// every connection task.
    pub fn track<F>(&self, task: F) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.alive.fetch_add(1, Ordering::SeqCst);
        let guard = AliveGuard(Arc::clone(&self.inner));
        let forced = Forced(Arc::clone(&self.inner));
        // The task is polled first, then the force flag; the first to end ends both.
        stream::select_with_strategy(stream::once(task), stream::once(forced), |_: &mut ()| {
            PollNext::Left
        })
        .take(1)
        .for_each(|()| future::ready(()))
        .map(move |()| drop(guard))
    }

    /// Graceful stop: asks for a shutdown, waits until no tracked task is alive or `grace` has
    /// passed (on `runtime`'s timer), then forces the rest. True when all ended in time.
    pub async fn finish<R: Runtime>(&self, grace: Duration, runtime: &R) -> bool {
        self.shutdown();
        let inner = &self.inner;
        let idle = inner
            .signal
            .wait_until(|| inner.alive.load(Ordering::SeqCst) == 0);
        let timer = runtime.sleep_until(runtime.now() + grace);
        futures::pin_mut!(idle);
        let in_time = matches!(future::select(idle, timer).await, Either::Left(_));
        if !in_time {
            tracing::warn!("grace period over: stopping the connections still open");
        }
        self.force();
        in_time
    }
}
