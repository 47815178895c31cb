//! The two small traits an adapter implements: [`Runtime`] and [`Transport`].

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
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
    /// Reads like a `Vec<(String, String)>`; [`TransportInfo::header`] finds one by name.
    pub headers: Headers,
    /// The HTTP path of the request or WebSocket handshake, when there is one.
    pub path: Option<String>,
    /// True when the connection runs over a Unix domain socket: always for kind
    /// [`TransportKind::Unix`] (newline-delimited JSON); for [`TransportKind::Http`] and
    /// [`TransportKind::WebSocket`] when HTTP is served on (or sent to) a Unix socket. The
    /// addresses are then `None`.
    pub unix: bool,
    /// Signs of life that carry no frame (WebSocket pings and pongs), when the transport
    /// counts them; the server's idle timeout counts them as activity.
    pub liveness: Option<Liveness>,
}

/// A counter of signs of life a transport sees that carry no frame (WebSocket pings and
/// pongs). The transport bumps it; a server connection's idle timeout
/// (`ServerConfig::idle_timeout`) treats a change as activity, as it does a frame. Clones
/// share the count.
#[derive(Clone, Debug, Default)]
pub struct Liveness(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Liveness {
    /// A counter at 0.
    pub fn new() -> Self {
        Liveness::default()
    }

    /// Records one sign of life.
    pub fn beat(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The signs of life recorded so far.
    pub fn beats(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl TransportInfo {
    /// Info for a transport of `kind` with nothing else known.
    pub fn new(kind: TransportKind) -> Self {
        TransportInfo {
            kind,
            peer_addr: None,
            local_addr: None,
            tls: false,
            headers: Headers::new(),
            path: None,
            unix: kind == TransportKind::Unix,
            liveness: None,
        }
    }

    /// The first header named `name` (case-insensitive), its value as text (invalid UTF-8
    /// replaced).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Where [`Headers`] come from when an adapter hands in its HTTP library's own header map:
/// read in place, nothing copied until the whole list is asked for.
pub trait HeaderSource: Send + Sync + 'static {
    /// The raw value of the first header named `name` (any case), if there is one.
    fn first(&self, name: &str) -> Option<&[u8]>;
    /// Calls `f` with every header in order: the name in lower case, the raw value.
    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8]));
}

/// HTTP request or WebSocket handshake headers, names in lower case, in arrival order: a
/// `Vec<(String, String)>` to read and change (values as text, invalid UTF-8 replaced).
///
/// An adapter may build it from a [`HeaderSource`] (an HTTP request's header map, moved in,
/// not copied): [`Headers::get`] then looks up in place, and the pairs are only built the first
/// time something reads the whole list. An HTTP POST whose handlers ask for no header (most)
/// costs one allocation instead of two per header.
#[derive(Clone, Default)]
pub struct Headers {
    /// The pairs, when there is no source (or after a change).
    owned: Vec<(String, String)>,
    /// The source, and its pairs once built.
    lazy: Option<(Arc<dyn HeaderSource>, OnceLock<Pairs>)>,
}

type Pairs = Vec<(String, String)>;

fn pairs_of(source: &dyn HeaderSource) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    source.for_each(&mut |name, value| {
        pairs.push((name.to_owned(), String::from_utf8_lossy(value).into_owned()))
    });
    pairs
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers::default()
    }

    /// The headers of `source`, read in place until the whole list is asked for.
    pub fn from_source(source: impl HeaderSource) -> Self {
        Headers {
            owned: Vec::new(),
            lazy: Some((Arc::new(source), OnceLock::new())),
        }
    }

    /// The headers `pairs` (names in lower case, raw values) packed into one buffer: three
    /// allocations for the whole list instead of two per header, read in place like a
    /// [`HeaderSource`]. For headers a connection keeps as long as it lives (a WebSocket
    /// handshake's): an adapter hands in its HTTP library's header map this way.
    ///
    /// ```
    /// use jsonrpc_proto::peer::Headers;
    /// let h = Headers::packed([("host", &b"example.org"[..]), ("x-token", b"t0k3n")]);
    /// assert_eq!(h.get("X-Token"), Some("t0k3n"));
    /// assert_eq!(h.len(), 2);
    /// ```
    pub fn packed<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut text = Vec::new();
        let mut ends = Vec::new();
        let mut pairs = pairs.into_iter();
        for (name, value) in pairs.by_ref() {
            let start = text.len();
            text.extend_from_slice(name.as_bytes());
            let name_end = text.len();
            text.extend_from_slice(value);
            match (u32::try_from(name_end), u32::try_from(text.len())) {
                (Ok(n), Ok(v)) => ends.push((n, v)),
                _ => {
                    // Over 4 GiB of headers (no HTTP library hands in that much): kept as
                    // pairs instead.
                    text.truncate(start);
                    let packed = Packed::new(text, ends);
                    let mut all: Vec<(String, String)> = packed
                        .iter()
                        .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
                        .collect();
                    all.push((name.to_owned(), String::from_utf8_lossy(value).into_owned()));
                    all.extend(
                        pairs.map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned())),
                    );
                    return all.into();
                }
            }
        }
        Headers::from_source(Packed::new(text, ends))
    }

    /// The first header named `name` (case-insensitive), its value as text (invalid UTF-8
    /// replaced).
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some((source, pairs)) = &self.lazy {
            if pairs.get().is_none() {
                // A value that is not UTF-8 is looked up in the pairs (its replaced text).
                if let Ok(text) = std::str::from_utf8(source.first(name)?) {
                    return Some(text);
                }
            }
        }
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::ops::Deref for Headers {
    type Target = Vec<(String, String)>;
    fn deref(&self) -> &Self::Target {
        match &self.lazy {
            Some((source, pairs)) => pairs.get_or_init(|| pairs_of(&**source)),
            None => &self.owned,
        }
    }
}

