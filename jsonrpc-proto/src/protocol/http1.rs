//! A sans-IO HTTP/1.1 server connection (h11-style): bytes in, events out, responses encoded
//! into a reusable buffer. No socket, no runtime, no clock: the caller reads into
//! [`ServerConn::read_buf`], says how much arrived with [`ServerConn::filled`], drains
//! [`ServerConn::poll_event`], answers each request with [`ServerConn::write_response`] and
//! writes out [`ServerConn::transmit`]. The current time (for the `Date` header) is passed in.
//!
//! What it does: request heads parsed with `httparse` (at most [`MAX_HEADERS`] headers and
//! [`Http1Limits::max_head`] bytes, else 431); `Content-Length` and `chunked` bodies (chunk
//! extensions ignored, trailers read and dropped), the body limit checked from
//! `Content-Length` and while decoding chunks (413); keep-alive (on by default in HTTP/1.1,
//! off in HTTP/1.0 unless `Connection: keep-alive`, `Connection: close` honoured both ways);
//! pipelining (bytes after the current request stay buffered until it is answered); the
//! interim `100 Continue` when a request sent `Expect: 100-continue` and its body is wanted.
//! Malformed heads, a bad or conflicting `Content-Length`, `Transfer-Encoding` in HTTP/1.0 or
//! with a final coding other than `chunked`, obs-fold and bad chunk framing get
//! 400 and the connection closes (RFC 9112 §5.2, §6.1, §6.3, §7.1).
//!
//! What it does not do: route, or apply the message rules of [`crate::http::check_message`]
//! (Host, request-target, Transfer-Encoding): [`Head::request_head`] hands the fields to
//! [`crate::http::decide`]. A head whose body length cannot be trusted (`Content-Length` with
//! `Transfer-Encoding`, `chunked` twice, a coding before `chunked`) is still handed out, its body is
//! never read and the connection closes after the answer (the rejection `decide` gives).
//! Nothing here speaks HTTP/2 or upgrades.
//!
//! ```
//! use jsonrpc_proto::http1::{Event, Http1Limits, ResponseHead, ServerConn};
//!
//! let mut conn = ServerConn::new(Http1Limits::default());
//! let input = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
//! conn.read_buf()[..input.len()].copy_from_slice(input);
//! conn.filled(input.len());
//! let Event::Head(head) = conn.poll_event() else { panic!() };
//! assert_eq!((head.method(), head.path()), ("POST", "/"));
//! let Event::Data(body) = conn.poll_event() else { panic!() };
//! assert_eq!(&body[..], b"{}");
//! assert!(matches!(conn.poll_event(), Event::End));
//! assert!(matches!(conn.poll_event(), Event::Paused));
//! conn.write_response(&ResponseHead::new(200).with_content_type(Some("application/json")), b"{}", 0);
//! assert!(conn.transmit().starts_with(b"HTTP/1.1 200 OK\r\n"));
//! assert!(!conn.is_closing());
//! ```

use std::mem::MaybeUninit;
use std::ops::Range;

use bytes::Bytes;

use crate::protocol::http::{
    check_message, decide, is_websocket_upgrade, Decision, Limits, Rejection, RequestHead,
    TargetForm,
};

/// The most header lines a request head may have (as hyper): more get 431.
pub const MAX_HEADERS: usize = 100;

/// The default largest request head (request line and headers): 64 KiB.
pub const DEFAULT_MAX_HEAD: usize = 64 * 1024;

/// The longest chunk-size line (with extensions) accepted: 4 KiB.
const MAX_CHUNK_LINE: usize = 4096;

/// The read buffer's first size, and what it is brought back to once idle.
const READ_CHUNK: usize = 8 * 1024;

/// Limits of a [`ServerConn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Http1Limits {
    /// The largest request head in bytes (default [`DEFAULT_MAX_HEAD`]); larger: 431.
    pub max_head: usize,
    /// The most header lines (default and at most [`MAX_HEADERS`]); more: 431.
    pub max_headers: usize,
    /// The largest request body in bytes (default [`crate::http::DEFAULT_MAX_BODY`]); larger:
    /// 413 (from `Content-Length` before the body is read, or while decoding chunks).
    pub max_body: usize,
}

