//! Framing: finding where one JSON text ends and the next begins in a byte stream.
//!
//! Two codecs, both incremental over [`BytesMut`] in the manner of tokio-util's
//! `Decoder`/`Encoder` (without depending on it), and both pure: no IO, no runtime.
//!
//! - [`LineCodec`]: newline-delimited JSON (one compact JSON text per line), as used over TCP.
//! - [`ContentLengthCodec`]: `Content-Length: N` headers, a blank line, then `N` bytes of body,
//!   as the Language Server Protocol uses over stdio.
//!
//! A reader appends what it read to a `BytesMut` and calls [`Codec::decode`] until it returns
//! `Ok(None)` (more bytes needed); at the end of the stream it calls [`Codec::decode_eof`].
//! Both codecs remember how far they have scanned, so decoding is linear in the input however
//! it is split, and the frames produced never depend on how the input was split.
//!
//! ```
//! use bytes::BytesMut;
//! use jsonrpc_proto::codec::{Codec, LineCodec};
//!
//! let mut codec = LineCodec::new();
//! let mut buf = BytesMut::from(&b"{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\r\n\n{\"jsonr"[..]);
//! let frame = codec.decode(&mut buf).unwrap().unwrap();
//! assert_eq!(&frame[..], br#"{"jsonrpc":"2.0","method":"a"}"#);
//! assert_eq!(codec.decode(&mut buf).unwrap(), None); // the rest of the next line is not here yet
//! buf.extend_from_slice(b"pc\":\"2.0\",\"method\":\"b\"}\n");
//! assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], br#"{"jsonrpc":"2.0","method":"b"}"#);
//!
//! let mut out = BytesMut::new();
//! codec.encode(b"{}", &mut out);
//! assert_eq!(&out[..], b"{}\n");
//! ```
//!
//! # Limits and recovery
//! Every codec has a maximum frame size ([`DEFAULT_MAX_FRAME_SIZE`], 10 MiB, by default). A
//! frame is refused as soon as it is known to be too large, so input is never buffered without
//! bound:
//! - [`LineCodec`]: when the bytes buffered without a newline exceed the maximum. The codec then
//!   **recovers**: it discards everything through the next newline and carries on with the next
//!   line. The error is reported once per oversized line.
//! - [`ContentLengthCodec`]: when the announced `Content-Length` exceeds the maximum, or the
//!   header section exceeds [`DEFAULT_MAX_HEADER_SIZE`] (8 KiB) without its terminating blank
//!   line. After any error of this codec the position of the next frame cannot be known, so the
//!   stream is **unrecoverable**: every later call returns [`CodecError::Unrecoverable`] and the
//!   transport should close the connection ([`CodecError::is_recoverable`] tells which case
//!   applies).
//!
//! When `decode` returns anything but a frame, the bytes left in the buffer are at most the
//! maximum frame size plus one (line codec: a trailing `\r` that may precede a `\n`), or the
//! larger of the maximum frame size and the header limit (Content-Length codec).

use bytes::{Buf, Bytes, BytesMut};

/// The default maximum frame size: 10 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 10 * 1024 * 1024;

/// The default bound on a Content-Length header section (headers and the blank line): 8 KiB.
pub const DEFAULT_MAX_HEADER_SIZE: usize = 8 * 1024;

