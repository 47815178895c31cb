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

pub mod batch;
pub mod codec;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod id;
pub mod limits;
pub mod message;

pub use batch::BatchWriter;
pub use codec::{Codec, CodecError, ContentLengthCodec, LineCodec, DEFAULT_MAX_FRAME_SIZE};
pub use error::{ErrorCode, ErrorObject, ParseError};
pub use id::{Id, IdNumber};
pub use message::{
    is_reserved_method, parse, parse_message, Entry, Incoming, Invalid, InvalidKind, Message,
    MessageError, Notification, Request, Response,
};
pub use serde_json::value::RawValue;

/// `#[rpc]` on a trait of async fns: the server router, a typed client and the OpenRPC
/// document from one definition (feature `macros`; see [`service`]).
#[cfg(feature = "macros")]
pub use jsonrpc_proto_macros::rpc;

#[cfg(feature = "http-service")]
pub mod http_service;
#[cfg(feature = "async")]
pub mod peer;
#[cfg(all(feature = "http-service", feature = "websocket"))]
pub mod server_builder;
#[cfg(feature = "async")]
pub mod service;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tls")]
pub mod tls;

pub mod connection;
pub mod sim;
pub use connection::{CallError, Config, Connection, Event};
