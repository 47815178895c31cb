//! Our stack as both of our sides use it: the router our servers offer (over the network in
//! [`crate::ours`], in memory in [`crate::memory_side`]) and our client behind [`RpcClient`].

use std::time::Duration;

use jsonrpc_proto::peer::{Client, ClientError};
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;

use crate::client::{BoxFut, RpcClient};
use crate::common::{Result, FAST_ANSWER, MIB, SLOW_ANSWER};

/// The router our servers offer: `add` by position and jsonrpsee's matrix methods, registered
/// as jsonrpsee's servers in this crate register them.
pub fn router() -> Result<Router> {
    Ok(Router::builder()
        // Synchronous handlers where jsonrpsee's servers register synchronous ones
        // (`register_method`), the async one where they register an async one.
        .method_sync("add", |_ctx: Context, (a, b): (i64, i64)| {
            Ok::<i64, ErrorObject>(a + b)
        })
        .method_sync("fast_call", |_ctx: Context, _: ()| {
            Ok::<&str, ErrorObject>(FAST_ANSWER)
        })
        .method_sync("memory_intense", |_ctx: Context, _: ()| {
            Ok::<String, ErrorObject>("A".repeat(MIB))
        })
        .method("slow_call", |_ctx: Context, _: ()| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok::<&str, ErrorObject>(SLOW_ANSWER)
        })
        .build()?)
}

/// Our client behind [`RpcClient`].
pub struct Ours(pub Client);

fn err(e: ClientError) -> crate::common::Error {
    Box::new(e)
}

impl RpcClient for Ours {
    fn add(&self, a: i64, b: i64) -> BoxFut<'_, i64> {
        Box::pin(async move { self.0.request::<i64, _>("add", (a, b)).await.map_err(err) })
    }

    fn call_str(&self, method: &'static str) -> BoxFut<'_, String> {
        Box::pin(async move { self.0.request::<String, _>(method, ()).await.map_err(err) })
    }

    fn batch_add<'a>(&'a self, pairs: &'a [(i64, i64)]) -> BoxFut<'a, Vec<i64>> {
        Box::pin(async move {
            let mut b = self.0.batch();
            for &p in pairs {
                b.request("add", p);
            }
            let mut out = Vec::with_capacity(pairs.len());
            for r in b.send_as::<i64>().await.map_err(err)? {
                out.push(r.map_err(err)?);
            }
            Ok(out)
        })
    }

    fn batch_str(&self, method: &'static str, n: usize) -> BoxFut<'_, Vec<String>> {
        Box::pin(async move {
            let mut b = self.0.batch();
            for _ in 0..n {
                b.request(method, ());
            }
            let mut out = Vec::with_capacity(n);
            for r in b.send_as::<String>().await.map_err(err)? {
                out.push(r.map_err(err)?);
            }
            Ok(out)
        })
    }

    fn unknown_method(&self) -> BoxFut<'_, i64> {
        Box::pin(async move {
            match self
                .0
                .request::<serde_json::Value, _>("no_such_method", ())
                .await
            {
                Ok(v) => Err(format!("unknown method answered {v}").into()),
                Err(ClientError::Rpc(obj)) => Ok(i64::from(obj.code)),
                Err(e) => Err(err(e)),
            }
        })
    }
}
