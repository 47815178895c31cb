//! [`Hooks`] as one middleware: `before_request` rejects, `after_request` observes.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::peer::{CallInfo, CallResult, ClientInfo, Context};
use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::service::hooks::Hooks;

use super::{Middleware, Next, RpcRequest};

/// The router's hooks, run as the outermost middleware of its own chain.
pub(crate) struct HooksMiddleware(pub(crate) Arc<dyn Hooks>);

impl Middleware for HooksMiddleware {
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        let hooks = Arc::clone(&self.0);
        Box::pin(async move {
            let ctx = req.ctx.clone();
            let start = ctx.now();
            let (method, params, id) = (req.method.clone(), req.params.clone(), req.id.clone());
            let info = CallInfo {
                method: &method,
                params: params.as_deref(),
                id: id.as_ref(),
                client: ctx.client(),
            };
            let elapsed = |ctx: &Context| ctx.now().saturating_duration_since(start);
            if let Err(e) = hooks.before_request(&info).await {
                if id.is_some() {
                    hooks.after_request(&info, Err(&e), elapsed(&ctx));
                } else {
                    tracing::debug!(method = %method, error = %e, "notification rejected by before_request");
                }
                return Err(e);
            }
            let result = next.run(req).await;
            if id.is_some() {
                // A text answer is written out as JSON for the hook.
                let json = result.as_ref().map(|a| match a.as_json() {
                    Some(raw) => std::borrow::Cow::Borrowed(raw),
                    None => std::borrow::Cow::Owned(a.to_json()),
                });
                hooks.after_request(&info, json.as_deref().map_err(|e| *e), elapsed(&ctx));
            }
            result
        })
    }

    fn observes_aborts(&self) -> bool {
        self.0.observes_calls()
    }

    fn aborted(
        &self,
        ctx: &Context,
        method: &str,
        id: Option<&Id>,
        error: &ErrorObject,
        elapsed: Duration,
    ) {
        let info = CallInfo {
            method,
            params: None,
            id,
            client: ctx.client(),
        };
        self.0.after_request(&info, Err(error), elapsed);
    }

    fn connected(&self, client: &ClientInfo) {
        self.0.on_connect(client);
    }

    fn disconnected(&self, client: &ClientInfo) {
        self.0.on_disconnect(client);
    }
}
