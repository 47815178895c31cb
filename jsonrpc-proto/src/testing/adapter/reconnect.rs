//! Reconnecting clients on every runtime adapter ([`Adapter`]): a server restarted under a
//! Unix, TCP, WebSocket and WebSocket-over-Unix client (calls after the restart succeed), a
//! call in flight when the server dies fails with MayHaveRun and is not re-sent, calls made
//! while it is down wait for the new one, and a client with bounded attempts gives up with
//! Unavailable; subscriptions of TCP and WebSocket clients resume on the restarted server (a
//! Resubscribed event marks the gap), and a resubscribe the restarted server rejects ends the
//! stream with its error.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures::channel::oneshot;
use futures::StreamExt;

use crate::adapter::builder::{RunningServer, ServerBuilder};
use crate::adapter::reconnect::{
    ReconnectConfig, ReconnectError, Reconnecting, Resubscribing, SubscriptionEvent,
};
use crate::peer::{ClientError, Runtime};
use crate::protocol::error::ErrorObject;
use crate::service::{Context, PendingSubscription, Router};
use crate::testing::conformance;

use super::{bounded, sleep, Adapter};

fn fast() -> ReconnectConfig {
    ReconnectConfig {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        ..ReconnectConfig::default()
    }
}

fn builder<A: Adapter>(a: &A) -> ServerBuilder<A::Listen> {
    a.builder(conformance::router())
        .config(conformance::server_config())
}

/// A socket file of this process for `a` and `what`, none there yet.
fn socket_path<A: Adapter>(a: &A, what: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "jrpc-{}-{}-{what}.sock",
        a.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// Runs `f` on the adapter's runtime; its output comes through the receiver.
fn spawn<A: Adapter, T: Send + 'static>(
    a: &A,
    f: impl Future<Output = T> + Send + 'static,
) -> oneshot::Receiver<T> {
    let (tx, rx) = oneshot::channel();
    a.runtime().spawn(Box::pin(async move {
        let _ = tx.send(f.await);
    }));
    rx
}

async fn until_pending<A: Adapter>(a: &A, server: &RunningServer<A::Runtime>) {
    for _ in 0..2000 {
        if server.handle().pending_requests() > 0 {
            return;
        }
        sleep(a, Duration::from_millis(5)).await;
    }
    panic!("the call never reached the server");
}

/// Starts the server `start` builds, retried (bounded) while the dropped one's listeners are
/// still closing.
async fn restart<A: Adapter>(
    a: &A,
    start: impl Fn() -> ServerBuilder<A::Listen>,
) -> RunningServer<A::Runtime> {
    for _ in 0..500 {
        match start().start().await {
            Ok(s) => return s,
            Err(_) => sleep(a, Duration::from_millis(20)).await,
        }
    }
    panic!("the old server's sockets were never released");
}

/// Calls, kills the server under a call in flight, restarts it with `start`, calls again.
async fn survive_restart<A: Adapter>(
    a: &A,
    rc: Reconnecting,
    first: RunningServer<A::Runtime>,
    start: impl Fn() -> ServerBuilder<A::Listen>,
) -> RunningServer<A::Runtime> {
    let sum: i64 = rc.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    let in_flight = spawn(a, {
        let rc = rc.clone();
        async move { rc.request::<(), _>("sleep", ()).await }
    });
    until_pending(a, &first).await;
    drop(first); // the server dies with the call in flight
    let err = bounded(a, "the in-flight call", in_flight)
        .await
        .expect("the in-flight call ends")
        .unwrap_err();
    assert!(matches!(err, ReconnectError::MayHaveRun { .. }), "{err}");
    assert!(err.to_string().contains("not sent again"), "{err}");
    // Once the client has noticed the drop, a call waits for the next connection. (A call
    // made before it noticed goes out on the dying one and is MayHaveRun, like the one above.)
    for _ in 0..2000 {
        if rc.current().is_none() {
            break;
        }
        sleep(a, Duration::from_millis(5)).await;
    }
    assert!(
        rc.current().is_none(),
        "the client notices the server is gone"
    );
    let waiting = spawn(a, {
        let rc = rc.clone();
        async move { rc.request::<i64, _>("add", [20, 22]).await }
    });
    let second = restart(a, start).await;
    let sum = bounded(a, "the call after the restart", waiting)
        .await
        .expect("answered after the restart")
        .unwrap();
    assert_eq!(sum, 42);
    assert_eq!(
        second.handle().pending_requests(),
        0,
        "the cut-off call was not re-sent"
    );
    second
}

