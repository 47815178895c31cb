//! Runtime-agnostic HTTP glue over the `http` and `http-body` types (feature `http-service`):
//! what both runtime adapters would otherwise write twice around hyper.
//!
//! - Server: [`HttpService::handle`] takes one request (any body type: hyper's `Incoming`
//!   included) and returns the response, or a WebSocket upgrade for the adapter to complete.
//!   Routing, statuses and the health body come from [`crate::http`]; calls from
//!   [`Server::handle_http`](crate::peer::Server::handle_http).
//! - HTTP/1.1 fast path: [`serve_http1`] serves JSON-RPC POSTs with the sans-IO codec of
//!   [`crate::http1`] over hyper's IO and timer traits, with [`HttpService::handle`]'s answers,
//!   and hands every other request (and HTTP/2) to hyper on the same connection ([`Rewind`]).
//! - WebSocket upgrades: [`ReadAhead`] under the upgraded connection, so that tungstenite's
//!   small reads (a server's buffer is 256 bytes) cost one system call per burst, not per read.
//! - Client: [`Endpoint`] (URL parsing), [`post_request`] and [`read_response`] around one
//!   POST, and [`HttpPostTransport`], a [`Transport`](crate::peer::Transport) that posts each frame through an
//!   adapter-provided [`HttpPoster`] with retries (only when the request cannot have been
//!   executed) and exponential backoff on the [`Runtime`](crate::peer::Runtime)'s timer.
//!
//! ```
//! use jsonrpc_proto::adapter::http::Endpoint;
//! let e = Endpoint::parse("https://example.com/rpc", "http", "https").unwrap();
//! assert!(e.tls);
//! assert_eq!((e.host.as_str(), e.port, e.path.as_str()), ("example.com", 443, "/rpc"));
//! ```

/// `impl hyper::rt::Write for $ty<I>` handing every call to its `inner` field: the IO
/// wrappers here ([`Rewind`], `PrefaceDeadline`) only change how the connection is read.
macro_rules! forward_write_to_inner {
    ($ty:ident) => {
        impl<I: hyper::rt::Write + Unpin> hyper::rt::Write for $ty<I> {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_flush(cx)
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
            }
        }
    };
}

mod connect;
mod h1;
mod h2;
mod layers;
mod post;
mod poster;
mod read_ahead;
mod response;
mod server;
mod timer;
mod url;
#[cfg(feature = "websocket")]
mod ws_plan;

pub use connect::{ConnectError, Connected, HttpConnect, HTTP2_ALPN};
pub use h1::{serve_http1, Http1Outcome, Http1Serve, Rewind};
pub use h2::{
    PrefaceDeadline, DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_HEADER_LIST_SIZE,
    H2_KEEP_ALIVE_INTERVAL, H2_KEEP_ALIVE_TIMEOUT,
};
pub use layers::{
    cors_for_origins, AllowHosts, AllowHostsLayer, BoxError, ConnService, HttpInner, HttpLayers,
    HttpRequest, HttpStack, LayeredBody, ResponseBody,
};
pub use post::{
    post_request, read_response, Attempt, HttpClientConfig, HttpPostTransport, HttpPoster,
    HttpSink, HttpStream,
};
pub use poster::HyperPoster;
pub use read_ahead::{ReadAhead, READ_AHEAD};
pub use response::{
    busy_upgrade_key, headers_of, json_response, reject, reject_and_close, switching_protocols,
};
pub use server::{ConnInfo, HttpOutcome, HttpService, DEFAULT_BODY_READ_TIMEOUT};
pub use timer::ConnTimer;
pub use url::{host_of, Endpoint, UrlError};
#[cfg(feature = "websocket")]
pub use ws_plan::{ws_client_plan, WsClientPlan};
