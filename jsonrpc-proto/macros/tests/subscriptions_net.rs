//! A `#[rpc]` service with subscriptions over real sockets (127.0.0.1, port 0) on both
//! runtimes: tokio TCP and WebSocket, smol TCP, async-std WebSocket. The typed client
//! subscribes, reads ordered items, unsubscribes, drops streams, sends bad params, sees the
//! server end a subscription; a client leaving mid-stream ends every handler it had, even
//! one that never looks at its sink. Waiting is bounded in round trips; no timing asserted.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jsonrpc_proto::peer::{Client, ClientError, EndReason, Subscription};
use jsonrpc_proto::rpc;
use jsonrpc_proto::service::{Context, PendingSubscription, Router};
use jsonrpc_proto::ErrorObject;
use serde_json::json;

/// Counters over a socket.
#[rpc(namespace = "ticker")]
pub trait Ticker {
    /// `n` numbers from 0, then the end (with an error when `fail` is given).
    #[subscription(unsubscribe = "count_stop", notification = "counted", item = u64)]
    async fn count(&self, pending: PendingSubscription, n: u64, fail: Option<String>);

    /// `n` numbers, then waits for something that never comes (not for its sink): only its
    /// connection closing ends it.
    #[subscription(unsubscribe = "idle_stop", item = u64)]
    async fn idle(&self, pending: PendingSubscription, n: u64);

    /// Subscription handlers running now, after waiting `ms` on the server's timer.
    async fn running(&self, ctx: Context, ms: u64) -> usize;
}

#[derive(Default, Clone)]
struct TickerService {
    running: Arc<AtomicUsize>,
}

/// Counts a running handler; dropped with its future.
struct Running(Arc<AtomicUsize>);

impl Running {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Running(Arc::clone(count))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticker for TickerService {
    async fn count(&self, pending: PendingSubscription, n: u64, fail: Option<String>) {
        let _running = Running::new(&self.running);
        let Ok(sink) = pending.accept() else { return };
        for i in 0..n {
            if sink.send(i).await.is_err() {
                return; // unsubscribed or gone
            }
        }
        if let Some(message) = fail {
            sink.close_with_error(ErrorObject::new(-32090, message));
        }
    }

    async fn idle(&self, pending: PendingSubscription, n: u64) {
        let _running = Running::new(&self.running);
        let Ok(sink) = pending.accept() else { return };
        for i in 0..n {
            if sink.send(i).await.is_err() {
                return;
            }
        }
        futures::future::pending::<()>().await;
    }

