//! Who a connection is: [`ClientId`], [`ClientInfo`], and why a push to it failed
//! ([`PushError`]).

use std::fmt;

use super::transport::TransportInfo;

/// The id a server gives each connection (and each HTTP post).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A connection as hooks and handlers see it.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    /// The server-assigned id (0 on a [`super::Client`]'s own side).
    pub id: ClientId,
    /// What the transport knows: kind, addresses, headers, path.
    pub transport: TransportInfo,
}

/// Why a notification could not be pushed to a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The client's outgoing queue is full (it reads too slowly); the notification was dropped.
    #[error("the client's outgoing queue is full; the notification was dropped")]
    Full,
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// The transport cannot carry server pushes (one HTTP POST per call).
    #[error("this transport cannot carry notifications to the client (HTTP)")]
    Unsupported,
    /// No connected client has this id.
    #[error("no connected client has id {0}")]
    UnknownClient(ClientId),
    /// The params could not be serialized, or are not an array or object.
    #[error("params cannot be sent: {0}")]
    Params(String),
}
