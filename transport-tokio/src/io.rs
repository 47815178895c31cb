//! tokio's IO as futures-io: a small tokio-to-futures-io wrapper ([`Compat`], private) under
//! the shared [`jsonrpc_proto::adapter::framed`] byte-stream transport (framing, decoder,
//! encoder, reader and writer), and the WebSocket transport over tokio-tungstenite's
//! `WebSocketStream` (the shared [`jsonrpc_proto::adapter::ws`] one: one JSON text per text
//! frame; binary frames refused with close 1003). hyper's IO on tokio is hyper-util's `TokioIo`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures::{Sink, Stream};
use jsonrpc_proto::adapter::framed as shared;
pub use jsonrpc_proto::adapter::framed::{Framing, DEFAULT_MAX_FRAME};
use jsonrpc_proto::peer::{Transport, TransportError, TransportInfo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A tokio `AsyncRead`/`AsyncWrite` seen as a `futures::io` one.
pub(crate) struct Compat<T>(pub(crate) T);

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

/// The receiving half of a [`StreamTransport`]: a `Stream` of frames.
pub struct FrameReader<R>(shared::FrameReader<Compat<R>>);

impl<R: AsyncRead + Unpin> Stream for FrameReader<R> {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

/// The sending half of a [`StreamTransport`]: a `Sink` of frames, buffered and written on
/// flush.
pub struct FrameWriter<W>(shared::FrameWriter<Compat<W>>);

impl<W: AsyncWrite + Unpin> Sink<Bytes> for FrameWriter<W> {
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        Pin::new(&mut self.0).start_send(frame)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

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
        let (sink, stream) = self.0.split();
        (FrameWriter(sink), FrameReader(stream))
    }
}
