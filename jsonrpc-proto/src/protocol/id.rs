//! Request identifiers: a number, a string or null, echoed exactly as received.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON-RPC request id.
///
/// Every JSON number is kept exactly as it was written and echoed unchanged (JSON-RPC 2.0 §5):
/// integers in the 64-bit range as [`IdNumber::Unsigned`] / [`IdNumber::Negative`], any other
/// number (beyond 64 bits, with a fraction or an exponent, such as `18446744073709551617`,
/// `1.50` or `1e400`) as [`IdNumber::Text`] holding its JSON text. Strings keep their full
/// unicode content and are re-escaped on output. Fractional numbers are accepted (the
/// specification says ids SHOULD NOT have them, not MUST NOT).
///
/// Two number ids are equal when they denote the same number, compared exactly on their decimal
/// digits (no floating point): `1`, `1.0`, `1e0` and `10e-1` are one id (so a peer that answers
/// our call `1` with `1.0` still matches it), while each is echoed as written. See [`IdNumber`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// `null`: the id of an error response whose request id could not be read.
    Null,
    /// A JSON number.
    Number(IdNumber),
    /// A JSON string.
    String(String),
}

/// The numeric form of an [`Id`].
///
/// Equality, hashing and ordering go by the number's value read exactly from its decimal text:
/// `Unsigned(1)` equals `Text` of `1.0`, `1e0` or `0.1e1`, and `-0` equals `0`. The one
/// exception: a number whose exponent does not fit in 64 bits (`1e99999999999999999999`) is
/// compared by its text alone. The order is total and consistent with equality but is not the
/// numeric order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum IdNumber {
    /// A non-negative integer written without fraction or exponent.
    Unsigned(u64),
    /// A negative integer written without fraction or exponent.
    Negative(i64),
    /// Any other JSON number, kept as its exact, validated JSON text.
    Text(NumberText),
}

/// The validated text of a JSON number (RFC 8259 §6), echoed byte for byte.
#[derive(Clone, Debug)]
pub struct NumberText(Box<NumberInner>);

#[derive(Clone, Debug)]
struct NumberInner {
    text: Box<str>,
    canon: Canon,
}

/// A number's exact value in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Canon {
    Unsigned(u64),
    Negative(i64),
    /// `digits` has no leading or trailing zero; the value is `(-)digits * 10^exp`.
    Decimal {
        negative: bool,
        digits: Box<str>,
        exp: i64,
    },
    /// The exponent does not fit in an `i64`: compared by text.
    Text(Box<str>),
}