crate::protocol::config_setters!(Http1Limits {
    with_max_head => max_head: usize,
    with_max_headers => max_headers: usize,
    with_max_body => max_body: usize,
});

impl Default for Http1Limits {
    fn default() -> Self {
        Http1Limits {
            max_head: DEFAULT_MAX_HEAD,
            max_headers: MAX_HEADERS,
            max_body: Limits::default().max_body,
        }
    }
}

impl Http1Limits {
    /// The limits with the body limit of `limits`.
    pub fn from_limits(limits: &Limits) -> Self {
        Http1Limits::default().with_max_body(limits.max_body)
    }
}

/// 400 for a malformed head or body framing (sent with an empty body, then the connection
/// closes, as hyper does).
pub const BAD_REQUEST: Rejection = Rejection {
    status: 400,
    allow: None,
    body: "",
    close: true,
};

/// 431 for a head over [`Http1Limits::max_head`] or with more than
/// [`Http1Limits::max_headers`] header lines (empty body, then close, as hyper does).
pub const HEAD_TOO_LARGE: Rejection = Rejection {
    status: 431,
    allow: None,
    body: "",
    close: true,
};

/// 413 for a chunked body that grows over the limit (the rest of it is not read: close).
pub const BODY_TOO_LARGE: Rejection = Rejection {
    close: true,
    ..Rejection::PAYLOAD_TOO_LARGE
};

/// 400 for a body cut short by the peer closing its side, or with bad chunk framing (the
/// answer hyper's path gives when reading the body fails).
pub const BODY_UNREADABLE: Rejection = Rejection {
    status: 400,
    allow: None,
    body: "Bad request: the body could not be read",
    close: true,
};

/// What [`ServerConn::poll_event`] found.
#[derive(Debug)]
pub enum Event {
    /// A request head; its body follows as [`Event::Data`] pieces and one [`Event::End`]
    /// (at once for a request without a body).
    Head(Head),
    /// A piece of the current request's body.
    Data(Bytes),
    /// The current request's body is complete: answer it with
    /// [`ServerConn::write_response`].
    End,
    /// More bytes are needed: write out [`ServerConn::transmit`] (it may hold a
    /// `100 Continue`), then read into [`ServerConn::read_buf`].
    NeedData,
    /// The current request is complete and not answered yet: nothing more is read until it
    /// is (pipelined requests stay buffered).
    Paused,
    /// Input the connection cannot go on after: answer with this rejection
    /// ([`ServerConn::write_rejection`]), write it out and close.
    Error(Rejection),
    /// No more requests: the peer closed its side between requests, or the last answer
    /// closed the connection. Write out what is left of [`ServerConn::transmit`] and close.
    Closed,
}

/// How the current request's body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// `Content-Length` (or no body: 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// The length cannot be known: the body is never read and the connection closes.
    Invalid,
}

/// Where the chunked decoder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one, this many bytes read so far.
    Trailers(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for a request head.
    Idle,
    /// Reading a body framed by `Content-Length`: this many bytes left.
    Length(u64),
    /// Reading a chunked body: where the decoder is.
    Chunked(Chunk),
    /// The head's body cannot be read (see [`Framing::Invalid`]): answer, then close.
    Unreadable,
    /// The request is read: waiting for the answer.
    Done,
    /// An [`Event::Error`] was handed out: waiting for the answer, then close.
    Failed,
    /// Nothing more is read.
    Closed,
}

