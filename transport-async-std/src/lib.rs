//! async-io adapter for `jsonrpc-proto`, running on smol and on async-std: TCP
//! (newline-delimited JSON), stdio and any futures-io stream (Content-Length), WebSocket
//! (async-tungstenite), HTTP (hyper 1) and TLS (futures-rustls), a [`Server`] serving them, and
//! clients. The public names are transport-tokio's: switch runtimes by switching the crate.
//!
//! ```no_run
//! use jsonrpc_proto::service::{Context, Router};
//! use jsonrpc_proto::ErrorObject;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! smol::block_on(async {
//!     let router = Router::builder()
//!         .method("add", |_ctx: Context, (a, b): (i64, i64)| async move {
//!             Ok::<_, ErrorObject>(a + b)
//!         })
//!         .build()?;
//!     let server = transport_async_std::Server::builder(router)
//!         .http("127.0.0.1:0")
//!         .runtime(transport_async_std::AsyncIoRuntime::smol())
//!         .start()
//!         .await?;
//!     let url = format!("http://{}/", server.http_addr().unwrap());
//!     let client = transport_async_std::connect_http(&url).await?;
//!     let sum: i64 = client.request("add", [5, 3]).await?;
//!     assert_eq!(sum, 8);
//!     server.shutdown().await;
//!     Ok(())
//! })
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod connect;
pub mod http_client;
pub mod io;
pub mod runtime;
pub mod server;
pub mod stdio;
pub mod tls;

/// Byte-stream framing and transports (shared with every runtime, from `jsonrpc_proto`).
pub mod framed {
    pub use jsonrpc_proto::adapter::framed::*;
}

/// The WebSocket transport (shared with every runtime, from `jsonrpc_proto`).
pub mod ws {
    pub use jsonrpc_proto::adapter::ws::*;
}

pub use client::{
    connect_http, connect_http_with, connect_tcp, connect_tcp_with, connect_ws, connect_ws_with,
    ConnectOptions,
};
pub use connect::ConnectError;
pub use framed::{Framing, StreamTransport};
pub use http_client::{HttpClientConfig, HttpTransport};
pub use runtime::AsyncIoRuntime;
pub use server::{
    serve_io_content_length, serve_stdio, RunningServer, Server, ServerBuilder, ShutdownHandle,
    StartError,
};
pub use tls::{TlsClientConfig, TlsError, TlsServerConfig};
pub use ws::WsTransport;
