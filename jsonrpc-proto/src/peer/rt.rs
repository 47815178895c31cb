//! The runtime behind a trait object, and a small wake-everyone signal.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
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
    /// Bumped (under the lock) each time the wakers are taken: a waiter registered in the
    /// same epoch is still in the list.
    epoch: AtomicU64,
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
            self.epoch.fetch_add(1, Ordering::SeqCst);
            std::mem::take(&mut *w)
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Completes once `cond` holds (checked at once and after every notification).
    ///
    /// A waiter polled again by the same task before any notification (a connection's task
    /// waits for shutdown while it serves: it is polled for every request) only checks `cond`:
    /// its waker is still in the list, which is not searched again.
    pub(crate) fn wait_until<'a>(
        &'a self,
        cond: impl Fn() -> bool + 'a,
    ) -> impl Future<Output = ()> + 'a {
        let mut registered: Option<(Waker, u64)> = None;
        futures::future::poll_fn(move |cx| {
            if cond() {
                return Poll::Ready(());
            }
            if let Some((waker, epoch)) = &registered {
                if *epoch == self.epoch.load(Ordering::SeqCst) && waker.will_wake(cx.waker()) {
                    return Poll::Pending;
                }
            }
            let epoch = {
                let mut w = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
                if !w.iter().any(|x| x.will_wake(cx.waker())) {
                    w.push(cx.waker().clone());
                }
                self.waiting.store(true, Ordering::SeqCst);
                self.epoch.load(Ordering::SeqCst)
            };
            registered = Some((cx.waker().clone(), epoch));
            if cond() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Context;

    struct Count(AtomicUsize);

    impl futures::task::ArcWake for Count {
        fn wake_by_ref(me: &Arc<Self>) {
            me.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiter_polled_again_is_not_registered_again_and_is_woken_by_every_notification() {
        let signal = Signal::default();
        let flag = AtomicBool::new(false);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = futures::task::waker(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        let wait = signal.wait_until(|| flag.load(Ordering::SeqCst));
        futures::pin_mut!(wait);
        for _ in 0..10 {
            assert!(wait.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(signal.wakers.lock().unwrap().len(), 1);
        // A notification whose condition does not hold yet: woken, registered again.
        signal.notify_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        assert_eq!(signal.wakers.lock().unwrap().len(), 1);
        flag.store(true, Ordering::SeqCst);
        signal.notify_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(wait.as_mut().poll(&mut cx).is_ready());
    }
}
