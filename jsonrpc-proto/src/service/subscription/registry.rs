//! What every subscription of one router shares ([`Registry`]), the names of one method
//! pair, and the live count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::protocol::error::ErrorObject;

use super::config::SubscriptionConfig;
use super::id::IdGen;

/// -32004 "Too many subscriptions", `data: {"limit": n}`.
pub(super) fn too_many(limit: usize) -> ErrorObject {
    ErrorObject::new(-32004, "Too many subscriptions")
        .with_data(serde_json::json!({ "limit": limit }))
}

/// What every subscription of one router shares: its config, the id generator, the count of
/// live subscriptions.
#[derive(Default)]
pub(crate) struct Registry {
    config: Mutex<SubscriptionConfig>,
    pub(super) ids: IdGen,
    live: AtomicUsize,
}

impl Registry {
    pub(super) fn set_config(&self, config: SubscriptionConfig) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
    }

    pub(super) fn config(&self) -> SubscriptionConfig {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Live subscriptions over every connection.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

/// Counts one live subscription; dropped with the connection's entry.
pub(super) struct Live(pub(super) Arc<Registry>);

impl Live {
    pub(super) fn new(registry: Arc<Registry>) -> Live {
        registry.live.fetch_add(1, Ordering::SeqCst);
        Live(registry)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The names of one subscription method pair.
pub(super) struct Names {
    pub(super) unsubscribe: Arc<str>,
    pub(super) notification: Arc<str>,
}
