//! Our side: the server (a calculator-like router on `transport-tokio`'s server) and our
//! WebSocket and HTTP clients, behind [`RpcClient`].

use std::sync::Arc;

use jsonrpc_proto::peer::{Client, ClientError};
use transport_tokio::Server;
use transport_tokio::{connect_http_with, connect_ws_with, ConnectOptions};

use crate::client::{BoxFut, RpcClient};
use crate::servers::Running;
use crate::{Result, MIB};

/// True once our server and clients are wired in.
pub const AVAILABLE: bool = true;

/// The largest message or body either side accepts in the benchmark (as jsonrpsee's benchmark
/// raises its limits; the 729-call matrix cell needs no more than 1 MiB per message).
const MAX_MESSAGE: usize = 64 * MIB;

/// Starts our server on 127.0.0.1, port 0: HTTP on `/`, WebSocket on `/ws`.
pub async fn start_server() -> Result<Running> {
    let server = Server::builder(crate::memory_side::router()?)
        .http("127.0.0.1:0")
        .max_body(MAX_MESSAGE)
        .max_ws_message(MAX_MESSAGE)
        .spawn_calls(std::env::var_os("BENCH_SPAWN_CALLS").is_some())
        .start()
        .await?;
    let addr = server.http_addr().ok_or("our server has no HTTP address")?;
    Ok(Running {
        ws_url: format!("ws://{addr}/ws"),
        http_url: format!("http://{addr}/"),
        guard: Box::new(server),
    })
}

fn options() -> ConnectOptions {
    let mut o = ConnectOptions {
        max_message: MAX_MESSAGE,
        ..ConnectOptions::default()
    };
    o.http.max_response = MAX_MESSAGE;
    // like jsonrpsee's hyper pool, keep a connection per concurrent caller
    o.http.max_idle = 64;
    o
}

/// Connects our WebSocket client.
pub async fn connect_ws(url: &str) -> Result<Arc<dyn RpcClient>> {
    Ok(Arc::new(Ours(connect_ws_with(url, options()).await?)))
}

/// Builds our HTTP client.
pub async fn connect_http(url: &str) -> Result<Arc<dyn RpcClient>> {
    Ok(Arc::new(Ours(connect_http_with(url, options()).await?)))
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
