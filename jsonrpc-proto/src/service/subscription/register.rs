//! Declaring a subscription method pair on a router: [`RouterBuilder::subscription`].

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::channel::oneshot;
use futures::future::{self, BoxFuture, Either, FutureExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::peer::with_subs;
use crate::peer::Context;
use crate::protocol::error::ErrorObject;

use super::super::params::parse_params;
use super::super::router::{RawCall, RouterBuilder};
use super::config::SubscriptionConfig;
use super::pending::PendingSubscription;
use super::registry::{too_many, Names, Registry};

fn needs_connection() -> ErrorObject {
    ErrorObject::new(
        -32000,
        "Subscriptions need a persistent connection (WebSocket, TCP, stdio or memory), not HTTP",
    )
}

impl RouterBuilder {
    /// Declares a subscription: `subscribe` (a method whose params are read as `P`),
    /// `unsubscribe` (takes `[id]`, answers true or false) and the `notification` method
    /// items go out on. Each subscribe call runs `handler` on a task of its own with a
    /// [`PendingSubscription`] to [`accept`](PendingSubscription::accept) (answering the call
    /// with a fresh id) or [`reject`](PendingSubscription::reject); it then produces items
    /// through the [`SubscriptionSink`](super::SubscriptionSink) for as long as it likes.
    ///
    /// This plain registration is what `#[rpc]`'s `#[subscription]` methods expand to.
    pub fn subscription<P, F, Fut>(
        self,
        subscribe: &str,
        unsubscribe: &str,
        notification: &str,
        handler: F,
    ) -> Self
    where
        F: Fn(Context, P, PendingSubscription) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.subscription_with(
            subscribe,
            unsubscribe,
            notification,
            move |ctx: Context, params: Option<&RawValue>, pending: PendingSubscription| {
                let params = parse_params::<P>(params)?;
                Ok(handler(ctx, params, pending))
            },
        )
    }

    /// Like [`RouterBuilder::subscription`] with the params left raw: `handler` gets them as
    /// sent (`None`: no params) and decodes them itself (then rejects the pending subscription
    /// with -32602 when they do not fit). For generated code (`#[rpc]`) and dynamic cases.
    pub fn subscription_raw<F, Fut>(
        self,
        subscribe: &str,
        unsubscribe: &str,
        notification: &str,
        handler: F,
    ) -> Self
    where
        F: Fn(Context, Option<Box<RawValue>>, PendingSubscription) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.subscription_with(
            subscribe,
            unsubscribe,
            notification,
            move |ctx: Context, params: Option<&RawValue>, pending: PendingSubscription| {
                Ok(handler(ctx, params.map(ToOwned::to_owned), pending))
            },
        )
    }

    fn subscription_with<M, Fut>(
        self,
        subscribe: &str,
        unsubscribe: &str,
        notification: &str,
        make: M,
    ) -> Self
    where
        M: Fn(Context, Option<&RawValue>, PendingSubscription) -> Result<Fut, ErrorObject>
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.subscription_names(&[subscribe], &[unsubscribe], notification, make)
    }

    /// A subscription answering every name of `subscribe` (the first one and its aliases) and
    /// of `unsubscribe`; `make` reads the params (borrowed from the frame) and gives the
    /// handler's future, or the error that answers the call at once (then `make` dropped
    /// the pending subscription: nothing was registered). What `#[rpc]` expands to.
    pub(crate) fn subscription_names<M, Fut>(
        mut self,
        subscribe: &[&str],
        unsubscribe: &[&str],
        notification: &str,
        make: M,
    ) -> Self
    where
        M: Fn(Context, Option<&RawValue>, PendingSubscription) -> Result<Fut, ErrorObject>
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(kind) = unsubscribe.first() else {
            return self;
        };
        // Every unsubscribe alias ends the same kind of subscription (the first name's).
        let names = Arc::new(Names {
            unsubscribe: (*kind).into(),
            notification: notification.into(),
        });
        let make = Arc::new(make);
        for name in subscribe {
            let registry = Arc::clone(&self.subscriptions);
            let (names, make) = (Arc::clone(&names), Arc::clone(&make));
            self = self.call_raw(name, move |ctx: Context, call: RawCall| {
                start(&registry, &names, &*make, ctx, call)
            });
        }
        for name in unsubscribe {
            let kind = Arc::clone(&names.unsubscribe);
            self = self.call_raw(name, move |ctx: Context, call: RawCall| {
                let answer = unsubscribe_call(&ctx, &kind, call.params.as_deref());
                async move { answer }
            });
        }
        self
    }

    /// Sets the limits and defaults of this router's subscriptions (see [`SubscriptionConfig`]),
    /// including those of builders merged into it ([`RouterBuilder::merge`]; a merged
    /// builder's setting is kept when this one has none, else this one's wins).
    pub fn subscription_config(self, config: SubscriptionConfig) -> Self {
        self.subscriptions.set_config(config);
        self
    }
}

