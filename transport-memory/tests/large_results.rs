//! Calls of methods that answer with large results run on tasks of their own (at the default
//! settings), on tokio and smol: the first large answer teaches the server, small methods stay
//! on the connection's task, and spawned calls keep the connection's limits (max in flight).
//! (That they end with their connection is tested over WebSocket in the adapter crates: a
//! memory pair's end of input lets the calls received finish, as TCP's does.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::future::{BoxFuture, FutureExt, Shared};
use jsonrpc_proto::peer::{Client, ClientConfig, Runtime, Server, ServerConfig};
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;
use transport_memory::pair;

mod common;
use common::Tokio;

/// The size of a result that teaches the server (the threshold is 64 KiB).
const BIG: usize = 100 * 1024;

/// A runtime that counts the tasks spawned on it.
#[derive(Clone)]
struct Counting<R> {
    rt: R,
    spawned: Arc<AtomicUsize>,
}

impl<R: Runtime> Runtime for Counting<R> {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.spawned.fetch_add(1, Ordering::SeqCst);
        self.rt.spawn(task);
    }
    fn sleep_until(&self, at: Instant) -> BoxFuture<'static, ()> {
        self.rt.sleep_until(at)
    }
}

#[derive(Clone)]
struct Smol;
impl Runtime for Smol {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        smol::spawn(task).detach();
    }
    fn sleep_until(&self, at: Instant) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            smol::Timer::at(at).await;
        })
    }
}

/// What the handlers share with the test: a gate held calls wait on, and counters.
struct Probe {
    gate: Shared<oneshot::Receiver<()>>,
    open: Mutex<Option<oneshot::Sender<()>>>,
    started: AtomicUsize,
}

impl Probe {
    fn new() -> Arc<Probe> {
        let (tx, rx) = oneshot::channel();
        Arc::new(Probe {
            gate: rx.shared(),
            open: Mutex::new(Some(tx)),
            started: AtomicUsize::new(0),
        })
    }

    fn open_gate(&self) {
        if let Some(tx) = self.open.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }
}

/// `text(size, hold)`: `size` bytes of text, after waiting for the gate when `hold`;
/// `small()`: a short answer.
fn router(probe: Arc<Probe>) -> Router {
    Router::builder()
        .method("text", move |_ctx: Context, (size, hold): (usize, bool)| {
            let probe = probe.clone();
            async move {
                if hold {
                    probe.started.fetch_add(1, Ordering::SeqCst);
                    let _ = probe.gate.clone().await;
                }
                Ok::<_, ErrorObject>("A".repeat(size))
            }
        })
        .method("small", |_ctx: Context, (): ()| async {
            Ok::<_, ErrorObject>("ok")
        })
        .build()
        .unwrap()
}

fn connect<R: Runtime + Clone>(server: &Server, rt: &R) -> Client {
    let (a, b) = pair();
    let server = server.clone();
    rt.spawn(Box::pin(async move { server.serve(a).await }));
    Client::new(b, rt.clone(), ClientConfig::default())
}

/// Waits (bounded) until `cond` holds.
async fn until<R: Runtime>(rt: &R, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        rt.sleep_until(Instant::now() + Duration::from_millis(5))
            .await;
    }
}

async fn text(client: &Client, size: usize, hold: bool) -> usize {
    let s: String = client.request("text", (size, hold)).await.expect("text");
    s.len()
}

async fn large_results_move_off_the_connection_task<R: Runtime + Clone>(rt: R) {
    let spawned = Arc::new(AtomicUsize::new(0));
    let rt = Counting {
        rt,
        spawned: spawned.clone(),
    };
    let probe = Probe::new();
    let mut config = ServerConfig::default();
    config.connection.max_in_flight = 2;
    assert!(!config.spawn_calls, "the default settings");
    let server = Server::new(router(probe.clone()), rt.clone(), config);
    let client = connect(&server, &rt);
    // Let the serving task start, then count only what the calls spawn.
    let _: String = client.request("small", ()).await.unwrap();
    let base = spawned.load(Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(text(&client, 10, false).await, 10);
        let _: String = client.request("small", ()).await.unwrap();
    }
    assert_eq!(
        spawned.load(Ordering::SeqCst),
        base,
        "small answers stay inline"
    );
    // The first large answer runs inline and teaches the server.
    assert_eq!(text(&client, BIG, false).await, BIG);
    assert_eq!(spawned.load(Ordering::SeqCst), base);
    // From now on every call of that method gets a task, small answers included.
    assert_eq!(text(&client, BIG, false).await, BIG);
    assert_eq!(text(&client, 10, false).await, 10);
    assert_eq!(spawned.load(Ordering::SeqCst), base + 2);
    let _: String = client.request("small", ()).await.unwrap();
    assert_eq!(
        spawned.load(Ordering::SeqCst),
        base + 2,
        "others stay inline"
    );
    // A second connection knows it too (the server learned it).
    let other = connect(&server, &rt);
    let _: String = other.request("small", ()).await.unwrap();
    let before = spawned.load(Ordering::SeqCst);
    assert_eq!(text(&other, 10, false).await, 10);
    assert_eq!(spawned.load(Ordering::SeqCst), before + 1);
    other.close().await;

    // Spawned calls still count against the connection's max in flight (2): the third is
    // not read until one of the first two answers.
    let answered = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let (client, answered) = (client.clone(), answered.clone());
        rt.spawn(Box::pin(async move {
            assert_eq!(text(&client, 10, true).await, 10);
            answered.fetch_add(1, Ordering::SeqCst);
        }));
    }
    until(&rt, "two held calls", || {
        probe.started.load(Ordering::SeqCst) == 2
    })
    .await;
    // Give the third every chance to start (it must not).
    for _ in 0..20 {
        rt.sleep_until(Instant::now() + Duration::from_millis(5))
            .await;
    }
    assert_eq!(probe.started.load(Ordering::SeqCst), 2, "the limit holds");
    probe.open_gate();
    until(&rt, "every held call answered", || {
        answered.load(Ordering::SeqCst) == 3
    })
    .await;
    assert_eq!(probe.started.load(Ordering::SeqCst), 3);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_large_results_move_off_the_connection_task() {
    large_results_move_off_the_connection_task(Tokio).await;
}

#[test]
fn smol_large_results_move_off_the_connection_task() {
    smol::block_on(large_results_move_off_the_connection_task(Smol));
}
