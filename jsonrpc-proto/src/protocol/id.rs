//! Request identifiers: a number, a string or null, echoed exactly as received.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Number;

/// A JSON-RPC request id.
///
/// Integers are kept exactly (`u64::MAX` and negative `i64` round-trip unchanged); strings keep
/// their full unicode content and are re-escaped on output. Fractional numbers are accepted (the
/// specification says ids SHOULD NOT have them, not MUST NOT) and echoed with the same value.
/// Integers beyond the 64-bit range are read as floating point by `serde_json` and so lose
/// precision: use string ids for those.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// `null`: the id of an error response whose request id could not be read.
    Null,
    /// A JSON number.
    Number(IdNumber),
    /// A JSON string.
    String(String),
}

/// The numeric form of an [`Id`]: kept separately so ids can be hashed and ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdNumber {
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Negative(i64),
    /// A fractional number, stored as its IEEE bits (never NaN or infinite in JSON).
    Float(u64),
}

impl IdNumber {
    fn to_number(self) -> Number {
        match self {
            IdNumber::Unsigned(u) => Number::from(u),
            IdNumber::Negative(i) => Number::from(i),
            IdNumber::Float(bits) => {
                Number::from_f64(f64::from_bits(bits)).unwrap_or_else(|| Number::from(0))
            }
        }
    }

    fn from_f64(f: f64) -> IdNumber {
        // Kept as a float even when integral, so that `1.0` is echoed as `1.0`.
        IdNumber::Float(f.to_bits())
    }
}

impl Id {
    /// True for `Id::Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Id::Null)
    }

    /// The id as an unsigned integer, when it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Id::Number(IdNumber::Unsigned(u)) => Some(*u),
            _ => None,
        }
    }

    /// The id as a string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Id::String(s) => Some(s),
            _ => None,
        }
    }

    /// Parses an id from the exact JSON text of a value. `None` when the text is a JSON value
    /// that is not a valid id (a boolean, array or object) or not JSON at all.
    pub fn from_json(text: &str) -> Option<Id> {
        let bytes = text.as_bytes();
        match bytes.first()? {
            // Fast path: a plain string with no escapes.
            b'"' if bytes.len() >= 2
                && !bytes.contains(&b'\\')
                && bytes[bytes.len() - 1] == b'"' =>
            {
                Some(Id::String(text[1..text.len() - 1].to_owned()))
            }
            b'0'..=b'9' if bytes.iter().all(u8::is_ascii_digit) => match text.parse::<u64>() {
                Ok(u) => Some(Id::Number(IdNumber::Unsigned(u))),
                Err(_) => serde_json::from_str(text).ok(),
            },
            b'n' if text == "null" => Some(Id::Null),
            _ => match serde_json::from_str(text).ok()? {
                // serde_json (without its `float_roundtrip` feature) may round the last bit of
                // a float; the standard library's parser is exact, so the echo is too. The text
                // was just validated as a JSON number, which `f64::from_str` always accepts.
                Id::Number(IdNumber::Float(bits)) => Some(Id::Number(IdNumber::Float(
                    text.trim().parse::<f64>().map_or(bits, f64::to_bits),
                ))),
                id => Some(id),
            },
        }
    }

    /// Writes the id as compact JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Id::Null => out.extend_from_slice(b"null"),
            Id::Number(IdNumber::Unsigned(u)) => {
                let mut buf = itoa_buf();
                out.extend_from_slice(fmt_u64(*u, &mut buf));
            }
            Id::Number(n) => {
                // serde_json formats floats and negatives exactly as it would for any number.
                let _ = serde_json::to_writer(&mut *out, &n.to_number());
            }
            Id::String(s) => write_json_str(s, out),
        }
    }
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

fn fmt_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Writes `s` as a JSON string literal (with escapes) into `out`.
pub(crate) fn write_json_str(s: &str, out: &mut Vec<u8>) {
    let needs_escape = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
    if needs_escape {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

impl From<u64> for Id {
    fn from(v: u64) -> Self {
        Id::Number(IdNumber::Unsigned(v))
    }
}

impl From<i64> for Id {
    fn from(v: i64) -> Self {
        if v >= 0 {
            Id::Number(IdNumber::Unsigned(v as u64))
        } else {
            Id::Number(IdNumber::Negative(v))
        }
    }
}

impl From<u32> for Id {
    fn from(v: u32) -> Self {
        Id::from(u64::from(v))
    }
}

impl From<i32> for Id {
    fn from(v: i32) -> Self {
        Id::from(i64::from(v))
    }
}

impl From<String> for Id {
    fn from(v: String) -> Self {
        Id::String(v)
    }
}

impl From<&str> for Id {
    fn from(v: &str) -> Self {
        Id::String(v.to_owned())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_json(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Null => s.serialize_unit(),
            Id::Number(IdNumber::Unsigned(u)) => s.serialize_u64(*u),
            Id::Number(IdNumber::Negative(i)) => s.serialize_i64(*i),
            Id::Number(IdNumber::Float(bits)) => s.serialize_f64(f64::from_bits(*bits)),
            Id::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Id, E> {
                Ok(Id::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Id, E> {
                Ok(Id::Null)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id::from(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id::from(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Id, E> {
                Ok(Id::Number(IdNumber::from_f64(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id::String(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(text: &str) -> String {
        let id = Id::from_json(text).expect("valid id");
        let mut out = Vec::new();
        id.write_json(&mut out);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            String::from_utf8(out.clone()).unwrap()
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers_round_trip_exactly() {
        assert_eq!(echo("0"), "0");
        assert_eq!(echo("18446744073709551615"), "18446744073709551615");
        assert_eq!(echo("-9223372036854775808"), "-9223372036854775808");
        assert_eq!(echo("-1"), "-1");
    }

    #[test]
    fn floats_keep_their_value() {
        assert_eq!(echo("1.5"), "1.5");
        assert_eq!(echo("1.0"), "1.0");
        // serde_json's default float parser gets this one wrong by one bit (found by proptest).
        let f = f64::from_bits(10589083727020722498);
        assert_eq!(echo(&f.to_string()), serde_json::to_string(&f).unwrap());
        assert_eq!(
            Id::from_json(&serde_json::to_string(&f).unwrap()),
            Some(Id::Number(IdNumber::Float(10589083727020722498)))
        );
    }

    #[test]
    fn strings_keep_escapes_and_unicode() {
        assert_eq!(echo(r#""abc""#), r#""abc""#);
        assert_eq!(echo(r#""a\"b\\c\n""#), r#""a\"b\\c\n""#);
        assert_eq!(echo(r#""\u00e9\ud83d\ude00""#), "\"é😀\"");
        assert_eq!(Id::from_json(r#""\u00e9""#), Some(Id::String("é".into())));
    }

    #[test]
    fn invalid_ids_are_rejected() {
        assert_eq!(Id::from_json("true"), None);
        assert_eq!(Id::from_json("[1]"), None);
        assert_eq!(Id::from_json("{}"), None);
        assert_eq!(Id::from_json(""), None);
        assert_eq!(Id::from_json("null"), Some(Id::Null));
    }

    #[test]
    fn string_and_number_ids_differ() {
        assert_ne!(Id::from_json("1"), Id::from_json(r#""1""#));
    }
}
