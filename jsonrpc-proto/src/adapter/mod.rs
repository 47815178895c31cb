//! L3, shared IO glue **for transport crates, not applications**: what `transport-tokio` and
//! `transport-async-std` would otherwise both write. No sockets and no executor here: byte-stream
//! transports over futures-io ([`framed`]), WebSocket over tungstenite (`ws`), HTTP over the
//! hyper/http types (`http`), rustls configuration (`tls`), the generic server builder and the
//! running-server handle (`builder`), the clients' options (`connect`), Unix socket files
//! (`unix`), socket counting ([`slots`]) and the start/stop bookkeeping ([`lifecycle`]). One
//! feature per file.
//!
//! Applications use the transport crates, which re-export what they need of this module.

#[cfg(feature = "async")]
pub mod framed;
#[cfg(feature = "async")]
pub mod lifecycle;
pub mod slots;

#[cfg(all(feature = "http-service", feature = "websocket"))]
pub mod builder;
#[cfg(all(feature = "http-service", feature = "websocket", feature = "tls"))]
pub mod connect;
#[cfg(feature = "http-service")]
pub mod http;
#[cfg(feature = "http-service")]
pub mod reconnect;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(all(feature = "http-service", feature = "websocket"))]
pub mod unix;
#[cfg(feature = "websocket")]
pub mod ws;
