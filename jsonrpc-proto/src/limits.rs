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

/// Counts the sockets a server has open, for every runtime adapter: take a [`SocketSlot`] per
/// accepted socket (before any TLS handshake) and keep it, or a clone of the `Arc` holding it,
/// as long as the socket lives (an upgraded WebSocket included). A slot taken at the limit is
/// [`SocketSlot::busy`]: refuse that socket (HTTP 503 + `Connection: close`, WebSocket close
/// 1013, raw TCP [`too_many_connections_line`]).
///
/// ```
/// use jsonrpc_proto::limits::SocketSlots;
/// let slots = SocketSlots::new(1);
/// let a = slots.acquire();
/// let b = slots.acquire();
/// assert!(!a.busy() && b.busy());
/// assert_eq!(slots.open(), 2);
/// drop((a, b));
/// assert_eq!(slots.open(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct SocketSlots {
    open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max: usize,
}

impl SocketSlots {
    /// A counter allowing `max` sockets at once.
    pub fn new(max: usize) -> SocketSlots {
        SocketSlots {
            open: Default::default(),
            max,
        }
    }

    /// Counts one more socket; the slot is busy when `max` were already open.
    pub fn acquire(&self) -> SocketSlot {
        let before = self.open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SocketSlot {
            open: self.open.clone(),
            busy: before >= self.max,
        }
    }

    /// Sockets open now (refused ones included until they close).
    pub fn open(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// One counted socket; dropping it frees the slot.
#[derive(Debug)]
pub struct SocketSlot {
    open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    busy: bool,
}

impl SocketSlot {
    /// True when the server was at its limit: refuse this socket.
    pub fn busy(&self) -> bool {
        self.busy
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// True when `json` nests arrays and objects deeper than `max` levels. Linear, no recursion,
/// no allocation; brackets inside strings (with escapes) are skipped. Malformed input is left
/// to the parser: this only looks at brackets.
pub fn nesting_exceeds(json: &[u8], max: usize) -> bool {
    // The depth never exceeds the number of opening brackets (those inside strings included):
    // counting them is a branch-free pass the compiler vectorizes, and settles most frames.
    // (`[` is 0x5B and `{` is 0x7B: both are 0x7B with bit 0x20 set.)
    // Counted per chunk in a byte-sized counter, which vectorizes 16 or 32 lanes wide.
    let opens: usize = json
        .chunks(255)
        .map(|chunk| {
            let n = chunk
                .iter()
                .fold(0u8, |n, &b| n + u8::from((b | 0x20) == b'{'));
            usize::from(n)
        })
        .sum();
    if opens <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        i += 1;
        match b {
            b'"' => {
                // Skip the string: up to its closing quote, stepping over escaped bytes.
                while i < json.len() {
                    let c = json[i];
                    i += 1;
                    if c == b'"' {
                        break;
                    }
                    if c == b'\\' {
                        i += 1;
                    }
                }
            }
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
        assert!(!nesting_exceeds(br#"["\\"]"#, 1));
        assert!(nesting_exceeds(br#"["\\",[]]"#, 1));
        assert!(!nesting_exceeds(br#"["\\\"[",[]]"#, 2));
        assert!(nesting_exceeds(br#"]][[["#, 2));
    }

    /// The byte-at-a-time scan this replaced: the reference for the faster one.
    fn reference(json: &[u8], max: usize) -> bool {
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

    proptest::proptest! {
        #[test]
        fn same_as_the_byte_scan(
            bytes in proptest::collection::vec(proptest::sample::select(
                b"[]{}\\\" a,:1".to_vec()), 0..64),
            max in 0usize..6,
        ) {
            proptest::prop_assert_eq!(nesting_exceeds(&bytes, max), reference(&bytes, max));
        }
    }
}
