//! What every subscription of one router shares ([`Registry`]), the names of one method
//! pair, and the live count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::protocol::error::ErrorObject;

use super::config::SubscriptionConfig;
use super::id::IdGen;

/// -32004 "Too many subscriptions", `data: {"limit": n}`.
pub(super) fn too_many(limit: usize) -> ErrorObject {
    ErrorObject::new(-32004, "Too many subscriptions")
        .with_data(serde_json::json!({ "limit": limit }))
}

/// What every subscription of one router shares: its config, the id generator, the count of
/// live subscriptions. A builder merged into another hands all of it to the other's
/// registry (its handlers keep the registry they were registered with, which forwards).
#[derive(Default)]
pub(crate) struct Registry {
    /// The config, and whether it was set (not the default).
    config: Mutex<(SubscriptionConfig, bool)>,
    ids: IdGen,
    live: AtomicUsize,
    /// The registry of the builder this one's was merged into.
    parent: OnceLock<Arc<Registry>>,
}

impl Registry {
    /// The registry everything goes to: this one, or the one it was merged into.
    fn root(&self) -> &Registry {
        let mut at = self;
        while let Some(parent) = at.parent.get() {
            at = parent;
        }
        at
    }

    /// `self`'s builder was merged into `into`'s: from now on its subscriptions follow
    /// `into`'s config and count in `into`'s total.
    pub(crate) fn merge_into(&self, into: &Arc<Registry>) {
        let (child, parent) = (self.root(), into.root());
        if std::ptr::eq(child, parent) {
            return;
        }
        // A config set on the merged builder only is kept; set on both, `into`'s wins.
        let (config, set) = child
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut target = parent.config.lock().unwrap_or_else(|e| e.into_inner());
        if set && !target.1 {
            *target = (config, true);
        }
        drop(target);
        let _ = child.parent.set(Arc::clone(into));
    }

    pub(super) fn set_config(&self, config: SubscriptionConfig) {
        *self.root().config.lock().unwrap_or_else(|e| e.into_inner()) = (config, true);
    }

    pub(super) fn config(&self) -> SubscriptionConfig {
        self.root()
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// A fresh subscription id.
    pub(super) fn next_id(&self) -> String {
        self.root().ids.next()
    }

    /// Live subscriptions over every connection.
    pub(crate) fn live(&self) -> usize {
        self.root().live.load(Ordering::SeqCst)
    }
}

/// Counts one live subscription; dropped with the connection's entry.
pub(super) struct Live(pub(super) Arc<Registry>);

impl Live {
    pub(super) fn new(registry: Arc<Registry>) -> Live {
        registry.root().live.fetch_add(1, Ordering::SeqCst);
        Live(registry)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.root().live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The names of one subscription method pair.
pub(super) struct Names {
    pub(super) unsubscribe: Arc<str>,
    pub(super) notification: Arc<str>,
}
