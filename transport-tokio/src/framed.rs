//! Byte-stream transports: any `AsyncRead + AsyncWrite` carrying frames, newline-delimited
//! (TCP, kn-sock style) or with Content-Length headers (stdio, LSP style).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures::{Sink, Stream};
use jsonrpc_proto::peer::{Transport, TransportError, TransportInfo, TransportKind};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::codec::{codec_error, FrameCodec, Framing};

/// The default limit on one frame read from a byte stream: 10 MiB.
pub const DEFAULT_MAX_FRAME: usize = jsonrpc_proto::codec::DEFAULT_MAX_FRAME_SIZE;

/// A transport over any byte stream (a TCP or TLS socket, stdin/stdout, a pipe), framed by a
/// [`Framing`]. Build one with [`StreamTransport::lines`] or [`StreamTransport::content_length`].
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
        Self::new(
            reader,
            writer,
            Framing::Lines,
            TransportInfo::new(TransportKind::Tcp),
        )
    }

    /// Frames with `Content-Length` headers (kind [`TransportKind::Stdio`]).
    pub fn content_length(reader: R, writer: W) -> Self {
        Self::new(
            reader,
            writer,
            Framing::ContentLength,
            TransportInfo::new(TransportKind::Stdio),
        )
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

impl<S> StreamTransport<tokio::io::ReadHalf<S>, tokio::io::WriteHalf<S>>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    /// Newline-delimited JSON over one duplex stream (a TCP or TLS socket).
    pub fn lines_duplex(stream: S) -> Self {
        let (r, w) = tokio::io::split(stream);
        StreamTransport::new(r, w, Framing::Lines, TransportInfo::new(TransportKind::Tcp))
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
                codec: self.framing.codec(self.max_frame),
                buf: BytesMut::new(),
                closed: false,
            },
            FrameReader {
                reader: self.reader,
                codec: self.framing.codec(self.max_frame),
                buf: BytesMut::with_capacity(8 * 1024),
                scratch: vec![0; 8 * 1024].into_boxed_slice(),
                eof: false,
            },
        )
    }
}

/// The receiving half of a [`StreamTransport`].
pub struct FrameReader<R> {
    reader: R,
    codec: FrameCodec,
    buf: BytesMut,
    scratch: Box<[u8]>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> Stream for FrameReader<R> {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.eof {
                return Poll::Ready(None);
            }
            match this.codec.decode(&mut this.buf) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) => {}
                Err(e) => {
                    let (err, recoverable) = codec_error(e);
                    this.eof = !recoverable;
                    return Poll::Ready(Some(Err(err)));
                }
            }
            let n = {
                let mut rb = ReadBuf::new(&mut this.scratch[..]);
                match ready!(Pin::new(&mut this.reader).poll_read(cx, &mut rb)) {
                    Ok(()) => rb.filled().len(),
                    Err(e) => {
                        this.eof = true;
                        return Poll::Ready(Some(Err(TransportError::Io(e))));
                    }
                }
            };
            if n == 0 {
                this.eof = true;
                return Poll::Ready(match this.codec.decode_eof(&mut this.buf) {
                    Ok(Some(frame)) => Some(Ok(frame)),
                    Ok(None) => None,
                    Err(e) => Some(Err(codec_error(e).0)),
                });
            }
            this.buf.extend_from_slice(&this.scratch[..n]);
        }
    }
}

/// The sending half of a [`StreamTransport`]: buffers encoded frames and writes them on flush.
pub struct FrameWriter<W> {
    writer: W,
    codec: FrameCodec,
    buf: BytesMut,
    closed: bool,
}

/// Flush the write buffer before accepting more once it holds this many bytes.
const WRITE_HIGH_WATER: usize = 64 * 1024;

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    fn poll_write_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.buf.is_empty() {
            let n = ready!(Pin::new(&mut self.writer).poll_write(cx, &self.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.buf.advance(n);
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
        if self.buf.len() >= WRITE_HIGH_WATER {
            ready!(self.poll_write_buf(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(mut self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        if self.closed {
            return Err(TransportError::Closed);
        }
        let this = &mut *self;
        this.codec.encode(&frame, &mut this.buf);
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
        ready!(Pin::new(&mut self.writer).poll_shutdown(cx))?;
        Poll::Ready(Ok(()))
    }
}
