//! L0, the protocol layer: pure and synchronous, no IO, no runtime, no clock, no feature.
//!
//! Messages ([`message`]), ids and errors, batches, byte-stream framing ([`codec`]), the
//! connection state machine ([`connection`]), limits (constants) and the pure HTTP decisions
//! ([`http`]). Nothing here names a module of the layers above (`peer`, `service`, `adapter`,
//! `testing`); the crate root re-exports what applications use.

pub(crate) mod batch;
pub(crate) mod codec;
pub(crate) mod connection;
pub(crate) mod error;
pub(crate) mod http;
pub(crate) mod id;
pub(crate) mod limits;
pub(crate) mod message;
