//! The compact fast path of [`super::parse`].

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::fields::{Fields, Key, StrValue, Version};
use super::{Entry, Incoming, Message, Request, VERSION};
use crate::protocol::id::Id;

// ---------------------------------------------------------------------------------------------
// The compact fast path: what clients and servers write (no whitespace between tokens, plain
// member names and "jsonrpc"/"method" strings), read without serde's visitor machinery. Any
// other shape returns `None` and is read by serde_json below; on input it accepts, it gives
// exactly what that reading gives (the fuzz target compares `parse` with `parse_reference`).

/// Reads `text` when it is one object or a non-empty array of objects in compact form; also
/// gives how deep the text nests arrays and objects (as [`crate::limits::nesting_exceeds`]
/// counts them).
pub(crate) fn parse_compact(text: &str) -> Option<(Incoming<'_>, usize)> {
    let b = text.as_bytes();
    match b.first()? {
        b'{' => {
            let (entry, end, depth) = compact_entry(text, 0)?;
            (end == b.len()).then_some((Incoming::Single(entry), depth))
        }
        b'[' => {
            // Room for the members a compact frame of this size can hold (bounded).
            let mut members = Vec::with_capacity((b.len() / 40).clamp(4, 1024));
            let mut pos = 1;
            let mut depth = 0;
            loop {
                if b.get(pos) != Some(&b'{') {
                    return None;
                }
                let (entry, end, d) = compact_entry(text, pos)?;
                depth = depth.max(d);
                members.push(entry);
                match b.get(end)? {
                    b',' => pos = end + 1,
                    b']' => {
                        pos = end + 1;
                        break;
                    }
                    _ => return None,
                }
            }
            (pos == b.len()).then_some((Incoming::Batch(members), depth + 1))
        }
        _ => None,
    }
}

/// The message of the object that starts at `pos` (a `{`), the index after it and its
/// nesting depth: a request in the shape clients write read straight into its message, any
/// other object member by member.
fn compact_entry(text: &str, pos: usize) -> Option<(Entry<'_>, usize, usize)> {
    if let Some((request, end, depth)) = canonical_request(text, pos) {
        return Some((Ok(Message::Request(request)), end, depth));
    }
    let (fields, end, depth) = compact_object(text, pos)?;
    Some((fields.validate(), end, depth))
}

/// A request in the shape this crate's client (and most others) writes, read in one pass
/// with no member bookkeeping: `{"jsonrpc":"2.0","method":M,"params":P,"id":I}` or
/// `{"jsonrpc":"2.0","id":I,"method":M,"params":P}`, `"params"` optional, where M is a string
/// without escapes, P an array of plain scalars ([`plain_member_len`]) and I an unsigned
/// integer of at most 19 digits or a string without escapes. `None` for anything else (the
/// member loop then reads it, and judges it). What it gives is what that loop and
/// [`Fields::validate`] give for the same text: each member appears once, so there is no
/// duplicate, and every value is one the loop would have taken as it is.
fn canonical_request(text: &str, pos: usize) -> Option<(Request<'_>, usize, usize)> {
    const HEAD: &[u8] = b"{\"jsonrpc\":\"2.0\",";
    let b = text.as_bytes();
    let mut i = pos;
    if !b.get(i..)?.starts_with(HEAD) {
        return None;
    }
    i += HEAD.len();
    let mut id = None;
    if b.get(i..)?.starts_with(b"\"id\":") {
        let (v, after) = canonical_id(text, i + 5)?;
        id = Some(v);
        if b.get(after) != Some(&b',') {
            return None;
        }
        i = after + 1;
    }
    if !b.get(i..)?.starts_with(b"\"method\":") {
        return None;
    }
    let (method, after) = plain_str(text, i + 9)?;
    i = after;
    let mut params = None;
    let mut depth = 1;
    if b.get(i..)?.starts_with(b",\"params\":[") {
        i += 10;
        // an array of plain scalars followed by `,` or `}`
        let (len, d) = plain_member_len(b, i)?;
        params = Some(Cow::Borrowed(borrow_raw(&text[i..i + len])?));
        depth += d;
        i += len;
    }
    let id = match id {
        Some(id) => id,
        None => {
            if !b.get(i..)?.starts_with(b",\"id\":") {
                return None;
            }
            let (v, after) = canonical_id(text, i + 6)?;
            i = after;
            v
        }
    };
    if b.get(i) != Some(&b'}') {
        return None;
    }
    let request = Request {
        id,
        method: Cow::Borrowed(method),
        params,
    };
    Some((request, i + 1, depth))
}

