//! HTTP client transport: each frame is one POST (hyper 1 over async-net, TLS through
//! futures-rustls); connections are kept alive and reused. The pool, the retry policy (only
//! where the request cannot have been executed, with exponential backoff) and the error
//! answers are `jsonrpc_proto::adapter::http`'s, shared with every runtime.

use jsonrpc_proto::adapter::http::HttpPostTransport;
pub use jsonrpc_proto::adapter::http::{HttpClientConfig, HttpSink, HttpStream};
use jsonrpc_proto::peer::{Transport, TransportInfo};

use crate::connect::{AsyncIoConnect, ConnectError};
use crate::runtime::AsyncIoRuntime;

/// A JSON-RPC transport over HTTP POSTs to one URL.
pub struct HttpTransport(HttpPostTransport);

impl HttpTransport {
    /// A transport POSTing to `url` (`http://` or `https://`), spawning its POSTs on the
    /// default [`AsyncIoRuntime`]. No connection is opened until the first frame is sent.
    pub fn new(url: &str, config: HttpClientConfig) -> Result<Self, ConnectError> {
        Self::with_runtime(url, config, AsyncIoRuntime::default())
    }

    /// Like [`HttpTransport::new`] on `runtime`.
    pub fn with_runtime(
        url: &str,
        config: HttpClientConfig,
        runtime: AsyncIoRuntime,
    ) -> Result<Self, ConnectError> {
        let connector = AsyncIoConnect(config.tls.clone());
        HttpPostTransport::hyper(url, connector, runtime, config).map(HttpTransport)
    }
}

impl Transport for HttpTransport {
    type Sink = HttpSink;
    type Stream = HttpStream;

    fn info(&self) -> TransportInfo {
        self.0.info()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        self.0.split()
    }
}
