//! Error codes and the error object of JSON-RPC 2.0, and this crate's local error enums.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, Error as _};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON-RPC error code.
///
/// The codes from -32768 to -32000 are reserved by the specification; the five standard codes and
/// the implementation-defined server range (-32099 to -32000) have named constants. Application
/// errors use any other integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// -32700: invalid JSON was received.
    pub const PARSE_ERROR: ErrorCode = ErrorCode(-32700);
    /// -32600: the JSON sent is not a valid Request object.
    pub const INVALID_REQUEST: ErrorCode = ErrorCode(-32600);
    /// -32601: the method does not exist or is not available.
    pub const METHOD_NOT_FOUND: ErrorCode = ErrorCode(-32601);
    /// -32602: invalid method parameters.
    pub const INVALID_PARAMS: ErrorCode = ErrorCode(-32602);
    /// -32603: internal JSON-RPC error.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(-32603);
    /// -32000: generic server error (start of the server range).
    pub const SERVER_ERROR: ErrorCode = ErrorCode(-32000);
    /// -32001: the request did not complete before its deadline.
    pub const REQUEST_TIMEOUT: ErrorCode = ErrorCode(-32001);
    /// -32002: the caller exceeded a rate limit.
    pub const RATE_LIMITED: ErrorCode = ErrorCode(-32002);
    /// -32003: the server is busy (too many calls in flight).
    pub const SERVER_BUSY: ErrorCode = ErrorCode(-32003);
    /// -32800: the request was cancelled (LSP's `RequestCancelled`).
    pub const REQUEST_CANCELLED: ErrorCode = ErrorCode(-32800);
    /// The lowest code of the implementation-defined server range.
    pub const SERVER_RANGE_MIN: i64 = -32099;
    /// The highest code of the implementation-defined server range.
    pub const SERVER_RANGE_MAX: i64 = -32000;

    /// The code as an integer.
    pub const fn code(self) -> i64 {
        self.0
    }

    /// True when the specification reserves this code (-32768 to -32000 inclusive).
    pub const fn is_reserved(self) -> bool {
        self.0 >= -32768 && self.0 <= -32000
    }

    /// True inside the implementation-defined server range (-32099 to -32000 inclusive).
    pub const fn is_server_error(self) -> bool {
        self.0 >= Self::SERVER_RANGE_MIN && self.0 <= Self::SERVER_RANGE_MAX
    }

    /// The message the specification (or this crate, for its server codes) gives the code.
    pub const fn default_message(self) -> Option<&'static str> {
        Some(match self.0 {
            -32700 => "Parse error",
            -32600 => "Invalid Request",
            -32601 => "Method not found",
            -32602 => "Invalid params",
            -32603 => "Internal error",
            -32000 => "Server error",
            -32001 => "Request timed out",
            -32002 => "Rate limit exceeded",
            -32003 => "Server busy",
            -32800 => "Request cancelled",
            _ => return None,
        })
    }
}

impl From<i64> for ErrorCode {
    fn from(v: i64) -> Self {
        ErrorCode(v)
    }
}

impl From<ErrorCode> for i64 {
    fn from(v: ErrorCode) -> Self {
        v.0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The `error` member of a response: `{"code": .., "message": .., "data": ..}`.
///
/// Two error objects are equal when code, message and the exact text of `data` are equal.
#[derive(Clone, Debug)]
pub struct ErrorObject {
    /// The error code.
    pub code: ErrorCode,
    /// A short description.
    pub message: Cow<'static, str>,
    /// Optional extra information, kept as the exact JSON text received or given.
    pub data: Option<Box<RawValue>>,
}

impl PartialEq for ErrorObject {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.data.as_deref().map(RawValue::get) == other.data.as_deref().map(RawValue::get)
    }
}

impl Eq for ErrorObject {}

impl ErrorObject {
    /// An error with a code and message and no data.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<Cow<'static, str>>) -> Self {
        ErrorObject {
            code: code.into(),
            message: message.into(),
            data: None,
        }
    }

    /// An error with the code's standard message (or "Server error" / "Application error").
    pub fn from_code(code: impl Into<ErrorCode>) -> Self {
        let code = code.into();
        let message = code.default_message().unwrap_or(if code.is_server_error() {
            "Server error"
        } else {
            "Application error"
        });
        ErrorObject::new(code, message)
    }