/// Why a byte stream could not be split into frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A line grew beyond the maximum frame size. The line codec skips it and continues.
    #[error(
        "line exceeds the maximum frame size of {max} bytes; it is discarded through the next newline"
    )]
    LineTooLong {
        /// The maximum frame size.
        max: usize,
    },
    /// The announced Content-Length exceeds the maximum frame size.
    #[error("Content-Length {len} exceeds the maximum frame size of {max} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The maximum frame size.
        max: usize,
    },
    /// The header section exceeds its bound without the blank line (`\r\n\r\n`) that ends it.
    #[error(
        "header section exceeds {max} bytes without the blank line (\\r\\n\\r\\n) that ends it; is the peer using Content-Length framing?"
    )]
    HeaderTooLarge {
        /// The header size bound.
        max: usize,
    },
    /// A header section without a Content-Length header.
    #[error("header section has no Content-Length header")]
    MissingContentLength,
    /// A Content-Length value that is not a non-empty sequence of decimal digits.
    #[error("Content-Length value {value:?} is not a decimal number")]
    InvalidContentLength {
        /// The value as received (lossily decoded, shortened to 64 characters).
        value: String,
    },
    /// A Content-Length value too large to represent.
    #[error("Content-Length value {value:?} overflows")]
    ContentLengthOverflow {
        /// The value as received (shortened to 64 characters).
        value: String,
    },
    /// Two Content-Length headers with different values.
    #[error("conflicting Content-Length headers: {first} and {second}")]
    ConflictingContentLength {
        /// The first value.
        first: u64,
        /// The second value.
        second: u64,
    },
    /// A header line that is not `Name: value`.
    #[error("malformed header line {line:?}: expected `Name: value`")]
    MalformedHeader {
        /// The line as received (lossily decoded, shortened to 64 characters).
        line: String,
    },
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame ({buffered} bytes buffered)")]
    UnexpectedEof {
        /// The bytes left over.
        buffered: usize,
    },
    /// An earlier error left the stream without frame boundaries; close the connection.
    #[error("the stream is unrecoverable after an earlier framing error; close the connection")]
    Unrecoverable,
}

impl CodecError {
    /// True when the codec can go on decoding after this error (only [`CodecError::LineTooLong`]).
    pub fn is_recoverable(&self) -> bool {
        matches!(self, CodecError::LineTooLong { .. })
    }
}

/// Incremental framing over a byte buffer: the common surface of both codecs.
pub trait Codec {
    /// Takes the next complete frame off the front of `buf`, or returns `Ok(None)` when more
    /// bytes are needed. Call it until it returns `Ok(None)` after each read.
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError>;

    /// Like [`Codec::decode`], at the end of the stream: a partial frame left over is returned
    /// (line codec) or reported as [`CodecError::UnexpectedEof`] (Content-Length codec).
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError>;

    /// Appends one framed message to `dst`.
    fn encode(&mut self, frame: &[u8], dst: &mut BytesMut);

    /// The maximum frame size this codec accepts.
    fn max_frame_size(&self) -> usize;
}

