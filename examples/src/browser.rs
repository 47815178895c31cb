//! browser: a JSON-RPC server a web page calls directly (CORS), with Prometheus metrics at
//! `GET /metrics` and a `tracing` span per call printed to stdout.
//!
//! The stack, outermost first: HTTP: CORS for the given origins -> Host allow-list
//! (`localhost`, `127.0.0.1`, `::1`) -> JSON-RPC handling; RPC: metrics -> the call's span ->
//! a 2 s per-method timeout (tower's `TimeoutLayer`, under tokio) -> the handler.

use std::time::Duration;

use jsonrpc_proto::service::{Context, Router, RouterError};
use jsonrpc_proto::ErrorObject;
use serde_json::json;
use transport_tokio::{RunningServer, Server};

/// The router: `add`, `greet` and `slow` (sleeps `ms`), with a 2 s tower timeout.
pub fn router() -> Result<Router, RouterError> {
    Router::builder()
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(2)))
        .method("add", |_c: Context, (a, b): (i64, i64)| async move {
            a.checked_add(b)
                .ok_or_else(|| ErrorObject::invalid_params("overflow"))
        })
        .method("greet", |c: Context, (name,): (String,)| async move {
            tracing::info!(%name, "greeting");
            Ok::<_, ErrorObject>(json!({
                "greeting": format!("Hello, {name}!"),
                "origin": c.transport().header("origin"),
                "request_id": c.request_id().map(ToString::to_string),
            }))
        })
        .method("slow", |c: Context, (ms,): (u64,)| async move {
            c.sleep(Duration::from_millis(ms.min(60_000))).await;
            Ok::<_, ErrorObject>(ms)
        })
        .build()
}

/// Serves [`router`] on `addr` for pages on `origins` (`*`: any), metrics on.
pub async fn start(
    addr: &str,
    origins: &[String],
) -> Result<RunningServer, Box<dyn std::error::Error>> {
    let server = Server::builder(router()?)
        .http(addr)
        .node_name("browser")
        .cors(origins)
        .allow_hosts(["localhost", "127.0.0.1", "::1"])
        .metrics(true)
        .start()
        .await?;
    Ok(server)
}
