//! Our side: the server (a calculator-like router) and our WebSocket and HTTP clients.
//!
//! Placeholder until the async layer and the tokio adapter land on this branch.

use std::sync::Arc;

use jsonrpc_proto::peer::{Client, ClientError};

use crate::client::{BoxFut, RpcClient};
use crate::servers::Running;
use crate::Result;

/// True once our server and clients are wired in.
pub const AVAILABLE: bool = false;

const MISSING: &str = "our server and clients are not merged into this branch yet";

/// Starts our server.
pub async fn start_server() -> Result<Running> {
    Err(MISSING.into())
}

/// Connects our WebSocket client.
pub async fn connect_ws(_url: &str) -> Result<Arc<dyn RpcClient>> {
    Err(MISSING.into())
}

/// Builds our HTTP client.
pub async fn connect_http(_url: &str) -> Result<Arc<dyn RpcClient>> {
    Err(MISSING.into())
}

/// Our client behind [`RpcClient`].
pub struct Ours(pub Client);

fn err(e: ClientError) -> crate::Error {
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
            for r in b.send().await.map_err(err)? {
                out.push(serde_json::from_str(r.map_err(err)?.get())?);
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
            for r in b.send().await.map_err(err)? {
                out.push(serde_json::from_str(r.map_err(err)?.get())?);
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