/// The synchronous part of a subscribe call: checks, then the handler on its own task; the
/// call is answered when the handler accepts or rejects.
fn start<M, Fut>(
    registry: &Arc<Registry>,
    names: &Arc<Names>,
    make: &M,
    ctx: Context,
    call: RawCall,
) -> BoxFuture<'static, Result<String, ErrorObject>>
where
    M: Fn(Context, Option<&RawValue>, PendingSubscription) -> Result<Fut, ErrorObject>,
    Fut: Future<Output = ()> + Send + 'static,
{
    let ready =
        |r: Result<String, ErrorObject>| -> BoxFuture<'static, Result<String, ErrorObject>> {
            Box::pin(async move { r })
        };
    let Some(request_id) = call.id else {
        tracing::debug!(method = %call.method, "subscribe called as a notification: ignored");
        return ready(Err(ErrorObject::invalid_request()));
    };
    let Some(peer) = ctx.inner.peer.clone() else {
        return ready(Err(needs_connection()));
    };
    let config = registry.config();
    let gone = {
        let mut inner = peer.lock();
        if inner.subs.server.len() >= config.max_per_connection {
            return ready(Err(too_many(config.max_per_connection)));
        }
        inner.subs.server.watch_close()
    };
    let (tx, rx) = oneshot::channel();
    let pending = PendingSubscription::new(
        ctx.clone(),
        peer,
        request_id,
        tx,
        Arc::clone(registry),
        Arc::clone(names),
        config,
    );
    // Bad params are answered at once (the pending subscription is dropped unanswered).
    let fut = match make(ctx.clone(), call.params.as_deref(), pending) {
        Ok(fut) => fut,
        Err(e) => return ready(Err(e)),
    };
    let method = call.method;
    // The handler ends when it returns, or is dropped when its connection closes (nothing it
    // could send would arrive): a handler waiting on something else never outlives its client.
    let run = AssertUnwindSafe(fut).catch_unwind();
    let task = future::select(Box::pin(run), gone).map(move |done| match done {
        Either::Left((Err(_), _)) => {
            tracing::error!(method = %method, "subscription handler panicked");
        }
        Either::Left((Ok(()), _)) => {}
        Either::Right(_) => {
            tracing::debug!(method = %method, "connection closed: subscription handler dropped");
        }
    });
    ctx.inner.rt.spawn(Box::pin(task));
    Box::pin(async move {
        match rx.await {
            Ok(answer) => answer,
            // The handler returned (or panicked) without accepting or rejecting.
            Err(_) => Err(ErrorObject::new(
                -32603,
                "The subscription was neither accepted nor rejected",
            )),
        }
    })
}

/// `[id]` or `{"subscription": id}`.
fn unsub_id(params: Option<&RawValue>) -> Result<String, ErrorObject> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum P {
        Pos((serde_json::Value,)),
        Named { subscription: serde_json::Value },
    }
    let p: P = parse_params(params)?;
    let v = match p {
        P::Pos((v,)) | P::Named { subscription: v } => v,
    };
    Ok(match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

fn unsubscribe_call(
    ctx: &Context,
    kind: &str,
    params: Option<&RawValue>,
) -> Result<bool, ErrorObject> {
    let id = unsub_id(params)?;
    let Some(peer) = &ctx.inner.peer else {
        return Ok(false);
    };
    Ok(with_subs(peer, |subs, wake| {
        subs.server.remove_by_id(&id, kind, wake)
    }))
}
