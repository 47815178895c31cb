//! Byte scans that run before or beside the parse: JSON nesting depth and string skipping.

/// True when `json` nests arrays and objects deeper than `max` levels. Linear, no recursion,
/// no allocation; brackets inside strings (with escapes) are skipped. Malformed input is left
/// to the parser: this only looks at brackets.
///
/// The input is taken 32 bytes at a time: a block holding none of `"` `\` `[` `]` `{` `}`
/// cannot change the depth or the string state, and that test compiles to vector compares,
/// so long strings (a 1 MiB result) cost about one instruction per byte instead of fifteen;
/// only blocks with structure are walked byte by byte.
pub fn nesting_exceeds(json: &[u8], max: usize) -> bool {
    // The depth never exceeds the number of opening brackets (those inside strings included):
    // counting them is a branch-free pass the compiler vectorizes, and settles most frames.
    // (`[` is 0x5B and `{` is 0x7B: both are 0x7B with bit 0x20 set.) Counted per chunk in a
    // byte-sized counter, which vectorizes 16 or 32 lanes wide.
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
    let mut scan = Scan {
        depth: 0,
        in_string: false,
        escaped: false,
    };
    let mut blocks = json.chunks_exact(BLOCK);
    for block in &mut blocks {
        if !has_structure(block) {
            // plain bytes: an escape pending from the previous block consumed its first byte
            scan.escaped = false;
            continue;
        }
        if scan.bytes(block, max) {
            return true;
        }
    }
    scan.bytes(blocks.remainder(), max)
}

/// The block size of [`nesting_exceeds`]'s scan.
const BLOCK: usize = 32;

/// True when `block` holds a byte that can change the depth or the string state. Written as a
/// branch-free loop over a fixed-size block so that it compiles to vector compares (about one
/// instruction per byte with SSE2; a `fold` or `any` over a slice stayed a byte loop).
fn has_structure(block: &[u8]) -> bool {
    let Ok(block) = <&[u8; BLOCK]>::try_from(block) else {
        return true;
    };
    let mut acc = 0u8;
    for &b in block {
        acc |= u8::from(
            (b == b'"') | (b == b'\\') | (b == b'[') | (b == b']') | (b == b'{') | (b == b'}'),
        );
    }
    acc != 0
}

/// The index of the first `"`, `\\` or control character (below 0x20) at or after `from` in
/// `b` (`b.len()` when there is none): inside a JSON string, where its content ends, an escape
/// starts or the string is invalid. Skips 32-byte blocks holding none with one vectorised test
/// each, so a long string costs about one instruction per byte.
pub(crate) fn next_string_special(b: &[u8], from: usize) -> usize {
    let special = |c: u8| (c == b'"') | (c == b'\\') | (c < 0x20);
    let mut i = from;
    while let Some(block) = b.get(i..i + BLOCK) {
        let Ok(block) = <&[u8; BLOCK]>::try_from(block) else {
            break;
        };
        let mut acc = 0u8;
        for &c in block {
            acc |= u8::from(special(c));
        }
        if acc != 0 {
            break;
        }
        i += BLOCK;
    }
    while i < b.len() && !special(b[i]) {
        i += 1;
    }
    i.min(b.len())
}

/// The byte-by-byte state of [`nesting_exceeds`].
struct Scan {
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// Walks `bytes`; true as soon as the depth exceeds `max`.
    fn bytes(&mut self, bytes: &[u8], max: usize) -> bool {
        for &b in bytes {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > max {
                        return true;
                    }
                }
                b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
        false
    }
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

    /// The byte-at-a-time walk the block scan must agree with.
    fn reference(json: &[u8], max: usize) -> bool {
        let mut scan = Scan {
            depth: 0,
            in_string: false,
            escaped: false,
        };
        scan.bytes(json, max)
    }

    #[test]
    fn blocks_agree_with_the_byte_walk_across_boundaries() {
        // escapes, quotes and brackets placed on every offset around the 32-byte blocks
        let pieces: [&[u8]; 6] = [b"\\\"", b"\\\\", b"\"", b"[", b"]", b"{"];
        for pad in 0..70 {
            for piece in pieces {
                for max in [0, 1, 2, 3] {
                    let mut s = b"[\"".to_vec();
                    s.extend(std::iter::repeat_n(b'a', pad));
                    s.extend_from_slice(piece);
                    s.extend(std::iter::repeat_n(b'a', 40));
                    s.extend_from_slice(b"\",[[[");
                    s.extend(std::iter::repeat_n(b'b', pad));
                    s.extend_from_slice(b"]]]]");
                    assert_eq!(nesting_exceeds(&s, max), reference(&s, max), "{pad} {max}");
                }
            }
        }
    }

    #[test]
    fn an_escape_ending_a_block_does_not_outlive_the_plain_block_after_it() {
        // `[` `"` then a backslash as the last byte of block 0, a plain block 1 (whose first
        // byte the backslash escapes), and block 2 closing the string before three `[`
        let mut s = b"[\"".to_vec();
        s.extend(std::iter::repeat_n(b'a', 29));
        s.push(b'\\');
        s.extend(std::iter::repeat_n(b'a', 32));
        s.extend_from_slice(b"\"[[[1]]]]");
        assert_eq!(s[31], b'\\');
        assert!(nesting_exceeds(&s, 3));
        assert!(!nesting_exceeds(&s, 4));
        assert!(reference(&s, 3));
    }

    #[test]
    fn next_string_special_finds_the_first_one() {
        for len in [0usize, 1, 31, 32, 33, 64, 100] {
            for at in 0..len {
                for c in [b'"', b'\\', 0x00, b'\n', 0x1f] {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    for from in 0..=at {
                        assert_eq!(next_string_special(&b, from), at, "{len} {at} {from}");
                    }
                    assert_eq!(next_string_special(&b, at + 1), len);
                }
            }
            assert_eq!(next_string_special(&vec![b'a'; len], 0), len);
            // 0x20, DEL and UTF-8 bytes are plain string content
            let plain = "\u{7f} \u{e9}\u{1f980}".repeat(len);
            assert_eq!(next_string_special(plain.as_bytes(), 0), plain.len());
        }
    }

    proptest::proptest! {
        #[test]
        fn same_as_the_byte_walk_on_dense_input(
            bytes in proptest::collection::vec(proptest::sample::select(
                b"[]{}\\\" a,:1".to_vec()), 0..64),
            max in 0usize..6,
        ) {
            proptest::prop_assert_eq!(nesting_exceeds(&bytes, max), reference(&bytes, max));
        }

        #[test]
        fn blocks_agree_with_the_byte_walk(
            len in 0usize..400,
            // a few structural bytes at random places in a run of plain ones, so that most
            // 32-byte blocks are skipped and the state must carry across them
            marks in proptest::collection::vec(
                (0usize..400, proptest::sample::select(b"\"\\[]{}".to_vec())), 0..16),
            max in 0usize..6,
        ) {
            let mut bytes = vec![b'a'; len];
            for (at, b) in marks {
                if at < len {
                    bytes[at] = b;
                }
            }
            proptest::prop_assert_eq!(nesting_exceeds(&bytes, max), reference(&bytes, max));
        }
    }
}