    /// Attaches `data`, serialized to JSON. A value that cannot be serialized (a map with
    /// non-string keys, say) is replaced by its error text as a JSON string.
    pub fn with_data(mut self, data: impl Serialize) -> Self {
        self.data = Some(match serde_json::value::to_raw_value(&data) {
            Ok(raw) => raw,
            Err(e) => {
                serde_json::value::to_raw_value(&e.to_string()).expect("a string always serializes")
            }
        });
        self
    }

    /// Attaches `data` given as raw JSON text.
    pub fn with_raw_data(mut self, data: Box<RawValue>) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700 "Parse error".
    pub fn parse_error() -> Self {
        ErrorObject::from_code(ErrorCode::PARSE_ERROR)
    }

    /// -32600 "Invalid Request".
    pub fn invalid_request() -> Self {
        ErrorObject::from_code(ErrorCode::INVALID_REQUEST)
    }

    /// -32601 "Method not found".
    pub fn method_not_found() -> Self {
        ErrorObject::from_code(ErrorCode::METHOD_NOT_FOUND)
    }

    /// -32602 "Invalid params: {detail}".
    pub fn invalid_params(detail: impl fmt::Display) -> Self {
        ErrorObject::new(
            ErrorCode::INVALID_PARAMS,
            format!("Invalid params: {detail}"),
        )
    }

    /// -32603 "Internal error".
    pub fn internal_error() -> Self {
        ErrorObject::from_code(ErrorCode::INTERNAL_ERROR)
    }

    /// -32001 "Request timed out".
    pub fn request_timeout() -> Self {
        ErrorObject::from_code(ErrorCode::REQUEST_TIMEOUT)
    }

    /// -32002 "Rate limit exceeded".
    pub fn rate_limited() -> Self {
        ErrorObject::from_code(ErrorCode::RATE_LIMITED)
    }

    /// -32003 "Server busy".
    pub fn server_busy() -> Self {
        ErrorObject::from_code(ErrorCode::SERVER_BUSY)
    }

    /// -32800 "Request cancelled".
    pub fn request_cancelled() -> Self {
        ErrorObject::from_code(ErrorCode::REQUEST_CANCELLED)
    }

    /// Writes the object as compact JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"code\":");
        let _ = serde_json::to_writer(&mut *out, &self.code.0);
        out.extend_from_slice(b",\"message\":");
        crate::protocol::id::write_json_str(&self.message, out);
        if let Some(data) = &self.data {
            out.extend_from_slice(b",\"data\":");
            out.extend_from_slice(data.get().as_bytes());
        }
        out.push(b'}');
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)?;
        if let Some(data) = &self.data {
            write!(f, " ({})", data.get())?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorObject {}

impl Serialize for ErrorObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ErrorObject", 2 + usize::from(self.data.is_some()))?;
        st.serialize_field("code", &self.code.0)?;
        st.serialize_field("message", &self.message)?;
        if let Some(data) = &self.data {
            st.serialize_field("data", data)?;
        }
        st.end()
    }
}

impl<'de> Deserialize<'de> for ErrorObject {
    /// Strict: `code` must be an integer, `message` a string; `data` is kept as raw JSON
    /// (including an explicit `null`). Unknown members are ignored.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            code: Option<i64>,
            message: Option<String>,
            #[serde(default, deserialize_with = "raw_some")]
            data: Option<Box<RawValue>>,
        }
        fn raw_some<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
            Box::<RawValue>::deserialize(d).map(Some)
        }
        let w = Wire::deserialize(d)?;
        let code = w.code.ok_or_else(|| D::Error::missing_field("code"))?;
        let message = w
            .message
            .ok_or_else(|| D::Error::missing_field("message"))?;
        Ok(ErrorObject {
            code: ErrorCode(code),
            message: Cow::Owned(message),
            data: w.data,
        })
    }
}

/// Why an incoming text could not be parsed as JSON at all (answered with -32700).
#[derive(Debug, Clone, thiserror::Error)]
#[error("parse error: {0}")]
pub struct ParseError(pub String);
