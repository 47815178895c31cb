//! A browser-facing JSON-RPC server: CORS, metrics at /metrics, tracing spans to stdout.
//!
//! ```sh
//! cargo run --example browser -- 127.0.0.1:8000 http://localhost:3000
//! # from the page on http://localhost:3000:
//! #   fetch("http://127.0.0.1:8000/", {method: "POST",
//! #     headers: {"Content-Type": "application/json"},
//! #     body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "greet", params: ["web"]})})
//! curl http://127.0.0.1:8000/metrics
//! ```

use std::process::ExitCode;

use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // One line per call when its span closes, with the rpc.* fields and its duration.
        .with_span_events(FmtSpan::CLOSE)
        .init();
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let mut origins: Vec<String> = args.collect();
    if origins.is_empty() {
        origins.push("http://localhost:3000".to_owned());
    }
    let server = match examples::browser::start(&addr, &origins).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(a) = server.http_addr() {
        println!("browser example on http://{a}/ for pages on {origins:?}; metrics at http://{a}/metrics");
    }
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.shutdown();
        }
    });
    server.wait().await;
    ExitCode::SUCCESS
}
