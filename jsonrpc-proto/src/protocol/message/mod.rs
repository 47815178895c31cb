//! Requests, notifications and responses: strict parsing, validation and compact serialization.
//!
//! [`parse`] reads one complete JSON text (a frame) and classifies it. Params, results and error
//! data are borrowed from the input as [`RawValue`] (`Cow::Borrowed`): nothing is copied or
//! re-parsed on the hot path. [`Request::into_owned`] and friends detach a message from its
//! input when it must outlive the frame.
//!
//! # Validation
//! - `"jsonrpc"` must be present and be exactly the string `"2.0"`.
//! - A request has a string `"method"`; `"params"`, if present, is an array or an object
//!   (`null` is not allowed); `"id"`, if present, is a string, a number or `null`. Without
//!   `"id"` it is a notification.
//! - A response has an `"id"` (string, number or null) and exactly one of `"result"` and
//!   `"error"`; an error has an integer `"code"` and a string `"message"`.
//! - Invalid JSON is a [`ParseError`] (answered with -32700 and id null). Valid JSON that is not
//!   a valid message is [`Invalid`]: -32600 with the id echoed when it can be read, else null.
//! - **Unknown members are ignored** (for forward compatibility, as most implementations do); a
//!   member that appears twice makes the object invalid, since which of the two counts would be
//!   a guess.
//! - Method names starting with `rpc.` are reserved by the specification: they parse as
//!   ordinary requests here, and [`is_reserved_method`] lets a router refuse to register them.

mod answers;
mod compact;
mod fields;
mod model;
mod parse;
pub(crate) mod scan;
mod write;

pub(crate) use answers::scan_answers;
pub(crate) use compact::{borrow_raw, parse_compact, plain_scalar_len};
pub use parse::{parse, parse_message, parse_reference, MessageError};
pub(crate) use parse::{parse_general, utf8_error};
pub(crate) use write::{
    call_len, call_text_len, needs_escape, response_frame, response_len, write_call_head,
    write_call_text, write_response_text, ResultText,
};
pub use write::{to_raw, write_call, write_response};

pub use model::{
    is_reserved_method, Entry, Incoming, Invalid, InvalidKind, Message, Notification, Request,
    Response, VERSION,
};
