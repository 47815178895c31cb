//! The runtime-agnostic async driver (feature `async`): the [`Runtime`] and [`Transport`] traits
//! adapters implement, and the [`Client`] and [`Server`] built on [`crate::Connection`].
//!
//! Each connection is driven by one task that owns the transport: it reads frames, runs
//! request handlers concurrently inside the task (bounded by `Config::max_in_flight`: input is
//! not read while at the limit), runs notification handlers one after another in arrival
//! order, writes answers as they complete (writing goes before reading more input, several
//! frames per flush), and enforces handler deadlines with one timer.

mod client;
mod driver;
pub(crate) mod rt;
mod server;
mod shared;
mod transport;

pub use client::{BatchBuilder, Client, ClientConfig, ClientError, Notifications, ResponseFuture};
pub use server::{ClientId, ClientInfo, PushOverflow, Server, ServerConfig, ServerHandle};
pub use transport::{
    BoxFrameSink, BoxFrameStream, BoxTransport, Runtime, Transport, TransportError, TransportInfo,
    TransportKind,
};

pub(crate) use rt::Rt;
pub(crate) use shared::PeerShared;
