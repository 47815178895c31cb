//! Our protocol stack without a network: `jsonrpc-proto`'s Server and Client joined by
//! `transport-memory`, on tokio. Used to profile the core and the async layer alone.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use jsonrpc_proto::peer::{ClientConfig, Runtime, Server, ServerConfig};

use crate::client::RpcClient;
use crate::common::Result;
use crate::ours_stack::{router, Ours};

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
    Ok(Arc::new(Ours(client)))
}
