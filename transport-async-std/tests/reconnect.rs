//! Reconnecting clients on smol and async-std: a server restarted under a Unix and a WebSocket
//! client (calls after the restart succeed), a call in flight when the server dies fails with
//! MayHaveRun and is not re-sent, a call made while it is down waits for the new one, and a
//! client with bounded attempts gives up with Unavailable; subscriptions of TCP and WebSocket
//! clients resume on the restarted server (a Resubscribed event marks the gap), and a
//! resubscribe the restarted server rejects ends the stream with its error.

use std::future::Future;
use std::time::Duration;

use futures::future::{self, Either};
use futures::StreamExt;
use jsonrpc_proto::peer::ClientError;
use jsonrpc_proto::service::{Context, PendingSubscription, Router};
use jsonrpc_proto::testing::conformance;
use jsonrpc_proto::ErrorObject;
use transport_async_std::{
    reconnect_tcp, reconnect_unix, reconnect_ws, AsyncIoRuntime, ConnectOptions, ReconnectConfig,
    ReconnectError, Resubscribing, RunningServer, Server, ServerBuilder, SubscriptionEvent,
};

fn fast() -> ReconnectConfig {
    let mut c = ReconnectConfig::default();
    c.initial_backoff = Duration::from_millis(10);
    c.max_backoff = Duration::from_millis(200);
    c
}

fn options(rt: &AsyncIoRuntime) -> ConnectOptions {
    ConnectOptions::default().with_runtime(Some(rt.clone()))
}

fn builder(rt: &AsyncIoRuntime) -> ServerBuilder {
    Server::builder(conformance::router())
        .config(conformance::server_config())
        .runtime(rt.clone())
}

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    futures::pin_mut!(f);
    match future::select(f, async_io::Timer::after(Duration::from_secs(30))).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("{what} did not complete"),
    }
}