/// The id that starts at `i` when it is an unsigned integer of at most 19 digits or a string
/// without escapes ([`plain_scalar_len`]), and the index after it.
fn canonical_id(text: &str, i: usize) -> Option<(Id, usize)> {
    let b = text.as_bytes();
    let len = plain_scalar_len(b.get(i..)?)?;
    let scalar = &b[i..i + len];
    let id = match scalar[0] {
        b'0'..=b'9' => Id::from(plain_unsigned(scalar)?),
        // Quotes are ASCII: both ends are character boundaries.
        b'"' => Id::String(text[i + 1..i + len - 1].to_owned()),
        _ => return None,
    };
    Some((id, i + len))
}

/// Reads the object that starts at `pos` (a `{`); returns its fields, the index after it and
/// its nesting depth.
fn compact_object(text: &str, pos: usize) -> Option<(Fields<'_>, usize, usize)> {
    let b = text.as_bytes();
    let mut f = Fields::default();
    let mut i = pos + 1;
    let mut depth = 0;
    if b.get(i) == Some(&b'}') {
        return Some((f, i + 1, 1));
    }
    loop {
        let (key, after) = compact_key(text, i)?;
        i = after;
        // The common values (a plain scalar id, `[5,3]` params) are measured and checked in
        // one scan; any other goes through `value_end` (and serde_json) below.
        let plain = match key {
            Key::Id | Key::Params | Key::Result | Key::Error => plain_member_len(b, i),
            _ => None,
        };
        let handled = match (&key, plain) {
            (Key::Id, Some((len, 0))) => {
                f.duplicate |= f.id.replace(&text[i..i + len]).is_some();
                f.id_unsigned = plain_unsigned(&b[i..i + len]);
                i += len;
                true
            }
            (Key::Params | Key::Result | Key::Error, Some((len, d))) => {
                depth = depth.max(d);
                let raw = borrow_raw(&text[i..i + len])?;
                let slot = match key {
                    Key::Params => &mut f.params,
                    Key::Result => &mut f.result,
                    _ => &mut f.error,
                };
                f.duplicate |= slot.replace(raw).is_some();
                i += len;
                true
            }
            _ => false,
        };
        if handled {
            match b.get(i)? {
                b',' => i += 1,
                b'}' => return Some((f, i + 1, depth + 1)),
                _ => return None,
            }
            continue;
        }
        match key {
            Key::Jsonrpc => {
                let v = if b[i..].starts_with(b"\"2.0\"") {
                    i += 5;
                    Version::V2
                } else {
                    let (v, after) = plain_str(text, i)?;
                    i = after;
                    if v == VERSION {
                        Version::V2
                    } else {
                        Version::Other
                    }
                };
                f.duplicate |= f.jsonrpc.replace(v).is_some();
            }
            Key::Method => {
                let (v, after) = plain_str(text, i)?;
                f.duplicate |= f.method.replace(StrValue::Str(Cow::Borrowed(v))).is_some();
                i = after;
            }
            Key::Id => {
                let (end, d, _) = value_end(b, i)?;
                depth = depth.max(d);
                let v = &text[i..end];
                // Common ids are checked here; serde_json checks any other text exactly.
                if !is_plain_id(v.as_bytes()) {
                    serde_json::from_str::<&RawValue>(v).ok()?;
                }
                f.duplicate |= f.id.replace(v).is_some();
                f.id_unsigned = None;
                i = end;
            }
            _ => {
                let (end, d, plain) = value_end(b, i)?;
                depth = depth.max(d);
                let v = &text[i..end];
                // A string with nothing escaped is valid as it is (`text` is UTF-8, and the
                // scan found its end); serde_json checks any other value exactly. Either way
                // the value is borrowed, as the slow path does.
                // So is a flat array of plain scalars (`[5,3]`: most params), checked here in a
                // few instructions per byte.
                let simple = plain || is_plain_value(v.as_bytes());
                let raw = match simple.then(|| borrow_raw(v)).flatten() {
                    Some(raw) => raw,
                    None => serde_json::from_str::<&RawValue>(v).ok()?,
                };
                let slot = match key {
                    Key::Params => Some(&mut f.params),
                    Key::Result => Some(&mut f.result),
                    Key::Error => Some(&mut f.error),
                    _ => None,
                };
                if let Some(slot) = slot {
                    f.duplicate |= slot.replace(raw).is_some();
                }
                i = end;
            }
        }
        match b.get(i)? {
            b',' => i += 1,
            b'}' => return Some((f, i + 1, depth + 1)),
            _ => return None,
        }
    }
}

