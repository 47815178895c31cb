//! Limits shared by every transport and runtime: JSON nesting depth and answer size.
//!
//! ```
//! use jsonrpc_proto::limits::{nesting_exceeds, DEFAULT_MAX_DEPTH};
//!
//! assert!(!nesting_exceeds(br#"{"a":[1,[2]]}"#, DEFAULT_MAX_DEPTH));
//! let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
//! assert!(nesting_exceeds(deep.as_bytes(), DEFAULT_MAX_DEPTH));
//! // Brackets inside strings do not count.
//! assert!(!nesting_exceeds(format!("[\"{}\"]", "[".repeat(200)).as_bytes(), DEFAULT_MAX_DEPTH));
//! ```

/// The deepest nesting of arrays and objects accepted in one incoming frame: 128 levels, the
/// limit serde_json applies when it deserializes typed values. A deeper frame is answered with
/// -32700 (id null) by [`crate::Connection::handle_frame`] without being parsed.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// The largest result a server sends in one response object: 10 MiB. A handler result over it
/// is replaced by a -32603 error whose `data` gives both sizes (the peer's frame limit would
/// refuse the answer anyway, and the connection with it).
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 10 * 1024 * 1024;

/// The line a raw TCP server writes to a client over its connection limit before closing:
/// a -32003 "Server busy" error with id null and `data` "too many connections", then `\n`.
pub fn too_many_connections_line() -> Vec<u8> {
    let error = crate::ErrorObject::server_busy().with_data("too many connections");
    let mut out = Vec::with_capacity(128);
    crate::message::write_response(&mut out, &crate::Id::Null, Err(&error));
    out.push(b'\n');
    out
}

/// True when `json` nests arrays and objects deeper than `max` levels. Linear, no recursion,
/// no allocation; brackets inside strings (with escapes) are skipped. Malformed input is left
/// to the parser: this only looks at brackets.
pub fn nesting_exceeds(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_only_structure() {
        assert!(!nesting_exceeds(b"", 0));
        assert!(!nesting_exceeds(b"1", 0));
        assert!(nesting_exceeds(b"[]", 0));
        assert!(!nesting_exceeds(b"[[]]", 2));
        assert!(nesting_exceeds(b"[[[]]]", 2));
        assert!(!nesting_exceeds(br#"["\"[[[[", {"a":"]]]{{{"}]"#, 2));
        assert!(!nesting_exceeds(br#"[[],[],[],{},{}]"#, 2));
    }
}
