//! The two small traits an adapter implements: [`Runtime`] and [`Transport`].

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Sink, Stream};

/// What the async layer needs from an executor: spawn a task, sleep until an instant, read the
/// clock. Implemented by the adapters for tokio, async-std/smol (async-io) and by tests.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// Runs `task` in the background until it completes. The task is detached.
    fn spawn(&self, task: BoxFuture<'static, ()>);
    /// A future that completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
    /// The current time.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Why a transport failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The underlying socket or stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent a frame larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The size announced or buffered so far.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The framing or the carrying protocol (HTTP, WebSocket, Content-Length headers) was
    /// violated; the text says how.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The transport is closed.
    #[error("transport closed")]
    Closed,
}

/// How a connection reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// In-process channels.
    Memory,
    /// Newline-delimited JSON over TCP.
    Tcp,
    /// Content-Length framed JSON over a byte stream (stdio, pipes).
    Stdio,
    /// One HTTP POST per call.
    Http,
    /// WebSocket text frames.
    WebSocket,
    /// Newline-delimited JSON over a Unix domain socket.
    Unix,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Memory => "memory",
            TransportKind::Tcp => "tcp",
            TransportKind::Stdio => "stdio",
            TransportKind::Http => "http",
            TransportKind::WebSocket => "websocket",
            TransportKind::Unix => "unix",
        })
    }
}

/// What the adapter knows about a connection: handed to hooks and handlers.
#[derive(Clone, Debug)]
pub struct TransportInfo {
    /// The transport kind.
    pub kind: TransportKind,
    /// The remote address, when there is one.
    pub peer_addr: Option<SocketAddr>,
    /// The local address, when there is one.
    pub local_addr: Option<SocketAddr>,
    /// True when the connection is protected by TLS.
    pub tls: bool,
    /// HTTP request headers or WebSocket handshake headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The HTTP path of the request or WebSocket handshake, when there is one.
    pub path: Option<String>,
    /// True when the connection runs over a Unix domain socket: always for kind
    /// [`TransportKind::Unix`] (newline-delimited JSON); for [`TransportKind::Http`] and
    /// [`TransportKind::WebSocket`] when HTTP is served on (or sent to) a Unix socket. The
    /// addresses are then `None`.
    pub unix: bool,
}

impl TransportInfo {
    /// Info for a transport of `kind` with nothing else known.
    pub fn new(kind: TransportKind) -> Self {
        TransportInfo {
            kind,
            peer_addr: None,
            local_addr: None,
            tls: false,
            headers: Vec::new(),
            path: None,
            unix: kind == TransportKind::Unix,
        }
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A message-oriented, bidirectional connection: each item is one complete JSON text (a frame).
/// Framing (newlines, Content-Length headers, WebSocket messages, HTTP bodies) is the
/// transport's business; the async layer only sees whole frames.
pub trait Transport: Send + 'static {
    /// The sending half: one `Bytes` is one frame.
    type Sink: Sink<Bytes, Error = TransportError> + Send + Unpin + 'static;
    /// The receiving half: ends (`None`) when the peer closes cleanly.
    type Stream: Stream<Item = Result<Bytes, TransportError>> + Send + Unpin + 'static;
    /// What is known about the connection.
    fn info(&self) -> TransportInfo;
    /// Splits the transport into its two halves.
    fn split(self) -> (Self::Sink, Self::Stream);
}

/// A boxed sink of frames.
pub type BoxFrameSink = Pin<Box<dyn Sink<Bytes, Error = TransportError> + Send>>;
/// A boxed stream of frames.
pub type BoxFrameStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send>>;

/// A type-erased transport built from any sink and stream of frames.
pub struct BoxTransport {
    info: TransportInfo,
    sink: BoxFrameSink,
    stream: BoxFrameStream,
}

impl BoxTransport {
    /// Wraps a sink and a stream of frames.
    pub fn new<Si, St>(info: TransportInfo, sink: Si, stream: St) -> Self
    where
        Si: Sink<Bytes, Error = TransportError> + Send + 'static,
        St: Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    {
        BoxTransport {
            info,
            sink: Box::pin(sink),
            stream: Box::pin(stream),
        }
    }

    /// Erases the type of any transport.
    pub fn from_transport<T: Transport>(t: T) -> Self {
        let info = t.info();
        let (sink, stream) = t.split();
        BoxTransport::new(info, sink, stream)
    }
}

impl Transport for BoxTransport {
    type Sink = BoxFrameSink;
    type Stream = BoxFrameStream;
    fn info(&self) -> TransportInfo {
        self.info.clone()
    }
    fn split(self) -> (Self::Sink, Self::Stream) {
        (self.sink, self.stream)
    }
}
