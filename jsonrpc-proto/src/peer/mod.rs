//! The runtime-agnostic async driver (feature `async`): the [`Runtime`] and [`Transport`] traits
//! adapters implement, and the client and server built on [`crate::Connection`].

mod transport;

pub use transport::{
    BoxFrameSink, BoxFrameStream, BoxTransport, Runtime, Transport, TransportError, TransportInfo,
    TransportKind,
};
