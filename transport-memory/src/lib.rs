//! Connected in-memory transports for JSON-RPC, like trio-jsonrpc's memory channels: two
//! ends of bounded channels, so a slow reader applies backpressure instead of growing memory.
//! They need no runtime of their own and work on any executor.
//!
//! ```
//! use jsonrpc_proto::peer::{Runtime, Server, ServerConfig};
//! use jsonrpc_proto::service::{Context, Router};
//! use jsonrpc_proto::ErrorObject;
//!
//! // A tiny runtime over a futures thread pool (the adapters provide tokio / async-std ones).
//! #[derive(Clone)]
//! struct Pool(futures::executor::ThreadPool);
//! impl Runtime for Pool {
//!     fn spawn(&self, task: futures::future::BoxFuture<'static, ()>) {
//!         self.0.spawn_ok(task);
//!     }
//!     fn sleep_until(&self, _at: std::time::Instant) -> futures::future::BoxFuture<'static, ()> {
//!         Box::pin(futures::future::pending())
//!     }
//! }
//!
//! let rt = Pool(futures::executor::ThreadPool::new().unwrap());
//! let router = Router::builder()
//!     .method("add", |_ctx: Context, (a, b): (i64, i64)| async move { Ok::<_, ErrorObject>(a + b) })
//!     .build()
//!     .unwrap();
//! let server = Server::new(router, rt.clone(), ServerConfig::default());
//! let client = transport_memory::serve_memory(&server, rt);
//! let sum: i64 = futures::executor::block_on(client.request("add", [2, 3])).unwrap();
//! assert_eq!(sum, 5);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::channel::mpsc;
use futures::{Sink, Stream};
use jsonrpc_proto::peer::{
    Client, ClientConfig, Runtime, Server, Transport, TransportError, TransportInfo, TransportKind,
};

/// Frames each direction holds before the writer waits (see [`pair_with_capacity`]).
pub const DEFAULT_CAPACITY: usize = 64;

/// One end of an in-memory connection.
#[derive(Debug)]
pub struct MemoryTransport {
    tx: mpsc::Sender<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    info: TransportInfo,
}

/// Two connected ends, each direction holding [`DEFAULT_CAPACITY`] frames.
pub fn pair() -> (MemoryTransport, MemoryTransport) {
    pair_with_capacity(DEFAULT_CAPACITY)
}

/// Two connected ends; each direction holds about `capacity` frames before its writer waits.
pub fn pair_with_capacity(capacity: usize) -> (MemoryTransport, MemoryTransport) {
    // The channel holds `buffer + senders` items; one sender per direction.
    let buffer = capacity.saturating_sub(1);
    let (a_tx, b_rx) = mpsc::channel(buffer);
    let (b_tx, a_rx) = mpsc::channel(buffer);
    let info = TransportInfo::new(TransportKind::Memory);
    (
        MemoryTransport {
            tx: a_tx,
            rx: a_rx,
            info: info.clone(),
        },
        MemoryTransport {
            tx: b_tx,
            rx: b_rx,
            info,
        },
    )
}

impl MemoryTransport {
    /// Sets what handlers see through `Context::transport` (e.g. fake headers in tests).
    pub fn with_info(mut self, info: TransportInfo) -> Self {
        self.info = info;
        self
    }
}

/// The sending half of a [`MemoryTransport`].
#[derive(Debug)]
pub struct MemorySink(mpsc::Sender<Bytes>);

/// The receiving half of a [`MemoryTransport`].
#[derive(Debug)]
pub struct MemoryStream(mpsc::Receiver<Bytes>);

impl Sink<Bytes> for MemorySink {
    type Error = TransportError;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx).map_err(|_| TransportError::Closed)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Bytes) -> Result<(), Self::Error> {
        self.0.start_send(item).map_err(|_| TransportError::Closed)
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<(), Self::Error>> {
        self.0.close_channel();
        Poll::Ready(Ok(()))
    }
}

impl Stream for MemoryStream {
    type Item = Result<Bytes, TransportError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx).map(|f| f.map(Ok))
    }
}

impl Transport for MemoryTransport {
    type Sink = MemorySink;
    type Stream = MemoryStream;
    fn info(&self) -> TransportInfo {
        self.info.clone()
    }
    fn split(self) -> (MemorySink, MemoryStream) {
        (MemorySink(self.tx), MemoryStream(self.rx))
    }
}

/// Serves `server` on one end of a fresh pair (spawned on `runtime`) and returns a client on
/// the other end (trio-jsonrpc's serve/open memory in one call).
pub fn serve_memory<R: Runtime>(server: &Server, runtime: R) -> Client {
    serve_memory_with(server, runtime, ClientConfig::default())
}

/// Like [`serve_memory`] with a client configuration.
pub fn serve_memory_with<R: Runtime>(server: &Server, runtime: R, config: ClientConfig) -> Client {
    let (a, b) = pair();
    let server = server.clone();
    runtime.spawn(Box::pin(async move { server.serve(a).await }));
    Client::new(b, runtime, config)
}
