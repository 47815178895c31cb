//! The runtime behind a trait object, and a small signal with a keyed waiter list.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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

/// Wakers under keys: each waiter registers once and keeps its key until it is dropped, so
/// the list holds exactly the waiters alive (no search on registration, nothing left behind).
#[derive(Default)]
pub(crate) struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Waiters {
    /// Stores `waker` under `key` (a new key when `None`), replacing the waker there unless
    /// it would wake the same task.
    pub(crate) fn register(&mut self, key: &mut Option<usize>, waker: &Waker) {
        if let Some(slot) = key.and_then(|k| self.slots.get_mut(k)) {
            match slot {
                Some(old) if old.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
            return;
        }
        let k = match self.free.pop() {
            Some(k) => {
                self.slots[k] = Some(waker.clone());
                k
            }
            None => {
                self.slots.push(Some(waker.clone()));
                self.slots.len() - 1
            }
        };
        *key = Some(k);
    }

    /// Removes the waker under `key` (the waiter is gone); its key is reused.
    pub(crate) fn remove(&mut self, key: usize) {
        if let Some(slot @ Some(_)) = self.slots.get_mut(key) {
            *slot = None;
            self.free.push(key);
        }
    }

    /// Waiters registered.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Clones of the registered wakers, to wake outside the lock: waking a task may drop it
    /// (a runtime shutting down), and its waiter then takes the lock to remove itself.
    pub(crate) fn wakers(&self) -> Vec<Waker> {
        self.slots.iter().flatten().cloned().collect()
    }
}

/// Wakes its waiters when something they wait for may have changed.
///
/// Each waiter ([`Signal::wait_until`]) registers once under a key and stays registered until
/// it completes or is dropped: polled again by the same task it takes no lock, polled by
/// another task it replaces its waker, dropped it removes itself. A notification wakes the
/// waiters registered then, and only them (an ended waiter is no longer in the list).
#[derive(Default)]
pub(crate) struct Signal {
    /// [`Waiters::len`], read without the lock: a notification with no waiter takes no lock.
    registered: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl Signal {
    /// Wakes every registered waiter.
    pub(crate) fn notify_all(&self) {
        // The changed state was stored (SeqCst) before this load, and a waiter stores the
        // count (SeqCst) before it checks its condition again: one of them sees the other.
        if self.registered.load(Ordering::SeqCst) == 0 {
            return;
        }
        let wakers = self.lock().wakers();
        for w in wakers {
            w.wake();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // Every update leaves the list consistent, so a poisoned lock is still usable.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Completes once `cond` holds (checked at once and after every notification).
    ///
    /// A waiter polled again by the same task (a connection's task waits for shutdown while it
    /// serves: it is polled for every request) only checks `cond`: its waker is registered
    /// already.
    pub(crate) fn wait_until<F: Fn() -> bool>(&self, cond: F) -> WaitUntil<'_, F> {
        WaitUntil {
            signal: self,
            cond,
            key: None,
            waker: None,
        }
    }
}

/// The future of [`Signal::wait_until`].
pub(crate) struct WaitUntil<'a, F> {
    signal: &'a Signal,
    cond: F,
    /// Where this waiter's waker is in the signal's [`Waiters`].
    key: Option<usize>,
    /// A clone of the waker registered under `key`.
    waker: Option<Waker>,
}

impl<F> WaitUntil<'_, F> {
    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            let mut w = self.signal.lock();
            w.remove(key);
            self.signal.registered.store(w.len(), Ordering::SeqCst);
        }
        self.waker = None;
    }
}

// Nothing in it is pinned (the condition is only called through `&`).
impl<F> Unpin for WaitUntil<'_, F> {}