fn is_json_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn shorten(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(64) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Newline-delimited JSON.

/// Newline-delimited JSON: one JSON text per line.
///
/// Decoding accepts `\n` and `\r\n` line ends and skips empty and whitespace-only lines. A line
/// longer than the maximum frame size is reported once as [`CodecError::LineTooLong`] and
/// skipped through its newline; decoding then continues normally.
///
/// Encoding appends the frame and `\n`. Compact JSON never contains a raw newline (newlines in
/// strings are escaped), and in any valid JSON text a raw `\r` or `\n` can only be insignificant
/// whitespace, so the encoder replaces any it finds (pretty-printed raw params, say) by spaces:
/// the text means the same and the line framing stays intact.
#[derive(Debug, Clone)]
pub struct LineCodec {
    max_frame_size: usize,
    /// How far the current partial line has been searched for a newline.
    scanned: usize,
    /// Inside an oversized line: discard through the next newline.
    discarding: bool,
}

impl Default for LineCodec {
    fn default() -> Self {
        LineCodec::new()
    }
}

impl LineCodec {
    /// A codec with the default maximum frame size (10 MiB).
    pub fn new() -> Self {
        LineCodec::with_max_frame_size(DEFAULT_MAX_FRAME_SIZE)
    }

    /// A codec refusing lines longer than `max` bytes (not counting the line end).
    pub fn with_max_frame_size(max: usize) -> Self {
        LineCodec {
            max_frame_size: max,
            scanned: 0,
            discarding: false,
        }
    }

    /// Takes the next non-blank line off the front of `buf` (without its line end).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        loop {
            if self.discarding {
                match buf.iter().position(|&b| b == b'\n') {
                    Some(nl) => {
                        buf.advance(nl + 1);
                        self.discarding = false;
                        self.scanned = 0;
                    }
                    None => {
                        buf.clear();
                        return Ok(None);
                    }
                }
            }
            let start = self.scanned.min(buf.len());
            match buf[start..].iter().position(|&b| b == b'\n') {
                Some(offset) => {
                    let nl = start + offset;
                    self.scanned = 0;
                    let mut line = buf.split_to(nl + 1);
                    line.truncate(nl);
                    if line.last() == Some(&b'\r') {
                        line.truncate(nl - 1);
                    }
                    if line.len() > self.max_frame_size {
                        return Err(CodecError::LineTooLong {
                            max: self.max_frame_size,
                        });
                    }
                    if line.iter().all(|&b| is_json_whitespace(b)) {
                        continue;
                    }
                    return Ok(Some(line.freeze()));
                }
                None => {
                    let n = buf.len();
                    // A trailing '\r' may still turn out to be part of the line end.
                    let too_long = n > self.max_frame_size.saturating_add(1)
                        || (n > self.max_frame_size && buf[n - 1] != b'\r');
                    if too_long {
                        buf.clear();
                        self.scanned = 0;
                        self.discarding = true;
                        return Err(CodecError::LineTooLong {
                            max: self.max_frame_size,
                        });
                    }
                    self.scanned = n;
                    return Ok(None);
                }
            }
        }
    }

    /// Like [`LineCodec::decode`], at the end of the stream: a last line without a line end is
    /// returned as a frame (unless blank).
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        self.scanned = 0;
        if self.discarding {
            self.discarding = false;
            buf.clear();
            return Ok(None);
        }
        let mut line = buf.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.len() > self.max_frame_size {
            return Err(CodecError::LineTooLong {
                max: self.max_frame_size,
            });
        }
        if line.iter().all(|&b| is_json_whitespace(b)) {
            return Ok(None);
        }
        Ok(Some(line.freeze()))
    }

    /// Appends `frame` and `\n` to `dst`, replacing any raw `\r` or `\n` in `frame` by a space
    /// (see the type's docs: for JSON text this changes nothing but whitespace).
    pub fn encode(&mut self, frame: &[u8], dst: &mut BytesMut) {
        dst.reserve(frame.len() + 1);
        let start = dst.len();
        dst.extend_from_slice(frame);
        if frame.iter().any(|&b| b == b'\n' || b == b'\r') {
            for b in &mut dst[start..] {
                if *b == b'\n' || *b == b'\r' {
                    *b = b' ';
                }
            }
        }
        dst.extend_from_slice(b"\n");
    }

    /// The maximum frame size.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}

impl Codec for LineCodec {
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        LineCodec::decode(self, buf)
    }
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        LineCodec::decode_eof(self, buf)
    }
    fn encode(&mut self, frame: &[u8], dst: &mut BytesMut) {
        LineCodec::encode(self, frame, dst)
    }
    fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}

// ---------------------------------------------------------------------------------------------
// Content-Length headers (LSP).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClState {
    /// Reading headers; `scanned` bytes have been searched for `\r\n\r\n`.
    Header { scanned: usize },
    /// Headers read; waiting for `len` bytes of body.
    Body { len: usize },
    /// An error destroyed the frame boundaries.
    Failed,
}

/// Content-Length framing as the Language Server Protocol uses it.
///
/// Each frame is a header section, a blank line and the body:
/// `Content-Length: 52\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{...}`.
/// Header names are case-insensitive; `Content-Length` is required (repeating it with the same
/// value is tolerated, with a different one is an error); every other header, `Content-Type`
/// included, is ignored. Header lines end with `\r\n`. Stray `\r`/`\n` bytes before a header
/// section (some peers end bodies with a line break) are skipped.
///
/// Errors ([`CodecError`]): a missing, malformed, overflowing, conflicting or oversized
/// Content-Length, a malformed header line, or a header section over its bound (default
/// [`DEFAULT_MAX_HEADER_SIZE`]). After any of them the stream is unrecoverable.
#[derive(Debug, Clone)]
pub struct ContentLengthCodec {
    max_frame_size: usize,
    max_header_size: usize,
    state: ClState,
}

