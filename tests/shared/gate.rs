//! Test support shared by both adapters' tests (included with `#[path]`): a router whose `gate`
//! method holds every call until the test opens the [`Gate`], so that N calls are in flight on
//! the server at once while the test looks at it (e.g. how many sockets carry them), and a
//! `who` method that describes the caller's transport as the server sees it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{join_all, BoxFuture};
use jsonrpc_proto::peer::Client;
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;

/// How many gated calls [`gated_calls`] sends at once.
pub const N: usize = 16;

/// The calls held by the `gate` method.
#[derive(Clone, Default)]
pub struct Gate(Arc<Mutex<Vec<oneshot::Sender<()>>>>);

impl Gate {
    fn held(&self) -> std::sync::MutexGuard<'_, Vec<oneshot::Sender<()>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many `gate` calls are waiting.
    pub fn waiting(&self) -> usize {
        self.held().len()
    }

    /// Lets every waiting call answer; returns how many there were.
    pub fn open(&self) -> usize {
        let held: Vec<_> = self.held().drain(..).collect();
        let n = held.len();
        for tx in held {
            let _ = tx.send(());
        }
        n
    }

    /// `gate(n)` waits for [`Gate::open`], then answers `n`; `who()` answers
    /// "KIND unix=BOOL tls=BOOL" for the caller's transport.
    pub fn router(&self) -> Router {
        let gate = self.clone();
        Router::builder()
            .method("gate", move |_ctx: Context, (n,): (i64,)| {
                let (tx, rx) = oneshot::channel();
                gate.held().push(tx);
                async move {
                    rx.await.map_err(|_| ErrorObject::internal_error())?;
                    Ok::<_, ErrorObject>(n)
                }
            })
            .method("who", |ctx: Context, (): ()| async move {
                let t = ctx.transport();
                Ok::<_, ErrorObject>(format!("{} unix={} tls={}", t.kind, t.unix, t.tls))
            })
            .method("add", |_ctx: Context, (a, b): (i64, i64)| async move {
                Ok::<_, ErrorObject>(a + b)
            })
            .build()
            .expect("the gate router")
    }
}

/// Waits (bounded: 4000 naps of 5 ms on `sleep`) until `n` calls are held by `gate`.
pub async fn until_waiting(
    gate: &Gate,
    n: usize,
    sleep: &dyn Fn(Duration) -> BoxFuture<'static, ()>,
) {
    for _ in 0..4000 {
        if gate.waiting() >= n {
            return;
        }
        sleep(Duration::from_millis(5)).await;
    }
    panic!("only {} of {n} calls reached the server", gate.waiting());
}

/// Sends [`N`] gated calls at once on `client`; each time all that can be are in flight on the
/// server (at most `streams` at a time), records `sockets()` (the server's open connections),
/// then lets them answer. Checks every answer; returns the socket counts seen.
pub async fn gated_calls(
    gate: &Gate,
    client: &Client,
    streams: usize,
    sockets: &dyn Fn() -> usize,
    sleep: &dyn Fn(Duration) -> BoxFuture<'static, ()>,
) -> Vec<usize> {
    let calls = join_all((0..N as i64).map(|i| client.request::<i64, _>("gate", (i,))));
    let watch = async {
        let mut seen = Vec::new();
        let mut answered = 0;
        while answered < N {
            until_waiting(gate, streams.min(N - answered), sleep).await;
            seen.push(sockets());
            answered += gate.open();
        }
        seen
    };
    let (answers, seen) = futures::join!(calls, watch);
    let answers: Vec<i64> = answers
        .into_iter()
        .map(|r| r.expect("gated call"))
        .collect();
    assert_eq!(answers, (0..N as i64).collect::<Vec<_>>());
    seen
}