    async fn running(&self, ctx: Context, ms: u64) -> usize {
        if ms > 0 {
            ctx.sleep(Duration::from_millis(ms)).await;
        }
        self.running.load(Ordering::SeqCst)
    }
}

/// Round trips until `done` (bounded: 2,000 quick ones, then up to 3,000 that wait 1 ms on
/// the server's timer, so a loaded machine gets a few seconds; the clean-up is other tasks).
async fn until(client: &Client, what: &str, mut done: impl FnMut(usize) -> bool) {
    for i in 0..5_000 {
        let running = client
            .running(if i < 2_000 { 0 } else { 1 })
            .await
            .expect("a round trip");
        if done(running) {
            return;
        }
    }
    panic!("{what}: not reached after 5,000 round trips");
}

async fn next(sub: &mut Subscription<u64>) -> Option<u64> {
    sub.next().await.map(|item| item.expect("a u64"))
}

/// The whole story over one way to connect; `router` is the server's.
async fn scenario<C, F>(connect: C, router: Router)
where
    C: Fn() -> F,
    F: Future<Output = Client>,
{
    let client = connect().await;

    // Ordered items, then the server's end.
    let mut sub = client.count(1_000, None).await.expect("subscribe");
    assert_eq!(sub.id().len(), 32);
    for want in 0..1_000 {
        assert_eq!(next(&mut sub).await, Some(want), "in order");
    }
    assert_eq!(next(&mut sub).await, None);
    assert_eq!(sub.end_reason(), Some(&EndReason::Server(None)));

    // The server ends it with an error: the stream ends with it, after the items.
    let mut sub = client
        .count(3, Some("feed closed".into()))
        .await
        .expect("subscribe");
    let mut got = Vec::new();
    while let Some(n) = next(&mut sub).await {
        got.push(n);
    }
    assert_eq!(got, [0, 1, 2]);
    match sub.end_reason() {
        Some(EndReason::Server(Some(e))) => {
            assert_eq!((e.code.0, &*e.message), (-32090, "feed closed"))
        }
        other => panic!("expected the server's error, got {other:?}"),
    }

    // Unsubscribing a live one answers true; its handler sees it and returns.
    let mut sub = client.count(u64::MAX, None).await.expect("subscribe");
    for want in 0..3 {
        assert_eq!(next(&mut sub).await, Some(want));
    }
    assert!(sub.unsubscribe().await.expect("answered"), "it was open");
    until(&client, "unsubscribed handler ends", |running| {
        running == 0 && router.subscription_count() == 0
    })
    .await;

    // Dropping the stream unsubscribes too.
    let mut sub = client.count(u64::MAX, None).await.expect("subscribe");
    assert_eq!(next(&mut sub).await, Some(0));
    assert_eq!(router.subscription_count(), 1);
    drop(sub);
    until(&client, "dropped stream's handler ends", |running| {
        running == 0 && router.subscription_count() == 0
    })
    .await;
    assert_eq!(client.active_subscriptions(), 0);

    // Bad params: -32602 naming the parameter; nothing opened, no handler ran.
    let bad = client
        .subscribe::<u64, _>("ticker.count", json!({"n": "many"}), "ticker.count_stop")
        .await;
    match bad {
        Err(ClientError::Rpc(e)) => {
            assert_eq!(e.code.0, -32602);
            assert!(e.message.contains("parameter `n`"), "{}", e.message);
        }
        other => panic!("expected -32602, got {other:?}"),
    }
    let unknown = client
        .subscribe::<u64, _>("ticker.count", json!({"n": 1, "x": 2}), "ticker.count_stop")
        .await;
    assert!(matches!(unknown, Err(ClientError::Rpc(e)) if e.code.0 == -32602));
    assert_eq!(client.running(0).await.expect("a round trip"), 0);

    // A client leaving mid-stream: its subscriptions end, and so do their handlers, even
    // ones waiting on something other than their sink.
    let leaving = connect().await;
    let mut subs = Vec::new();
    for _ in 0..5 {
        subs.push(leaving.idle(2).await.expect("subscribe"));
    }
    for sub in &mut subs {
        assert_eq!(next(sub).await, Some(0));
    }
    // Read before the flood: once `busy` fills its client buffer, this connection stops
    // reading (the lossless default) and no other item of it would arrive.
    let mut busy = leaving.count(u64::MAX, None).await.expect("subscribe");
    assert_eq!(next(&mut busy).await, Some(0));
    assert_eq!(client.running(0).await.expect("a round trip"), 6);
    assert_eq!(router.subscription_count(), 6);
    leaving.close().await;
    for sub in subs.iter_mut().chain([&mut busy]) {
        while next(sub).await.is_some() {}
        assert_eq!(sub.end_reason(), Some(&EndReason::ConnectionClosed));
    }
    // Every handle goes: the connection's write half lives as long as a handle does (a
    // server blocked writing to a client that stopped reading only notices the socket's end).
    drop((subs, busy, leaving));
    until(&client, "a gone client's handlers end", |running| {
        running == 0 && router.subscription_count() == 0
    })
    .await;
    client.close().await;
}

fn router() -> Router {
    TickerService::default()
        .into_router()
        .build()
        .expect("router")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_subscriptions_tokio_tcp() {
    let router = router();
    let server = transport_tokio::Server::builder(router.clone())
        .tcp("127.0.0.1:0")
        .start()
        .await
        .expect("start");
    let addr = server.tcp_addr().expect("tcp addr").to_string();
    scenario(
        || async { transport_tokio::connect_tcp(&addr).await.expect("connect") },
        router,
    )
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_subscriptions_tokio_websocket() {
    let router = router();
    let server = transport_tokio::Server::builder(router.clone())
        .http("127.0.0.1:0")
        .start()
        .await
        .expect("start");
    let url = format!("ws://{}/ws", server.http_addr().expect("http addr"));
    scenario(
        || async { transport_tokio::connect_ws(&url).await.expect("connect") },
        router,
    )
    .await;
    server.shutdown().await;
}

async fn async_io(rt: transport_async_std::AsyncIoRuntime, websocket: bool) {
    let router = router();
    let server = transport_async_std::Server::builder(router.clone())
        .tcp("127.0.0.1:0")
        .http("127.0.0.1:0")
        .runtime(rt.clone())
        .start()
        .await
        .expect("start");
    let tcp = server.tcp_addr().expect("tcp addr").to_string();
    let url = format!("ws://{}/ws", server.http_addr().expect("http addr"));
    let connect = || {
        let options = transport_async_std::ConnectOptions::default().with_runtime(Some(rt.clone()));
        let (tcp, url) = (tcp.clone(), url.clone());
        async move {
            if websocket {
                transport_async_std::connect_ws_with(&url, options).await
            } else {
                transport_async_std::connect_tcp_with(&tcp, options).await
            }
            .expect("connect")
        }
    };
    scenario(connect, router).await;
    server.shutdown().await;
}

#[test]
fn rpc_subscriptions_smol_tcp() {
    smol::block_on(async_io(transport_async_std::AsyncIoRuntime::smol(), false));
}

#[test]
fn rpc_subscriptions_async_std_websocket() {
    async_std::task::block_on(async_io(
        transport_async_std::AsyncIoRuntime::async_std(),
        true,
    ));
}