impl Default for ContentLengthCodec {
    fn default() -> Self {
        ContentLengthCodec::new()
    }
}

impl ContentLengthCodec {
    /// A codec with the default limits (10 MiB frames, 8 KiB header sections).
    pub fn new() -> Self {
        ContentLengthCodec::with_max_frame_size(DEFAULT_MAX_FRAME_SIZE)
    }

    /// A codec refusing bodies longer than `max` bytes.
    pub fn with_max_frame_size(max: usize) -> Self {
        ContentLengthCodec {
            max_frame_size: max,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            state: ClState::Header { scanned: 0 },
        }
    }

    /// Sets the bound on one header section, blank line included.
    pub fn max_header_size(mut self, max: usize) -> Self {
        self.max_header_size = max;
        self
    }

    /// True after an error: the stream has no usable frame boundaries any more.
    pub fn is_failed(&self) -> bool {
        self.state == ClState::Failed
    }

    fn fail(&mut self, buf: &mut BytesMut, e: CodecError) -> Result<Option<Bytes>, CodecError> {
        self.state = ClState::Failed;
        buf.clear();
        Err(e)
    }

    /// Takes the next body off the front of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        loop {
            match self.state {
                ClState::Failed => {
                    buf.clear();
                    return Err(CodecError::Unrecoverable);
                }
                ClState::Header { scanned } => {
                    let scanned = if scanned == 0 {
                        let skip = buf
                            .iter()
                            .take_while(|&&b| b == b'\r' || b == b'\n')
                            .count();
                        buf.advance(skip);
                        0
                    } else {
                        scanned
                    };
                    let from = scanned.saturating_sub(3).min(buf.len());
                    let found = buf[from..].windows(4).position(|w| w == b"\r\n\r\n");
                    match found {
                        Some(offset) => {
                            let end = from + offset + 4;
                            if end > self.max_header_size {
                                let max = self.max_header_size;
                                return self.fail(buf, CodecError::HeaderTooLarge { max });
                            }
                            let header = buf.split_to(end);
                            let len = match parse_headers(&header[..end - 4]) {
                                Ok(len) => len,
                                Err(e) => return self.fail(buf, e),
                            };
                            match usize::try_from(len) {
                                Ok(len) if len <= self.max_frame_size => {
                                    self.state = ClState::Body { len };
                                }
                                _ => {
                                    let max = self.max_frame_size;
                                    return self.fail(buf, CodecError::FrameTooLarge { len, max });
                                }
                            }
                        }
                        None => {
                            if buf.len() >= self.max_header_size {
                                let max = self.max_header_size;
                                return self.fail(buf, CodecError::HeaderTooLarge { max });
                            }
                            self.state = ClState::Header { scanned: buf.len() };
                            return Ok(None);
                        }
                    }
                }
                ClState::Body { len } => {
                    if buf.len() >= len {
                        self.state = ClState::Header { scanned: 0 };
                        return Ok(Some(buf.split_to(len).freeze()));
                    }
                    buf.reserve(len - buf.len());
                    return Ok(None);
                }
            }
        }
    }

    /// Like [`ContentLengthCodec::decode`], at the end of the stream: leftover bytes of an
    /// incomplete frame are [`CodecError::UnexpectedEof`].
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        let in_body = matches!(self.state, ClState::Body { .. });
        if buf.is_empty() && !in_body {
            return Ok(None);
        }
        let buffered = buf.len();
        self.fail(buf, CodecError::UnexpectedEof { buffered })
    }

    /// Appends `Content-Length: N\r\n\r\n` and the frame to `dst`.
    pub fn encode(&mut self, frame: &[u8], dst: &mut BytesMut) {
        let header = format!("Content-Length: {}\r\n\r\n", frame.len());
        dst.reserve(header.len() + frame.len());
        dst.extend_from_slice(header.as_bytes());
        dst.extend_from_slice(frame);
    }

    /// The maximum frame size.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}

