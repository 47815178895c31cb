//! A small async-std client of the calculator: a call over HTTP, then a WebSocket session that
//! receives the server's `welcome` notification and sends a batch.
//!
//! ```sh
//! cargo run --example calculator_smol &          # or: cargo run --example calculator
//! cargo run --example client_async_std -- 127.0.0.1:8000
//! ```

use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use transport_async_std::{connect_http_with, connect_ws_with, AsyncIoRuntime, ConnectOptions};

fn options() -> ConnectOptions {
    ConnectOptions::default().with_runtime(Some(AsyncIoRuntime::async_std()))
}

async fn run(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let http = connect_http_with(&format!("http://{addr}/"), options()).await?;
    let sum: Value = http.request("add", json!({"a": 5, "b": 3})).await?;
    println!("HTTP  add(5, 3) = {sum}");

    let ws = connect_ws_with(&format!("ws://{addr}/ws"), options()).await?;
    let mut notes = ws.notifications();
    let product: Value = ws.request("multiply", [6, 7]).await?;
    println!("WS    multiply(6, 7) = {product}");
    // The welcome is pushed on connect; it can arrive before `notifications()` subscribed, so
    // wait a little for it, not forever.
    let timer = async_io::Timer::after(Duration::from_secs(1));
    match futures::future::select(notes.next(), timer).await {
        futures::future::Either::Left((Some(welcome), _)) => {
            let params = welcome.params.as_deref().map_or("null", |p| p.get());
            println!("WS    notification {}: {params}", welcome.method);
        }
        _ => println!("WS    (no welcome notification seen)"),
    }
    let mut batch = ws.batch();
    let a = batch.request("subtract", [10, 4]);
    let b = batch.request("divide", json!({"a": 1, "b": 0}));
    let results = batch.send().await?;
    match &results[a] {
        Ok(v) => println!("batch subtract(10, 4) = {}", v.get()),
        Err(e) => println!("batch subtract failed: {e}"),
    }
    match &results[b] {
        Ok(v) => println!("batch divide(1, 0) = {}", v.get()),
        Err(e) => println!("batch divide(1, 0) failed as expected: {e}"),
    }
    ws.close().await;
    Ok(())
}

fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    match async_std::task::block_on(run(&addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e} (is the calculator running on {addr}?)");
            ExitCode::FAILURE
        }
    }
}
