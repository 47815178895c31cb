//! tokio adapter for `jsonrpc-proto`: TCP (newline-delimited JSON), stdio (Content-Length),
//! WebSocket, HTTP and TLS transports, a [`Server`] serving them, and clients.
//!
//! ```no_run
//! use jsonrpc_proto::service::{Context, Router};
//! use jsonrpc_proto::ErrorObject;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::builder()
//!     .method("add", |_ctx: Context, (a, b): (i64, i64)| async move {
//!         Ok::<_, ErrorObject>(a + b)
//!     })
//!     .build()?;
//! let server = transport_tokio::Server::builder(router)
//!     .http("127.0.0.1:0")
//!     .start()
//!     .await?;
//! let url = format!("http://{}/", server.http_addr().unwrap());
//! let client = transport_tokio::connect_http(&url).await?;
//! let sum: i64 = client.request("add", [5, 3]).await?;
//! assert_eq!(sum, 8);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod connect;
pub mod dial;
pub mod http_client;
pub mod io;
pub mod listen;
pub mod runtime;
pub mod tls;
pub mod ws;

pub use connect::{
    connect_http, connect_http_with, connect_tcp, connect_tcp_with, connect_ws, connect_ws_with,
    tcp_transport, ws_transport, ConnectOptions, TcpTransport,
};
pub use dial::ConnectError;
pub use http_client::{HttpClientConfig, HttpTransport};
pub use io::{Framing, StreamTransport};
pub use listen::{serve_stdio, RunningServer, Server, ServerBuilder, ShutdownHandle, StartError};
pub use runtime::TokioRuntime;
pub use tls::{TlsClientConfig, TlsError, TlsServerConfig};
pub use ws::WsTransport;
