//! Server memory per idle WebSocket connection: the server runs as a child process (this same
//! binary, `compare serve LIB`, see [`crate::child`]), and its VmRSS is read from /proc before and after `n` idle
//! connections are opened (each makes one call first, so the connection is fully set up), once
//! `n` others are open already: the marginal cost of a connection on a warm heap.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::child::{ServeKind, ServerChild};
use crate::common::{Lib, Result};
use crate::workloads::ADD_REQUEST;

/// The resident set size of process `pid`, in KiB.
pub fn vm_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmRSS:") {
            let kib = rest.trim().trim_end_matches("kB").trim();
            return Ok(kib.parse()?);
        }
    }
    Err("no VmRSS line in /proc/PID/status".into())
}

async fn open(url: &str) -> Result<WebSocketStream<TcpStream>> {
    let rest = url.trim_start_matches("ws://");
    let hostport = rest.split('/').next().unwrap_or(rest);
    let tcp = TcpStream::connect(hostport).await?;
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await?;
    ws.send(Message::text(std::str::from_utf8(ADD_REQUEST)?))
        .await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("\"result\":3") => Ok(ws),
        other => Err(format!("unexpected answer to add: {other:?}").into()),
    }
}

/// Spawns `exe serve LIB`, opens `2 * conns` idle WebSocket connections to it and answers the
/// server's RSS growth per connection over the second `conns`, in KiB.
pub async fn per_connection_kib(exe: &std::path::Path, lib: Lib, conns: usize) -> Result<f64> {
    let child = ServerChild::spawn(exe, ServeKind::Lib(lib)).await?;
    let pid = child.pid();
    let url = child.ready.ws_url.clone();
    if !url.starts_with("ws://") {
        return Err(format!("server child reported WebSocket URL {url:?}").into());
    }
    // Warm up: threads, allocator arenas and lazily built tables exist before the baseline.
    // The connections open at once, so that both of the server's workers take some and each
    // has its malloc arena: opened one after another from a current-thread client they all
    // landed on one worker, and the other's arena (some hundred KiB) was created during the
    // measured connections and counted against them (3.85-4.40 KiB per connection in four
    // runs, 3.79-3.84 with MALLOC_ARENA_MAX=1).
    let warm = futures::future::try_join_all((0..64).map(|_| open(&url))).await?;
    for mut ws in warm {
        let _ = ws.close(None).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Then `conns` connections fill what the warm-up left free, and the figure is the growth
    // over the next `conns`: what one more idle connection costs once the heap is warm.
    let mut idle = Vec::with_capacity(2 * conns);
    for _ in 0..conns {
        idle.push(open(&url).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = vm_rss_kib(pid)?;
    for _ in 0..conns {
        idle.push(open(&url).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = vm_rss_kib(pid)?;
    drop(idle);
    drop(child);
    Ok(after.saturating_sub(before) as f64 / conns as f64)
}
