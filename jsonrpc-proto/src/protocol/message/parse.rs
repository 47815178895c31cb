//! The entry points: [`parse`] (compact fast path first, then the general reading) and
//! [`parse_message`].

use super::compact::parse_compact;
use super::model::*;

use crate::protocol::error::ParseError;
use crate::protocol::id::Id;

use super::fields::Top;

/// Parses one complete JSON text into a message or batch.
///
/// ```
/// use jsonrpc_proto::{parse, Incoming, Message};
/// let frame = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
/// let Incoming::Single(Ok(Message::Request(req))) = parse(frame).unwrap() else { panic!() };
/// assert_eq!(req.method, "subtract");
/// assert_eq!(req.params.unwrap().get(), "[42,23]");
/// ```
pub fn parse(input: &[u8]) -> Result<Incoming<'_>, ParseError> {
    // The fast path reads "jsonrpc" and "method" as strings directly. serde_json refuses some
    // strings that are valid JSON text (a lone surrogate escape such as "\ud800"), and the
    // strict meaning of those is -32600, not -32700: on any error, parse again reading them as
    // raw JSON first (the slow path costs only on input that is invalid anyway).
    //
    // UTF-8 is checked once, up front, and the text then read as `str`, so serde_json skips
    // its per-string and per-raw-value UTF-8 checks.
    // JSON text is UTF-8 (RFC 8259 section 8.1): anything else is a parse error, wherever the
    // bad byte is (serde_json would skip it inside a member we ignore).
    let text = std::str::from_utf8(input).map_err(utf8_error)?;
    if let Some((incoming, _)) = parse_compact(text) {
        return Ok(incoming);
    }
    parse_general(input, text)
}

/// [`parse`] after its compact fast path: `text` is `input`, checked to be UTF-8.
pub(crate) fn parse_general<'a>(
    input: &'a [u8],
    text: &'a str,
) -> Result<Incoming<'a>, ParseError> {
    match serde_json::from_str::<Top<'_, true>>(text) {
        Ok(top) => Ok(top.into_incoming()),
        Err(_) => match serde_json::from_slice::<Top<'_, false>>(input) {
            Ok(top) => Ok(top.into_incoming()),
            Err(e) => read_opaque(text).ok_or_else(|| ParseError(e.to_string())),
        },
    }
}

/// The last reading of valid JSON that the others refused: serde_json decodes a string it
/// hands to a visitor, and refuses a lone surrogate escape (`"\ud800"`) there, which the
/// grammar of RFC 8259 allows. Read as raw JSON text instead, such a string is no request:
/// at the top level -32600; in a batch that member's -32600 (the other members read as
/// usual); an object named with one (`{"\ud800":1}`) -32600 with id null. `None`: the text
/// is not JSON at all (-32700).
fn read_opaque(text: &str) -> Option<Incoming<'_>> {
    let raw = serde_json::from_str::<&serde_json::value::RawValue>(text).ok()?;
    let not_a_request = |reason| Invalid {
        id: Id::Null,
        kind: InvalidKind::Request,
        reason,
    };
    let members = match raw.get().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<&serde_json::value::RawValue>>(raw.get()).ok()?,
        Some(b'{') => {
            return Some(Incoming::Single(Err(not_a_request(
                "member name not a string",
            ))))
        }
        _ => {
            return Some(Incoming::Single(Err(not_a_request(
                "not an object or array",
            ))))
        }
    };
    let entries = members
        .into_iter()
        .map(|m| match serde_json::from_str::<Top<'_, false>>(m.get()) {
            Ok(Top::Object(entry)) => entry,
            Ok(_) => Err(not_a_request("batch member is not an object")),
            Err(_) if m.get().starts_with('{') => Err(not_a_request("member name not a string")),
            Err(_) => Err(not_a_request("batch member is not an object")),
        })
        .collect::<Vec<_>>();
    // Never empty: `[]` reads in the first place.
    Some(Incoming::Batch(entries))
}

pub(crate) fn utf8_error(e: std::str::Utf8Error) -> ParseError {
    ParseError(format!("invalid UTF-8 at byte {}", e.valid_up_to()))
}

/// [`parse`] without its fast path: the reference the fuzzer compares it with.
#[doc(hidden)]
pub fn parse_reference(input: &[u8]) -> Result<Incoming<'_>, ParseError> {
    let text = std::str::from_utf8(input).map_err(utf8_error)?;
    match serde_json::from_slice::<Top<'_, false>>(input) {
        Ok(top) => Ok(top.into_incoming()),
        Err(e) => read_opaque(text).ok_or_else(|| ParseError(e.to_string())),
    }
}

impl<'a, const FAST: bool> Top<'a, FAST> {
    fn into_incoming(self) -> Incoming<'a> {
        match self {
            Top::Object(entry) => Incoming::Single(entry),
            Top::Other => Incoming::Single(Err(Invalid {
                id: Id::Null,
                kind: InvalidKind::Request,
                reason: "not an object or array",
            })),
            Top::Array(members) if members.is_empty() => Incoming::Single(Err(Invalid {
                id: Id::Null,
                kind: InvalidKind::Request,
                reason: "empty batch",
            })),
            Top::Array(entries) => Incoming::Batch(entries),
        }
    }
}

/// Parses a frame that must hold exactly one valid message (a convenience for clients and tests).
pub fn parse_message(input: &[u8]) -> Result<Message<'_>, MessageError> {
    match parse(input)? {
        Incoming::Single(Ok(m)) => Ok(m),
        Incoming::Single(Err(invalid)) => Err(MessageError::Invalid(invalid)),
        Incoming::Batch(_) => Err(MessageError::UnexpectedBatch),
    }
}

/// Why [`parse_message`] found no single valid message.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The input is not JSON.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The input is JSON but not a valid message.
    #[error("{0}")]
    Invalid(Invalid),
    /// The input is a batch.
    #[error("expected one message, got a batch")]
    UnexpectedBatch,
}
