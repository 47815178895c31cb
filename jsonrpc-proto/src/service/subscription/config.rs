//! [`SubscriptionConfig`] and [`OverflowPolicy`].

/// What a subscription does when its bounded buffer is full (the client reads too slowly).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// `send().await` waits for room: the producer is slowed, nothing is lost (default).
    /// `try_send` reports [`TrySendError::Full`](super::TrySendError::Full).
    #[default]
    Wait,
    /// The new item is dropped and counted ([`SubscriptionSink::dropped`](super::SubscriptionSink::dropped));
    /// `send` never waits.
    DropNewest,
    /// The client is disconnected: it cannot keep up. Every subscription of that connection ends.
    Disconnect,
}

/// Limits and defaults of a router's subscriptions; set with
/// [`RouterBuilder::subscription_config`](super::super::RouterBuilder::subscription_config).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SubscriptionConfig {
    /// Subscriptions one connection may hold at once (default 1024); one more is answered
    /// -32004 "Too many subscriptions" with `data: {"limit": n}`.
    pub max_per_connection: usize,
    /// Items each subscription may queue for a slow client (default 128, at least 1).
    pub buffer: usize,
    /// What a full buffer means, unless the handler chooses (default [`OverflowPolicy::Wait`]).
    pub overflow: OverflowPolicy,
}

impl Default for SubscriptionConfig {
    fn default() -> Self {
        SubscriptionConfig {
            max_per_connection: 1024,
            buffer: 128,
            overflow: OverflowPolicy::Wait,
        }
    }
}

impl SubscriptionConfig {
    /// Sets [`SubscriptionConfig::max_per_connection`].
    pub fn max_per_connection(mut self, n: usize) -> Self {
        self.max_per_connection = n;
        self
    }

    /// Sets [`SubscriptionConfig::buffer`].
    pub fn buffer(mut self, n: usize) -> Self {
        self.buffer = n.max(1);
        self
    }

    /// Sets [`SubscriptionConfig::overflow`].
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.overflow = policy;
        self
    }
}
