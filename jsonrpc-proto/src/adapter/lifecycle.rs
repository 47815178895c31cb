//! [`Lifecycle`]: the start/stop bookkeeping of a listening server, for every runtime adapter:
//! a shutdown flag accept loops and HTTP connections watch, a count of the tasks still alive,
//! and a forced stop when the grace period is over.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{self, Either, FutureExt};
use futures::stream::{self, PollNext, StreamExt};

use crate::peer::rt::{Signal, Waiters};
use crate::peer::Runtime;

#[derive(Default)]
struct Inner {
    shutdown: AtomicBool,
    force: AtomicBool,
    alive: AtomicUsize,
    /// Shutdown and force: watched by accept loops and HTTP connections.
    shutdown_signal: Signal,
    /// Ended tasks: watched by [`Lifecycle::finish`] (apart from the shutdown signal, so an
    /// ending task wakes no accept loop or connection).
    ended: Signal,
    /// Tracked tasks waiting for [`Lifecycle::force`], each under its own key and removed
    /// when its task ends: an ending task wakes no other tracked task.
    force_waiters: Mutex<Waiters>,
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
struct Forced {
    inner: Arc<Inner>,
    /// Where this task's waker is in [`Inner::force_waiters`].
    key: Option<usize>,
}

impl Future for Forced {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.inner.force.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        lock(&this.inner.force_waiters).register(&mut this.key, cx.waker());
        // `force` sets the flag before it takes the wakers: seen here, or this waker is woken.
        if this.inner.force.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Forced {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.inner.force_waiters).remove(key);
        }
    }
}

fn lock(m: &Mutex<Waiters>) -> MutexGuard<'_, Waiters> {
    // Every update leaves the registry consistent, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.notify_all();
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
        self.inner.shutdown_signal.notify_all();
    }

    /// True once a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.load(Ordering::SeqCst)
    }

    /// Completes once a shutdown was asked for.
    pub async fn shutdown_requested(&self) {
        let inner = &self.inner;
        inner
            .shutdown_signal
            .wait_until(|| inner.shutdown.load(Ordering::SeqCst))
            .await
    }

    /// Stops every tracked task now.
    pub fn force(&self) {
        self.inner.force.store(true, Ordering::SeqCst);
        self.inner.shutdown.store(true, Ordering::SeqCst);
        self.inner.shutdown_signal.notify_all();
        let wakers = lock(&self.inner.force_waiters).wakers();
        for w in wakers {
            w.wake();
        }
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
        let forced = Forced {
            inner: Arc::clone(&self.inner),
            key: None,
        };
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
            .ended
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures::task::{waker, ArcWake};

    use super::*;

    struct Count(AtomicUsize);

    impl ArcWake for Count {
        fn wake_by_ref(this: &Arc<Self>) {
            this.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn force_ends_tracked_tasks_and_ended_tasks_leave_no_waker() {
        let lifecycle = Lifecycle::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let w = waker(Arc::clone(&count));
        let mut cx = Context::from_waker(&w);
        let mut a = Box::pin(lifecycle.track(future::pending::<()>()));
        let mut b = Box::pin(lifecycle.track(future::pending::<()>()));
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(b.as_mut().poll(&mut cx).is_pending());
        // Polled again: the same waker is kept, not added twice.
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert_eq!(lifecycle.alive(), 2);
        let registered = |l: &Lifecycle| lock(&l.inner.force_waiters).len();
        assert_eq!(registered(&lifecycle), 2);

        // A task that ends takes its waker with it, and wakes no other tracked task.
        drop(b);
        assert_eq!(lifecycle.alive(), 1);
        assert_eq!(registered(&lifecycle), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);

        lifecycle.force();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(a.as_mut().poll(&mut cx).is_ready());
        assert_eq!(lifecycle.alive(), 0);

        // Tracked after the force: ends at its first poll.
        let mut c = Box::pin(lifecycle.track(future::pending::<()>()));
        assert!(c.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn a_task_that_ends_first_is_not_forced() {
        let lifecycle = Lifecycle::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let w = waker(Arc::clone(&count));
        let mut cx = Context::from_waker(&w);
        let mut t = Box::pin(lifecycle.track(future::ready(())));
        assert!(t.as_mut().poll(&mut cx).is_ready());
        assert_eq!(lifecycle.alive(), 0);
        drop(t);
        assert_eq!(lock(&lifecycle.inner.force_waiters).len(), 0);
    }

    #[test]
    fn an_ending_task_wakes_no_shutdown_waiter() {
        let lifecycle = Lifecycle::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let w = waker(Arc::clone(&count));
        let mut cx = Context::from_waker(&w);
        let mut shutdown = Box::pin(lifecycle.shutdown_requested());
        assert!(shutdown.as_mut().poll(&mut cx).is_pending());
        for _ in 0..3 {
            let mut t = Box::pin(lifecycle.track(future::ready(())));
            assert!(t
                .as_mut()
                .poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
                .is_ready());
        }
        assert_eq!(lifecycle.alive(), 0);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        lifecycle.shutdown();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(shutdown.as_mut().poll(&mut cx).is_ready());
    }
}
