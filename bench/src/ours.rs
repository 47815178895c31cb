//! Our side: the server (a calculator-like router on `transport-tokio`'s server) and our
//! WebSocket and HTTP clients, behind [`RpcClient`].

use std::sync::Arc;

use transport_tokio::Server;
use transport_tokio::{connect_http_with, connect_ws_with, ConnectOptions};

use crate::client::RpcClient;
use crate::common::{Result, MIB};
use crate::ours_stack::{router, Ours};
use crate::servers::Running;

/// True once our server and clients are wired in.
pub const AVAILABLE: bool = true;

/// The largest message or body either side accepts in the benchmark (as jsonrpsee's benchmark
/// raises its limits; the 729-call matrix cell needs no more than 1 MiB per message).
const MAX_MESSAGE: usize = 64 * MIB;

/// Starts our server on 127.0.0.1, port 0: HTTP on `/`, WebSocket on `/ws`.
pub async fn start_server() -> Result<Running> {
    let server = Server::builder(router()?)
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
    let mut o = ConnectOptions::default().with_max_message(MAX_MESSAGE);
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
