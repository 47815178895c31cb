//! Frame boundaries on byte streams. The rules live here until `jsonrpc_proto::codec` lands;
//! this module then only adapts it.

use bytes::{Buf, Bytes, BytesMut};
use jsonrpc_proto::peer::TransportError;

/// How frames are delimited on a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One JSON text per line (`\n`, an optional `\r` before it is dropped); blank lines skipped.
    Lines,
    /// `Content-Length: N` header block, blank line, then N bytes (LSP style).
    ContentLength,
}

impl Framing {
    pub(crate) fn codec(self, max_frame: usize) -> FrameCodec {
        FrameCodec {
            framing: self,
            max_frame,
            scanned: 0,
            body_len: None,
        }
    }
}

/// The incremental decoder and encoder for one direction of a stream.
pub(crate) struct FrameCodec {
    framing: Framing,
    max_frame: usize,
    /// Bytes of the buffer already searched for a delimiter.
    scanned: usize,
    /// Content-Length of the frame whose headers were read.
    body_len: Option<usize>,
}

impl FrameCodec {
    /// The next complete frame in `buf`, if there is one.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, TransportError> {
        match self.framing {
            Framing::Lines => self.decode_line(buf),
            Framing::ContentLength => self.decode_content_length(buf),
        }
    }

    /// The last frame when the stream ended: an unterminated final line counts; a truncated
    /// Content-Length frame is an error.
    pub(crate) fn decode_eof(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<Bytes>, TransportError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        match self.framing {
            Framing::Lines => {
                self.scanned = 0;
                let rest = buf.split().freeze();
                let trimmed = trim(&rest);
                if trimmed.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some(rest.slice_ref(trimmed)))
                }
            }
            Framing::ContentLength => {
                if buf.iter().all(u8::is_ascii_whitespace) && self.body_len.is_none() {
                    Ok(None)
                } else {
                    Err(TransportError::Protocol(
                        "stream ended inside a Content-Length frame".into(),
                    ))
                }
            }
        }
    }

    /// Appends `frame` with its delimiter to `out`.
    pub(crate) fn encode(
        &mut self,
        frame: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TransportError> {
        match self.framing {
            Framing::Lines => {
                if frame.contains(&b'\n') {
                    return Err(TransportError::Protocol(
                        "a frame for line framing must not contain a newline".into(),
                    ));
                }
                out.reserve(frame.len() + 1);
                out.extend_from_slice(frame);
                out.extend_from_slice(b"\n");
            }
            Framing::ContentLength => {
                let header = format!("Content-Length: {}\r\n\r\n", frame.len());
                out.reserve(header.len() + frame.len());
                out.extend_from_slice(header.as_bytes());
                out.extend_from_slice(frame);
            }
        }
        Ok(())
    }

    fn decode_line(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, TransportError> {
        loop {
            let Some(pos) = buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                self.scanned = buf.len();
                if buf.len() > self.max_frame {
                    return Err(TransportError::FrameTooLarge {
                        size: buf.len(),
                        limit: self.max_frame,
                    });
                }
                return Ok(None);
            };
            let end = self.scanned + pos;
            self.scanned = 0;
            if end > self.max_frame {
                return Err(TransportError::FrameTooLarge {
                    size: end,
                    limit: self.max_frame,
                });
            }
            let line = buf.split_to(end + 1).freeze();
            let trimmed = trim(&line);
            if !trimmed.is_empty() {
                return Ok(Some(line.slice_ref(trimmed)));
            }
        }
    }

    fn decode_content_length(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<Bytes>, TransportError> {
        if self.body_len.is_none() {
            // Tolerate stray line breaks between frames.
            let skip = buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            buf.advance(skip);
            let Some(end) = find(buf, b"\r\n\r\n") else {
                if buf.len() > 8 * 1024 {
                    return Err(TransportError::Protocol(
                        "Content-Length header block longer than 8 KiB".into(),
                    ));
                }
                return Ok(None);
            };
            let head = buf.split_to(end + 4);
            let head = std::str::from_utf8(&head[..end]).map_err(|_| {
                TransportError::Protocol("Content-Length header block is not UTF-8".into())
            })?;
            let mut len = None;
            for line in head.split("\r\n") {
                let (name, value) = line.split_once(':').ok_or_else(|| {
                    TransportError::Protocol(format!("malformed header line {line:?}"))
                })?;
                if name.trim().eq_ignore_ascii_case("content-length") {
                    len = Some(value.trim().parse::<usize>().map_err(|_| {
                        TransportError::Protocol(format!("bad Content-Length {:?}", value.trim()))
                    })?);
                }
            }
            let len = len.ok_or_else(|| {
                TransportError::Protocol("header block without Content-Length".into())
            })?;
            if len > self.max_frame {
                return Err(TransportError::FrameTooLarge {
                    size: len,
                    limit: self.max_frame,
                });
            }
            self.body_len = Some(len);
        }
        let len = self.body_len.unwrap_or(0);
        if buf.len() < len {
            buf.reserve(len - buf.len());
            return Ok(None);
        }
        self.body_len = None;
        Ok(Some(buf.split_to(len).freeze()))
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &bytes[start..end]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let mut c = Framing::Lines.codec(100);
        let mut buf = BytesMut::from(&b"{\"a\":1}\r\n\n  \n{\"b\""[..]);
        assert_eq!(c.decode(&mut buf).unwrap().unwrap(), &b"{\"a\":1}"[..]);
        assert!(c.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b":2}");
        assert_eq!(c.decode_eof(&mut buf).unwrap().unwrap(), &b"{\"b\":2}"[..]);
        let mut out = BytesMut::new();
        c.encode(b"{}", &mut out).unwrap();
        assert_eq!(&out[..], b"{}\n");
        let mut small = Framing::Lines.codec(4);
        let mut buf = BytesMut::from(&b"123456"[..]);
        assert!(matches!(
            small.decode(&mut buf),
            Err(TransportError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn content_length() {
        let mut c = Framing::ContentLength.codec(100);
        let mut out = BytesMut::new();
        c.encode(b"{\"x\":1}", &mut out).unwrap();
        c.encode(b"[]", &mut out).unwrap();
        let mut buf = out.split_to(10);
        assert!(c.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&out);
        assert_eq!(c.decode(&mut buf).unwrap().unwrap(), &b"{\"x\":1}"[..]);
        assert_eq!(c.decode(&mut buf).unwrap().unwrap(), &b"[]"[..]);
        assert!(c.decode_eof(&mut buf).unwrap().is_none());
        let mut buf = BytesMut::from(&b"Content-Type: x\r\n\r\n{}"[..]);
        assert!(c.decode(&mut buf).is_err());
        let mut buf = BytesMut::from(&b"content-length: 1000\r\n\r\n"[..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(TransportError::FrameTooLarge { .. })
        ));
    }
}
