//! tokio adapter for `jsonrpc-proto`: TCP (newline-delimited JSON), stdio (Content-Length),
//! WebSocket, HTTP and TLS transports, a [`Server`] serving them, and clients.
//!
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
pub mod connect;
pub mod framed;
pub mod http_client;
pub mod runtime;
pub mod tls;
pub mod ws;

pub use codec::Framing;
pub use connect::ConnectError;
pub use framed::StreamTransport;
pub use http_client::{HttpClientConfig, HttpTransport};
pub use runtime::TokioRuntime;
pub use tls::{TlsClientConfig, TlsError, TlsServerConfig};
pub use ws::WsTransport;
