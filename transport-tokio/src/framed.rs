//! Byte-stream transports on tokio IO: the shared [`jsonrpc_proto::adapter::framed`] transport
//! (framing, decoder, encoder, reader and writer) over a small tokio-to-futures-io wrapper.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use jsonrpc_proto::adapter::framed as shared;
pub use jsonrpc_proto::adapter::framed::{Framing, DEFAULT_MAX_FRAME};
use jsonrpc_proto::peer::{Transport, TransportInfo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A tokio `AsyncRead`/`AsyncWrite` seen as a `futures::io` one.
pub struct Compat<T>(pub T);

impl<T: AsyncRead + Unpin> futures::io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(out);
        ready!(Pin::new(&mut self.get_mut().0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<T: AsyncWrite + Unpin> futures::io::AsyncWrite for Compat<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, b)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// The receiving half of a [`StreamTransport`].
pub type FrameReader<R> = shared::FrameReader<Compat<R>>;
/// The sending half of a [`StreamTransport`].
pub type FrameWriter<W> = shared::FrameWriter<Compat<W>>;

/// A transport over any tokio byte stream (a TCP or TLS socket, stdin/stdout, a pipe), framed
/// by a [`Framing`]. Build one with [`StreamTransport::lines`] or
/// [`StreamTransport::content_length`].
pub struct StreamTransport<R, W>(shared::StreamTransport<Compat<R>, Compat<W>>);

impl<R, W> StreamTransport<R, W>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    /// Frames as newline-delimited JSON (kind `Tcp`).
    pub fn lines(reader: R, writer: W) -> Self {
        StreamTransport(shared::StreamTransport::lines(
            Compat(reader),
            Compat(writer),
        ))
    }

    /// Frames with `Content-Length` headers (kind `Stdio`).
    pub fn content_length(reader: R, writer: W) -> Self {
        let (r, w) = (Compat(reader), Compat(writer));
        StreamTransport(shared::StreamTransport::content_length(r, w))
    }

    /// A transport with an explicit framing and info.
    pub fn new(reader: R, writer: W, framing: Framing, info: TransportInfo) -> Self {
        let (r, w) = (Compat(reader), Compat(writer));
        StreamTransport(shared::StreamTransport::new(r, w, framing, info))
    }

    /// Sets the largest frame accepted from the peer (default [`DEFAULT_MAX_FRAME`]).
    pub fn max_frame(self, bytes: usize) -> Self {
        StreamTransport(self.0.max_frame(bytes))
    }

    /// Replaces the connection info handed to hooks.
    pub fn with_info(self, info: TransportInfo) -> Self {
        StreamTransport(self.0.with_info(info))
    }
}

impl<S> StreamTransport<tokio::io::ReadHalf<S>, tokio::io::WriteHalf<S>>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    /// Newline-delimited JSON over one duplex stream (a TCP or TLS socket).
    pub fn lines_duplex(stream: S) -> Self {
        let (r, w) = tokio::io::split(stream);
        StreamTransport::lines(r, w)
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
        self.0.info()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        self.0.split()
    }
}
