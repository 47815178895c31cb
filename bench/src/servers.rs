//! The servers: jsonrpsee's (one port for WebSocket and HTTP) and the raw TCP echo floor.

use std::net::SocketAddr;
use std::time::Duration;

use jsonrpsee::server::{Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{Result, FAST_ANSWER, MIB, SLOW_ANSWER};

/// Where a running server listens, and what keeps it alive.
pub struct Running {
    /// `ws://127.0.0.1:PORT/`
    pub ws_url: String,
    /// `http://127.0.0.1:PORT/`
    pub http_url: String,
    /// Dropping it may stop the server.
    pub guard: Box<dyn std::any::Any + Send + Sync>,
}

struct JsonrpseeGuard(ServerHandle);

impl Drop for JsonrpseeGuard {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

/// Starts jsonrpsee's server with `add` and the matrix methods, limits raised as in jsonrpsee's
/// own benchmarks (so 1,024 connections and 1 MiB answers fit).
pub async fn start_jsonrpsee() -> Result<Running> {
    let config = ServerConfig::builder()
        .max_request_body_size(u32::MAX)
        .max_response_body_size(u32::MAX)
        .max_connections(10 * 1024)
        .build();
    let server = Server::builder()
        .set_config(config)
        .build("127.0.0.1:0")
        .await?;
    let mut module = RpcModule::new(());
    module.register_method("add", |params, _, _| {
        let (a, b): (i64, i64) = params.parse()?;
        Ok::<i64, ErrorObjectOwned>(a + b)
    })?;
    module.register_method("fast_call", |_, _, _| FAST_ANSWER)?;
    module.register_method("memory_intense", |_, _, _| "A".repeat(MIB))?;
    module.register_async_method("slow_call", |_, _, _| async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        SLOW_ANSWER
    })?;
    let addr = server.local_addr()?;
    let handle = server.start(module);
    Ok(Running {
        ws_url: format!("ws://{addr}/"),
        http_url: format!("http://{addr}/"),
        guard: Box::new(JsonrpseeGuard(handle)),
    })
}

/// The floor: a TCP server that echoes every newline-terminated line back unchanged.
pub async fn start_tcp_echo() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(echo(stream));
        }
    });
    Ok(addr)
}

async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if w.write_all(&line).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A client of the echo floor: writes one line, reads one line back.
pub struct EchoClient {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    line: Vec<u8>,
    buf: Vec<u8>,
}

impl EchoClient {
    /// Connects to the echo server.
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (r, w) = s.into_split();
        Ok(EchoClient {
            r: BufReader::new(r),
            w,
            line: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// One round trip of `msg` (without its newline).
    pub async fn round_trip(&mut self, msg: &[u8]) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(msg);
        self.buf.push(b'\n');
        self.w.write_all(&self.buf).await?;
        self.line.clear();
        let n = self.r.read_until(b'\n', &mut self.line).await?;
        if n != self.buf.len() {
            return Err(format!("echo returned {n} bytes, sent {}", self.buf.len()).into());
        }
        Ok(())
    }

    /// `calls` lines of `msg` through the echo with up to `in_flight` of them outstanding (a
    /// new line is written as each one comes back), or until `cap` passed; answers lines per
    /// second. The floor of "N calls in flight on one connection".
    pub async fn pipelined(
        &mut self,
        msg: &[u8],
        in_flight: usize,
        calls: usize,
        cap: std::time::Duration,
    ) -> Result<f64> {
        self.buf.clear();
        self.buf.extend_from_slice(msg);
        self.buf.push(b'\n');
        let start = std::time::Instant::now();
        let mut sent = 0;
        let mut done = 0;
        while sent < in_flight.min(calls) {
            self.w.write_all(&self.buf).await?;
            sent += 1;
        }
        while done < sent {
            self.line.clear();
            let n = self.r.read_until(b'\n', &mut self.line).await?;
            if n != self.buf.len() {
                return Err(format!("echo returned {n} bytes, sent {}", self.buf.len()).into());
            }
            done += 1;
            if sent < calls && start.elapsed() < cap {
                self.w.write_all(&self.buf).await?;
                sent += 1;
            }
        }
        Ok(done as f64 / start.elapsed().as_secs_f64())
    }
}
