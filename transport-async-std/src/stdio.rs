//! Standard input and output as futures-io streams, through one thread each (the standard
//! streams cannot be registered with async-io's reactor portably).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::channel::mpsc;
use futures::io::AsyncWrite;
use futures::{Sink, TryStreamExt};

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
