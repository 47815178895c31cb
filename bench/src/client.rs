//! The client side seen by the workloads: one small object-safe trait, implemented for
//! jsonrpsee's clients here and for ours in [`crate::ours`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jsonrpsee::core::client::{ClientT, Error as JError};
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};

use crate::common::Result;

/// A boxed future returning [`Result`].
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What a benchmarked client can do. Every call goes through one boxed future, the same cost
/// for both libraries.
pub trait RpcClient: Send + Sync + 'static {
    /// `add` with positional params `[a, b]`, expecting the number `a + b`.
    fn add(&self, a: i64, b: i64) -> BoxFut<'_, i64>;
    /// A method without params answering a string (the matrix methods).
    fn call_str(&self, method: &'static str) -> BoxFut<'_, String>;
    /// One batch of `add` calls; answers in request order.
    fn batch_add<'a>(&'a self, pairs: &'a [(i64, i64)]) -> BoxFut<'a, Vec<i64>>;
    /// One batch of `n` calls of a string method without params.
    fn batch_str(&self, method: &'static str, n: usize) -> BoxFut<'_, Vec<String>>;
    /// Calls a method the server does not have; answers the error code it got.
    fn unknown_method(&self) -> BoxFut<'_, i64>;
}

/// A jsonrpsee client (WebSocket or HTTP) behind [`RpcClient`].
pub struct Jsonrpsee<C>(pub C);

fn jerr(e: JError) -> crate::common::Error {
    Box::new(e)
}

impl<C: ClientT + Send + Sync + 'static> RpcClient for Jsonrpsee<C> {
    fn add(&self, a: i64, b: i64) -> BoxFut<'_, i64> {
        Box::pin(async move {
            self.0
                .request::<i64, _>("add", rpc_params![a, b])
                .await
                .map_err(jerr)
        })
    }

    fn call_str(&self, method: &'static str) -> BoxFut<'_, String> {
        Box::pin(async move {
            self.0
                .request::<String, _>(method, rpc_params![])
                .await
                .map_err(jerr)
        })
    }

    fn batch_add<'a>(&'a self, pairs: &'a [(i64, i64)]) -> BoxFut<'a, Vec<i64>> {
        Box::pin(async move {
            let mut batch = BatchRequestBuilder::new();
            for &(a, b) in pairs {
                batch.insert("add", rpc_params![a, b])?;
            }
            let res = self.0.batch_request::<i64>(batch).await.map_err(jerr)?;
            let mut out = Vec::with_capacity(pairs.len());
            for r in res.into_iter() {
                out.push(r.map_err(|e| format!("batch entry failed: {e}"))?);
            }
            Ok(out)
        })
    }

    fn batch_str(&self, method: &'static str, n: usize) -> BoxFut<'_, Vec<String>> {
        Box::pin(async move {
            let mut batch = BatchRequestBuilder::new();
            for _ in 0..n {
                batch.insert(method, rpc_params![])?;
            }
            let res = self.0.batch_request::<String>(batch).await.map_err(jerr)?;
            let mut out = Vec::with_capacity(n);
            for r in res.into_iter() {
                out.push(r.map_err(|e| format!("batch entry failed: {e}"))?);
            }
            Ok(out)
        })
    }

    fn unknown_method(&self) -> BoxFut<'_, i64> {
        Box::pin(async move {
            match self
                .0
                .request::<serde_json::Value, _>("no_such_method", rpc_params![])
                .await
            {
                Ok(v) => Err(format!("unknown method answered {v}").into()),
                Err(JError::Call(obj)) => Ok(obj.code() as i64),
                Err(e) => Err(jerr(e)),
            }
        })
    }
}

/// Connects jsonrpsee's WebSocket client (limits raised as in jsonrpsee's own benchmarks).
pub async fn jsonrpsee_ws(url: &str) -> Result<Arc<dyn RpcClient>> {
    let c: WsClient = WsClientBuilder::default()
        .max_request_size(u32::MAX)
        .max_response_size(u32::MAX)
        .max_concurrent_requests(1024 * 1024)
        .build(url)
        .await?;
    Ok(Arc::new(Jsonrpsee(c)))
}

/// Builds jsonrpsee's HTTP client (keep-alive pool; limits raised as in jsonrpsee's benchmarks).
pub fn jsonrpsee_http(url: &str) -> Result<Arc<dyn RpcClient>> {
    let c: HttpClient = HttpClientBuilder::default()
        .max_request_size(u32::MAX)
        .max_response_size(u32::MAX)
        .max_concurrent_requests(1024 * 1024)
        .build(url)?;
    Ok(Arc::new(Jsonrpsee(c)))
}
