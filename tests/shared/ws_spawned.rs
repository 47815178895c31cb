//! Over WebSocket: a call run on a task of its own (`spawn_calls`) is dropped when its
//! connection ends, as calls run on the connection's task are; handlers read the handshake
//! headers for the connection's life. Written once for both adapters (included with `#[path]`
//! after `tests/shared/adapter.rs`, which the including file names `adapter`).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonrpc_proto::adapter::connect::ConnectOptions;
use jsonrpc_proto::peer::Runtime;
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;

use crate::under_test::{connect_ws_with, RunningServer, Server};

type Rt = crate::adapter::Rt;

fn options(rt: &Rt) -> ConnectOptions<Rt> {
    ConnectOptions::default().with_runtime(Some(rt.clone()))
}

async fn start(rt: &Rt, router: Router) -> RunningServer {
    Server::builder(router)
        .runtime(rt.clone())
        .http("127.0.0.1:0")
        .spawn_calls(true)
        .start()
        .await
        .unwrap()
}

/// Runs `fut` on a task of its own now; the result waits for it.
fn spawn(
    rt: &Rt,
    fut: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> {
    let (tx, rx) = futures::channel::oneshot::channel();
    Runtime::spawn(
        rt,
        Box::pin(async move {
            fut.await;
            let _ = tx.send(());
        }),
    );
    async move {
        rx.await.expect("the task ran to its end");
    }
}

/// Waits (bounded) until `cond` holds.
async fn until(rt: &Rt, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        Runtime::sleep_until(rt, Instant::now() + Duration::from_millis(5)).await;
    }
}

/// Held calls and the futures of theirs dropped before they answered.
#[derive(Default)]
struct Probe {
    started: AtomicUsize,
    dropped: AtomicUsize,
}

/// Counts a held call's future dropped before it answered.
struct DropGuard(Arc<Probe>);
impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// `text(size, hold)`: `size` bytes of text, or (`hold`) never an answer; `headers()`: the
/// handshake headers as the handler sees them.
fn router(probe: Arc<Probe>) -> Router {
    Router::builder()
        .method("text", move |_ctx: Context, (size, hold): (usize, bool)| {
            let probe = probe.clone();
            async move {
                if hold {
                    probe.started.fetch_add(1, Ordering::SeqCst);
                    let _guard = DropGuard(probe.clone());
                    futures::future::pending::<()>().await;
                }
                Ok::<_, ErrorObject>("A".repeat(size))
            }
        })
        .method("headers", |ctx: Context, (): ()| async move {
            let t = ctx.transport();
            Ok::<_, ErrorObject>((
                t.header("x-token").map(str::to_owned),
                t.headers.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
                t.path.clone(),
            ))
        })
        .build()
        .unwrap()
}

/// A call running on a task of its own (`spawn_calls`) when the client disconnects is dropped
/// with the connection. The handshake headers stay readable for the connection's life (kept
/// packed).
pub async fn spawned_calls_end_with_their_connection(rt: Rt) {
    let probe = Arc::new(Probe::default());
    let server = start(&rt, router(probe.clone())).await;
    let url = format!("ws://{}/ws", server.http_addr().unwrap());
    let client = connect_ws_with(&url, options(&rt).header("X-Token", "t0k3n"))
        .await
        .unwrap();
    let (token, names, path): (Option<String>, Vec<String>, Option<String>) =
        client.request("headers", ()).await.unwrap();
    assert_eq!(token.as_deref(), Some("t0k3n"));
    assert!(names.iter().any(|n| n == "sec-websocket-key"), "{names:?}");
    assert!(names.iter().any(|n| n == "x-token"), "{names:?}");
    assert_eq!(path.as_deref(), Some("/ws"));
    let s: String = client.request("text", (10, false)).await.unwrap();
    assert_eq!(s.len(), 10);
    let caller = client.clone();
    let held = spawn(&rt, async move {
        let _ = caller.request::<String, _>("text", (10, true)).await;
    });
    until(&rt, "the held call", || {
        probe.started.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(probe.dropped.load(Ordering::SeqCst), 0);
    // The headers are still there after the connection went quiet.
    let (again, _, _): (Option<String>, Vec<String>, Option<String>) =
        client.request("headers", ()).await.unwrap();
    assert_eq!(again.as_deref(), Some("t0k3n"));
    client.close().await;
    until(&rt, "the held call dropped", || {
        probe.dropped.load(Ordering::SeqCst) == 1
    })
    .await;
    until(&rt, "the server to forget the client", || {
        server.handle().client_count() == 0
    })
    .await;
    held.await;
    server.shutdown().await;
}
