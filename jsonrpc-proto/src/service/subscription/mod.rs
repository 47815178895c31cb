//! Subscriptions (feature `async`): a method pair declared on the router
//! ([`RouterBuilder::subscription`](super::RouterBuilder::subscription)), the
//! [`PendingSubscription`] its handler accepts or rejects, the [`SubscriptionSink`] items go
//! through, and [`SubscriptionTopic`] to send one item to many subscribers.
//!
//! ```
//! use jsonrpc_proto::service::{Context, PendingSubscription, Router};
//!
//! let router = Router::builder()
//!     .subscription("count_subscribe", "count_unsubscribe", "count", |_ctx: Context, (to,): (u64,), pending: PendingSubscription| async move {
//!         let Ok(sink) = pending.accept() else { return };
//!         for n in 0..to {
//!             // Waits for room: a slow client slows this producer, nothing is lost.
//!             if sink.send(n).await.is_err() {
//!                 return; // unsubscribed or disconnected
//!             }
//!         }
//!     })
//!     .build()
//!     .unwrap();
//! assert!(router.has_method("count_subscribe"));
//! assert!(router.has_method("count_unsubscribe"));
//! ```
//!
//! On the wire (the jsonrpsee/Ethereum shape): the subscribe call is answered with the
//! subscription id (a string of 32 hex digits); each item goes out as
//! `{"jsonrpc":"2.0","method":<notification>,"params":{"subscription":<id>,"result":<item>}}`;
//! when the producer drops its sink, a last `{"subscription":<id>,"error":<error or null>}`
//! tells the client the subscription ended; the unsubscribe call takes `[id]` (or
//! `{"subscription": id}`) and answers true or false.

mod config;
mod id;
mod pending;
mod register;
mod registry;
mod sink;
mod topic;

pub use config::{OverflowPolicy, SubscriptionConfig};
pub use pending::{AcceptError, PendingSubscription};
pub use sink::{SendError, SubscriptionSink, TrySendError};
pub use topic::{BroadcastReport, SubscriptionTopic};

pub(crate) use registry::Registry;

#[cfg(test)]
mod tests;
