//! Test support shared by both adapters' tests (included with `#[path]`): a router whose `gate`
//! method holds every call until the test opens the [`Gate`], so that N calls are in flight on
//! the server at once while the test looks at it (e.g. how many sockets carry them), and a
//! `who` method that describes the caller's transport as the server sees it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use futures::channel::oneshot;
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;

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