/// The comparison key of an [`IdNumber`], borrowed.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key<'a> {
    Unsigned(u64),
    Negative(i64),
    Decimal(bool, &'a str, i64),
    Text(&'a str),
}

impl NumberText {
    /// Validates `text` as one JSON number (no surrounding whitespace); `None` otherwise.
    pub fn new(text: &str) -> Option<NumberText> {
        let canon = canonical(text.as_bytes())?;
        Some(NumberText(Box::new(NumberInner {
            text: text.into(),
            canon,
        })))
    }

    /// The number's JSON text, exactly as received.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }
}

impl fmt::Display for NumberText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a JSON number's exact value; `None` when `b` is not exactly one JSON number.
fn canonical(b: &[u8]) -> Option<Canon> {
    let (negative, rest) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    let int_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let (int, rest) = rest.split_at(int_len);
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return None;
    }
    let (frac, rest): (&[u8], &[u8]) = match rest {
        [b'.', rest @ ..] => {
            let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            rest.split_at(n)
        }
        _ => (&[], rest),
    };
    let exp_text: Option<(bool, &[u8])> = match rest {
        [] => None,
        [b'e' | b'E', rest @ ..] => {
            let (neg, digits) = match rest {
                [b'-', d @ ..] => (true, d),
                [b'+', d @ ..] => (false, d),
                d => (false, d),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some((neg, digits))
        }
        _ => return None,
    };
    // From here on the text is a valid JSON number (all ASCII).
    let as_text = || Canon::Text(String::from_utf8_lossy(b).into());
    let mut exp: i64 = 0;
    if let Some((neg, digits)) = exp_text {
        for &d in digits {
            let Some(e) = exp
                .checked_mul(10)
                .and_then(|e| e.checked_add(i64::from(d - b'0')))
            else {
                return Some(as_text());
            };
            exp = e;
        }
        if neg {
            exp = -exp;
        }
    }
    let Some(mut exp) = i64::try_from(frac.len())
        .ok()
        .and_then(|n| exp.checked_sub(n))
    else {
        return Some(as_text());
    };
    let all: Vec<u8> = int.iter().chain(frac).copied().collect();
    let start = all.iter().take_while(|&&c| c == b'0').count();
    let digits = &all[start..];
    let trailing = digits.iter().rev().take_while(|&&c| c == b'0').count();
    let digits = &digits[..digits.len() - trailing];
    if digits.is_empty() {
        return Some(Canon::Unsigned(0));
    }
    let Some(e) = i64::try_from(trailing)
        .ok()
        .and_then(|t| exp.checked_add(t))
    else {
        return Some(as_text());
    };
    exp = e;
    // An integer value that fits in 64 bits compares equal to the plain integer.
    if exp >= 0 && (digits.len() as u64).saturating_add(exp as u64) <= 20 {
        let mut value: u128 = 0;
        for &d in digits {
            value = value * 10 + u128::from(d - b'0');
        }
        value *= 10u128.pow(exp as u32);
        if !negative {
            if let Ok(u) = u64::try_from(value) {
                return Some(Canon::Unsigned(u));
            }
        } else if let Ok(i) = i64::try_from(-(value as i128)) {
            return Some(Canon::Negative(i));
        }
    }
    Some(Canon::Decimal {
        negative,
        digits: String::from_utf8_lossy(digits).into(),
        exp,
    })
}

impl IdNumber {
    /// Reads one JSON number's text: a plain 64-bit integer becomes `Unsigned` or `Negative`,
    /// any other valid number `Text`. `None` when `text` is not exactly one JSON number.
    pub fn from_text(text: &str) -> Option<IdNumber> {
        let b = text.as_bytes();
        let plain = match b {
            [b'-', rest @ ..] => rest,
            _ => b,
        };
        if !plain.is_empty() && (plain.len() == 1 || plain[0] != b'0') {
            // One pass over the digits: `None` for any other character or beyond 64 bits.
            let value = plain.iter().try_fold(0u64, |v, &c| {
                let digit = c.checked_sub(b'0').filter(|d| *d <= 9)?;
                v.checked_mul(10)?.checked_add(u64::from(digit))
            });
            match value {
                // `-0` is kept as text so that it is echoed as written.
                Some(u) if b[0] == b'-' && u != 0 => {
                    if let Some(i) = 0i64.checked_sub_unsigned(u) {
                        return Some(IdNumber::Negative(i));
                    }
                }
                Some(u) if b[0] != b'-' => return Some(IdNumber::Unsigned(u)),
                _ => {}
            }
        }
        NumberText::new(text).map(IdNumber::Text)
    }

    fn key(&self) -> Key<'_> {
        match self {
            IdNumber::Unsigned(u) => Key::Unsigned(*u),
            IdNumber::Negative(i) if *i >= 0 => Key::Unsigned(*i as u64),
            IdNumber::Negative(i) => Key::Negative(*i),
            IdNumber::Text(t) => match &t.0.canon {
                Canon::Unsigned(u) => Key::Unsigned(*u),
                Canon::Negative(i) => Key::Negative(*i),
                Canon::Decimal {
                    negative,
                    digits,
                    exp,
                } => Key::Decimal(*negative, digits, *exp),
                Canon::Text(t) => Key::Text(t),
            },
        }
    }

    /// The number as an unsigned integer, when its value is one (`7`, `7.0` and `0.7e1` all
    /// give 7).
    pub fn as_u64(&self) -> Option<u64> {
        match self.key() {
            Key::Unsigned(u) => Some(u),
            _ => None,
        }
    }

    /// Writes the number's JSON text.
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            IdNumber::Unsigned(u) => {
                let mut buf = itoa_buf();
                out.extend_from_slice(fmt_u64(*u, &mut buf));
            }
            IdNumber::Negative(i) => {
                if *i < 0 {
                    out.push(b'-');
                }
                let mut buf = itoa_buf();
                out.extend_from_slice(fmt_u64(i.unsigned_abs(), &mut buf));
            }
            IdNumber::Text(t) => out.extend_from_slice(t.as_str().as_bytes()),
        }
    }
}

impl PartialEq for IdNumber {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for IdNumber {}

impl std::hash::Hash for IdNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for IdNumber {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdNumber {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Id {
    /// True for `Id::Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Id::Null)
    }

