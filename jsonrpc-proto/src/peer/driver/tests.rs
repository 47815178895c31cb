//! The driver's order of work on a burst of input.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskCx, Poll};

use bytes::Bytes;
use futures::executor::block_on;
use futures::future::BoxFuture;
use futures::{Sink, Stream};

use super::SERVE_READ_BUDGET;
use crate::peer::{
    Answer, BoxTransport, Context, Dispatch, Extensions, Reply, Server, ServerConfig,
    TransportError, TransportInfo, TransportKind,
};
use crate::protocol::error::ErrorObject;
use crate::protocol::message::{Notification, Request};

/// `add` of two integers, answered at once.
struct Add(Extensions);

impl Dispatch for Add {
    fn request(&self, _ctx: &Context, request: Request<'_>) -> Reply {
        let sum = request
            .params
            .and_then(|p| serde_json::from_str::<(i64, i64)>(p.get()).ok())
            .map(|(a, b)| a + b);
        Reply::Ready(match sum {
            Some(sum) => Answer::serialized(&sum).map_err(|_| ErrorObject::internal_error()),
            None => Err(ErrorObject::invalid_params("expected two integers")),
        })
    }

    fn notification(
        &self,
        _ctx: &Context,
        notification: Notification<'static>,
    ) -> Result<Option<BoxFuture<'static, ()>>, Notification<'static>> {
        Err(notification)
    }

    fn has_method(&self, method: &str) -> bool {
        method == "add"
    }

    fn state(&self) -> &Extensions {
        &self.0
    }
}

use crate::peer::rt::Threads;

/// Every frame ready at once (one burst of input, as from one read of a socket), then the
/// end of input; counts the frames taken.
struct Burst {
    frames: Vec<Bytes>,
    taken: Arc<AtomicUsize>,
}

impl Stream for Burst {
    type Item = Result<Bytes, TransportError>;
    fn poll_next(self: Pin<&mut Self>, _cx: &mut TaskCx<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let i = this.taken.load(Ordering::SeqCst);
        if i == this.frames.len() {
            return Poll::Ready(None);
        }
        this.taken.store(i + 1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(this.frames[i].clone())))
    }
}

/// Takes every frame at once; at each flush records (frames of input taken so far, answers
/// written so far).
struct Recorder {
    taken: Arc<AtomicUsize>,
    written: Vec<Bytes>,
    flushes: Arc<Mutex<Vec<(usize, usize)>>>,
    answers: Arc<Mutex<Vec<Bytes>>>,
}

impl Sink<Bytes> for Recorder {
    type Error = TransportError;
    fn poll_ready(self: Pin<&mut Self>, _cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        self.get_mut().written.push(frame);
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let mut answers = this.answers.lock().unwrap();
        answers.append(&mut this.written);
        let flushes = &mut this.flushes.lock().unwrap();
        if flushes.last().is_none_or(|&(_, n)| n != answers.len()) {
            flushes.push((this.taken.load(Ordering::SeqCst), answers.len()));
        }
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }
}

#[test]
fn a_burst_of_pipelined_calls_is_answered_in_parts_while_it_is_read() {
    let n = 64;
    let frames: Vec<Bytes> = (0..n)
        .map(|i| {
            Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","method":"add","params":[{i},1],"id":{i}}}"#
            ))
        })
        .collect();
    let taken = Arc::new(AtomicUsize::new(0));
    let flushes = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let transport = BoxTransport::new(
        TransportInfo::new(TransportKind::Memory),
        Recorder {
            taken: taken.clone(),
            written: Vec::new(),
            flushes: flushes.clone(),
            answers: answers.clone(),
        },
        Burst {
            frames,
            taken: taken.clone(),
        },
    );
    let server = Server::new(Add(Extensions::default()), Threads, ServerConfig::default());
    block_on(server.serve(transport));

    // every call answered, in the order read, nothing else written
    let answers = answers.lock().unwrap();
    let want: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"jsonrpc":"2.0","result":{},"id":{i}}}"#, i + 1))
        .collect();
    let got: Vec<String> = answers
        .iter()
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    assert_eq!(got, want);
    // the first answers left before the rest of the burst was read, in parts of at most
    // SERVE_READ_BUDGET calls
    let flushes = flushes.lock().unwrap();
    assert!(
        flushes[0].0 < n,
        "answered only after the whole burst: {flushes:?}"
    );
    assert_eq!(
        flushes[0],
        (SERVE_READ_BUDGET, SERVE_READ_BUDGET),
        "{flushes:?}"
    );
    assert_eq!(flushes.len(), n / SERVE_READ_BUDGET, "{flushes:?}");
    for w in flushes.windows(2) {
        assert!(w[1].1 - w[0].1 <= SERVE_READ_BUDGET, "{flushes:?}");
        assert!(w[0].0 < n, "{flushes:?}");
    }
}
