//! The client's fast path for frames of answers: one successful response, or an array of them,
//! in the compact form servers write (`{"jsonrpc":"2.0","result":R,"id":N}`, or with `"id"`
//! before `"result"`), with unsigned integer ids. It finds where each result is in the frame
//! without building messages; any other frame (an error object, another id, whitespace, an
//! unknown member, a request..) is left to the full parser, which then gives exactly what it
//! always gives.

use serde_json::value::RawValue;

use super::compact::value_end;
use super::scan::next_string_special;

/// `{"jsonrpc":"2.0",`: how every answer the fast path reads starts.
const HEAD: &[u8] = br#"{"jsonrpc":"2.0","#;
const RESULT: &[u8] = br#""result":"#;
const ID: &[u8] = br#""id":"#;

/// Reads `b` when it is one successful compact response or a non-empty array of at most
/// `max_batch_len` of them, nesting at most `max_depth` levels (as
/// [`crate::limits::nesting_exceeds`] counts them), and valid UTF-8: pushes `(id, start, end)`
/// for each answer (`b[start..end]` is its result, valid JSON) in frame order and returns true.
/// Returns false (with `out` in any state) for every other frame.
pub(crate) fn scan_answers(
    b: &[u8],
    max_depth: usize,
    max_batch_len: usize,
    out: &mut Vec<(u64, usize, usize)>,
) -> bool {
    scan(b, max_depth, max_batch_len, out).is_some()
}

fn scan(
    b: &[u8],
    max_depth: usize,
    max_batch_len: usize,
    out: &mut Vec<(u64, usize, usize)>,
) -> Option<()> {
    let depth = match *b.first()? {
        b'{' => {
            let (answer, end, depth) = answer(b, 0)?;
            if end != b.len() {
                return None;
            }
            out.push(answer);
            depth + 1
        }
        b'[' => {
            let mut pos = 1;
            let mut depth = 0;
            loop {
                if b.get(pos) != Some(&b'{') || out.len() == max_batch_len {
                    return None;
                }
                let (answer, end, d) = answer(b, pos)?;
                depth = depth.max(d);
                out.push(answer);
                match *b.get(end)? {
                    b',' => pos = end + 1,
                    b']' if end + 1 == b.len() => break,
                    _ => return None,
                }
            }
            depth + 2
        }
        _ => return None,
    };
    // The structure and numbers are ASCII, and each other result was checked to be UTF-8:
    // so is the frame.
    (depth <= max_depth).then_some(())
}

/// The answer at `i` (a `{`): `(id, start, end of the result)`, the index after it and the
/// nesting depth of its result.
fn answer(b: &[u8], i: usize) -> Option<((u64, usize, usize), usize, usize)> {
    let mut i = i + HEAD.len();
    if !b.get(i - HEAD.len()..)?.starts_with(HEAD) {
        return None;
    }
    let rest = b.get(i..)?;
    let (n, start, end, depth);
    if rest.starts_with(RESULT) {
        start = i + RESULT.len();
        (end, depth) = result(b, start)?;
        i = expect(b, end, b",")?;
        i = expect(b, i, ID)?;
        (n, i) = id(b, i)?;
    } else if rest.starts_with(ID) {
        (n, i) = id(b, i + ID.len())?;
        i = expect(b, i, b",")?;
        start = expect(b, i, RESULT)?;
        (end, depth) = result(b, start)?;
        i = end;
    } else {
        return None;
    }
    let i = expect(b, i, b"}")?;
    Some(((n, start, end), i, depth))
}

fn expect(b: &[u8], i: usize, what: &[u8]) -> Option<usize> {
    b.get(i..)?.starts_with(what).then_some(i + what.len())
}

/// An unsigned integer id without leading zero that fits 19 digits; the index after it.
fn id(b: &[u8], i: usize) -> Option<(u64, usize)> {
    let mut n = 0u64;
    let mut j = i;
    while let Some(&c) = b.get(j) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if j - i == 19 {
            return None;
        }
        n = n * 10 + u64::from(d);
        j += 1;
    }
    let digits = j - i;
    (digits == 1 || (digits > 1 && b[i] != b'0')).then_some((n, j))
}

