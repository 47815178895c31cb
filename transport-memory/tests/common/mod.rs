//! The smallest tokio `Runtime`: what this crate's tests and benchmark run on (the memory
//! transport needs no adapter crate, so none is pulled in for it).

use std::time::Instant;

use futures::future::BoxFuture;
use jsonrpc_proto::peer::Runtime;

/// tokio's spawn and timer behind jsonrpc-proto's `Runtime`.
#[derive(Clone)]
pub struct Tokio;

impl Runtime for Tokio {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
    fn sleep_until(&self, at: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(at.into()))
    }
}
