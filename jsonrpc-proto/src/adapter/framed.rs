//! Frames on byte streams, for every runtime: [`Framing`], the sans-IO [`FrameDecoder`] and
//! [`FrameEncoder`] (buffers + [`crate::codec`]), and [`StreamTransport`], a [`Transport`] over
//! any `futures::io::{AsyncRead, AsyncWrite}` (async-io, async-net, smol, async-std, or tokio
//! through a compat wrapper). An adapter whose IO traits differ only needs the read and write
//! calls around the decoder and encoder.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures::io::{AsyncRead, AsyncWrite};
use futures::{Sink, Stream};

use crate::peer::{Transport, TransportError, TransportInfo, TransportKind};
use crate::protocol::codec::{CodecError, ContentLengthCodec, LineCodec};

/// The default limit on one frame read from a byte stream: 10 MiB.
pub const DEFAULT_MAX_FRAME: usize = crate::protocol::codec::DEFAULT_MAX_FRAME_SIZE;

/// Flush the write buffer before accepting more once it holds this many bytes.
pub const WRITE_HIGH_WATER: usize = 64 * 1024;

/// How frames are delimited on a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One JSON text per line ([`LineCodec`]).
    Lines,
    /// `Content-Length: N` header block, blank line, then N bytes ([`ContentLengthCodec`]).
    ContentLength,
}

enum FrameCodec {
    Lines(LineCodec),
    ContentLength(ContentLengthCodec),
}

impl FrameCodec {
    fn new(framing: Framing, max_frame: usize) -> Self {
        match framing {
            Framing::Lines => FrameCodec::Lines(LineCodec::with_max_frame_size(max_frame)),
            Framing::ContentLength => {
                FrameCodec::ContentLength(ContentLengthCodec::with_max_frame_size(max_frame))
            }
        }
    }
}

/// A codec error as a transport error, and whether the stream can go on after it.
pub fn codec_error(e: CodecError) -> (TransportError, bool) {
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

/// The receiving side of a framed byte stream without the IO: feed it what was read, take
/// frames out. After an unrecoverable error or the end of input it yields nothing more.
pub struct FrameDecoder {
    codec: FrameCodec,
    buf: BytesMut,
    done: bool,
}

impl FrameDecoder {
    /// A decoder for `framing` refusing frames over `max_frame` bytes.
    pub fn new(framing: Framing, max_frame: usize) -> Self {
        FrameDecoder {
            codec: FrameCodec::new(framing, max_frame),
            buf: BytesMut::with_capacity(8 * 1024),
            done: false,
        }
    }

    /// The next complete frame in the buffer: `Ok(None)` when more input is needed,
    /// `Err` for a framing error (the stream ends after it unless the codec can resync).
    pub fn decode(&mut self) -> Option<Result<Bytes, TransportError>> {
        if self.done {
            return None;
        }
        let r = match &mut self.codec {
            FrameCodec::Lines(c) => c.decode(&mut self.buf),
            FrameCodec::ContentLength(c) => c.decode(&mut self.buf),
        };
        match r {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => None,
            Err(e) => {
                let (err, recoverable) = codec_error(e);
                self.done = !recoverable;
                Some(Err(err))
            }
        }
    }

    /// Appends bytes read from the stream.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The input ended: the last frame, if one is left without its delimiter; then nothing.
    pub fn decode_eof(&mut self) -> Option<Result<Bytes, TransportError>> {
        if self.done {
            return None;
        }
        self.done = true;
        let r = match &mut self.codec {
            FrameCodec::Lines(c) => c.decode_eof(&mut self.buf),
            FrameCodec::ContentLength(c) => c.decode_eof(&mut self.buf),
        };
        r.map_err(|e| codec_error(e).0).transpose()
    }

    /// The reader failed: nothing more will be decoded.
    pub fn fail(&mut self) {
        self.done = true;
    }

    /// True once nothing more will come out.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// The sending side of a framed byte stream without the IO: encode frames, write out
/// [`FrameEncoder::pending`], then [`FrameEncoder::advance`].
pub struct FrameEncoder {
    codec: FrameCodec,
    buf: BytesMut,
}

impl FrameEncoder {
    /// An encoder for `framing`.
    pub fn new(framing: Framing) -> Self {
        FrameEncoder {
            codec: FrameCodec::new(framing, usize::MAX),
            buf: BytesMut::new(),
        }
    }

    /// Appends one framed frame to the output buffer.
    pub fn encode(&mut self, frame: &[u8]) {
        match &mut self.codec {
            FrameCodec::Lines(c) => c.encode(frame, &mut self.buf),
            FrameCodec::ContentLength(c) => c.encode(frame, &mut self.buf),
        }
    }

    /// The bytes waiting to be written.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// `n` bytes were written.
    pub fn advance(&mut self, n: usize) {
        self.buf.advance(n);
    }

    /// True when the buffer is large enough that it should be written before taking more.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= WRITE_HIGH_WATER
    }
}

/// A transport over any `futures::io` byte stream (a TCP or TLS socket, stdin/stdout, a pipe),
/// framed by a [`Framing`].
pub struct StreamTransport<R, W> {
    reader: R,
    writer: W,
    framing: Framing,
    max_frame: usize,
    info: TransportInfo,
}

impl<R, W> StreamTransport<R, W>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    /// Frames as newline-delimited JSON (kind [`TransportKind::Tcp`]).
    pub fn lines(reader: R, writer: W) -> Self {
        let info = TransportInfo::new(TransportKind::Tcp);
        Self::new(reader, writer, Framing::Lines, info)
    }

    /// Frames with `Content-Length` headers (kind [`TransportKind::Stdio`]).
    pub fn content_length(reader: R, writer: W) -> Self {
        let info = TransportInfo::new(TransportKind::Stdio);
        Self::new(reader, writer, Framing::ContentLength, info)
    }

    /// A transport with an explicit framing and info.
    pub fn new(reader: R, writer: W, framing: Framing, info: TransportInfo) -> Self {
        StreamTransport {
            reader,
            writer,
            framing,
            max_frame: DEFAULT_MAX_FRAME,
            info,
        }
    }

    /// Sets the largest frame accepted from the peer (default [`DEFAULT_MAX_FRAME`]).
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Replaces the connection info handed to hooks.
    pub fn with_info(mut self, info: TransportInfo) -> Self {
        self.info = info;
        self
    }
}