/// The result value at `i`, checked to be valid JSON: where it ends and how deep it nests.
/// Integers and strings with nothing escaped are checked here; any other value by serde_json.
fn result(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let end_ok = |j: usize| matches!(b.get(j), Some(b',') | Some(b'}'));
    match *b.get(i)? {
        c @ (b'-' | b'0'..=b'9') => {
            let mut j = i + usize::from(c == b'-');
            match b.get(j) {
                Some(b'0') => j += 1,
                Some(b'1'..=b'9') => {
                    j += b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
                }
                _ => return None,
            }
            if end_ok(j) {
                return Some((j, 0));
            }
        }
        b'"' => {
            let close = next_string_special(b, i + 1);
            if b.get(close) == Some(&b'"') && end_ok(close + 1) {
                std::str::from_utf8(&b[i + 1..close]).ok()?;
                return Some((close + 1, 0));
            }
        }
        _ => {}
    }
    let (end, depth, plain) = value_end(b, i)?;
    if plain {
        std::str::from_utf8(&b[i..end]).ok()?;
    } else {
        // checks the UTF-8 of its strings too
        serde_json::from_slice::<&RawValue>(&b[i..end]).ok()?;
    }
    Some((end, depth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::{parse_compact, parse_general, Incoming, Message};

    /// What the full parser reads in `text`: `(id, result text)` of each entry when every
    /// entry is a successful response with an unsigned id, else `None`.
    fn full(text: &str) -> Option<Vec<(u64, String)>> {
        let incoming = match parse_compact(text) {
            Some((incoming, depth)) => {
                if depth > crate::protocol::limits::DEFAULT_MAX_DEPTH {
                    return None;
                }
                incoming
            }
            None => parse_general(text.as_bytes(), text).ok()?,
        };
        let entries = match incoming {
            Incoming::Single(e) => vec![e],
            Incoming::Batch(es) => es,
        };
        entries
            .into_iter()
            .map(|e| match e {
                Ok(Message::Response(r)) => Some((r.id.as_u64()?, r.result.ok()?.get().to_owned())),
                _ => None,
            })
            .collect()
    }

    fn fast(text: &str, max_batch_len: usize) -> Option<Vec<(u64, String)>> {
        let mut out = Vec::new();
        let max = crate::protocol::limits::DEFAULT_MAX_DEPTH;
        scan_answers(text.as_bytes(), max, max_batch_len, &mut out).then(|| {
            out.iter()
                .map(|&(n, s, e)| (n, text[s..e].to_owned()))
                .collect()
        })
    }

    #[test]
    fn answers_read_as_the_full_parser_reads_them() {
        let deep = format!("{}1{}", "[".repeat(125), "]".repeat(125));
        let too_deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
        let values = [
            "3",
            "-7",
            "0",
            "-0",
            "12345678901234567890123",
            "1.5",
            "-2e10",
            "1E+2",
            "\"\"",
            "\"abc\"",
            "\"caf\u{e9}\"",
            "\"a\\\"b\"",
            "\"\\u00e9\"",
            "true",
            "false",
            "null",
            "[1,2]",
            "{\"a\":[1,{\"b\":\"}\"}]}",
            "[]",
            "{}",
            deep.as_str(),
        ];
        for v in values {
            for text in [
                format!("{{\"jsonrpc\":\"2.0\",\"result\":{v},\"id\":5}}"),
                format!("{{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{v}}}"),
                format!("[{{\"jsonrpc\":\"2.0\",\"result\":{v},\"id\":1}},{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{v}}}]"),
            ] {
                let got = fast(&text, 1024);
                assert_eq!(got, full(&text), "{text}");
                assert!(got.is_some() || text.contains(deep.as_str()), "{text}");
            }
        }
        // the batch of `deep` results nests one level deeper than the single answer: the full
        // parser's limit, exactly
        let batch_deep = format!("[{{\"jsonrpc\":\"2.0\",\"result\":{too_deep},\"id\":1}}]");
        assert_eq!(fast(&batch_deep, 1024), None);
        assert_eq!(full(&batch_deep), None);
    }

    #[test]
    fn other_frames_are_left_to_the_full_parser() {
        let long = format!("\"{}\"", "x".repeat(1000));
        let ok = format!("{{\"jsonrpc\":\"2.0\",\"result\":{long},\"id\":18446744073709551}}");
        assert_eq!(fast(&ok, 1024), full(&ok));
        assert!(fast(&ok, 1024).is_some());
        for text in [
            "",
            "[]",
            "{}",
            "[{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}",
            "[{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}] ",
            "[{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1},]",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1} ",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1,\"id\":2}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"result\":2,\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":\"1\"}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":01}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1.0}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":-1}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":null}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":18446744073709551616}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":12345678901234567890}",
            "{\"jsonrpc\":\"2.0\",\"result\":01,\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":-,\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":1.,\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":tru,\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":\"a\\x\",\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":\"a\tb\",\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\": 1,\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":1 ,\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"m\"},\"id\":1}",
            "{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":null,\"id\":1}",
            "{\"jsonrpc\":\"1.0\",\"result\":1,\"id\":1}",
            "{\"result\":1,\"id\":1,\"jsonrpc\":\"2.0\"}",
            "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}",
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}]",
            "{\"jsonrpc\":\"2.0\",\"result\":1}",
        ] {
            assert_eq!(fast(text, 1024), None, "{text}");
        }
        // over the batch limit: the full path answers it
        let two = "[{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1},{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":2}]";
        assert_eq!(fast(two, 1), None);
        assert!(fast(two, 2).is_some());
        // not UTF-8 inside a string
        let mut bad = b"{\"jsonrpc\":\"2.0\",\"result\":\"a".to_vec();
        bad.extend_from_slice(&[0xff, b'"']);
        bad.extend_from_slice(b",\"id\":1}");
        assert!(!scan_answers(&bad, 128, 1024, &mut Vec::new()));
    }
}
