//! Frame boundaries on byte streams: adapts `jsonrpc_proto::codec` to the transports.

use bytes::{Bytes, BytesMut};
use jsonrpc_proto::codec::{CodecError, ContentLengthCodec, LineCodec};
use jsonrpc_proto::peer::TransportError;

/// How frames are delimited on a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One JSON text per line ([`LineCodec`]).
    Lines,
    /// `Content-Length: N` header block, blank line, then N bytes ([`ContentLengthCodec`]).
    ContentLength,
}

impl Framing {
    pub(crate) fn codec(self, max_frame: usize) -> FrameCodec {
        match self {
            Framing::Lines => FrameCodec::Lines(LineCodec::with_max_frame_size(max_frame)),
            Framing::ContentLength => {
                FrameCodec::ContentLength(ContentLengthCodec::with_max_frame_size(max_frame))
            }
        }
    }
}

/// The incremental decoder and encoder for one direction of a stream.
pub(crate) enum FrameCodec {
    Lines(LineCodec),
    ContentLength(ContentLengthCodec),
}

/// A codec error as a transport error, and whether the stream can go on after it.
pub(crate) fn codec_error(e: CodecError) -> (TransportError, bool) {
    let recoverable = e.is_recoverable();
    let err = match e {
        CodecError::LineTooLong { max } => TransportError::FrameTooLarge {
            size: max + 1,
            limit: max,
        },
        CodecError::FrameTooLarge { len, max } => TransportError::FrameTooLarge {
            size: usize::try_from(len).unwrap_or(usize::MAX),
            limit: max,
        },
        other => TransportError::Protocol(other.to_string()),
    };
    (err, recoverable)
}

impl FrameCodec {
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        match self {
            FrameCodec::Lines(c) => c.decode(buf),
            FrameCodec::ContentLength(c) => c.decode(buf),
        }
    }

    pub(crate) fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        match self {
            FrameCodec::Lines(c) => c.decode_eof(buf),
            FrameCodec::ContentLength(c) => c.decode_eof(buf),
        }
    }

    pub(crate) fn encode(&mut self, frame: &[u8], out: &mut BytesMut) {
        match self {
            FrameCodec::Lines(c) => c.encode(frame, out),
            FrameCodec::ContentLength(c) => c.encode(frame, out),
        }
    }
}
