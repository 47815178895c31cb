//! The workloads. Each is bounded by a call count and a wall-clock cap, checks every answer (a
//! wrong answer is an error, never a fast result) and returns one number.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::client::RpcClient;
use crate::common::{expected_len, Result, MATRIX_METHODS};
use crate::servers::EchoClient;
use crate::stats::{median, quantile};

/// The request the TCP floor echoes: the same bytes a client sends for `add` `[1, 2]`.
pub const ADD_REQUEST: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}"#;

/// Median and 99th percentile of one latency run, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

fn summarize(mut samples: Vec<f64>) -> Latency {
    let p99 = quantile(&mut samples, 0.99);
    let p50 = median(&mut samples);
    Latency { p50, p99 }
}

async fn check_add(client: &dyn RpcClient, i: i64) -> Result<()> {
    let got = client.add(i, 1).await?;
    if got != i + 1 {
        return Err(format!("add({i}, 1) answered {got}").into());
    }
    Ok(())
}

/// Sequential round trips of `add` (after a short warm-up), one at a time.
pub async fn latency(client: &dyn RpcClient, calls: usize, cap: Duration) -> Result<Latency> {
    for i in 0..20 {
        check_add(client, i).await?;
    }
    let start = Instant::now();
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls {
        let t = Instant::now();
        check_add(client, i as i64).await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        if start.elapsed() > cap {
            break;
        }
    }
    Ok(summarize(samples))
}

/// Sequential round trips of the `add` request bytes through the TCP echo floor.
pub async fn floor_latency(addr: SocketAddr, calls: usize, cap: Duration) -> Result<Latency> {
    let mut c = EchoClient::connect(addr).await?;
    for _ in 0..20 {
        c.round_trip(ADD_REQUEST).await?;
    }
    let start = Instant::now();
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        c.round_trip(ADD_REQUEST).await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        if start.elapsed() > cap {
            break;
        }
    }
    Ok(summarize(samples))
}

/// The `add` calls of a WebSocket batch of `size` as one JSON text, as the TCP floor echoes it.
pub fn batch_request(size: usize) -> Vec<u8> {
    let calls: Vec<String> = (0..size)
        .map(|i| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{i},"method":"add","params":[{i},{}]}}"#,
                2 * i
            )
        })
        .collect();
    format!("[{}]", calls.join(",")).into_bytes()
}

/// The TCP floor of [`throughput`]: the `add` request bytes echoed with `in_flight` of them
/// outstanding on one connection. Answers lines per second.
pub async fn floor_throughput(
    addr: SocketAddr,
    in_flight: usize,
    calls: usize,
    cap: Duration,
) -> Result<f64> {
    let mut c = EchoClient::connect(addr).await?;
    c.pipelined(ADD_REQUEST, in_flight, 200, cap).await?;
    c.pipelined(ADD_REQUEST, in_flight, calls, cap).await
}

