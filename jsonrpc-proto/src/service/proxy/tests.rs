//! Proxy tests: an upstream server on one in-memory pair, the gateway on another, a caller on
//! the gateway.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::executor::block_on;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};

use super::*;
use crate::peer::{
    BoxTransport, ClientConfig, Runtime, Server, ServerConfig, TransportError, TransportInfo,
    TransportKind,
};
use crate::service::Router;

use crate::peer::rt::Threads;

/// Two connected in-memory ends.
fn pair() -> (BoxTransport, BoxTransport) {
    fn end(tx: mpsc::Sender<Bytes>, rx: mpsc::Receiver<Bytes>) -> BoxTransport {
        BoxTransport::new(
            TransportInfo::new(TransportKind::Memory),
            tx.sink_map_err(|_| TransportError::Closed),
            rx.map(Ok),
        )
    }
    let (a_tx, b_rx) = mpsc::channel(16);
    let (b_tx, a_rx) = mpsc::channel(16);
    (end(a_tx, a_rx), end(b_tx, b_rx))
}

/// Serves `server` on a fresh pair and gives a client on the other end.
fn connect(server: &Server) -> Client {
    let (a, b) = pair();
    let server = server.clone();
    Threads.spawn(Box::pin(async move { server.serve(a).await }));
    Client::new(b, Threads, ClientConfig::default())
}

struct Upstream {
    server: Server,
    /// Calls of `slow` that reached the upstream handler.
    slow_calls: Arc<AtomicUsize>,
    /// Notifications the upstream received.
    notes: Arc<Mutex<std_mpsc::Receiver<Value>>>,
    /// Releases `slow` calls.
    release: Arc<Mutex<Option<futures::channel::oneshot::Sender<()>>>>,
}

fn upstream() -> Upstream {
    let slow_calls = Arc::new(AtomicUsize::new(0));
    let (note_tx, note_rx) = std_mpsc::channel::<Value>();
    let note_tx = Mutex::new(note_tx);
    let (release_tx, release_rx) = futures::channel::oneshot::channel::<()>();
    let release_rx = futures::future::FutureExt::shared(release_rx);
    let counter = Arc::clone(&slow_calls);
    let router = Router::builder()
        .method("add", |_c: Context, (a, b): (i64, i64)| async move {
            Ok::<_, ErrorObject>(json!({ "sum": a + b }))
        })
        .method("fail", |_c: Context, (): ()| async move {
            Err::<(), _>(
                ErrorObject::new(-32602, "Invalid params: bad 'age'")
                    .with_data(json!({"parameter": "age", "expected": "integer > 0"})),
            )
        })
        .method("slow", move |_c: Context, (): ()| {
            counter.fetch_add(1, Ordering::SeqCst);
            let release = release_rx.clone();
            async move {
                let _ = release.await;
                Ok::<_, ErrorObject>("late")
            }
        })
        .notification("note", move |_c: Context, p: Value| {
            let _ = note_tx.lock().unwrap().send(p);
            async {}
        })
        .build()
        .unwrap();
    Upstream {
        server: Server::new(router, Threads, ServerConfig::default()),
        slow_calls,
        notes: Arc::new(Mutex::new(note_rx)),
        release: Arc::new(Mutex::new(Some(release_tx))),
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(tx) = self.release.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }
}

fn gateway(proxy: &Proxy) -> Server {
    let router = Router::builder()
        .method("hello", |_c: Context, (name,): (String,)| async move {
            Ok::<_, ErrorObject>(format!("Hello, {name}!"))
        })
        .forward_prefix_stripped("calc.", proxy)
        .forward_prefix("remote.", proxy)
        .forward("fail", proxy)
        .forward("slow", proxy)
        .forward_as("notify_upstream", "note", proxy)
        .build()
        .unwrap();
    Server::new(router, Threads, ServerConfig::default())
}

fn quick(retries: u32) -> ProxyConfig {
    ProxyConfig {
        timeout: Some(Duration::from_secs(30)),
        retries,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        breaker: None,
    }
}

