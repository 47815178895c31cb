//! Subscription ids: 128 bits, unguessable and unique per router.
//!
//! Two SipHash keys drawn by std's `RandomState` (seeded from the operating system's
//! randomness) hash a counter: a keyed pseudo-random function, no new dependency. Unsubscribe
//! only ever looks in the caller's own connection, so even a guessed id opens nothing.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct IdGen {
    a: RandomState,
    b: RandomState,
    next: AtomicU64,
}

impl Default for IdGen {
    fn default() -> Self {
        IdGen {
            a: RandomState::new(),
            b: RandomState::new(),
            next: AtomicU64::new(0),
        }
    }
}

impl IdGen {
    /// The next id: 32 lowercase hex digits.
    pub(crate) fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!(
            "{:016x}{:016x}",
            self.a.hash_one(n),
            self.b.hash_one(n ^ u64::MAX)
        )
    }
}