impl<S> StreamTransport<futures::io::ReadHalf<S>, futures::io::WriteHalf<S>>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    /// Newline-delimited JSON over one duplex stream (a TCP or TLS socket).
    pub fn lines_duplex(stream: S) -> Self {
        let (r, w) = futures::io::AsyncReadExt::split(stream);
        StreamTransport::lines(r, w)
    }

    /// Content-Length framing over one duplex stream (a pipe pair, a socket).
    pub fn content_length_duplex(stream: S) -> Self {
        let (r, w) = futures::io::AsyncReadExt::split(stream);
        StreamTransport::content_length(r, w)
    }
}

impl<R, W> Transport for StreamTransport<R, W>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    type Sink = FrameWriter<W>;
    type Stream = FrameReader<R>;

    fn info(&self) -> TransportInfo {
        self.info.clone()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        (
            FrameWriter {
                writer: self.writer,
                enc: FrameEncoder::new(self.framing),
                closed: false,
            },
            FrameReader {
                reader: self.reader,
                dec: FrameDecoder::new(self.framing, self.max_frame),
                scratch: vec![0; 8 * 1024].into_boxed_slice(),
            },
        )
    }
}

/// The receiving half of a [`StreamTransport`].
pub struct FrameReader<R> {
    reader: R,
    dec: FrameDecoder,
    scratch: Box<[u8]>,
}

impl<R: AsyncRead + Unpin> Stream for FrameReader<R> {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(r) = this.dec.decode() {
                return Poll::Ready(Some(r));
            }
            if this.dec.is_done() {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.reader).poll_read(cx, &mut this.scratch)) {
                Ok(0) => return Poll::Ready(this.dec.decode_eof()),
                Ok(n) => this.dec.feed(&this.scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    this.dec.fail();
                    return Poll::Ready(Some(Err(TransportError::Io(e))));
                }
            }
        }
    }
}

/// The sending half of a [`StreamTransport`]: buffers encoded frames and writes them on flush.
pub struct FrameWriter<W> {
    writer: W,
    enc: FrameEncoder,
    closed: bool,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    fn poll_write_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.enc.pending().is_empty() {
            let n = ready!(Pin::new(&mut self.writer).poll_write(cx, self.enc.pending()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.enc.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite + Unpin> Sink<Bytes> for FrameWriter<W> {
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.closed {
            return Poll::Ready(Err(TransportError::Closed));
        }
        if self.enc.is_full() {
            ready!(self.poll_write_buf(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(mut self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        if self.closed {
            return Err(TransportError::Closed);
        }
        self.enc.encode(&frame);
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.poll_write_buf(cx))?;
        ready!(Pin::new(&mut self.writer).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if !self.closed {
            ready!(self.as_mut().poll_flush(cx))?;
            self.closed = true;
        }
        ready!(Pin::new(&mut self.writer).poll_close(cx))?;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{SinkExt, StreamExt};

    #[test]
    fn round_trip_both_framings() {
        for framing in [Framing::Lines, Framing::ContentLength] {
            let mut enc = FrameEncoder::new(framing);
            enc.encode(b"{\"a\":1}");
            enc.encode(b"[2]");
            let out = enc.pending().to_vec();
            let t = StreamTransport::new(
                futures::io::Cursor::new(out),
                futures::io::sink(),
                framing,
                TransportInfo::new(TransportKind::Stdio),
            );
            let (mut sink, mut stream) = t.split();
            futures::executor::block_on(async {
                assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"{\"a\":1}");
                assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"[2]");
                assert!(stream.next().await.is_none());
                sink.send(Bytes::from_static(b"{}")).await.unwrap();
            });
        }
    }

    #[test]
    fn oversized_frame_is_an_error() {
        let mut d = FrameDecoder::new(Framing::Lines, 4);
        d.feed(b"123456789\n");
        assert!(matches!(
            d.decode(),
            Some(Err(TransportError::FrameTooLarge { .. }))
        ));
    }
}
