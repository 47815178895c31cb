//! Our protocol stack without a network: `jsonrpc-proto`'s Server and Client joined by
//! `transport-memory`, on tokio. Used to profile the core and the async layer alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jsonrpc_proto::peer::{ClientConfig, Runtime, Server, ServerConfig};
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;

use crate::client::RpcClient;
use crate::{Result, FAST_ANSWER, MIB, SLOW_ANSWER};

/// The router our servers offer: `add` by position and jsonrpsee's matrix methods.
pub fn router() -> Result<Router> {
    Ok(Router::builder()
        .method("add", |_ctx: Context, (a, b): (i64, i64)| async move {
            Ok::<i64, ErrorObject>(a + b)
        })
        .method("fast_call", |_ctx: Context, _: ()| async {
            Ok::<&str, ErrorObject>(FAST_ANSWER)
        })
        .method("memory_intense", |_ctx: Context, _: ()| async {
            Ok::<String, ErrorObject>("A".repeat(MIB))
        })
        .method("slow_call", |_ctx: Context, _: ()| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok::<&str, ErrorObject>(SLOW_ANSWER)
        })
        .build()?)
}

/// A minimal tokio [`Runtime`] (the bench's own, so this works without transport-tokio).
#[derive(Clone)]
pub struct Tokio(pub tokio::runtime::Handle);

impl Runtime for Tokio {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.0.spawn(task);
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// A client of a fresh in-memory server (call inside a tokio runtime).
pub fn client() -> Result<Arc<dyn RpcClient>> {
    let rt = Tokio(tokio::runtime::Handle::current());
    let server = Server::new(router()?, rt.clone(), ServerConfig::default());
    let client = transport_memory::serve_memory_with(&server, rt, ClientConfig::default());
    Ok(Arc::new(crate::ours::Ours(client)))
}