async fn until_pending(server: &RunningServer) {
    for _ in 0..2000 {
        if server.handle().pending_requests() > 0 {
            return;
        }
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    panic!("the call never reached the server");
}

async fn restart_under_clients(rt: AsyncIoRuntime, tag: &str) {
    let path = std::env::temp_dir().join(format!("jrpc-{tag}-{}-rc.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let first = builder(&rt)
        .unix(&path)
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let http = first.http_addr().unwrap();
    let rc = reconnect_unix(&path, options(&rt), fast());
    let ws = reconnect_ws(&format!("ws://{http}/ws"), options(&rt), fast());
    let a: i64 = rc.request("add", [1, 2]).await.unwrap();
    let b: i64 = ws.request("add", [2, 2]).await.unwrap();
    assert_eq!((a, b), (3, 4));

    let call = rc.request::<(), _>("sleep", ());
    let kill = async move {
        until_pending(&first).await;
        drop(first); // the server dies with the call in flight
    };
    let (err, ()) = bounded("the in-flight call", future::join(call, kill)).await;
    let err = err.unwrap_err();
    assert!(matches!(err, ReconnectError::MayHaveRun { .. }), "{err}");
    assert!(err.to_string().contains("not sent again"), "{err}");

    // Once the client has noticed the drop, a call waits for the next connection. (A call
    // made before it noticed goes out on the dying one and is MayHaveRun, like the one above.)
    for _ in 0..2000 {
        if rc.current().is_none() {
            break;
        }
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    assert!(
        rc.current().is_none(),
        "the client notices the server is gone"
    );
    let waiting = rc.request::<i64, _>("add", [20, 22]);
    let restart = async {
        for _ in 0..500 {
            match builder(&rt)
                .unix(&path)
                .http(http.to_string())
                .start()
                .await
            {
                Ok(s) => return s,
                Err(_) => async_io::Timer::after(Duration::from_millis(20)).await,
            };
        }
        panic!("the old server's port was never released");
    };
    let (sum, second) = bounded("the call after the restart", future::join(waiting, restart)).await;
    assert_eq!(sum.unwrap(), 42);
    let sum: i64 = bounded("the WebSocket reconnect", ws.request("add", [5, 5]))
        .await
        .unwrap();
    assert_eq!(sum, 10);
    assert_eq!(
        second.handle().pending_requests(),
        0,
        "the cut-off call was not re-sent"
    );
    second.shutdown().await;

    let mut config = fast();
    config.max_attempts = Some(3);
    let gone = reconnect_unix("/nonexistent/jrpc.sock", options(&rt), config);
    let err = bounded("giving up", gone.request::<i64, _>("add", [1, 2]))
        .await
        .unwrap_err();
    assert!(matches!(err, ReconnectError::Unavailable(_)), "{err}");
}

#[test]
fn clients_survive_a_server_restart_smol() {
    smol::block_on(restart_under_clients(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn clients_survive_a_server_restart_async_std() {
    async_std::task::block_on(restart_under_clients(
        AsyncIoRuntime::async_std(),
        "async-std",
    ));
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
async fn start_feed_on(
    rt: &AsyncIoRuntime,
    router: Router,
    tcp: std::net::SocketAddr,
    http: std::net::SocketAddr,
) -> RunningServer {
    for _ in 0..500 {
        let started = Server::builder(router.clone())
            .runtime(rt.clone())
            .tcp(tcp.to_string())
            .http(http.to_string())
            .start()
            .await;
        match started {
            Ok(s) => return s,
            Err(_) => {
                async_io::Timer::after(Duration::from_millis(20)).await;
            }
        }
    }
    panic!("the old server's ports were never released");
}

async fn next<T>(
    sub: &mut Resubscribing<T>,
) -> Option<Result<SubscriptionEvent<T>, ReconnectError>> {
    bounded("the subscription's next event", sub.next()).await
}

async fn items(sub: &mut Resubscribing<u64>, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    for _ in 0..n {
        match next(sub).await {
            Some(Ok(SubscriptionEvent::Item(i))) => out.push(i),
            other => panic!("expected an item, got {other:?}"),
        }
    }
    out
}

async fn subscriptions_resume_after_a_server_restart(rt: AsyncIoRuntime) {
    let first = Server::builder(feed(1, true))
        .runtime(rt.clone())
        .tcp("127.0.0.1:0")
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let (tcp, http) = (first.tcp_addr().unwrap(), first.http_addr().unwrap());
    let clients = [
        reconnect_tcp(&tcp.to_string(), options(&rt), fast()),
        reconnect_ws(
            &format!("ws://{http}/ws"),
            ConnectOptions::default(),
            fast(),
        ),
    ];
    let mut subs = Vec::new();
    for rc in &clients {
        let mut sub = rc
            .subscribe::<u64, _>("feed_subscribe", [3], "feed_unsubscribe")
            .await
            .unwrap();
        assert_eq!(items(&mut sub, 3).await, [100, 101, 102]);
        subs.push(sub);
    }

    // The server restarts: calls succeed, and each subscription resumes on the new server
    // after a Resubscribed event (what the first pushed meanwhile is lost).
    drop(first);
    let second_router = feed(2, true);
    let second = start_feed_on(&rt, second_router.clone(), tcp, http).await;
    // (Calls wait until the subscription is back: one made before the client noticed the
    // drop would go out on the dead connection and fail with MayHaveRun.)
    for (rc, sub) in clients.iter().zip(&mut subs) {
        match next(sub).await {
            Some(Ok(SubscriptionEvent::Resubscribed { count: 1 })) => {}
            other => panic!("expected Resubscribed, got {other:?}"),
        }
        assert_eq!(items(sub, 3).await, [200, 201, 202]);
        assert_eq!(sub.resubscribes(), 1);
        let sum: i64 = rc.request("add", [20, 22]).await.unwrap();
        assert_eq!(sum, 42);
    }
    assert_eq!(second_router.subscription_count(), 2, "both resubscribed");

    // A restarted server that rejects the subscribe ends the stream with its error.
    drop(second);
    let third = start_feed_on(&rt, feed(3, false), tcp, http).await;
    for (rc, sub) in clients.iter().zip(&mut subs) {
        match next(sub).await {
            Some(Err(ReconnectError::Call(ClientError::Rpc(e)))) => {
                assert_eq!(e.code.code(), -32050)
            }
            other => panic!("expected the rejection, got {other:?}"),
        }
        assert!(
            next(sub).await.is_none(),
            "the stream ends after the rejection"
        );
        let sum: i64 = rc.request("add", [1, 1]).await.unwrap();
        assert_eq!(sum, 2);
    }
    third.shutdown().await;
}

#[test]
fn subscriptions_resume_after_a_server_restart_smol() {
    smol::block_on(subscriptions_resume_after_a_server_restart(
        AsyncIoRuntime::smol(),
    ));
}

#[test]
fn subscriptions_resume_after_a_server_restart_async_std() {
    async_std::task::block_on(subscriptions_resume_after_a_server_restart(
        AsyncIoRuntime::async_std(),
    ));
}