/// Reads the Content-Length out of a header section (without its final blank line).
fn parse_headers(section: &[u8]) -> Result<u64, CodecError> {
    let mut length: Option<u64> = None;
    let mut rest = section;
    loop {
        let (line, next) = match rest.windows(2).position(|w| w == b"\r\n") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        let malformed = || CodecError::MalformedHeader {
            line: shorten(line),
        };
        let colon = line.iter().position(|&b| b == b':').ok_or_else(malformed)?;
        let name = &line[..colon];
        if name.is_empty() || name.iter().any(|&b| b <= b' ' || b == 0x7f) {
            return Err(malformed());
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let value = trim_ows(&line[colon + 1..]);
            if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                return Err(CodecError::InvalidContentLength {
                    value: shorten(value),
                });
            }
            let mut n: u64 = 0;
            for &d in value {
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d - b'0')))
                    .ok_or_else(|| CodecError::ContentLengthOverflow {
                        value: shorten(value),
                    })?;
            }
            match length {
                Some(first) if first != n => {
                    return Err(CodecError::ConflictingContentLength { first, second: n })
                }
                _ => length = Some(n),
            }
        }
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
    length.ok_or(CodecError::MissingContentLength)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', tail @ ..] = v {
        v = tail;
    }
    while let [head @ .., b' ' | b'\t'] = v {
        v = head;
    }
    v
}

