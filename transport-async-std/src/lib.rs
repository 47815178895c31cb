//! async-io adapter for `jsonrpc-proto`, running on smol and on async-std: TCP
//! (newline-delimited JSON), stdio and any futures-io stream (Content-Length), WebSocket
//! (async-tungstenite), HTTP (hyper 1) and TLS (futures-rustls), a [`Server`] serving them, and
//! clients. The public names are transport-tokio's: switch runtimes by switching the crate.
//!
//! ```
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
//!
//! The modules, the same in every adapter: `runtime` ([`AsyncIoRuntime`]), `io` (the runtime's
//! IO under the shared byte-stream transport: [`StreamTransport`]), `listen` ([`Server`] and
//! its accept loops), `connect` (the `connect_*` clients and their transports), `stdio`
//! ([`serve_stdio`]), `unix` ([`connect_unix`], [`connect_http_unix`], [`connect_ws_unix`] and the
//! Unix socket listener) and [`tls`]; all but [`tls`] and [`ws`] are private and re-exported here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod connect;
mod io;
mod listen;
mod runtime;
mod stdio;
pub mod tls;
mod unix;

/// The WebSocket transport and its limits (shared with every runtime, from `jsonrpc_proto`).
pub mod ws {
    pub use jsonrpc_proto::adapter::ws::{
        ws_client_config, ws_config, WsKeepAlive, WsSink, WsStream, WsTransport, BINARY_REFUSED,
        DEFAULT_KEEP_ALIVE_INTERVAL, DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_MAX_MESSAGE,
        KEEP_ALIVE_TIMEOUT, TOO_BIG, TOO_MANY_CONNECTIONS,
    };
}

pub use connect::{
    connect_http, connect_http_with, connect_io, connect_tcp, connect_tcp_with, connect_ws,
    connect_ws_with, reconnect_tcp, reconnect_ws, tcp_transport, ws_transport, BoxIo, ConnectError,
    ConnectOptions, HttpClientConfig, HttpSink, HttpStream, HttpTransport, Io, ReconnectConfig,
    ReconnectError, Reconnecting, Resubscribing, SubscriptionEvent, TcpTransport,
};
pub use io::{FrameReader, FrameWriter, Framing, StreamTransport, DEFAULT_MAX_FRAME};
pub use listen::{
    RunningServer, Server, ServerBuilder, ShutdownHandle, StartError, DEFAULT_BODY_READ_TIMEOUT,
    DEFAULT_GRACE, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_TLS_HANDSHAKE_TIMEOUT,
};
pub use runtime::AsyncIoRuntime;
pub use stdio::{serve_io_content_length, serve_stdio, stdio, Stdin, Stdout};
pub use tls::{TlsClientConfig, TlsError, TlsServerConfig};
pub use unix::{
    connect_http_unix, connect_http_unix_with, connect_unix, connect_unix_with, connect_ws_unix,
    connect_ws_unix_with, reconnect_unix, reconnect_ws_unix, unix_transport, ws_unix_transport,
    UnixTransport,
};
pub use ws::{WsKeepAlive, WsTransport};
