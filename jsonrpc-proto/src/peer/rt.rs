//! The runtime behind a trait object, and a small wake-everyone signal.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures::future::BoxFuture;

use super::Runtime;

/// [`Runtime`] as a trait object (`Runtime: Clone` is not object safe).
pub(crate) trait ErasedRuntime: Send + Sync + 'static {
    fn spawn(&self, task: BoxFuture<'static, ()>);
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
    fn now(&self) -> Instant;
}

impl<R: Runtime> ErasedRuntime for R {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        Runtime::spawn(self, task)
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Runtime::sleep_until(self, deadline)
    }
    fn now(&self) -> Instant {
        Runtime::now(self)
    }
}

/// The shared, type-erased runtime.
pub(crate) type Rt = Arc<dyn ErasedRuntime>;

/// Wakes every waiter when something they wait for may have changed.
#[derive(Default)]
pub(crate) struct Signal {
    waiting: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Signal {
    /// Wakes everyone waiting.
    pub(crate) fn notify_all(&self) {
        if !self.waiting.load(Ordering::SeqCst) {
            return;
        }
        let wakers = {
            let mut w = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
            self.waiting.store(false, Ordering::SeqCst);
            std::mem::take(&mut *w)
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Completes once `cond` holds (checked at once and after every notification).
    pub(crate) fn wait_until<'a>(
        &'a self,
        cond: impl Fn() -> bool + 'a,
    ) -> impl Future<Output = ()> + 'a {
        futures::future::poll_fn(move |cx| self.poll_until(cx, &cond))
    }

    /// One poll of [`Signal::wait_until`]: ready when `cond` holds, else registers the task's
    /// waker for the next notification.
    pub(crate) fn poll_until(&self, cx: &mut Context<'_>, cond: impl Fn() -> bool) -> Poll<()> {
        if cond() {
            return Poll::Ready(());
        }
        {
            let mut w = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
            if !w.iter().any(|x| x.will_wake(cx.waker())) {
                w.push(cx.waker().clone());
            }
            self.waiting.store(true, Ordering::SeqCst);
        }
        if cond() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
