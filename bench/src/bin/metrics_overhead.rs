//! Metrics overhead: our server's WebSocket and HTTP throughput (64 callers on one client,
//! as `compare`'s throughput rows) with `.metrics(true)` against without, rounds interleaved
//! off/on, medians reported. Each round starts fresh servers.
//!
//! ```sh
//! cargo run --release -p bench --bin metrics_overhead -- [ROUNDS] [WS_CALLS] [HTTP_CALLS]
//! ```

use std::time::Duration;

use bench::{ours, workloads, Result, MIB};
use transport_tokio::{RunningServer, Server};

async fn server(metrics: bool) -> Result<RunningServer> {
    Ok(Server::builder(bench::memory_side::router()?)
        .http("127.0.0.1:0")
        .max_body(64 * MIB)
        .max_ws_message(64 * MIB)
        .metrics(metrics)
        .start()
        .await?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let ws_calls: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let http_calls: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(30_000);
    let cap = Duration::from_secs(30);
    let (mut ws, mut http) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for round in 0..rounds {
        for metrics in [false, true] {
            let s = server(metrics).await?;
            let addr = s.http_addr().ok_or("no HTTP address")?;
            let c = ours::connect_ws(&format!("ws://{addr}/ws")).await?;
            let w = workloads::throughput(c, 64, ws_calls, cap).await?;
            let c = ours::connect_http(&format!("http://{addr}/")).await?;
            let h = workloads::throughput(c, 64, http_calls, cap).await?;
            eprintln!("round {round} metrics={metrics}: ws {w:.0}/s http {h:.0}/s");
            ws[usize::from(metrics)].push(w);
            http[usize::from(metrics)].push(h);
            s.shutdown().await;
        }
    }
    for (name, v) in [("websocket", ws), ("http", http)] {
        let [off, on] = v;
        let (off, on) = (median(off), median(on));
        println!(
            "{name}: metrics off {off:.0} calls/s, on {on:.0} calls/s, change {:+.1}%",
            (on / off - 1.0) * 100.0
        );
    }
    Ok(())
}