/// A Unix-socket client survives a restart of the server on the same path.
pub async fn unix_client_survives_a_server_restart<A: Adapter>(a: &A) {
    let path = socket_path(a, "rc");
    let first = builder(a).unix(&path).start().await.unwrap();
    let rc = a.reconnect_unix(&path, a.options(), fast());
    let second = survive_restart(a, rc, first, || builder(a).unix(&path)).await;
    second.shutdown().await;
}

/// A WebSocket client over a Unix socket (`reconnect_ws_unix`) survives a restart of the
/// server on the same socket path.
pub async fn ws_unix_client_survives_a_server_restart<A: Adapter>(a: &A) {
    let path = socket_path(a, "rc-ws");
    let first = builder(a).http_unix(&path).start().await.unwrap();
    let rc = a.reconnect_ws_unix(&path, "ws://localhost/ws", a.options(), fast());
    let second = survive_restart(a, rc.clone(), first, || builder(a).http_unix(&path)).await;
    let sum: i64 = bounded(a, "a call on the new server", rc.request("add", [5, 5]))
        .await
        .unwrap();
    assert_eq!(sum, 10);
    second.shutdown().await;
}

/// TCP and WebSocket clients survive a restart of the server on the same ports.
pub async fn tcp_and_ws_clients_survive_a_server_restart<A: Adapter>(a: &A) {
    let first = builder(a)
        .tcp("127.0.0.1:0")
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let (tcp, http) = (first.tcp_addr().unwrap(), first.http_addr().unwrap());
    let rc = a.reconnect_tcp(&tcp.to_string(), a.options(), fast());
    let ws = a.reconnect_ws(&format!("ws://{http}/ws"), a.options(), fast());
    let sum: i64 = ws.request("add", [2, 2]).await.unwrap();
    assert_eq!(sum, 4);
    let second = survive_restart(a, rc, first, || {
        builder(a).tcp(tcp.to_string()).http(http.to_string())
    })
    .await;
    // The WebSocket client lost the first server too, and finds the second.
    let sum: i64 = bounded(a, "the WebSocket reconnect", ws.request("add", [5, 5]))
        .await
        .unwrap();
    assert_eq!(sum, 10);
    second.shutdown().await;
}

/// A client with bounded attempts and no server gives up with Unavailable.
pub async fn bounded_attempts_give_up<A: Adapter>(a: &A) {
    let mut config = fast();
    config.max_attempts = Some(3);
    let rc = a.reconnect_unix("/nonexistent/jrpc.sock".as_ref(), a.options(), config);
    let err = bounded(a, "giving up", rc.request::<i64, _>("add", [1, 2]))
        .await
        .unwrap_err();
    assert!(matches!(err, ReconnectError::Unavailable(_)), "{err}");
}

/// A server "generation": `feed_subscribe [n]` sends `generation * 100 + i` for i in 0..n,
/// then stays open; or rejects (-32050) when `accept` is false. `add` as usual.
fn feed(generation: u64, accept: bool) -> Router {
    Router::builder()
        .subscription(
            "feed_subscribe",
            "feed_unsubscribe",
            "feed",
            move |_ctx: Context, (n,): (u64,), pending: PendingSubscription| async move {
                if !accept {
                    pending.reject(ErrorObject::new(-32050, "the feed is closed"));
                    return;
                }
                let Ok(sink) = pending.accept() else { return };
                for i in 0..n {
                    if sink.send(generation * 100 + i).await.is_err() {
                        return;
                    }
                }
                sink.closed().await;
            },
        )
        .method("add", |_ctx: Context, (a, b): (i64, i64)| async move {
            Ok::<_, ErrorObject>(a + b)
        })
        .build()
        .expect("the feed router")
}