/// The member name that starts at `i` (a `"`), and the index after the `:` that follows it.
fn compact_key(text: &str, i: usize) -> Option<(Key, usize)> {
    let b = text.as_bytes();
    let rest = b.get(i..)?;
    // The names peers write, recognized by their exact text with the quotes and the colon.
    let known = match rest.get(1) {
        Some(b'j') if rest.starts_with(b"\"jsonrpc\":") => Some((Key::Jsonrpc, 10)),
        Some(b'm') if rest.starts_with(b"\"method\":") => Some((Key::Method, 9)),
        Some(b'p') if rest.starts_with(b"\"params\":") => Some((Key::Params, 9)),
        Some(b'i') if rest.starts_with(b"\"id\":") => Some((Key::Id, 5)),
        Some(b'r') if rest.starts_with(b"\"result\":") => Some((Key::Result, 9)),
        Some(b'e') if rest.starts_with(b"\"error\":") => Some((Key::Error, 8)),
        _ => None,
    };
    if let Some((key, len)) = known {
        return Some((key, i + len));
    }
    let (name, after) = plain_str(text, i)?;
    if b.get(after) != Some(&b':') {
        return None;
    }
    Some((Key::from_name(name), after + 1))
}

/// True for JSON text that is certainly a valid JSON value of the common id shapes: `null`, an
/// integer without sign, fraction or exponent (and no leading zero), or a string without
/// escapes or control characters (`text` is known to be UTF-8).
fn is_plain_id(text: &[u8]) -> bool {
    match text {
        b"null" | b"0" => true,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        [b'"', inner @ .., b'"'] => !inner.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20),
        _ => false,
    }
}

/// The value of a plain scalar ([`plain_scalar_len`] of all of it) that is an unsigned
/// integer of at most 19 digits (so it fits in a u64), read in the same pass as its digits
/// were checked; `None` for any other scalar (read by `Id::from_json` then).
fn plain_unsigned(scalar: &[u8]) -> Option<u64> {
    match scalar {
        [b'0'] => Some(0),
        [b'1'..=b'9', ..] if scalar.len() <= 19 => Some(
            scalar
                .iter()
                .fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')),
        ),
        _ => None,
    }
}

