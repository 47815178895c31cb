//! HTTP client transport: each frame is one POST (hyper 1 over tokio, TLS through
//! tokio-rustls); connections are kept alive and reused. The pool, the retry policy (only where
//! the request cannot have been executed, with exponential backoff) and the error answers are
//! `jsonrpc_proto::adapter::http`'s, shared with every runtime.

use jsonrpc_proto::adapter::http::HttpPostTransport;
pub use jsonrpc_proto::adapter::http::{HttpClientConfig, HttpSink, HttpStream};
use jsonrpc_proto::peer::{Transport, TransportInfo};

use crate::connect::{ConnectError, TokioConnect};
use crate::runtime::TokioRuntime;

/// A JSON-RPC transport over HTTP POSTs to one URL.
pub struct HttpTransport(HttpPostTransport);

impl HttpTransport {
    /// A transport POSTing to `url` (`http://` or `https://`). Must be called inside a tokio
    /// runtime; no connection is opened until the first frame is sent.
    pub fn new(url: &str, config: HttpClientConfig) -> Result<Self, ConnectError> {
        let connector = TokioConnect(config.tls.clone());
        HttpPostTransport::hyper(url, connector, TokioRuntime::new(), config).map(HttpTransport)
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
