//! Limits shared by every transport and runtime: JSON nesting depth and answer size.

/// The deepest nesting of arrays and objects accepted in one incoming frame: 128 levels, the
/// limit serde_json applies when it deserializes typed values. A deeper frame is answered with
/// -32700 (id null) by [`crate::Connection::handle_frame`] without being parsed.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// The largest result a server sends in one response object: 10 MiB. A handler result over it
/// is replaced by a -32603 error whose `data` gives both sizes (the peer's frame limit would
/// refuse the answer anyway, and the connection with it).
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 10 * 1024 * 1024;