impl Codec for ContentLengthCodec {
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        ContentLengthCodec::decode(self, buf)
    }
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        ContentLengthCodec::decode_eof(self, buf)
    }
    fn encode(&mut self, frame: &[u8], dst: &mut BytesMut) {
        ContentLengthCodec::encode(self, frame, dst)
    }
    fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `chunks` fed one after another, then the end of the stream.
    fn run<C: Codec>(codec: &mut C, chunks: &[&[u8]]) -> Vec<Result<Vec<u8>, CodecError>> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(f)) => out.push(Ok(f.to_vec())),
                    Ok(None) => break,
                    Err(e) => {
                        let stop = !e.is_recoverable();
                        out.push(Err(e));
                        if stop {
                            return out;
                        }
                    }
                }
            }
        }
        loop {
            match codec.decode_eof(&mut buf) {
                Ok(Some(f)) => out.push(Ok(f.to_vec())),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            }
        }
        out
    }

    fn frames(v: &[&[u8]]) -> Vec<Result<Vec<u8>, CodecError>> {
        v.iter().map(|f| Ok(f.to_vec())).collect()
    }

    fn bytewise(input: &[u8]) -> Vec<&[u8]> {
        input.chunks(1).collect()
    }

    #[test]
    fn line_accepts_lf_and_crlf_and_skips_blank_lines() {
        let input = b"{\"a\":1}\n\r\n  \t \n{\"b\":2}\r\n\n[1]\n";
        let want = frames(&[b"{\"a\":1}", b"{\"b\":2}", b"[1]"]);
        assert_eq!(run(&mut LineCodec::new(), &[input]), want);
        assert_eq!(run(&mut LineCodec::new(), &bytewise(input)), want);
    }

    #[test]
    fn line_returns_the_last_unterminated_line_at_eof() {
        let want = frames(&[b"1", b"{\"x\":2}"]);
        assert_eq!(run(&mut LineCodec::new(), &[b"1\n{\"x\":2}"]), want);
        assert_eq!(run(&mut LineCodec::new(), &[b"1\n{\"x\":2}\r"]), want);
        assert_eq!(run(&mut LineCodec::new(), &[b"1\n  "]), frames(&[b"1"]));
    }

    #[test]
    fn line_waits_for_the_newline() {
        let mut codec = LineCodec::new();
        let mut buf = BytesMut::from(&b"{\"a\""[..]);
        assert_eq!(codec.decode(&mut buf), Ok(None));
        assert_eq!(buf.len(), 4);
        buf.extend_from_slice(b":1}\n");
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"{\"a\":1}"[..]);
        assert!(buf.is_empty());
    }

    #[test]
    fn line_too_long_is_reported_once_and_skipped() {
        let input = b"12345\n1234567890\nabc\n";
        let want = vec![
            Ok(b"12345".to_vec()),
            Err(CodecError::LineTooLong { max: 5 }),
            Ok(b"abc".to_vec()),
        ];
        assert_eq!(run(&mut LineCodec::with_max_frame_size(5), &[input]), want);
        assert_eq!(
            run(&mut LineCodec::with_max_frame_size(5), &bytewise(input)),
            want
        );
    }

    #[test]
    fn line_too_long_is_an_error_before_the_newline_arrives() {
        let mut codec = LineCodec::with_max_frame_size(4);
        let mut buf = BytesMut::from(&b"abcd\r"[..]);
        // A '\r' could still be part of "\r\n": not yet known to be too long.
        assert_eq!(codec.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"x");
        assert_eq!(
            codec.decode(&mut buf),
            Err(CodecError::LineTooLong { max: 4 })
        );
        assert!(buf.is_empty(), "oversized input is not kept");
        buf.extend_from_slice(&[b'y'; 100]);
        assert_eq!(codec.decode(&mut buf), Ok(None));
        assert!(
            buf.is_empty(),
            "the rest of the oversized line is discarded"
        );
        buf.extend_from_slice(b"zz\nok\n");
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"ok"[..]);
    }

    #[test]
    fn line_at_exactly_the_maximum_is_accepted() {
        let mut codec = LineCodec::with_max_frame_size(4);
        assert_eq!(
            run(&mut codec, &[b"abcd\r", b"\nabcd\n"]),
            frames(&[b"abcd", b"abcd"])
        );
    }

    #[test]
    fn line_encode_appends_newline_and_neutralises_raw_line_breaks() {
        let mut codec = LineCodec::new();
        let mut out = BytesMut::new();
        codec.encode(b"{\"a\":1}", &mut out);
        codec.encode(b"[1,\r\n 2]", &mut out);
        assert_eq!(&out[..], b"{\"a\":1}\n[1,   2]\n");
        let back = run(&mut LineCodec::new(), &[&out]);
        assert_eq!(back, frames(&[b"{\"a\":1}", b"[1,   2]"]));
    }

    #[test]
    fn line_scanning_is_linear() {
        // 1 MiB arriving one byte at a time: quadratic rescanning would take ~10^12 steps.
        let mut codec = LineCodec::new();
        let mut buf = BytesMut::new();
        for _ in 0..(1 << 20) {
            buf.extend_from_slice(b"x");
            assert_eq!(codec.decode(&mut buf), Ok(None));
        }
        buf.extend_from_slice(b"\n");
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap().len(), 1 << 20);
    }

    fn cl(body: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        ContentLengthCodec::new().encode(body, &mut out);
        out.to_vec()
    }

    #[test]
    fn content_length_round_trip() {
        let mut input = cl(b"{\"a\":1}");
        input.extend_from_slice(&cl(b"[]"));
        input.extend_from_slice(&cl(b""));
        assert_eq!(&input[..25], b"Content-Length: 7\r\n\r\n{\"a\"");
        let want = frames(&[b"{\"a\":1}", b"[]", b""]);
        assert_eq!(run(&mut ContentLengthCodec::new(), &[&input]), want);
        assert_eq!(run(&mut ContentLengthCodec::new(), &bytewise(&input)), want);
    }

    #[test]
    fn content_length_header_names_are_case_insensitive_and_others_ignored() {
        let input = b"content-type: application/vscode-jsonrpc; charset=utf-8\r\n\
            CONTENT-LENGTH:\t2 \r\nX-Other: whatever\r\ncontent-length: 2\r\n\r\n{}\r\n\
            Content-Length: 1\r\n\r\n1";
        let want = frames(&[b"{}", b"1"]);
        assert_eq!(run(&mut ContentLengthCodec::new(), &[input]), want);
        assert_eq!(run(&mut ContentLengthCodec::new(), &bytewise(input)), want);
    }

    fn cl_error(input: &[u8]) -> CodecError {
        let out = run(&mut ContentLengthCodec::new(), &[input]);
        match out.last() {
            Some(Err(e)) => e.clone(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn content_length_errors() {
        assert_eq!(
            cl_error(b"Content-Type: x\r\n\r\n{}"),
            CodecError::MissingContentLength
        );
        assert_eq!(
            cl_error(b"Content-Length: 1x\r\n\r\n{}"),
            CodecError::InvalidContentLength { value: "1x".into() }
        );
        assert_eq!(
            cl_error(b"Content-Length: -1\r\n\r\n{}"),
            CodecError::InvalidContentLength { value: "-1".into() }
        );
        assert_eq!(
            cl_error(b"Content-Length: \r\n\r\n{}"),
            CodecError::InvalidContentLength { value: "".into() }
        );
        assert_eq!(
            cl_error(b"Content-Length: 99999999999999999999999\r\n\r\n"),
            CodecError::ContentLengthOverflow {
                value: "99999999999999999999999".into()
            }
        );
        assert_eq!(
            cl_error(b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
            CodecError::ConflictingContentLength {
                first: 2,
                second: 3
            }
        );
        assert_eq!(
            cl_error(b"Content-Length 2\r\n\r\n{}"),
            CodecError::MalformedHeader {
                line: "Content-Length 2".into()
            }
        );
        assert_eq!(
            cl_error(b"Content-Length: 20000000\r\n\r\n"),
            CodecError::FrameTooLarge {
                len: 20_000_000,
                max: DEFAULT_MAX_FRAME_SIZE
            }
        );
        assert_eq!(
            cl_error(b"Content-Length: 5\r\n\r\n{}"),
            CodecError::UnexpectedEof { buffered: 2 }
        );
        assert_eq!(
            cl_error(b"Content-Len"),
            CodecError::UnexpectedEof { buffered: 11 }
        );
    }

    #[test]
    fn content_length_too_large_is_refused_before_the_body_arrives() {
        let mut codec = ContentLengthCodec::with_max_frame_size(10);
        let mut buf = BytesMut::from(&b"Content-Length: 11\r\n\r\n"[..]);
        assert_eq!(
            codec.decode(&mut buf),
            Err(CodecError::FrameTooLarge { len: 11, max: 10 })
        );
        assert!(codec.is_failed());
        buf.extend_from_slice(b"Content-Length: 1\r\n\r\n1");
        assert_eq!(codec.decode(&mut buf), Err(CodecError::Unrecoverable));
        assert!(buf.is_empty());
    }

    #[test]
    fn content_length_header_section_is_bounded() {
        let mut codec = ContentLengthCodec::new().max_header_size(64);
        let mut buf = BytesMut::new();
        let mut result = Ok(None);
        for _ in 0..100 {
            buf.extend_from_slice(b"garbage ");
            result = codec.decode(&mut buf);
            if result.is_err() {
                break;
            }
            assert!(buf.len() < 64);
        }
        assert_eq!(result, Err(CodecError::HeaderTooLarge { max: 64 }));
        // The same garbage in one piece gives the same error.
        let mut codec = ContentLengthCodec::new().max_header_size(64);
        let mut buf = BytesMut::from(&[b'x'; 200][..]);
        assert_eq!(
            codec.decode(&mut buf),
            Err(CodecError::HeaderTooLarge { max: 64 })
        );
    }

    #[test]
    fn content_length_skips_line_breaks_between_frames() {
        let input = b"\r\nContent-Length: 1\r\n\r\n1\r\n\r\nContent-Length: 1\r\n\r\n2\n";
        let want = frames(&[b"1", b"2"]);
        assert_eq!(run(&mut ContentLengthCodec::new(), &[input]), want);
        assert_eq!(run(&mut ContentLengthCodec::new(), &bytewise(input)), want);
    }

    #[test]
    fn errors_say_what_went_wrong() {
        let e = CodecError::FrameTooLarge { len: 11, max: 10 };
        assert_eq!(
            e.to_string(),
            "Content-Length 11 exceeds the maximum frame size of 10 bytes"
        );
        assert!(!e.is_recoverable());
        assert!(CodecError::LineTooLong { max: 1 }.is_recoverable());
    }
}
