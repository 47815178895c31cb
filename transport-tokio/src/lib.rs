//! tokio adapter for `jsonrpc-proto`: TCP, stdio, WebSocket, HTTP and TLS transports.
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
pub use framed::StreamTransport;
pub use runtime::TokioRuntime;
pub use ws::WsTransport;
