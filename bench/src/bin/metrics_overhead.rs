//! Metrics overhead: our server's WebSocket and HTTP throughput (64 callers on one client,
//! as `compare`'s throughput rows) with `.metrics(true)` against without, rounds interleaved
//! off/on, medians reported. Each round starts fresh servers. Besides calls per wall-clock
//! second it reports calls per CPU second of this process (client and server: from
//! /proc/self/stat, Linux), which other load on a shared machine disturbs far less.
//!
//! ```sh
//! cargo run --release -p bench --bin metrics_overhead -- [ROUNDS] [WS_CALLS] [HTTP_CALLS]
//! ```

use std::time::Duration;

use bench::{ours, workloads, Result, MIB};
use transport_tokio::{RunningServer, Server};

async fn server(metrics: bool) -> Result<RunningServer> {
    Ok(Server::builder(bench::ours_stack::router()?)
        .http("127.0.0.1:0")
        .max_body(64 * MIB)
        .max_ws_message(64 * MIB)
        .metrics(metrics)
        .start()
        .await?)
}

/// This process's user + system CPU time in seconds (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at ") ".
    let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
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
    let mut ws: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    let mut http: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Alternate which goes first, so a drift during a round favours neither.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for metrics in order {
            let s = server(metrics).await?;
            let addr = s.http_addr().ok_or("no HTTP address")?;
            let c = ours::connect_ws(&format!("ws://{addr}/ws")).await?;
            let cpu = cpu_seconds();
            let w = workloads::throughput(c, 64, ws_calls, cap).await?;
            let w_cpu = (ws_calls + 20) as f64 / (cpu_seconds() - cpu).max(0.01);
            let c = ours::connect_http(&format!("http://{addr}/")).await?;
            let cpu = cpu_seconds();
            let h = workloads::throughput(c, 64, http_calls, cap).await?;
            let h_cpu = (http_calls + 20) as f64 / (cpu_seconds() - cpu).max(0.01);
            eprintln!(
                "round {round} metrics={metrics}: ws {w:.0}/s ({w_cpu:.0}/cpu-s) http {h:.0}/s ({h_cpu:.0}/cpu-s)"
            );
            ws[usize::from(metrics)].push((w, w_cpu));
            http[usize::from(metrics)].push((h, h_cpu));
            s.shutdown().await;
        }
    }
    for (name, v) in [("websocket", ws), ("http", http)] {
        let [off, on] = v;
        let wall = |v: &Vec<(f64, f64)>| median(v.iter().map(|x| x.0).collect());
        let cpu = |v: &Vec<(f64, f64)>| median(v.iter().map(|x| x.1).collect());
        let (off_w, on_w, off_c, on_c) = (wall(&off), wall(&on), cpu(&off), cpu(&on));
        println!(
            "{name}: metrics off {off_w:.0} calls/s, on {on_w:.0} calls/s ({:+.1}%); \
             per CPU second off {off_c:.0}, on {on_c:.0} ({:+.1}%)",
            (on_w / off_w - 1.0) * 100.0,
            (on_c / off_c - 1.0) * 100.0
        );
    }
    Ok(())
}