impl<F: Fn() -> bool> Future for WaitUntil<'_, F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if (this.cond)() {
            this.unregister();
            return Poll::Ready(());
        }
        if let Some(waker) = &this.waker {
            if waker.will_wake(cx.waker()) {
                // Registered under this task's waker: a later notification wakes it.
                return Poll::Pending;
            }
        }
        {
            let mut w = this.signal.lock();
            w.register(&mut this.key, cx.waker());
            this.signal.registered.store(w.len(), Ordering::SeqCst);
        }
        this.waker = Some(cx.waker().clone());
        if (this.cond)() {
            this.unregister();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<F> Drop for WaitUntil<'_, F> {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// A runtime of plain threads for this crate's tests: each task runs on a thread of its own,
/// and so does each sleep.
#[cfg(test)]
#[derive(Clone)]
pub(crate) struct Threads;

#[cfg(test)]
impl Runtime for Threads {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        std::thread::spawn(move || futures::executor::block_on(task));
    }
    fn sleep_until(&self, at: Instant) -> BoxFuture<'static, ()> {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        std::thread::spawn(move || {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            let _ = tx.send(());
        });
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    struct Count(AtomicUsize);

    impl futures::task::ArcWake for Count {
        fn wake_by_ref(me: &Arc<Self>) {
            me.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = futures::task::waker(Arc::clone(&count));
        (count, waker)
    }

    fn woken(count: &Count) -> usize {
        count.0.load(Ordering::SeqCst)
    }

    fn registered(signal: &Signal) -> usize {
        let len = signal.lock().len();
        assert_eq!(len, signal.registered.load(Ordering::SeqCst));
        len
    }

    #[test]
    fn a_waiter_registers_once_and_is_woken_by_every_notification() {
        let signal = Signal::default();
        let flag = AtomicBool::new(false);
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut wait = signal.wait_until(|| flag.load(Ordering::SeqCst));
        for _ in 0..10 {
            assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        }
        assert_eq!(registered(&signal), 1);
        // A notification whose condition does not hold yet: woken, and still registered.
        signal.notify_all();
        assert_eq!(woken(&count), 1);
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        assert_eq!(registered(&signal), 1);
        signal.notify_all();
        assert_eq!(woken(&count), 2);
        flag.store(true, Ordering::SeqCst);
        signal.notify_all();
        assert_eq!(woken(&count), 3);
        assert!(Pin::new(&mut wait).poll(&mut cx).is_ready());
        // Completed: it left the list, so a later notification wakes nobody.
        assert_eq!(registered(&signal), 0);
        signal.notify_all();
        assert_eq!(woken(&count), 3);
    }

    #[test]
    fn polled_by_another_task_a_waiter_replaces_its_waker() {
        let signal = Signal::default();
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let mut wait = signal.wait_until(|| false);
        let mut cx = Context::from_waker(&first_waker);
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        let mut cx = Context::from_waker(&second_waker);
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        assert_eq!(registered(&signal), 1);
        signal.notify_all();
        assert_eq!((woken(&first), woken(&second)), (0, 1));
    }

    #[test]
    fn a_dropped_waiter_removes_itself_and_its_key_is_reused() {
        let signal = Signal::default();
        let (a_count, a_waker) = counting_waker();
        let (b_count, b_waker) = counting_waker();
        let mut a = signal.wait_until(|| false);
        let mut b = signal.wait_until(|| false);
        assert!(Pin::new(&mut a)
            .poll(&mut Context::from_waker(&a_waker))
            .is_pending());
        assert!(Pin::new(&mut b)
            .poll(&mut Context::from_waker(&b_waker))
            .is_pending());
        assert_eq!(registered(&signal), 2);
        drop(b);
        assert_eq!(registered(&signal), 1);
        signal.notify_all();
        assert_eq!((woken(&a_count), woken(&b_count)), (1, 0));

        // A new waiter takes the freed slot: the list does not grow.
        let mut c = signal.wait_until(|| false);
        assert!(Pin::new(&mut c)
            .poll(&mut Context::from_waker(&b_waker))
            .is_pending());
        assert_eq!(registered(&signal), 2);
        assert_eq!(signal.lock().slots.len(), 2);
        drop(a);
        drop(c);
        assert_eq!(registered(&signal), 0);
        signal.notify_all();
        assert_eq!((woken(&a_count), woken(&b_count)), (1, 0));
    }

    #[test]
    fn a_waiter_whose_condition_holds_never_registers() {
        let signal = Signal::default();
        let (count, waker) = counting_waker();
        let mut wait = signal.wait_until(|| true);
        assert!(Pin::new(&mut wait)
            .poll(&mut Context::from_waker(&waker))
            .is_ready());
        assert_eq!(registered(&signal), 0);
        assert!(signal.lock().slots.is_empty());
        signal.notify_all();
        assert_eq!(woken(&count), 0);
    }

    #[test]
    fn no_notification_is_lost_between_threads() {
        // Each round, another thread sets the flag and notifies while this one waits: a lost
        // wake-up would leave this test blocked.
        let signal = Arc::new(Signal::default());
        for _ in 0..2_000 {
            let flag = Arc::new(AtomicBool::new(false));
            let notifier = std::thread::spawn({
                let (signal, flag) = (Arc::clone(&signal), Arc::clone(&flag));
                move || {
                    flag.store(true, Ordering::SeqCst);
                    signal.notify_all();
                }
            });
            futures::executor::block_on(signal.wait_until(|| flag.load(Ordering::SeqCst)));
            notifier.join().expect("the notifier thread");
            assert_eq!(registered(&signal), 0);
        }
    }
}
