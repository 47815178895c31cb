//! Server memory per idle WebSocket connection: the server runs as a child process (this same
//! binary, `compare serve LIB`), and its VmRSS is read from /proc before and after `n` idle
//! connections are opened (each makes one call first, so the connection is fully set up).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::workloads::ADD_REQUEST;
use crate::{Lib, Result};

/// Runs in the child: starts `lib`'s server, prints its WebSocket URL on one line, and serves
/// until standard input closes.
pub fn serve_child(lib: Lib) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let running = rt.block_on(crate::start_server(lib))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", running.ws_url)?;
        out.flush()?;
    }
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink)? > 0 {
        sink.clear();
    }
    drop(running);
    rt.shutdown_timeout(Duration::from_millis(200));
    Ok(())
}

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

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Closing stdin asks the child to stop; kill is the fallback.
        drop(self.0.stdin.take());
        for _ in 0..20 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

/// Spawns `exe serve LIB`, opens `conns` idle WebSocket connections to it and answers the
/// server's RSS growth per connection in KiB.
pub async fn per_connection_kib(exe: &std::path::Path, lib: Lib, conns: usize) -> Result<f64> {
    // BENCH_SERVE_WRAPPER="valgrind --tool=massif" runs the server child under a heap profiler
    // (the RSS figure is then meaningless; the profile is the point).
    let wrapper = std::env::var("BENCH_SERVE_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let mut child = cmd
        .arg("serve")
        .arg(lib.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let guard = ChildGuard(child);
    let pid = guard.0.id();
    let url = tokio::task::spawn_blocking(move || -> Result<String> {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        Ok(line.trim().to_string())
    })
    .await??;
    if !url.starts_with("ws://") {
        return Err(format!("server child printed {url:?}").into());
    }
    // Warm up: threads, allocator arenas and lazily built tables exist before the baseline.
    let mut warm = Vec::new();
    for _ in 0..50 {
        warm.push(open(&url).await?);
    }
    for mut ws in warm {
        let _ = ws.close(None).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = vm_rss_kib(pid)?;
    let mut idle = Vec::with_capacity(conns);
    for _ in 0..conns {
        idle.push(open(&url).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = vm_rss_kib(pid)?;
    drop(idle);
    drop(guard);
    Ok(after.saturating_sub(before) as f64 / conns as f64)
}