fn rpc_error(r: Result<Value, ClientError>) -> ErrorObject {
    match r {
        Err(ClientError::Rpc(e)) => e,
        other => panic!("expected an error object, got {other:?}"),
    }
}

#[test]
fn forwards_by_prefix_and_name_with_results_and_errors_unchanged() {
    let up = upstream();
    let proxy = Proxy::new(connect(&up.server));
    let caller = connect(&gateway(&proxy));
    block_on(async {
        let local: String = caller.request("hello", ["Alice"]).await.unwrap();
        assert_eq!(local, "Hello, Alice!");
        let sum: Value = caller.request("calc.add", [5, 3]).await.unwrap();
        assert_eq!(sum, json!({"sum": 8}));
        // Unknown upstream: the upstream's own -32601 comes back.
        let e = rpc_error(caller.request("calc.nope", ()).await);
        assert_eq!(e.code, ErrorCode::METHOD_NOT_FOUND);
        // Kept prefix: upstream sees `remote.add`, which it does not know.
        let e = rpc_error(caller.request("remote.add", [1, 2]).await);
        assert_eq!(e.code, ErrorCode::METHOD_NOT_FOUND);
        // Not routed at all: the gateway's own -32601.
        let e = rpc_error(caller.request("other", ()).await);
        assert_eq!(e.code, ErrorCode::METHOD_NOT_FOUND);
        let e = rpc_error(caller.request("fail", ()).await);
        let as_json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            as_json,
            json!({
                "code": -32602,
                "message": "Invalid params: bad 'age'",
                "data": {"parameter": "age", "expected": "integer > 0"}
            })
        );
    });
}

#[test]
fn notifications_are_forwarded_as_notifications() {
    let up = upstream();
    let proxy = Proxy::new(connect(&up.server));
    let caller = connect(&gateway(&proxy));
    block_on(caller.notify("notify_upstream", json!({"n": 1}))).unwrap();
    // `note` is a notification handler upstream: it only runs for a notification (a request
    // would have been answered -32601 without running it).
    let got = up
        .notes
        .lock()
        .unwrap()
        .recv_timeout(Duration::from_secs(30))
        .expect("the upstream received the notification");
    assert_eq!(got, json!({"n": 1}));
}

#[test]
fn a_timed_out_call_is_answered_32001_and_never_retried() {
    let up = upstream();
    let config = ProxyConfig {
        timeout: Some(Duration::from_millis(50)),
        ..quick(5)
    };
    let proxy = Proxy::new(connect(&up.server)).with_config(config);
    let caller = connect(&gateway(&proxy));
    block_on(async {
        let e = rpc_error(caller.request("slow", ()).await);
        assert_eq!(e.code, ErrorCode::REQUEST_TIMEOUT);
        // Frames are dispatched in order upstream: once this answer is back, every earlier
        // `slow` call that reached upstream has been counted.
        let sum: Value = caller.request("calc.add", [1, 1]).await.unwrap();
        assert_eq!(sum["sum"], 2);
    });
    assert_eq!(up.slow_calls.load(Ordering::SeqCst), 1);
}

#[test]
fn connect_failures_are_retried_with_backoff_then_reported() {
    let up = upstream();
    let upstream_server = up.server.clone();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&attempts);
    // Refused twice, then connected.
    let proxy = Proxy::connect(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let server = upstream_server.clone();
        async move {
            if n < 2 {
                Err(format!("connection refused (attempt {})", n + 1))
            } else {
                Ok(connect(&server))
            }
        }
    })
    .with_config(quick(3));
    let caller = connect(&gateway(&proxy));
    let sum: Value = block_on(caller.request("calc.add", [2, 3])).unwrap();
    assert_eq!(sum["sum"], 5);
    assert_eq!(attempts.load(Ordering::SeqCst), 3);

    // Always refused: 1 try + 2 retries, then -32000 saying why.
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&attempts);
    let proxy = Proxy::connect(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<Client, _>("connection refused") }
    })
    .with_config(quick(2));
    let caller = connect(&gateway(&proxy));
    let e = rpc_error(block_on(caller.request("calc.add", [2, 3])));
    assert_eq!(e.code, ErrorCode::SERVER_ERROR);
    assert_eq!(e.message, "Upstream unavailable: connection refused");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[test]