/// The TCP floor of [`batch`]: the bytes of a batch of `size` `add` calls echoed one at a time.
/// Answers calls (batch members) per second.
pub async fn floor_batch(addr: SocketAddr, size: usize, reps: usize, cap: Duration) -> Result<f64> {
    let msg = batch_request(size);
    let mut c = EchoClient::connect(addr).await?;
    c.round_trip(&msg).await?;
    let start = Instant::now();
    let mut done = 0;
    for _ in 0..reps {
        c.round_trip(&msg).await?;
        done += size;
        if start.elapsed() > cap {
            break;
        }
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// `callers` tasks share one client and call `add` back to back until `calls` calls are done
/// (or `cap` passed): with one WebSocket client that is `callers` calls in flight on one
/// connection. Answers calls per second.
pub async fn throughput(
    client: Arc<dyn RpcClient>,
    callers: usize,
    calls: usize,
    cap: Duration,
) -> Result<f64> {
    for i in 0..20 {
        check_add(&*client, i).await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + cap;
    let mut tasks = Vec::with_capacity(callers);
    for _ in 0..callers {
        let client = client.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls || Instant::now() > deadline {
                    return Ok::<usize, crate::common::Error>(done);
                }
                check_add(&*client, i as i64).await?;
                done += 1;
            }
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Batches of `size` `add` calls, one batch at a time. Answers calls per second.
pub async fn batch(client: &dyn RpcClient, size: usize, reps: usize, cap: Duration) -> Result<f64> {
    let pairs: Vec<(i64, i64)> = (0..size as i64).map(|i| (i, 2 * i)).collect();
    let check = |got: Vec<i64>| -> Result<()> {
        if got.len() != size || got.iter().enumerate().any(|(i, &s)| s != 3 * i as i64) {
            return Err(format!("batch of {size} answered wrongly").into());
        }
        Ok(())
    };
    check(client.batch_add(&pairs).await?)?;
    let start = Instant::now();
    let mut done = 0;
    for _ in 0..reps {
        check(client.batch_add(&pairs).await?)?;
        done += size;
        if start.elapsed() > cap {
            break;
        }
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// jsonrpsee's round-trip cell: `size` concurrent calls on one client, a third each of
/// `fast_call`, `memory_intense` (1 MiB answer) and `slow_call` (sleeps 1 ms). Answers the
/// median milliseconds per iteration.
pub async fn matrix_round_trip(
    client: &dyn RpcClient,
    size: usize,
    iters: usize,
    cap: Duration,
) -> Result<f64> {
    let start = Instant::now();
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        let mut futs = FuturesUnordered::new();
        for _ in 0..size / 3 {
            for m in MATRIX_METHODS {
                futs.push(async move {
                    let s = client.call_str(m).await?;
                    if s.len() != expected_len(m) {
                        return Err(crate::common::Error::from(format!(
                            "{m} answered {} bytes",
                            s.len()
                        )));
                    }
                    Ok(())
                });
            }
        }
        while let Some(r) = futs.next().await {
            r?;
        }
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        if start.elapsed() > cap {
            break;
        }
    }
    if std::env::var_os("BENCH_QUANTILES").is_some() {
        eprintln!("{}", spread(&samples));
    }
    Ok(median(&mut samples))
}

/// Mean, quantiles and an 8-bin histogram from the least sample to the 95th percentile of
/// `samples` (milliseconds): a cell whose median jumps between runs shows its modes here.
fn spread(samples: &[f64]) -> String {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return "no samples".into();
    }
    let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let (lo, hi) = (v[0], q(0.95));
    let width = ((hi - lo) / 8.0).max(1e-9);
    let mut bins = [0usize; 8];
    for &x in v.iter().filter(|&&x| x <= hi) {
        bins[(((x - lo) / width) as usize).min(7)] += 1;
    }
    format!(
        "n {} mean {mean:.3} p10 {:.3} p25 {:.3} p50 {:.3} p75 {:.3} p90 {:.3}; \
         histogram {lo:.2}..{hi:.2} ms by {width:.3}: {bins:?}",
        v.len(),
        q(0.1),
        q(0.25),
        q(0.5),
        q(0.75),
        q(0.9)
    )
}

/// jsonrpsee's batch cell: one batch of `size` `fast_call`s at a time. Answers the median
/// microseconds per batch.
pub async fn matrix_batch(
    client: &dyn RpcClient,
    size: usize,
    iters: usize,
    cap: Duration,
) -> Result<f64> {
    let start = Instant::now();
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        let got = client.batch_str("fast_call", size).await?;
        if got.len() != size || got.iter().any(|s| s != crate::common::FAST_ANSWER) {
            return Err(format!("batch of {size} fast_call answered wrongly").into());
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        if start.elapsed() > cap {
            break;
        }
    }
    Ok(median(&mut samples))
}

/// jsonrpsee's concurrent-connections cell: `clients` already connected, each makes 10
/// concurrent `fast_call`s from its own task. Answers milliseconds for all of them.
pub async fn matrix_connections(clients: &[Arc<dyn RpcClient>]) -> Result<f64> {
    let t = Instant::now();
    let mut tasks = Vec::with_capacity(clients.len());
    for c in clients {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut futs = FuturesUnordered::new();
            for _ in 0..10 {
                futs.push(c.call_str("fast_call"));
            }
            while let Some(r) = futs.next().await {
                if r? != crate::common::FAST_ANSWER {
                    return Err(crate::common::Error::from("fast_call answered wrongly"));
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_shows_both_modes_of_a_bimodal_cell() {
        // 60 iterations near 2.8 ms, 40 near 1.8 ms: the median is on the upper mode
        let samples: Vec<f64> = (0..100)
            .map(|i| if i % 5 < 3 { 2.8 } else { 1.8 } + (i % 7) as f64 * 0.001)
            .collect();
        let s = spread(&samples);
        assert!(s.starts_with("n 100 mean 2.40"), "{s}");
        assert!(s.contains("p10 1.80") && s.contains("p50 2.80"), "{s}");
        // the least sample to the 95th percentile in 8 bins (here the 95th percentile is the
        // greatest value too): the lower mode in the first, the upper one in the last
        let bins = s.rsplit(": ").next().unwrap();
        assert_eq!(bins, "[40, 0, 0, 0, 0, 0, 0, 60]", "{s}");
    }

    #[test]
    fn spread_of_nothing_says_so() {
        assert_eq!(spread(&[]), "no samples");
    }
}
