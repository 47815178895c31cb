//! Sans-IO JSON-RPC 2.0.
//!
//! This crate holds all protocol knowledge and never touches a socket, a runtime or a clock:
//! it parses and validates messages, produces the exact error objects the specification asks
//! for, frames messages for byte streams, and drives a connection state machine that is fed
//! frames and the current time.
//!
//! ```
//! use jsonrpc_proto::{parse, Incoming, Message};
//!
//! let frame = br#"{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":"x"}"#;
//! match parse(frame).unwrap() {
//!     Incoming::Single(Ok(Message::Request(req))) => {
//!         assert_eq!(req.method, "add");
//!         assert_eq!(req.id.as_str(), Some("x"));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // Invalid JSON gets the specification's parse error, with id null.
//! assert!(parse(b"{\"jsonrpc\": \"2.0\", \"method\"").is_err());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The protocol layer names no feature: the helpers it keeps for the async layer's fast paths
// (client answer scans, call heads) are unused in the bare sync core.
#![cfg_attr(not(feature = "async"), allow(dead_code, unused_imports))]

// The layers, one directory each; arrows only point down (see DESIGN.md):
// adapter -> service -> peer -> protocol. `testing` may use every layer.
pub mod adapter;
#[cfg(feature = "async")]
pub mod peer;
mod protocol;
#[cfg(feature = "async")]
pub mod service;
pub mod testing;

// ---- The facade: what applications name. ----

pub use protocol::batch::BatchWriter;
pub use protocol::codec::{
    Codec, CodecError, ContentLengthCodec, LineCodec, DEFAULT_MAX_FRAME_SIZE,
};
pub use protocol::connection::{CallError, Config, Connection, Event};
pub use protocol::error::{ErrorCode, ErrorObject, ParseError};
pub use protocol::id::{Id, IdNumber, NumberText};
pub use protocol::message::{
    is_reserved_method, parse, parse_message, Entry, Incoming, Invalid, InvalidKind, Message,
    MessageError, Notification, Request, Response,
};
pub use serde_json::value::RawValue;

/// `#[rpc]` on a trait of async fns: the server router, a typed client and the OpenRPC
/// document from one definition (feature `macros`; see [`service`]).
#[cfg(feature = "macros")]
pub use jsonrpc_proto_macros::rpc;

/// Batches: [`BatchWriter`] collects the answers to a batch into one array.
pub mod batch {
    pub use crate::protocol::batch::*;
}

/// Framing JSON texts on byte streams: newline-delimited ([`LineCodec`]) and
/// `Content-Length` headers ([`ContentLengthCodec`], as LSP).
pub mod codec {
    pub use crate::protocol::codec::*;
}

/// The sans-IO connection state machine: [`Connection`], its [`Config`] and [`Event`]s.
pub mod connection {
    pub use crate::protocol::connection::*;
}

/// Error codes and error objects of the specification.
pub mod error {
    pub use crate::protocol::error::*;
}

/// Pure HTTP decisions shared by every HTTP server: routes, statuses, limits, the health body.
pub mod http {
    pub use crate::protocol::http::*;
}

/// A sans-IO HTTP/1.1 server connection: request heads and bodies in, responses out.
pub mod http1 {
    pub use crate::protocol::http1::*;
}

/// Request ids, echoed exactly.
pub mod id {
    pub use crate::protocol::id::*;
}

/// Limits shared by every transport and runtime, and the nesting scan they use.
///
/// ```
/// use jsonrpc_proto::limits::{nesting_exceeds, DEFAULT_MAX_DEPTH};
///
/// assert!(!nesting_exceeds(br#"{"a":[1,[2]]}"#, DEFAULT_MAX_DEPTH));
/// let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
/// assert!(nesting_exceeds(deep.as_bytes(), DEFAULT_MAX_DEPTH));
/// // Brackets inside strings do not count.
/// assert!(!nesting_exceeds(format!("[\"{}\"]", "[".repeat(200)).as_bytes(), DEFAULT_MAX_DEPTH));
/// ```
pub mod limits {
    pub use crate::protocol::limits::*;
    pub use crate::protocol::message::scan::nesting_exceeds;
}

/// Requests, notifications and responses: strict parsing, validation and compact writing.
pub mod message {
    pub use crate::protocol::message::{
        is_reserved_method, parse, parse_message, to_raw, write_call, write_response, Entry,
        Incoming, Invalid, InvalidKind, Message, MessageError, Notification, Request, Response,
        VERSION,
    };
}

/// Two [`Connection`]s wired together on a virtual clock, for tests of the state machine.
pub mod sim {
    pub use crate::testing::sim::*;
}

#[doc(hidden)]
/// Fuzz target bodies (not a public API).
pub mod fuzzing {
    #[doc(hidden)]
    pub use crate::protocol::message::parse_reference;
    pub use crate::testing::fuzzing::*;
}
