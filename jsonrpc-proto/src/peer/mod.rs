//! The runtime-agnostic async driver (feature `async`): the [`Runtime`] and [`Transport`] traits
//! adapters implement, the [`Client`] and [`Server`] built on [`crate::Connection`], the server's registry
//! ([`ServerHandle`]), the [`Context`] handed to handlers, and the [`Dispatch`] trait the layer
//! above (the service layer's `Router`) implements.
//!
//! Each connection is driven by one task that owns the transport: it reads frames, runs
//! request handlers concurrently inside the task (bounded by `Config::max_in_flight`: input is
//! not read while at the limit), runs notification handlers one after another in arrival
//! order, writes answers as they complete (writing goes before reading more input, several
//! frames per flush), and enforces handler deadlines with one timer.

mod client;
mod config;
mod connect;
mod context;
mod dispatch;
mod driver;
mod info;
mod registry;
pub(crate) mod rt;
mod server;
mod shared;
pub(crate) mod subs;
mod subscribe;
mod transport;

pub use client::{BatchBuilder, Client, ClientConfig, ClientError, Notifications, ResponseFuture};
pub use config::{PushOverflow, ServerConfig};
pub use context::{CallInfo, Context, Extensions};
pub(crate) use dispatch::panicked;
pub use dispatch::{Answer, CallResult, Dispatch, Reply};
pub use info::{ClientId, ClientInfo, PushError};
pub use registry::ServerHandle;
// For the HTTP glue above (adapter::http, feature `http-service`, which this layer does not
// name) and the tests: unused in other builds.
#[allow(unused_imports)]
pub(crate) use server::HttpScratch;
pub use server::Server;
pub(crate) use shared::PeerShared;
pub use subs::{EndReason, LagPolicy};
pub(crate) use subscribe::with_subs;
pub use subscribe::{Subscription, SubscriptionError};
pub use transport::{
    BoxFrameSink, BoxFrameStream, BoxTransport, HeaderSource, Headers, Liveness, Runtime,
    Transport, TransportError, TransportInfo, TransportKind,
};
