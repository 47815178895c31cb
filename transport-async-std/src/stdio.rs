//! Serving over stdin/stdout or any byte stream pair with Content-Length framing (LSP style),
//! and standard input and output as futures-io streams, through one thread each (the standard
//! streams cannot be registered with async-io's reactor portably).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::channel::mpsc;
use futures::io::{AsyncRead, AsyncWrite};
use futures::{Sink, TryStreamExt};
use jsonrpc_proto::adapter::framed::StreamTransport;
use jsonrpc_proto::peer::{Server as ProtoServer, ServerConfig};
use jsonrpc_proto::service::Router;

use crate::runtime::AsyncIoRuntime;

/// The reading half of [`stdio`].
pub type Stdin = futures::stream::IntoAsyncRead<mpsc::Receiver<io::Result<Vec<u8>>>>;

/// stdin and stdout as futures-io streams.
pub fn stdio() -> (Stdin, Stdout) {
    let (in_tx, in_rx) = mpsc::channel::<io::Result<Vec<u8>>>(4);
    std::thread::spawn(move || {
        let mut tx = in_tx;
        let mut stdin = io::stdin().lock();
        let mut buf = vec![0u8; 8 * 1024];
        loop {
            let item = match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => Ok(buf[..n].to_vec()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if futures::executor::block_on(futures::SinkExt::send(&mut tx, item)).is_err() || failed
            {
                break;
            }
        }
    });
    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(4);
    std::thread::spawn(move || {
        let mut rx = out_rx;
        let mut stdout = io::stdout();
        while let Some(chunk) = futures::executor::block_on(futures::StreamExt::next(&mut rx)) {
            if stdout
                .write_all(&chunk)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                break;
            }
        }
    });
    (in_rx.into_async_read(), Stdout(out_tx))
}

/// The writing half of [`stdio`]: each write is handed to the stdout thread.
pub struct Stdout(mpsc::Sender<Vec<u8>>);

impl AsyncWrite for Stdout {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let closed = |_| io::Error::from(io::ErrorKind::BrokenPipe);
        ready!(self.0.poll_ready(cx)).map_err(closed)?;
        Pin::new(&mut self.0)
            .start_send(buf.to_vec())
            .map_err(closed)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.close_channel();
        Poll::Ready(Ok(()))
    }
}

/// Serves `router` over any byte stream pair with Content-Length framing (LSP style) until
/// the reader ends.
pub async fn serve_io_content_length<R, W>(
    router: Router,
    config: ServerConfig,
    runtime: AsyncIoRuntime,
    reader: R,
    writer: W,
) where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let proto = ProtoServer::new(router, runtime, config);
    proto
        .serve(StreamTransport::content_length(reader, writer))
        .await;
}

/// Serves `router` over stdin/stdout with Content-Length framing (LSP style) until stdin ends,
/// on the default [`AsyncIoRuntime`].
pub async fn serve_stdio(router: Router, config: ServerConfig) {
    let runtime = AsyncIoRuntime::default();
    let (reader, writer) = stdio();
    serve_io_content_length(router, config, runtime, reader, writer).await;
}