impl std::ops::DerefMut for Headers {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // From now on the pairs are the headers (they may be changed).
        if let Some((source, mut pairs)) = self.lazy.take() {
            self.owned = pairs.take().unwrap_or_else(|| pairs_of(&*source));
        }
        &mut self.owned
    }
}

impl From<Vec<(String, String)>> for Headers {
    fn from(pairs: Vec<(String, String)>) -> Self {
        Headers {
            owned: pairs,
            lazy: None,
        }
    }
}

impl FromIterator<(String, String)> for Headers {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Headers::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Headers packed back to back in one buffer ([`Headers::packed`]).
struct Packed {
    /// Each header's name, then its raw value.
    text: Box<[u8]>,
    /// Where each header's name ends and where its value ends, in `text`.
    ends: Box<[(u32, u32)]>,
}

impl Packed {
    fn new(text: Vec<u8>, ends: Vec<(u32, u32)>) -> Packed {
        Packed {
            text: text.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let mut start = 0;
        self.ends.iter().filter_map(move |&(name_end, end)| {
            let (name_end, end) = (name_end as usize, end as usize);
            let name = self.text.get(start..name_end)?;
            let value = self.text.get(name_end..end)?;
            start = end;
            // Names went in as text: they come out as text.
            Some((std::str::from_utf8(name).ok()?, value))
        })
    }
}

impl HeaderSource for Packed {
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (name, value) in self.iter() {
            f(name, value);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A header source over raw pairs that counts how often the whole list is read.
    struct Raw(Vec<(&'static str, &'static [u8])>, Arc<AtomicUsize>);

    impl HeaderSource for Raw {
        fn first(&self, name: &str) -> Option<&[u8]> {
            self.0
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
        fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
            self.1.fetch_add(1, Ordering::SeqCst);
            for (n, v) in &self.0 {
                f(n, v);
            }
        }
    }

    fn source() -> (Headers, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let raw = Raw(
            vec![
                ("host", b"example.org"),
                ("x-bin", b"a\xffb"),
                ("x-two", b"1"),
                ("x-two", b"2"),
            ],
            Arc::clone(&reads),
        );
        (Headers::from_source(raw), reads)
    }

    #[test]
    fn a_source_is_looked_up_in_place_and_listed_once_on_demand() {
        let (headers, reads) = source();
        let mut info = TransportInfo::new(TransportKind::Http);
        info.headers = headers;
        assert_eq!(info.header("HOST"), Some("example.org"));
        assert_eq!(info.header("x-two"), Some("1"));
        assert_eq!(info.header("absent"), None);
        assert_eq!(
            reads.load(Ordering::SeqCst),
            0,
            "no list built for look-ups"
        );
        // Not UTF-8: the replaced text, as the list has it.
        assert_eq!(info.header("x-bin"), Some("a\u{fffd}b"));
        assert_eq!(info.headers.len(), 4);
        assert_eq!(info.headers[3], ("x-two".to_owned(), "2".to_owned()));
        let copy = info.clone();
        assert_eq!(copy.headers, info.headers);
        assert_eq!(reads.load(Ordering::SeqCst), 1, "the list is built once");
    }

    #[test]
    fn packed_headers_read_like_the_pairs_they_came_from() {
        let raw: [(&str, &[u8]); 5] = [
            ("host", b"127.0.0.1:8080"),
            ("sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
            ("x-bin", b"a\xffb"),
            ("x-two", b"1"),
            ("x-two", b""),
        ];
        let mut packed = Headers::packed(raw);
        assert_eq!(packed.get("Host"), Some("127.0.0.1:8080"));
        assert_eq!(
            packed.get("SEC-WEBSOCKET-KEY"),
            Some("dGhlIHNhbXBsZSBub25jZQ==")
        );
        assert_eq!(packed.get("x-two"), Some("1"), "the first of two");
        assert_eq!(packed.get("x-bin"), Some("a\u{fffd}b"));
        assert_eq!(packed.get("absent"), None);
        let pairs: Headers = raw
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        assert_eq!(
            packed, pairs,
            "the same list, in order, empty value included"
        );
        let mut info = TransportInfo::new(TransportKind::WebSocket);
        info.headers = packed.clone();
        assert_eq!(info.header("x-two"), Some("1"));
        assert_eq!(info.clone().headers, pairs);
        packed.push(("x-more".into(), "3".into()));
        assert_eq!(packed.len(), 6);
        assert_eq!(packed.get("x-more"), Some("3"));
        let none = Headers::packed([]);
        assert!(none.is_empty());
        assert_eq!(none.get("host"), None);
    }

    #[test]
    fn headers_change_like_a_vec_whatever_they_came_from() {
        let (mut headers, _) = source();
        headers.push(("authorization".into(), "t0k3n".into()));
        headers.retain(|(n, _)| n != "x-two");
        assert_eq!(headers.get("Authorization"), Some("t0k3n"));
        assert_eq!(headers.get("x-two"), None);
        assert_eq!(headers.len(), 3);
        let owned: Headers = vec![("a".to_owned(), "1".to_owned())].into();
        assert_eq!(owned.get("A"), Some("1"));
        assert_eq!(format!("{owned:?}"), r#"[("a", "1")]"#);
        let collected: Headers = owned.iter().cloned().collect();
        assert_eq!(collected, owned);
        assert!(Headers::new().is_empty());
    }
}
