//! A bounded load test on loopback: many WebSocket clients and many HTTP calls at once; every
//! answer is checked against its own call; the server's bookkeeping returns to zero and the
//! process's memory stays bounded: 1,000 WebSocket clients x 100 calls, and 10,000 HTTP calls
//! from 64 clients (a few seconds in debug). Figures: `cargo test --release -p transport-tokio
//! --test load -- --nocapture`.

mod util;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonrpc_proto::peer::Client;
use serde_json::{json, Value};
use transport_tokio::{connect_http, connect_ws, RunningServer, Server};
use util::*;

/// Calls each client keeps in flight at once.
const PIPELINE: usize = 10;

struct Figures {
    what: String,
    calls: u64,
    elapsed: Duration,
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
}

impl Figures {
    fn print(&self) {
        let what = &self.what;
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        println!(
            "{what}: {} calls in {:.2} s = {:.0} calls/s; RSS before {:.1} MiB, peak {:.1} MiB, after {:.1} MiB",
            self.calls,
            self.elapsed.as_secs_f64(),
            self.calls as f64 / self.elapsed.as_secs_f64(),
            mib(self.rss_before),
            mib(self.rss_peak),
            mib(self.rss_after),
        );
    }
}

/// Samples the RSS every 20 ms until dropped; keeps the peak.
struct PeakRss {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    fn start() -> PeakRss {
        let peak = Arc::new(AtomicU64::new(rss_bytes().unwrap_or(0)));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                p.fetch_max(rss_bytes().unwrap_or(0), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        PeakRss { peak, task }
    }

    fn stop(self) -> u64 {
        self.task.abort();
        self.peak
            .load(Ordering::Relaxed)
            .max(rss_bytes().unwrap_or(0))
    }
}

/// `calls` calls of `echo [client, i]` with up to [`PIPELINE`] in flight; each answer must be
/// its own call's params.
async fn run_client(client: Client, who: u64, calls: u64) -> u64 {
    use futures::StreamExt;
    let answered = futures::stream::iter(0..calls)
        .map(|i| {
            let client = client.clone();
            async move {
                let got: Value = client
                    .request("echo", json!([who, i, format!("c{who}-{i}")]))
                    .await
                    .unwrap_or_else(|e| panic!("client {who} call {i}: {e}"));
                assert_eq!(
                    got,
                    json!([who, i, format!("c{who}-{i}")]),
                    "mismatched answer"
                );
            }
        })
        .buffer_unordered(PIPELINE)
        .count()
        .await;
    answered as u64
}

/// (soft, hard) open-file limits of this process.
fn open_file_limits() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut it = line.split_whitespace().skip(3);
    let parse = |v: Option<&str>| v.and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
    Some((parse(it.next()), parse(it.next())))
}

/// Raises the soft open-file limit towards `want` (util-linux `prlimit`, up to the hard
/// limit) and returns how many WebSocket clients fit.
fn fit_clients(clients: u64) -> u64 {
    let want = clients * 2 + 256;
    let Some((soft, hard)) = open_file_limits() else {
        return clients;
    };
    if soft < want {
        let target = want.min(hard);
        let _ = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={target}:{hard}"))
            .status();
    }
    let soft = open_file_limits().map_or(soft, |l| l.0);
    let fit = soft.saturating_sub(256) / 2;
    if fit < clients {
        println!("open-file limit {soft}: running {fit} WebSocket clients instead of {clients}");
        return fit.max(1);
    }
    clients
}

async fn server() -> RunningServer {
    Server::builder(router(Arc::default()))
        .http("127.0.0.1:0")
        .start()
        .await
        .expect("start")
}

async fn ws_load(clients: u64, calls: u64) -> Figures {
    // Two sockets per client (both ends are in this process) plus slack.
    let clients = fit_clients(clients);
    let server = server().await;
    let url = format!("ws://{}/ws", server.http_addr().unwrap());
    let rss_before = rss_bytes().unwrap_or(0);
    let peak = PeakRss::start();
    let started = Instant::now();
    // Connect everyone first (bounded concurrency for the handshakes), then call at once.
    let mut conns = Vec::with_capacity(clients as usize);
    for chunk in (0..clients).collect::<Vec<_>>().chunks(100) {
        let batch = futures::future::join_all(chunk.iter().map(|_| connect_ws(&url))).await;
        for c in batch {
            conns.push(c.expect("connect"));
        }
    }
    let h = server.handle();
    until("every client registered", || {
        h.client_count() == clients as usize
    })
    .await;
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(who, c)| tokio::spawn(run_client(c, who as u64, calls)))
        .collect();
    let mut total = 0;
    for t in tasks {
        total += bounded("a WebSocket client", t).await.expect("client task");
    }
    let elapsed = started.elapsed();
    assert_eq!(total, clients * calls, "lost answers");
    until("every client gone", || h.client_count() == 0).await;
    until("no calls left", || h.pending_requests() == 0).await;
    until("no sockets left", || server.open_connections() == 0).await;
    server.shutdown().await;
    let rss_peak = peak.stop();
    Figures {
        what: format!("WebSocket {clients} clients x {calls} calls"),
        calls: total,
        elapsed,
        rss_before,
        rss_peak,
        rss_after: rss_bytes().unwrap_or(0),
    }
}

async fn http_load(clients: u64, total_calls: u64) -> Figures {
    let server = server().await;
    let url = format!("http://{}/", server.http_addr().unwrap());
    let rss_before = rss_bytes().unwrap_or(0);
    let peak = PeakRss::start();
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|who| {
            let url = url.clone();
            // Spread total_calls exactly over the clients.
            let calls = total_calls / clients + u64::from(who < total_calls % clients);
            tokio::spawn(async move {
                let client = connect_http(&url).await.expect("connect");
                run_client(client, who, calls).await
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += bounded("an HTTP client", t).await.expect("client task");
    }
    let elapsed = started.elapsed();
    assert_eq!(total, total_calls, "lost answers");
    let h = server.handle();
    until("no calls left", || h.pending_requests() == 0).await;
    server.shutdown().await;
    let rss_peak = peak.stop();
    Figures {
        what: format!("HTTP {total_calls} calls from {clients} clients"),
        calls: total,
        elapsed,
        rss_before,
        rss_peak,
        rss_after: rss_bytes().unwrap_or(0),
    }
}

/// Generous: memory must not grow with the number of calls made (a leak per call of even
/// 1 KiB would show here as 100 MiB in the big variant).
fn assert_bounded(f: &Figures, limit_mib: u64) {
    if f.rss_before == 0 {
        return; // no /proc: nothing to measure
    }
    let grown = f.rss_after.saturating_sub(f.rss_before);
    assert!(
        grown < limit_mib * 1024 * 1024,
        "RSS grew by {} MiB (limit {limit_mib} MiB)",
        grown / (1024 * 1024)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_websocket_clients_and_ten_thousand_http_calls() {
    let ws = ws_load(1_000, 100).await;
    ws.print();
    assert_bounded(&ws, 512);
    let http = http_load(64, 10_000).await;
    http.print();
    assert_bounded(&http, 512);
}