/// The length of the plain scalar that `text` starts with: `null`, `true`, `false`, an integer
/// (optional `-`, no fraction or exponent; a leading `0` stands alone, so `01` is refused by
/// the caller seeing `1` where a separator must be) or a string without escapes or control
/// characters. `None` for anything else.
pub(crate) fn plain_scalar_len(text: &[u8]) -> Option<usize> {
    let digits = |t: &[u8]| t.iter().take_while(|c| c.is_ascii_digit()).count();
    match *text.first()? {
        b'n' => text.starts_with(b"null").then_some(4),
        b't' => text.starts_with(b"true").then_some(4),
        b'f' => text.starts_with(b"false").then_some(5),
        b'0' => Some(1),
        b'1'..=b'9' => Some(1 + digits(&text[1..])),
        b'-' => match *text.get(1)? {
            b'0' => Some(2),
            b'1'..=b'9' => Some(2 + digits(&text[2..])),
            _ => None,
        },
        b'"' => {
            let len = text[1..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            (text[1 + len] == b'"').then_some(len + 2)
        }
        _ => None,
    }
}

/// The length and depth of the plain value ([`is_plain_value`]) that starts at `i` when a
/// member separator (`,` or `}`) follows it; `None` otherwise (then nothing is said).
fn plain_member_len(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = b.get(i..)?;
    let (len, depth) = if rest.first() == Some(&b'[') {
        let mut at = 1;
        if rest.get(1) != Some(&b']') {
            loop {
                at += plain_scalar_len(&rest[at..])?;
                match rest.get(at)? {
                    b',' => at += 1,
                    b']' => break,
                    _ => return None,
                }
            }
        }
        (at + 1, 1)
    } else {
        (plain_scalar_len(rest)?, 0)
    };
    matches!(rest.get(len), Some(b',' | b'}')).then_some((len, depth))
}

/// True for JSON text that is certainly one valid JSON value: a plain scalar
/// ([`plain_scalar_len`]) or an array of them, in compact form (`[5,3]`, `[]`, `["a",null]`).
/// `text` is known to be UTF-8. False says nothing (serde_json then checks the text).
fn is_plain_value(text: &[u8]) -> bool {
    let Some(inner) = text.strip_prefix(b"[").and_then(|t| t.strip_suffix(b"]")) else {
        return plain_scalar_len(text) == Some(text.len());
    };
    let mut rest = inner;
    if rest.is_empty() {
        return true;
    }
    loop {
        let Some(len) = plain_scalar_len(rest) else {
            return false;
        };
        match rest.get(len) {
            None => return true,
            Some(b',') => rest = &rest[len + 1..],
            Some(_) => return false,
        }
    }
}

/// The string that starts at `i` when it has no escapes and no control characters (then its
/// text is its value); and the index after its closing quote.
fn plain_str(text: &str, i: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let len = b
        .get(i + 1..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    let end = i + 1 + len;
    // Quotes are ASCII: both ends are character boundaries.
    (b[end] == b'"').then(|| (&text[i + 1..end], end + 1))
}

/// Where the value that starts at `i` ends, judged by brackets and strings only: at the first
/// `,`, `]` or `}` outside strings that is not inside the value; how deep it nests; and whether
/// it is one string with no escape and no control character (a plain string: then it is
/// certainly valid JSON). `None` at the end of input or when the value is empty or starts or
/// ends with whitespace (serde_json would not include that whitespace in the raw value).
pub(super) fn value_end(b: &[u8], start: usize) -> Option<(usize, usize, bool)> {
    let mut i = start;
    let mut depth = 0usize;
    let mut deepest = 0usize;
    // an escape or a control character in a string of the value
    let mut special = false;
    // where the value's first string closes
    let mut first_close = None;
    loop {
        match *b.get(i)? {
            b'"' => {
                i += 1;
                loop {
                    // long strings (a 1 MiB result) are skipped a block at a time
                    i = crate::protocol::message::scan::next_string_special(b, i);
                    match *b.get(i)? {
                        b'"' => {
                            first_close.get_or_insert(i);
                            break;
                        }
                        b'\\' => {
                            special = true;
                            i += 2;
                        }
                        _ => {
                            special = true;
                            i += 1;
                        }
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' if depth == 0 => break,
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    if i == start || is_ws(b[start]) || is_ws(b[i - 1]) {
        return None;
    }
    // One string: it opens the value and its closing quote is the value's last byte.
    let plain = !special && b[start] == b'"' && first_close == Some(i - 1);
    Some((i, deepest, plain))
}

/// `text` as a borrowed [`RawValue`] without serde_json's scan, for text the caller has
/// checked to be valid JSON. `RawValue` takes its text from a deserializer through its
/// documented-by-use private newtype token (the way serde_json's own `RawValue` travels
/// through other formats); `None` if that protocol ever changes (the caller then lets
/// serde_json read the text).
pub(crate) fn borrow_raw(text: &str) -> Option<&RawValue> {
    use serde::de::value::{BorrowedStrDeserializer, Error, MapDeserializer};
    use serde::Deserialize;
    const TOKEN: &str = "$serde_json::private::RawValue";
    let entry = (
        BorrowedStrDeserializer::<Error>::new(TOKEN),
        BorrowedStrDeserializer::<Error>::new(text),
    );
    let map = MapDeserializer::<_, Error>::new(std::iter::once(entry));
    <&RawValue>::deserialize(map).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_exactly_those_serde_json_accepts_among_simple_shapes() {
        let accepted = [
            "[5,3]",
            "[]",
            "[0]",
            "[-0]",
            "[-12,0,7]",
            "[null,true,false]",
            r#"["a",1,"b,c"]"#,
            r#"[""]"#,
            "0",
            "-1",
            "123",
            "true",
            "null",
            r#""x""#,
            "[9223372036854775808]",
            "[-99999999999999999999999]",
        ];
        for v in accepted {
            assert!(is_plain_value(v.as_bytes()), "{v}");
            assert!(serde_json::from_str::<&RawValue>(v).is_ok(), "{v}");
            assert_eq!(both(v), (Some(v.to_owned()), true), "{v}");
        }
        // Not plain: read by serde_json, accepted exactly when it accepts them.
        let others = [
            "[01]",
            "[1,]",
            "[,1]",
            "[-]",
            "[-a]",
            "[1.5]",
            "[1e3]",
            "[tru]",
            "[nul]",
            "[truee]",
            r#"["a\"b"]"#,
            r#"["a]"#,
            "[[1]]",
            "[1,[2]]",
            "[ 1]",
            "[1 ]",
            "[1, 2]",
            "[+1]",
            "[--1]",
            "[1-]",
            "01",
            "-",
            "[\"\t\"]",
            "[{}]",
            "[falsy]",
            "[\"a\"\"b\"]",
        ];
        for v in others {
            assert!(!is_plain_value(v.as_bytes()), "{v}");
            let (fast, serde) = both(v);
            if serde {
                assert_eq!(fast.as_deref(), Some(v), "{v}");
            } else {
                assert_eq!(fast, None, "{v}");
            }
        }
    }

    #[test]
    fn plain_integer_ids_parse_as_the_reference_does() {
        let ids = [
            "0",
            "7",
            "20100",
            "1234567890123456789",
            "9999999999999999999",
            "12345678901234567890",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "-0",
            "-7",
            "00",
            "01",
            "1.0",
            "1e3",
            r#""7""#,
            "null",
            "true",
            "[1]",
        ];
        for id in ids {
            for text in [
                format!(r#"{{"jsonrpc":"2.0","method":"add","params":[1,2],"id":{id}}}"#),
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"add"}}"#),
                format!(
                    r#"[{{"jsonrpc":"2.0","method":"a","id":{id}}},{{"jsonrpc":"2.0","id":{id}}}]"#
                ),
                // A duplicate id is invalid either way, echoing the id read last.
                format!(r#"{{"jsonrpc":"2.0","method":"a","id":5,"id":{id}}}"#),
                format!(r#"{{"jsonrpc":"2.0","method":"a","id":{id},"id":"x"}}"#),
                format!(r#"{{"jsonrpc":"2.0","method":"a","id":{id},"id":-1}}"#),
            ] {
                let fast = format!("{:?}", super::super::parse(text.as_bytes()));
                let reference = format!("{:?}", super::super::parse_reference(text.as_bytes()));
                assert_eq!(fast, reference, "{text}");
            }
        }
        assert_eq!(
            plain_unsigned(b"1234567890123456789"),
            Some(1234567890123456789)
        );
        assert_eq!(plain_unsigned(b"12345678901234567890"), None);
        assert_eq!(plain_unsigned(b"0"), Some(0));
        assert_eq!(plain_unsigned(b"-1"), None);
    }

    #[test]
    fn requests_with_plain_params_parse_as_the_reference_does() {
        let same = |text: &str| {
            let fast = format!("{:?}", super::super::parse(text.as_bytes()));
            let reference = format!("{:?}", super::super::parse_reference(text.as_bytes()));
            assert_eq!(fast, reference, "{text}");
        };
        let params = [
            "[5,3]",
            "[]",
            r#"["a",null,-7]"#,
            "[01]",
            "[1,]",
            "[1.5]",
            "[1]x",
            "[1] ",
            "[[1]]",
            "5",
            "null",
            r#""s""#,
            "[1",
            "[",
            "[-]",
            "[1,2]]",
        ];
        let ids = [
            "1",
            "0",
            "01",
            "-5",
            "true",
            "null",
            r#""x""#,
            r#""a\"b""#,
            "1.5",
            "[1]",
            "{}",
            "1x",
            "",
            r#""é""#,
        ];
        for p in params {
            for id in ids {
                same(&format!(
                    r#"{{"jsonrpc":"2.0","method":"add","params":{p},"id":{id}}}"#
                ));
                same(&format!(
                    r#"{{"id":{id},"jsonrpc":"2.0","params":{p},"method":"add"}}"#
                ));
                same(&format!(
                    r#"[{{"jsonrpc":"2.0","method":"a","params":{p},"id":{id}}}]"#
                ));
                same(&format!(r#"{{"jsonrpc":"2.0","result":{p},"id":{id}}}"#));
                same(&format!(r#"{{"jsonrpc":"2.0","error":{p},"id":{id}}}"#));
            }
        }
        // duplicates are still seen
        same(r#"{"jsonrpc":"2.0","method":"a","params":[1],"params":[2],"id":1}"#);
        same(r#"{"jsonrpc":"2.0","method":"a","id":1,"id":2}"#);
    }

    #[test]
    fn requests_in_the_usual_shape_are_read_straight_and_as_the_reference_reads_them() {
        let same = |text: &str| {
            let fast = format!("{:?}", super::super::parse(text.as_bytes()));
            let reference = format!("{:?}", super::super::parse_reference(text.as_bytes()));
            assert_eq!(fast, reference, "{text}");
            let batch = format!("[{text},{text}]");
            let fast = format!("{:?}", super::super::parse(batch.as_bytes()));
            let reference = format!("{:?}", super::super::parse_reference(batch.as_bytes()));
            assert_eq!(fast, reference, "{batch}");
        };
        let straight = |text: &str| canonical_request(text, 0).is_some();
        // read straight: both orders, with and without params, the ids it takes
        let ids = [
            "0",
            "7",
            "1234567890123456789",
            r#""""#,
            r#""a-1""#,
            r#""é""#,
        ];
        for id in ids {
            for text in [
                format!(r#"{{"jsonrpc":"2.0","method":"add","params":[5,3],"id":{id}}}"#),
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"add","params":[5,3]}}"#),
                format!(r#"{{"jsonrpc":"2.0","method":"add","id":{id}}}"#),
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"add"}}"#),
                format!(r#"{{"jsonrpc":"2.0","method":"a.b","params":[],"id":{id}}}"#),
                format!(r#"{{"jsonrpc":"2.0","method":"","params":["x",null,-1],"id":{id}}}"#),
            ] {
                assert!(straight(&text), "{text}");
                same(&text);
            }
        }
        // left to the member loop, and read as the reference reads them
        let others = [
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":12345678901234567890}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":-1}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":null}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":1.5}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":01}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":"a\"b"}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":true}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[5,3]}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":{"a":1},"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[[1]],"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":5,"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"a\nb","id":1}"#,
            r#"{"jsonrpc":"2.0","method":"a\\b","id":1}"#,
            r#"{"jsonrpc":"2.0","method":5,"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[1],"id":1,"x":2}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[1],"id":1,"id":2}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"add","params":[1],"id":2}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"add","id":2}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[1],"params":[2],"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"add","result":1,"id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"params":[1],"method":"add"}"#,
            r#"{"jsonrpc":"2.0" ,"method":"add","id":1}"#,
            r#"{"jsonrpc":"2.0","method":"add","id":1 }"#,
            r#"{"jsonrpc":"1.0","method":"add","id":1}"#,
            r#"{"jsonrpc":"2.0","method":"add","id":1"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[1,"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[1],"id":}"#,
        ];
        for text in others {
            assert!(!straight(text), "{text}");
            same(text);
        }
    }

    /// The result member of a compact response with `value` as its result, as parsed here and
    /// as serde_json reads the value on its own.
    fn both(value: &str) -> (Option<String>, bool) {
        let text = format!("{{\"jsonrpc\":\"2.0\",\"result\":{value},\"id\":1}}");
        let fast = match parse_compact(&text) {
            Some((Incoming::Single(Ok(super::super::Message::Response(r))), _)) => {
                r.result.ok().map(|raw| raw.get().to_owned())
            }
            _ => None,
        };
        let serde = serde_json::from_str::<&RawValue>(value).is_ok();
        (fast, serde)
    }

    #[test]
    fn plain_strings_are_borrowed_without_serde_and_others_are_checked_by_it() {
        let long = "x".repeat(100_000);
        for s in ["", "a", "caf\u{e9} \u{1f980}", "\u{7f}", long.as_str()] {
            let value = format!("\"{s}\"");
            let then = format!("{value},");
            assert_eq!(value_end(then.as_bytes(), 0), Some((value.len(), 0, true)));
            assert!(borrow_raw(&value).is_some_and(|r| r.get() == value));
            assert_eq!(both(&value), (Some(value.clone()), true));
        }
        // escapes (valid or not), control characters, unterminated or glued strings and
        // other values: not plain, and accepted exactly when serde_json accepts them
        let tab = format!("\"a{}b\"", '\t');
        let nul = format!("\"{}\"", '\0');
        let long_bad = format!("\"{long}\\x\"");
        let long_ctl = format!("\"{long}{}\"", '\u{1f}');
        let cases = [
            r#""a\"b""#,
            r#""\n""#,
            r#""\u00e9""#,
            r#""\ud83e\udd80""#,
            r#""\x""#,
            r#""\u12""#,
            r#""\"#,
            r#""ab"#,
            r#""a"b"#,
            r#""a""b""#,
            r#"["a"]"#,
            r#"{"a":"b"}"#,
            "1",
            "nul",
            tab.as_str(),
            nul.as_str(),
            long_bad.as_str(),
            long_ctl.as_str(),
        ];
        for value in cases {
            let then = format!("{value}}}");
            let plain = value_end(then.as_bytes(), 0).is_some_and(|(_, _, p)| p);
            assert!(!plain, "{value:?}");
            let (fast, serde) = both(value);
            if serde {
                assert_eq!(fast.as_deref(), Some(value), "{value:?}");
            } else {
                assert_eq!(fast, None, "{value:?}");
            }
        }
    }
}