    /// The id as an unsigned integer, when it is a number whose value is one (`7`, `7.0`).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Id::Number(n) => n.as_u64(),
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
        let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        // Ids read from compact frames have no whitespace around them: checked in two bytes.
        let b = text.as_bytes();
        let text = if b.first().is_some_and(ws) || b.last().is_some_and(ws) {
            text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        } else {
            text
        };
        let bytes = text.as_bytes();
        match bytes.first()? {
            // Fast path: a plain string with no escapes.
            b'"' if bytes.len() >= 2
                && !bytes.contains(&b'\\')
                && bytes[bytes.len() - 1] == b'"' =>
            {
                Some(Id::String(text[1..text.len() - 1].to_owned()))
            }
            b'-' | b'0'..=b'9' => IdNumber::from_text(text).map(Id::Number),
            b'n' if text == "null" => Some(Id::Null),
            b'"' => serde_json::from_str::<String>(text).ok().map(Id::String),
            _ => None,
        }
    }

    /// Writes the id as compact JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Id::Null => out.extend_from_slice(b"null"),
            Id::Number(n) => n.write_json(out),
            Id::String(s) => write_json_str(s, out),
        }
    }
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

/// Two decimal digits of each number below 100.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `v` in decimal, written at the end of `buf` two digits at a time.
fn fmt_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
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
            Id::Number(IdNumber::Text(t)) => {
                // serde_json writes a raw value verbatim, so the number is echoed exactly.
                let raw: &RawValue =
                    serde_json::from_str(t.as_str()).map_err(ser::Error::custom)?;
                raw.serialize(s)
            }
            Id::String(v) => s.serialize_str(v),
        }
    }
}

/// serde_json's name for a raw value: asking for it makes serde_json's deserializers (from text
/// and from `Value`) hand over the value's exact text, so big numbers are not read as floats.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or null")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Id, A::Error> {
                // serde_json's raw value: one entry whose value is the JSON text.
                let invalid = || de::Error::custom("expected a string, a number or null");
                map.next_key::<de::IgnoredAny>()?.ok_or_else(invalid)?;
                let text: std::borrow::Cow<'de, str> = map.next_value::<CowStr<'de>>()?.0;
                Id::from_json(text.trim()).ok_or_else(invalid)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Id, D::Error> {
                // Any other format: read the value itself (numbers as the format gives them).
                d.deserialize_any(V)
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
                // Only reached for formats other than JSON: the shortest text of the value.
                let text = serde_json::to_string(&v).map_err(E::custom)?;
                IdNumber::from_text(&text)
                    .map(Id::Number)
                    .ok_or_else(|| E::custom("a non-finite number cannot be an id"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id::String(v))
            }
        }
        d.deserialize_newtype_struct(RAW_VALUE_TOKEN, V)
    }
}

