//! [`PendingSubscription`]: a subscribe call its handler accepts or rejects.

use std::fmt;
use std::sync::Arc;

use futures::channel::oneshot;

use crate::peer::subs::RegisterError;
use crate::peer::Context;
use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;

use crate::peer::PeerShared;

use super::config::{OverflowPolicy, SubscriptionConfig};
use super::registry::{too_many, Live, Names, Registry};
use super::sink::SubscriptionSink;

/// Why [`PendingSubscription::accept`] gave no sink (the call was answered accordingly).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The connection holds its maximum of subscriptions; the call was answered -32004.
    #[error("the connection holds {limit} subscriptions already")]
    TooMany {
        /// [`SubscriptionConfig::max_per_connection`].
        limit: usize,
    },
    /// The client went away (or the call was already answered: deadline, cancellation).
    #[error("the client went away before the subscription was accepted")]
    Closed,
}

/// A subscribe call waiting for its handler's decision. Dropped undecided, the call is
/// answered -32603.
pub struct PendingSubscription {
    ctx: Context,
    peer: Arc<PeerShared>,
    request_id: Id,
    answer: Option<oneshot::Sender<Result<String, ErrorObject>>>,
    registry: Arc<Registry>,
    names: Arc<Names>,
    config: SubscriptionConfig,
}

impl fmt::Debug for PendingSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSubscription")
            .field("notification", &&*self.names.notification)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl PendingSubscription {
    pub(super) fn new(
        ctx: Context,
        peer: Arc<PeerShared>,
        request_id: Id,
        answer: oneshot::Sender<Result<String, ErrorObject>>,
        registry: Arc<Registry>,
        names: Arc<Names>,
        config: SubscriptionConfig,
    ) -> Self {
        PendingSubscription {
            ctx,
            peer,
            request_id,
            answer: Some(answer),
            registry,
            names,
            config,
        }
    }

    /// The call's context (client, transport, state).
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The method the items go out on.
    pub fn notification_method(&self) -> &str {
        &self.names.notification
    }

    /// Chooses this subscription's [`OverflowPolicy`] (default: the router's).
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.config.overflow = policy;
        self
    }

    /// Chooses how many items this subscription may queue (default: the router's; at least 1).
    pub fn buffer(mut self, items: usize) -> Self {
        self.config.buffer = items.max(1);
        self
    }

    /// Accepts: answers the call with a fresh subscription id and gives the sink items go
    /// through. Items sent at once wait (in the buffer) until the answer is out.
    pub fn accept(mut self) -> Result<SubscriptionSink, AcceptError> {
        let Some(answer) = self.answer.take() else {
            return Err(AcceptError::Closed);
        };
        if answer.is_canceled() {
            return Err(AcceptError::Closed);
        }
        let id: Arc<str> = self.registry.next_id().into();
        let limit = self.config.max_per_connection;
        let registered = self.peer.lock().subs.server.register(
            Arc::clone(&id),
            Arc::clone(&self.names.unsubscribe),
            self.config.buffer,
            self.request_id.clone(),
            limit,
            Box::new(Live::new(Arc::clone(&self.registry))),
        );
        let key = match registered {
            Ok(key) => key,
            Err(RegisterError::TooMany) => {
                let _ = answer.send(Err(too_many(limit)));
                return Err(AcceptError::TooMany { limit });
            }
            Err(RegisterError::Closed) => return Err(AcceptError::Closed),
        };
        let sink = SubscriptionSink::new(
            Arc::clone(&self.peer),
            key,
            id.clone(),
            &self.names.notification,
            self.config.overflow,
            self.config.buffer,
        );
        if answer.send(Ok(id.to_string())).is_err() {
            sink.forget();
            return Err(AcceptError::Closed);
        }
        Ok(sink)
    }

    /// Rejects: answers the call with `error` exactly.
    pub fn reject(mut self, error: ErrorObject) {
        if let Some(answer) = self.answer.take() {
            let _ = answer.send(Err(error));
        }
    }
}
