//! Helpers of the limits, faults and load tests: a test router, raw sockets, bounded polls.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::{ErrorObject, RawValue};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The upper bound of every wait in these tests: a failure, never a timing claim.
pub const BOUND: Duration = Duration::from_secs(30);

/// Polls `cond` every 10 ms until it holds; panics with `what` after [`BOUND`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Awaits `fut` within [`BOUND`] or panics with `what`.
pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(BOUND, fut).await {
        Ok(v) => v,
        Err(_) => panic!("gave up waiting for: {what}"),
    }
}

/// Shared state of [`router`]: a gate for `gated`, and counters.
pub struct Probe {
    pub gate: Semaphore,
    pub started: AtomicUsize,
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            gate: Semaphore::new(0),
            started: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
        }
    }
}

/// echo (raw), add [a,b], big {n} (a string of n bytes), sleep {ms}, hang (never returns),
/// panic, gated (waits for a permit of `probe.gate`), and the notification `note`.
pub fn router(probe: Arc<Probe>) -> Router {
    Router::builder()
        .state(probe)
        .method_raw(
            "echo",
            |_ctx: Context, p: Option<Box<RawValue>>| async move {
                Ok::<_, ErrorObject>(
                    p.map(|p| p.get().to_owned())
                        .map(|s| serde_json::from_str::<Value>(&s).unwrap_or(Value::Null)),
                )
            },
        )
        .method("add", |_ctx: Context, (a, b): (i64, i64)| async move {
            Ok::<_, ErrorObject>(a + b)
        })
        .method("big", |_ctx: Context, (n,): (usize,)| async move {
            Ok::<_, ErrorObject>("x".repeat(n))
        })
        .method("sleep", |_ctx: Context, (ms,): (u64,)| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ErrorObject>(ms)
        })
        .method("hang", |_ctx: Context, ()| async move {
            futures::future::pending::<()>().await;
            Ok::<_, ErrorObject>(())
        })
        .method("panic", |_ctx: Context, ()| async move {
            if true {
                panic!("handler panicked on purpose");
            }
            Ok::<_, ErrorObject>(())
        })
        .method("gated", |ctx: Context, ()| async move {
            let probe = ctx.state::<Arc<Probe>>().expect("probe");
            probe.started.fetch_add(1, Ordering::SeqCst);
            let now = probe.running.fetch_add(1, Ordering::SeqCst) + 1;
            probe.max_running.fetch_max(now, Ordering::SeqCst);
            let permit = probe.gate.acquire().await.expect("gate");
            permit.forget();
            probe.running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ErrorObject>("through")
        })
        .build()
        .expect("router")
}

/// A raw newline-delimited JSON connection.
pub struct RawTcp {
    pub reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    pub writer: tokio::net::tcp::OwnedWriteHalf,
}

impl RawTcp {
    pub async fn connect(addr: SocketAddr) -> RawTcp {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let (r, w) = tcp.into_split();
        RawTcp {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// The next line as JSON; `None` at the end of the stream.
    pub async fn recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = bounded("a line from the server", self.reader.read_line(&mut line))
            .await
            .ok()?;
        if n == 0 {
            return None;
        }
        Some(serde_json::from_str(&line).expect("a JSON line"))
    }

    /// Waits until the server closes the connection (EOF or reset).
    pub async fn closed(&mut self) {
        let mut buf = [0u8; 1024];
        loop {
            match bounded("the server to close", self.reader.read(&mut buf)).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

/// A raw WebSocket client at `ws://addr/ws`.
pub async fn raw_ws(addr: SocketAddr) -> WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
        .await
        .expect("ws handshake");
    ws
}

/// Sends a text message and returns the next text message as JSON (`None`: closed).
pub async fn ws_call(ws: &mut WebSocketStream<TcpStream>, text: String) -> Option<Value> {
    ws.send(Message::text(text)).await.ok()?;
    loop {
        match bounded("a WebSocket message", ws.next()).await {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).expect("json")),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// One HTTP/1.1 POST / with `Connection: close`: (status, body).
pub async fn http_post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    bounded("an HTTP response", tcp.read_to_end(&mut raw))
        .await
        .expect("read");
    parse_http(&raw)
}

/// (status, body) of a raw HTTP/1.1 response.
pub fn parse_http(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

/// A request text; `params` is left out when `Value::Null`.
pub fn call(id: u64, method: &str, params: Value) -> String {
    if params.is_null() {
        serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method}).to_string()
    } else {
        serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            .to_string()
    }
}

/// `[[[...]]]` nested `depth` levels.
pub fn nested(depth: usize) -> Vec<u8> {
    let mut doc = Vec::with_capacity(depth * 2);
    doc.resize(depth, b'[');
    doc.resize(depth * 2, b']');
    doc
}

/// The resident set size of this process in bytes, from /proc/self/statm (Linux).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