/// A string borrowed when the deserializer can lend it.
struct CowStr<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct S;
        impl<'de> Visitor<'de> for S {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<CowStr<'de>, E> {
                Ok(CowStr(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(S)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers_are_written_in_decimal_at_every_length() {
        let mut values = vec![0u64, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        values.extend((0..20).map(|k| 10u64.pow(k)));
        values.extend((1..20).map(|k| 10u64.pow(k) - 1));
        values.extend((0..2000).map(|k| k * 37));
        for v in values {
            let mut out = Vec::new();
            super::Id::from(v).write_json(&mut out);
            assert_eq!(out, v.to_string().as_bytes(), "{v}");
            let mut out = Vec::new();
            let neg = -(v.min(i64::MAX as u64) as i64);
            super::Id::from(neg).write_json(&mut out);
            assert_eq!(out, neg.to_string().as_bytes(), "{neg}");
        }
        let mut out = Vec::new();
        super::Id::from(i64::MIN).write_json(&mut out);
        assert_eq!(out, i64::MIN.to_string().as_bytes());
    }

    #[test]
    fn ids_with_and_without_surrounding_whitespace_read_alike() {
        use super::Id;
        for (text, id) in [
            ("7", Id::from(7u64)),
            (" 7", Id::from(7u64)),
            ("7\n", Id::from(7u64)),
            ("\t\"a\"\r", Id::from("a")),
            ("null", Id::Null),
            (" null ", Id::Null),
        ] {
            let read = Id::from_json(text).unwrap();
            assert_eq!(read, id, "{text:?}");
            let mut out = Vec::new();
            read.write_json(&mut out);
            let mut want = Vec::new();
            id.write_json(&mut want);
            assert_eq!(out, want, "{text:?}");
        }
        assert!(Id::from_json(" ").is_none());
        assert!(Id::from_json("").is_none());
    }

    #[test]
    fn plain_integers_read_in_one_pass_up_to_64_bits() {
        use super::IdNumber;
        let read = |t: &str| IdNumber::from_text(t);
        assert!(matches!(read("0"), Some(IdNumber::Unsigned(0))));
        assert!(matches!(read("12345"), Some(IdNumber::Unsigned(12345))));
        assert!(matches!(
            read("18446744073709551615"),
            Some(IdNumber::Unsigned(u64::MAX))
        ));
        assert!(matches!(read("-1"), Some(IdNumber::Negative(-1))));
        assert!(matches!(
            read("-9223372036854775808"),
            Some(IdNumber::Negative(i64::MIN))
        ));
        for text in [
            "18446744073709551616",
            "-9223372036854775809",
            "-0",
            "1.5",
            "1e3",
            "99999999999999999999999",
        ] {
            assert!(
                matches!(read(text), Some(IdNumber::Text(_))),
                "{text} is kept as text"
            );
        }
        for bad in ["007", "-", "", "1a", "--1", "-01"] {
            assert!(read(bad).is_none(), "{bad} is no JSON number");
        }
    }

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
    fn any_number_is_echoed_as_written() {
        for text in [
            "1.5",
            "1.0",
            "1e0",
            "1E+2",
            "1.50",
            "-0",
            "-0.0",
            "18446744073709551616",
            "18446744073709551617",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "-123456789012345678901234567890.000001",
            "1e400",
            "-2.5E-400",
            "1e99999999999999999999999",
            "4.9406564584124654e-324",
        ] {
            assert_eq!(echo(text), text);
            // The same through serde: deserialized from text and from a `Value`.
            let id: Id = serde_json::from_str(text).expect("deserializes");
            assert_eq!(id.to_string(), text);
            let in_struct: Vec<Id> = serde_json::from_str(&format!("[ {text} ]")).unwrap();
            assert_eq!(in_struct[0].to_string(), text);
        }
        assert_eq!(
            Id::from_json("18446744073709551617"),
            Some(Id::Number(IdNumber::Text(
                NumberText::new("18446744073709551617").unwrap()
            )))
        );
    }

    #[test]
    fn number_ids_compare_by_exact_value() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        let hash = |id: &Id| {
            let mut h = DefaultHasher::new();
            id.hash(&mut h);
            h.finish()
        };
        let same = |a: &str, b: &str| {
            let (a, b) = (Id::from_json(a).unwrap(), Id::from_json(b).unwrap());
            assert_eq!(a, b);
            assert_eq!(hash(&a), hash(&b));
        };
        same("1", "1.0");
        same("1", "1e0");
        same("1", "10e-1");
        same("1", "0.1E1");
        same("0", "-0");
        same("0", "0e5");
        same("-7", "-7.000");
        same("18446744073709551615", "1.8446744073709551615e19");
        same("18446744073709551617", "18446744073709551617.0");
        same("1.5", "15e-1");
        same(
            "123456789012345678901234567890",
            "1.2345678901234567890123456789e29",
        );
        let differ = |a: &str, b: &str| {
            assert_ne!(Id::from_json(a).unwrap(), Id::from_json(b).unwrap());
        };
        differ("18446744073709551616", "18446744073709551617");
        differ("1", "-1");
        differ("1.5", "-1.5");
        differ("1e400", "1e401");
        differ("9223372036854775808", "-9223372036854775808");
        // An exponent beyond 64 bits is compared by text.
        differ("1e99999999999999999999", "10e99999999999999999998");
        same("1e99999999999999999999", "1e99999999999999999999");
        assert_eq!(Id::from_json("7.0").unwrap().as_u64(), Some(7));
        assert_eq!(Id::from_json("7.5").unwrap().as_u64(), None);
        assert_eq!(Id::from_json("-1").unwrap().as_u64(), None);
    }

    #[test]
    fn invalid_numbers_are_rejected() {
        for text in [
            "01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "1.5.5", "NaN", "--1",
        ] {
            assert_eq!(IdNumber::from_text(text), None, "{text}");
            assert_eq!(Id::from_json(text), None, "{text}");
        }
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