/// Starts `router` on the given ports (retried, bounded, until the dropped server's
/// listeners are closed).
async fn start_feed_on<A: Adapter>(
    a: &A,
    router: Router,
    tcp: SocketAddr,
    http: SocketAddr,
) -> RunningServer<A::Runtime> {
    restart(a, || {
        a.builder(router.clone())
            .tcp(tcp.to_string())
            .http(http.to_string())
    })
    .await
}

async fn next<A: Adapter, T>(
    a: &A,
    sub: &mut Resubscribing<T>,
) -> Option<Result<SubscriptionEvent<T>, ReconnectError>> {
    bounded(a, "the subscription's next event", sub.next()).await
}

async fn items<A: Adapter>(a: &A, sub: &mut Resubscribing<u64>, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    for _ in 0..n {
        match next(a, sub).await {
            Some(Ok(SubscriptionEvent::Item(i))) => out.push(i),
            other => panic!("expected an item, got {other:?}"),
        }
    }
    out
}

/// Subscriptions of TCP and WebSocket clients resume on a restarted server (a Resubscribed
/// event marks the gap); a resubscribe the restarted server rejects ends the stream with its
/// error.
pub async fn subscriptions_resume_after_a_server_restart<A: Adapter>(a: &A) {
    let first = a
        .builder(feed(1, true))
        .tcp("127.0.0.1:0")
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let (tcp, http) = (first.tcp_addr().unwrap(), first.http_addr().unwrap());
    let clients = [
        a.reconnect_tcp(&tcp.to_string(), a.options(), fast()),
        a.reconnect_ws(&format!("ws://{http}/ws"), a.options(), fast()),
    ];
    let mut subs = Vec::new();
    for rc in &clients {
        let mut sub = rc
            .subscribe::<u64, _>("feed_subscribe", [3], "feed_unsubscribe")
            .await
            .unwrap();
        assert_eq!(items(a, &mut sub, 3).await, [100, 101, 102]);
        subs.push(sub);
    }

    // The server restarts: calls succeed, and each subscription resumes on the new server
    // after a Resubscribed event (what the first pushed meanwhile is lost).
    drop(first);
    let second_router = feed(2, true);
    let second = start_feed_on(a, second_router.clone(), tcp, http).await;
    // (Calls wait until the subscription is back: one made before the client noticed the
    // drop would go out on the dead connection and fail with MayHaveRun.)
    for (rc, sub) in clients.iter().zip(&mut subs) {
        match next(a, sub).await {
            Some(Ok(SubscriptionEvent::Resubscribed { count: 1 })) => {}
            other => panic!("expected Resubscribed, got {other:?}"),
        }
        assert_eq!(items(a, sub, 3).await, [200, 201, 202]);
        assert_eq!(sub.resubscribes(), 1);
        let sum: i64 = rc.request("add", [20, 22]).await.unwrap();
        assert_eq!(sum, 42);
    }
    assert_eq!(second_router.subscription_count(), 2, "both resubscribed");

    // A restarted server that rejects the subscribe ends the stream with its error.
    drop(second);
    let third = start_feed_on(a, feed(3, false), tcp, http).await;
    for (rc, sub) in clients.iter().zip(&mut subs) {
        match next(a, sub).await {
            Some(Err(ReconnectError::Call(ClientError::Rpc(e)))) => {
                assert_eq!(e.code.code(), -32050)
            }
            other => panic!("expected the rejection, got {other:?}"),
        }
        assert!(
            next(a, sub).await.is_none(),
            "the stream ends after the rejection"
        );
        let sum: i64 = rc.request("add", [1, 1]).await.unwrap();
        assert_eq!(sum, 2);
    }
    third.shutdown().await;
}