/// A sans-IO HTTP/1.1 server connection. The module docs say what it does
/// and does not do.
///
/// The calling contract: after [`filled`](Self::filled) (or [`eof`](Self::eof)), call
/// [`poll_event`](Self::poll_event) until it gives [`Event::NeedData`], [`Event::Paused`],
/// [`Event::Error`] or [`Event::Closed`]. Answer each request (after its [`Event::End`], or
/// earlier to reject it without reading the body) with exactly one
/// [`write_response`](Self::write_response) or [`write_rejection`](Self::write_rejection),
/// and an [`Event::Error`] with `write_rejection` of it. Write out
/// [`transmit`](Self::transmit) and [`consume_transmit`](Self::consume_transmit) what was
/// written, at least before reading more. Once [`is_closing`](Self::is_closing), write out
/// what is left and close.
#[derive(Debug)]
pub struct ServerConn {
    limits: Http1Limits,
    /// Received bytes live in `buf[start..end]`; `buf[end..]` is where the next read goes.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    state: State,
    /// The current request's version minor (0 or 1) and whether it keeps the connection.
    minor: u8,
    keep_alive: bool,
    /// The body bytes read so far (chunked; for the limit).
    body_len: u64,
    /// A `100 Continue` is owed once the body is wanted.
    continue_owed: bool,
    /// The body of the current request when it came whole with the head (copied with it).
    early_body: Option<Bytes>,
    out: Vec<u8>,
    date: DateCache,
}