fn a_closed_upstream_connection_is_replaced_before_sending() {
    let up = upstream();
    let upstream_server = up.server.clone();
    let made: Arc<Mutex<Vec<Client>>> = Arc::default();
    let made_by_connect = Arc::clone(&made);
    let proxy = Proxy::connect(move || {
        let client = connect(&upstream_server);
        made_by_connect.lock().unwrap().push(client.clone());
        async move { Ok::<_, String>(client) }
    })
    .with_config(quick(3));
    let caller = connect(&gateway(&proxy));
    block_on(async {
        let sum: Value = caller.request("calc.add", [1, 2]).await.unwrap();
        assert_eq!(sum["sum"], 3);
        let first = made.lock().unwrap()[0].clone();
        first.close().await;
        let sum: Value = caller.request("calc.add", [3, 4]).await.unwrap();
        assert_eq!(sum["sum"], 7);
    });
    assert_eq!(made.lock().unwrap().len(), 2, "reconnected once");
}

#[test]
fn a_fixed_closed_client_fails_at_once() {
    let up = upstream();
    let client = connect(&up.server);
    block_on(client.close());
    let proxy = Proxy::new(client).with_config(quick(3));
    let caller = connect(&gateway(&proxy));
    let e = rpc_error(block_on(caller.request("calc.add", [1, 2])));
    assert_eq!(e.code, ErrorCode::SERVER_ERROR);
    assert!(e.message.starts_with("Upstream unavailable"), "{e}");
}

#[test]
fn the_breaker_opens_fails_fast_then_probes_and_closes() {
    let up = upstream();
    let upstream_server = up.server.clone();
    let attempts = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (counter, is_down) = (Arc::clone(&attempts), Arc::clone(&down));
    let proxy = Proxy::connect(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let server = upstream_server.clone();
        let refused = is_down.load(Ordering::SeqCst);
        async move {
            if refused {
                Err("connection refused".to_owned())
            } else {
                Ok(connect(&server))
            }
        }
    })
    .with_config(
        quick(0).with_breaker(Some(
            BreakerConfig::default()
                .with_failures(2)
                .with_cool_down(Duration::from_millis(50)),
        )),
    );
    let caller = connect(&gateway(&proxy));
    for _ in 0..2 {
        let e = rpc_error(block_on(caller.request("calc.add", [1, 1])));
        assert_eq!(e.message, "Upstream unavailable: connection refused");
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    // Open: answered at once, upstream not tried.
    let e = rpc_error(block_on(caller.request("calc.add", [1, 1])));
    assert_eq!(e.code, ErrorCode::SERVER_ERROR);
    assert!(e.message.contains("circuit breaker open"), "{}", e.message);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "fail fast: no connect attempt"
    );
    // Upstream back: after the cool-down a probe goes through and closes the breaker.
    down.store(false, Ordering::SeqCst);
    let mut answered = None;
    for _ in 0..400 {
        match block_on(caller.request::<Value, _>("calc.add", [2, 3])) {
            Ok(v) => {
                answered = Some(v);
                break;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    assert_eq!(answered.expect("the probe succeeds")["sum"], 5);
    let sum: Value = block_on(caller.request("calc.add", [3, 4])).unwrap();
    assert_eq!(sum["sum"], 7, "closed again");
    // An error answered by upstream is not a failure: the breaker stays closed.
    for _ in 0..3 {
        let e = rpc_error(block_on(caller.request("fail", ())));
        assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
    }
    let sum: Value = block_on(caller.request("calc.add", [1, 2])).unwrap();
    assert_eq!(sum["sum"], 3);
}
