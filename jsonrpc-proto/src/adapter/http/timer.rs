//! [`ConnTimer`]: the timer one HTTP/1 connection hands hyper, sharing one runtime timer
//! among the header-read deadlines hyper asks for (one per request).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

/// hyper's timer for one HTTP/1 connection: hyper asks for a new header-read deadline before
/// every request head; creating and cancelling a runtime timer for each costs more than the
/// rest of hyper's timekeeping. Here the deadlines share one runtime timer, armed at the first
/// deadline and, when it fires, moved on to the latest deadline asked for; a deadline that
/// has passed completes as before.
///
/// Only for a connection whose deadlines are all polled by one task (hyper's HTTP/1
/// connection future): the shared timer wakes the task that polled it last.
pub struct ConnTimer<T> {
    timer: Arc<T>,
    slot: Arc<Mutex<Slot>>,
}

impl<T> Clone for ConnTimer<T> {
    fn clone(&self) -> Self {
        ConnTimer {
            timer: Arc::clone(&self.timer),
            slot: Arc::clone(&self.slot),
        }
    }
}

impl<T> std::fmt::Debug for ConnTimer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnTimer").finish_non_exhaustive()
    }
}

/// The shared runtime timer and the instant it is armed for.
#[derive(Default)]
struct Slot {
    sleep: Option<(Pin<Box<dyn Sleep>>, Instant)>,
}

impl<T: Timer + Send + Sync + 'static> ConnTimer<T> {
    /// A connection's timer on the runtime's `timer`.
    pub fn new(timer: T) -> Self {
        ConnTimer {
            timer: Arc::new(timer),
            slot: Arc::default(),
        }
    }
}

impl<T: Timer + Send + Sync + 'static> Timer for ConnTimer<T> {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(self.timer.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(Deadline {
            at: deadline,
            timer: Arc::clone(&self.timer),
            slot: Arc::clone(&self.slot),
        })
    }

    fn now(&self) -> Instant {
        self.timer.now()
    }
}

/// One deadline hyper asked for, on the connection's shared timer.
struct Deadline<T> {
    at: Instant,
    timer: Arc<T>,
    slot: Arc<Mutex<Slot>>,
}

impl<T: Timer + Send + Sync + 'static> Sleep for Deadline<T> {}

impl<T: Timer + Send + Sync + 'static> Future for Deadline<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let at = self.at;
        // Only this connection's task polls: the lock is never contended, and a panic while
        // it was held leaves nothing half-done (the slot is re-armed below as needed).
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match &mut slot.sleep {
                None => slot.sleep = Some((self.timer.sleep_until(at), at)),
                // Armed later than this deadline: bring it forward.
                Some((sleep, armed)) if *armed > at => {
                    self.timer.reset(sleep, at);
                    *armed = at;
                }
                Some((sleep, armed)) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) if *armed == at => return Poll::Ready(()),
                    // It fired for an earlier deadline: move it on to this one.
                    Poll::Ready(()) => {
                        self.timer.reset(sleep, at);
                        *armed = at;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A manual clock: sleeps complete once `now` reaches their deadline.
    #[derive(Clone, Default)]
    struct Manual {
        now: Arc<Mutex<Option<Instant>>>,
        created: Arc<AtomicUsize>,
    }

    impl Manual {
        fn now(&self) -> Instant {
            *self.now.lock().unwrap().get_or_insert_with(Instant::now)
        }
        fn advance(&self, d: Duration) {
            let t = self.now() + d;
            *self.now.lock().unwrap() = Some(t);
        }
    }

    struct ManualSleep {
        at: Instant,
        clock: Manual,
    }

    impl Sleep for ManualSleep {}

    impl Future for ManualSleep {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            if self.clock.now() >= self.at {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Timer for Manual {
        fn sleep(&self, d: Duration) -> Pin<Box<dyn Sleep>> {
            self.sleep_until(Timer::now(self) + d)
        }
        fn sleep_until(&self, at: Instant) -> Pin<Box<dyn Sleep>> {
            self.created.fetch_add(1, Ordering::SeqCst);
            Box::pin(ManualSleep {
                at,
                clock: self.clone(),
            })
        }
        fn now(&self) -> Instant {
            Manual::now(self)
        }
        fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, at: Instant) {
            // Reset in place, as tokio's timer does: no new timer counted.
            *sleep = Box::pin(ManualSleep {
                at,
                clock: self.clone(),
            });
        }
    }

    fn poll(sleep: &mut Pin<Box<dyn Sleep>>) -> Poll<()> {
        let waker = futures::task::noop_waker();
        sleep.as_mut().poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn deadlines_share_one_runtime_timer_and_each_completes_at_its_own_time() {
        let clock = Manual::default();
        let timer = ConnTimer::new(clock.clone());
        let second = Duration::from_secs(1);
        // One deadline per request, each dropped once its head is read.
        for _ in 0..100 {
            let mut s = timer.sleep(10 * second);
            assert!(poll(&mut s).is_pending());
        }
        assert_eq!(clock.created.load(Ordering::SeqCst), 1);
        // The shared timer fires for the first deadline: a later one is not over yet.
        clock.advance(5 * second);
        let mut later = timer.sleep(10 * second);
        clock.advance(6 * second);
        assert!(poll(&mut later).is_pending());
        clock.advance(4 * second);
        assert!(poll(&mut later).is_ready());
        // An earlier deadline than the armed one is not delayed.
        let mut long = timer.sleep(30 * second);
        assert!(poll(&mut long).is_pending());
        let mut short = timer.sleep(second);
        assert!(poll(&mut short).is_pending());
        clock.advance(second);
        assert!(poll(&mut short).is_ready());
        assert!(poll(&mut long).is_pending());
        clock.advance(30 * second);
        assert!(poll(&mut long).is_ready());
        assert_eq!(clock.created.load(Ordering::SeqCst), 1);
    }
}