impl ServerConn {
    /// A connection waiting for its first request.
    pub fn new(limits: Http1Limits) -> Self {
        ServerConn {
            limits: Http1Limits {
                max_headers: limits.max_headers.min(MAX_HEADERS),
                ..limits
            },
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            state: State::Idle,
            minor: 1,
            keep_alive: true,
            body_len: 0,
            continue_owed: false,
            early_body: None,
            out: Vec::new(),
            date: DateCache::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Http1Limits {
        &self.limits
    }

    /// Where to read the next bytes into (never empty); then call [`filled`](Self::filled).
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let grown = (self.buf.len() * 2).max(READ_CHUNK);
                self.buf.resize(grown, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf).
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The peer closed its sending side: no more bytes will come.
    pub fn eof(&mut self) {
        self.eof = true;
    }

    /// The bytes received and not consumed yet (the start of the next request, when
    /// [`Event::Head`] has not been handed out for it): for handing the connection on.
    /// Right after an [`Event::Head`], use [`ServerConn::unread`]: a body that came with its
    /// head is held apart from these bytes.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Right after an [`Event::Head`], before any of its body is read: what was received after
    /// that head, in order (the part of the body that came with it, then the bytes after
    /// that). With the head's own bytes in front, they are the input as it arrived, for
    /// handing the connection on.
    pub fn unread(&self) -> [&[u8]; 2] {
        [
            self.early_body.as_deref().unwrap_or_default(),
            self.buffered(),
        ]
    }

    /// True while no byte of a next request has arrived and none is being answered: the
    /// connection is idle between requests.
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle && self.start == self.end
    }

    /// True once the connection closes after what [`transmit`](Self::transmit) holds.
    pub fn is_closing(&self) -> bool {
        self.state == State::Closed
    }

    /// Stops keep-alive: the answer to the current request (or, when idle, none) is the last.
    /// For graceful shutdown.
    pub fn close_after_current(&mut self) {
        self.keep_alive = false;
        if self.state == State::Idle {
            self.state = State::Closed;
        }
    }

    /// The bytes to write to the peer.
    pub fn transmit(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`transmit`](Self::transmit) were written.
    pub fn consume_transmit(&mut self, n: usize) {
        let n = n.min(self.out.len());
        self.out.drain(..n);
    }

    /// The next event; see [`Event`].
    pub fn poll_event(&mut self) -> Event {
        match self.state {
            State::Idle => self.poll_head(),
            State::Length(left) => self.poll_length(left),
            State::Chunked(chunk) => self.poll_chunked(chunk),
            State::Unreadable | State::Done | State::Failed => Event::Paused,
            State::Closed => Event::Closed,
        }
    }

    fn fail(&mut self, r: Rejection) -> Event {
        self.state = State::Failed;
        self.keep_alive = false;
        Event::Error(r)
    }

    fn need_data(&mut self) -> Event {
        if self.eof {
            return self.fail(BODY_UNREADABLE);
        }
        if self.continue_owed {
            self.continue_owed = false;
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        Event::NeedData
    }

    fn poll_head(&mut self) -> Event {
        // Empty lines before a request line are ignored (RFC 9112 §2.2).
        let blank = self.buf[self.start..self.end]
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        self.start += blank;
        self.minor = 1;
        let input = &self.buf[self.start..self.end];
        if input.is_empty() {
            if self.eof {
                self.state = State::Closed;
                return Event::Closed;
            }
            return Event::NeedData;
        }
        // Only the first `max_head` bytes are parsed: whatever the split of the input, a
        // head over the limit gets 431, an error inside it 400.
        let capped = &input[..input.len().min(self.limits.max_head)];
        let parsed = parse_head(capped, &self.limits);
        match parsed {
            Parsed::Partial => {
                if input.len() > capped.len() {
                    return self.fail(HEAD_TOO_LARGE);
                }
                if self.eof {
                    // A head cut short: nothing to answer (as hyper).
                    self.state = State::Closed;
                    return Event::Closed;
                }
                Event::NeedData
            }
            Parsed::Error(r) => self.fail(r),
            Parsed::Complete(mut head, len) => {
                // A body that came whole with its head (most do) is copied with it: one
                // allocation for both.
                let with_body = match head.framing {
                    Framing::Length(n) if n > 0 && n <= self.limits.max_body as u64 => {
                        usize::try_from(n).ok().filter(|&n| n <= input.len() - len)
                    }
                    _ => None,
                };
                match with_body {
                    Some(n) => {
                        let all = Bytes::copy_from_slice(&input[..len + n]);
                        head.raw = all.slice(..len);
                        self.early_body = Some(all.slice(len..));
                        self.start += len + n;
                    }
                    None => {
                        head.raw = Bytes::copy_from_slice(&input[..len]);
                        self.start += len;
                    }
                }
                self.minor = head.version.1;
                self.keep_alive = head.keep_alive;
                self.continue_owed = head.expect_continue;
                self.body_len = 0;
                self.state = match head.framing {
                    Framing::Length(n) => State::Length(n),
                    Framing::Chunked => State::Chunked(Chunk::Size),
                    Framing::Invalid => {
                        self.keep_alive = false;
                        State::Unreadable
                    }
                };
                Event::Head(head)
            }
        }
    }

    fn poll_length(&mut self, left: u64) -> Event {
        if left == 0 {
            self.state = State::Done;
            self.continue_owed = false;
            return Event::End;
        }
        if left > self.limits.max_body as u64 {
            return self.fail(Rejection::PAYLOAD_TOO_LARGE);
        }
        if let Some(body) = self.early_body.take() {
            self.state = State::Length(left.saturating_sub(body.len() as u64));
            return Event::Data(body);
        }
        let avail = self.end - self.start;
        if avail == 0 {
            return self.need_data();
        }
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(avail);
        let piece = Bytes::copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        self.state = State::Length(left - n as u64);
        Event::Data(piece)
    }

    fn poll_chunked(&mut self, mut chunk: Chunk) -> Event {
        loop {
            let input = &self.buf[self.start..self.end];
            match chunk {
                Chunk::Size => {
                    let window = &input[..input.len().min(MAX_CHUNK_LINE)];
                    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
                        if input.len() >= MAX_CHUNK_LINE {
                            return self.fail(BODY_UNREADABLE);
                        }
                        self.state = State::Chunked(chunk);
                        return self.need_data();
                    };
                    let Some(size) = chunk_size(&input[..nl]) else {
                        return self.fail(BODY_UNREADABLE);
                    };
                    self.start += nl + 1;
                    self.continue_owed = false;
                    if size == 0 {
                        chunk = Chunk::Trailers(0);
                        continue;
                    }
                    self.body_len = self.body_len.saturating_add(size);
                    if self.body_len > self.limits.max_body as u64 {
                        return self.fail(BODY_TOO_LARGE);
                    }
                    chunk = Chunk::Data(size);
                }
                Chunk::Data(left) => {
                    if input.is_empty() {
                        self.state = State::Chunked(chunk);
                        return self.need_data();
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    let piece = Bytes::copy_from_slice(&input[..n]);
                    self.start += n;
                    let left = left - n as u64;
                    self.state = State::Chunked(if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    });
                    return Event::Data(piece);
                }
                Chunk::DataEnd => {
                    match input {
                        [b'\r', b'\n', ..] => self.start += 2,
                        [] | [b'\r'] => {
                            self.state = State::Chunked(chunk);
                            return self.need_data();
                        }
                        _ => return self.fail(BODY_UNREADABLE),
                    }
                    chunk = Chunk::Size;
                }
                Chunk::Trailers(seen) => {
                    // The trailer section counts against the head limit.
                    let room = self.limits.max_head.saturating_sub(seen);
                    let window = &input[..input.len().min(room)];
                    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
                        if input.len() >= room {
                            return self.fail(HEAD_TOO_LARGE);
                        }
                        self.state = State::Chunked(chunk);
                        return self.need_data();
                    };
                    let line = &input[..nl];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.contains(&b'\r') {
                        return self.fail(BODY_UNREADABLE);
                    }
                    self.start += nl + 1;
                    if line.is_empty() {
                        self.state = State::Done;
                        return Event::End;
                    }
                    // A trailer field is read and dropped; obs-fold is refused here too.
                    if matches!(line.first(), Some(b' ' | b'\t')) || !line.contains(&b':') {
                        return self.fail(BODY_UNREADABLE);
                    }
                    chunk = Chunk::Trailers(seen + nl + 1);
                }
            }
        }
    }

    /// Answers the current request (or an [`Event::Error`]): the status line (the request's
    /// version, `HTTP/1.1` when none was read), `content-type` and `allow` when given,
    /// `connection: close` when this answer is the last, `content-length` (not for 1xx, 204
    /// and 304), `date` from `unix_secs` (seconds since 1970; the formatted value is kept
    /// for the second), then `body`.
    ///
    /// A body not read to its end is skipped when all of it is already buffered; otherwise
    /// the connection closes after this answer.
    pub fn write_response(&mut self, head: &ResponseHead<'_>, body: &[u8], unix_secs: u64) {
        if let (Some(early), State::Length(left)) = (self.early_body.take(), self.state) {
            // The body came with the head and was taken from the buffer then.
            self.state = State::Length(left.saturating_sub(early.len() as u64));
        }
        match self.state {
            State::Length(left) => {
                let avail = (self.end - self.start) as u64;
                if left <= avail {
                    self.start += left as usize;
                } else {
                    self.keep_alive = false;
                }
            }
            State::Chunked(_) | State::Unreadable | State::Failed => self.keep_alive = false,
            State::Idle | State::Done | State::Closed => {}
        }
        if head.close {
            self.keep_alive = false;
        }
        let out = &mut self.out;
        out.extend_from_slice(if self.minor == 0 {
            b"HTTP/1.0 "
        } else {
            b"HTTP/1.1 "
        });
        if (100..1000).contains(&head.status) {
            let s = head.status;
            out.extend_from_slice(&[
                b'0' + (s / 100) as u8,
                b'0' + (s / 10 % 10) as u8,
                b'0' + (s % 10) as u8,
                b' ',
            ]);
        } else {
            push_u64(out, u64::from(head.status));
            out.push(b' ');
        }
        out.extend_from_slice(reason(head.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = head.content_type {
            push_header(out, b"content-type", ct.as_bytes());
        }
        if let Some(allow) = head.allow {
            push_header(out, b"allow", allow.as_bytes());
        }
        // As hyper: `close` when the answer says so or an HTTP/1.1 connection ends,
        // `keep-alive` when an HTTP/1.0 one does not (1.0 closes by default).
        if head.close || (!self.keep_alive && self.minor == 1) {
            push_header(out, b"connection", b"close");
        } else if self.keep_alive && self.minor == 0 {
            push_header(out, b"connection", b"keep-alive");
        }
        if !(head.status < 200 || head.status == 204 || head.status == 304) {
            out.extend_from_slice(b"content-length: ");
            push_u64(out, body.len() as u64);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(self.date.get(unix_secs));
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
        self.state = if self.keep_alive {
            self.minor = 1;
            State::Idle
        } else {
            State::Closed
        };
        self.continue_owed = false;
        if self.start == self.end && self.buf.len() > READ_CHUNK {
            // A large request grew the buffer: give the memory back while idle.
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }

    /// [`write_response`](Self::write_response) of a [`Rejection`]: its status, `Allow`,
    /// its text as a `text/plain` body (none when empty), closing when it says so.
    pub fn write_rejection(&mut self, r: &Rejection, unix_secs: u64) {
        let head = ResponseHead {
            status: r.status,
            content_type: (!r.body.is_empty()).then_some("text/plain; charset=utf-8"),
            allow: r.allow,
            close: r.close,
        };
        self.write_response(&head, r.body.as_bytes(), unix_secs);
    }
}

/// What [`ServerConn::write_response`] writes before the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHead<'a> {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Allow` header, if any (405).
    pub allow: Option<&'a str>,
    /// Close the connection after this answer (sends `connection: close`).
    pub close: bool,
}

impl<'a> ResponseHead<'a> {
    /// A response with `status` and no optional header.
    pub fn new(status: u16) -> Self {
        ResponseHead {
            status,
            content_type: None,
            allow: None,
            close: false,
        }
    }

    /// Sets the `Content-Type` header.
    #[must_use]
    pub fn with_content_type(mut self, content_type: Option<&'a str>) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sets the `Allow` header.
    #[must_use]
    pub fn with_allow(mut self, allow: Option<&'a str>) -> Self {
        self.allow = allow;
        self
    }

    /// Closes the connection after this answer.
    #[must_use]
    pub fn with_close(mut self, close: bool) -> Self {
        self.close = close;
        self
    }
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The reason phrase hyper (the `http` crate) sends for `status`.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// The `Date` header value (IMF-fixdate, RFC 9110 §5.6.7), formatted once per second.
#[derive(Debug, Default)]
struct DateCache {
    secs: Option<u64>,
    text: [u8; 29],
}

impl DateCache {
    fn get(&mut self, secs: u64) -> &[u8] {
        if self.secs != Some(secs) {
            self.text = imf_fixdate(secs);
            self.secs = Some(secs);
        }
        &self.text
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for `secs` seconds since 1970-01-01T00:00:00Z.
fn imf_fixdate(secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, min, sec) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil from days (Howard Hinnant's algorithm), days counted from 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + u64::from(month <= 2)).min(9999);
    let mut t = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    t[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    let two = |t: &mut [u8; 29], at: usize, v: u64| {
        t[at] = b'0' + (v / 10 % 10) as u8;
        t[at + 1] = b'0' + (v % 10) as u8;
    };
    two(&mut t, 5, day);
    t[8..11].copy_from_slice(MONTHS[(month - 1) as usize % 12]);
    two(&mut t, 12, year / 100);
    two(&mut t, 14, year % 100);
    two(&mut t, 17, hour);
    two(&mut t, 20, min);
    two(&mut t, 23, sec);
    t
}

/// The size of a chunk-size line without its LF: `1*HEXDIG [ BWS ; ext ] CR`; `None` when
/// malformed or over `u64`.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r")?;
    if line.contains(&b'\r') {
        return None;
    }
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let d = (b as char).to_digit(16)?;
        size = size.checked_mul(16)?.checked_add(u64::from(d))?;
    }
    let rest = &line[digits..];
    let rest = rest.trim_ascii_start();
    match rest.first() {
        None | Some(b';') => Some(size),
        Some(_) => None,
    }
}

// Built once per head and unpacked at once: no boxing.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Partial,
    Complete(Head, usize),
    Error(Rejection),
}

fn range_of(outer: &[u8], inner: &[u8]) -> Range<usize> {
    let start = (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize);
    start..start + inner.len()
}

fn parse_head(input: &[u8], limits: &Http1Limits) -> Parsed {
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(input, &mut slots[..limits.max_headers]) {
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Ok(httparse::Status::Complete(len)) => len,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Error(HEAD_TOO_LARGE),
        Err(_) => return Parsed::Error(BAD_REQUEST),
    };
    if len > limits.max_head {
        return Parsed::Error(HEAD_TOO_LARGE);
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Parsed::Error(BAD_REQUEST);
    };
    let (form, path) = split_target(target);
    let mut head = Head {
        raw: Bytes::new(),
        method: range_of(input, method.as_bytes()),
        path: range_of(input, path.as_bytes()),
        form,
        version: (1, minor),
        content_type: None,
        content_length: None,
        has_content_length: false,
        hosts: [0..0, 0..0],
        host_count: 0,
        transfer_encoding: Vec::new(),
        connection: None,
        upgrade: None,
        expect_continue: false,
        keep_alive: minor >= 1,
        framing: Framing::Length(0),
    };
    let mut close = false;
    let mut keep = false;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value.trim_ascii();
        let range = range_of(input, value);
        if name.eq_ignore_ascii_case(b"content-length") {
            let Some(n) = parse_length(value) else {
                return Parsed::Error(BAD_REQUEST);
            };
            if head.content_length.is_some_and(|m| m != n) {
                return Parsed::Error(BAD_REQUEST);
            }
            head.content_length = Some(n);
            head.has_content_length = true;
        } else if name.eq_ignore_ascii_case(b"host") {
            if head.host_count < 2 {
                head.hosts[head.host_count] = range;
            }
            head.host_count += 1;
        } else if name.eq_ignore_ascii_case(b"content-type") {
            head.content_type.get_or_insert(range);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            head.transfer_encoding.push(range);
        } else if name.eq_ignore_ascii_case(b"connection") {
            head.connection.get_or_insert(range);
            for token in value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            head.upgrade.get_or_insert(range);
        } else if name.eq_ignore_ascii_case(b"expect") {
            head.expect_continue = minor >= 1 && value.eq_ignore_ascii_case(b"100-continue");
        }
    }
    head.keep_alive = !close && (minor >= 1 || keep);
    if minor == 0 && !head.transfer_encoding.is_empty() {
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
        return Parsed::Error(BAD_REQUEST);
    }
    head.framing = if !head.transfer_encoding.is_empty() {
        // A final coding other than chunked: the length cannot be known (400, as hyper).
        let final_chunked = head
            .transfer_encoding
            .last()
            .and_then(|r| input[r.clone()].rsplit(|&b| b == b',').next())
            .is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        if !final_chunked {
            return Parsed::Error(BAD_REQUEST);
        }
        // The rules of `check_message` decide whether the body can be framed.
        let lines: Vec<&[u8]> = head
            .transfer_encoding
            .iter()
            .map(|r| &input[r.clone()])
            .collect();
        let ok = check_message(&RequestHead {
            transfer_encoding: &lines,
            has_content_length: head.has_content_length,
            ..RequestHead::new("POST", "/")
        })
        .is_ok();
        if ok {
            Framing::Chunked
        } else {
            Framing::Invalid
        }
    } else {
        Framing::Length(head.content_length.unwrap_or(0))
    };
    Parsed::Complete(head, len)
}

/// A `Content-Length` value: 1*DIGIT (a list of equal values, as some clients send, too).
fn parse_length(value: &[u8]) -> Option<u64> {
    let mut found = None;
    for part in value.split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut n: u64 = 0;
        for &d in part {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        if found.is_some_and(|f| f != n) {
            return None;
        }
        found = Some(n);
    }
    found
}

/// The form of a request-target and its path without the query.
fn split_target(target: &str) -> (TargetForm, &str) {
    let without_query = |s: &'_ str| -> usize { s.find(['?', '#']).unwrap_or(s.len()) };
    if target.starts_with('/') {
        return (TargetForm::Origin, &target[..without_query(target)]);
    }
    if target == "*" {
        return (TargetForm::Asterisk, target);
    }
    if let Some(i) = target.find("://") {
        let rest_at = i + 3;
        let rest = &target[rest_at..];
        let path_at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let path = &rest[path_at..];
        if path.starts_with('/') {
            let end = without_query(path);
            let at = rest_at + path_at;
            return (TargetForm::Absolute, &target[at..at + end]);
        }
        // No path: empty here, "/" in `Head::path` (as `http::Uri` gives it).
        return (TargetForm::Absolute, &target[target.len()..]);
    }
    (TargetForm::Authority, "")
}

/// A request head: the fields [`crate::http::decide`] reads, and every header, read in place
/// from the head's bytes.
#[derive(Clone, Debug)]
pub struct Head {
    raw: Bytes,
    method: Range<usize>,
    path: Range<usize>,
    form: TargetForm,
    version: (u8, u8),
    content_type: Option<Range<usize>>,
    content_length: Option<u64>,
    has_content_length: bool,
    hosts: [Range<usize>; 2],
    host_count: usize,
    transfer_encoding: Vec<Range<usize>>,
    connection: Option<Range<usize>>,
    upgrade: Option<Range<usize>>,
    expect_continue: bool,
    keep_alive: bool,
    framing: Framing,
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// A header value as text when it is visible ASCII, spaces and tabs (as
/// `http::HeaderValue::to_str`).
fn visible(bytes: &[u8]) -> Option<&str> {
    if bytes
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

impl Head {
    /// The method, e.g. `"POST"`.
    pub fn method(&self) -> &str {
        // The usual methods without a UTF-8 check.
        match &self.raw[self.method.clone()] {
            b"POST" => "POST",
            b"GET" => "GET",
            b"HEAD" => "HEAD",
            b"PUT" => "PUT",
            b"OPTIONS" => "OPTIONS",
            other => text(other),
        }
    }

    /// The path without the query (`"/"` for absolute-form without a path, `""` for
    /// authority-form).
    pub fn path(&self) -> &str {
        if self.path.is_empty() && self.form == TargetForm::Absolute {
            return "/";
        }
        match &self.raw[self.path.clone()] {
            b"/" => "/",
            other => text(other),
        }
    }

    /// The version as (major, minor): (1, 0) or (1, 1).
    pub fn version(&self) -> (u8, u8) {
        self.version
    }

    /// True unless the request (or its version) closes the connection after its answer.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// True when the request sent an `Upgrade` header (any protocol).
    pub fn has_upgrade(&self) -> bool {
        self.upgrade.is_some()
    }

    /// The head's bytes as received (request line and headers).
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Calls `f` with the [`RequestHead`] of this request.
    pub fn with_request_head<R>(&self, f: impl FnOnce(&RequestHead<'_>) -> R) -> R {
        let raw = &self.raw[..];
        let get = |r: &Option<Range<usize>>| r.as_ref().and_then(|r| visible(&raw[r.clone()]));
        let hosts = [&raw[self.hosts[0].clone()], &raw[self.hosts[1].clone()]];
        let te: Vec<&[u8]> = self
            .transfer_encoding
            .iter()
            .map(|r| &raw[r.clone()])
            .collect();
        let head = RequestHead {
            method: self.method(),
            path: self.path(),
            content_type: get(&self.content_type),
            content_length: self.content_length,
            websocket_upgrade: is_websocket_upgrade(get(&self.connection), get(&self.upgrade)),
            version: self.version,
            target: self.form,
            hosts: &hosts[..self.host_count.min(2)],
            transfer_encoding: &te,
            has_content_length: self.has_content_length,
        };
        f(&head)
    }

    /// [`decide`] on this request.
    pub fn decide(&self, limits: &Limits) -> Decision {
        self.with_request_head(|h| decide(h, limits))
    }

    /// The raw value of the first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Every header in order: the name as sent, the value without surrounding whitespace.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        // The head was validated by httparse: one field per line, no obs-fold.
        let raw = &self.raw[..];
        let first_line = raw
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| i + 1);
        raw[first_line..]
            .split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .take_while(|line| !line.is_empty())
            .filter_map(|line| {
                let colon = line.iter().position(|&b| b == b':')?;
                Some((&line[..colon], line[colon + 1..].trim_ascii()))
            })
    }
}

#[cfg(test)]
mod tests;
