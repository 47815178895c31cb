//! The subscription suite every transport that can push runs: ordering, backpressure,
//! unsubscribe races, fan-out, disconnects, limits.
//!
//! A transport's tests serve [`router`] (keep a clone: the suite reads its counts), implement
//! [`Connector`] for that server and call [`run_all`]. No check
//! depends on wall-clock time: waiting is done by round trips, and the queue lengths the API
//! reports are asserted, never durations.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures::StreamExt;
use serde_json::json;

use crate::peer::{Client, ClientConfig, ClientError, EndReason, LagPolicy, Subscription};
use crate::protocol::error::ErrorObject;
use crate::service::{
    Context, OverflowPolicy, PendingSubscription, Router, SubscriptionConfig, SubscriptionTopic,
};

use super::conformance::{yield_now, Connector};

/// Items the backpressure check sends through one subscription.
pub const BACKPRESSURE_ITEMS: u64 = 100_000;
/// Subscribers of one topic in the fan-out check.
pub const FANOUT_SUBSCRIBERS: usize = 1_000;
/// Most items the `flood` producer sends before giving up on being disconnected.
pub const FLOOD_LIMIT: u64 = 5_000_000;
/// Each subscription's buffer on the suite's router.
pub const BUFFER: usize = 32;

/// What the producers saw.
struct Probe {
    /// The largest queue length a producer read from its sink.
    max_queue: AtomicUsize,
    topic: SubscriptionTopic,
    /// Items the last `flood` producer queued before its send failed (`FLOOD_LIMIT` when it
    /// never failed); `u64::MAX` until one finished.
    flood_queued: AtomicU64,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            max_queue: AtomicUsize::new(0),
            topic: SubscriptionTopic::default(),
            flood_queued: AtomicU64::new(u64::MAX),
        }
    }
}

/// The router the suite expects: `count` (n items then the end), `ticks` (n items, then
/// open until closed),
/// `dropping` (DropNewest, buffer 4, n try_sends), `topic` (joins one topic), `reject`,
/// plus `topic_len`, `topic_send` and `max_queue`.
pub fn router() -> Router {
    Router::builder()
        .state(Probe::default())
        .subscription_config(SubscriptionConfig::default().buffer(BUFFER))
        .subscription(
            "count_subscribe",
            "count_unsubscribe",
            "count",
            |ctx: Context, (n,): (u64,), pending: PendingSubscription| async move {
                let Ok(sink) = pending.accept() else { return };
                let probe = ctx.state::<Probe>();
                for i in 0..n {
                    if sink.send(i).await.is_err() {
                        return;
                    }
                    if let Some(p) = &probe {
                        p.max_queue.fetch_max(sink.queue_len(), Ordering::SeqCst);
                    }
                }
            },
        )
        .subscription(
            "ticks_subscribe",
            "ticks_unsubscribe",
            "tick",
            |_ctx: Context, (n,): (u64,), pending: PendingSubscription| async move {
                let Ok(sink) = pending.accept() else { return };
                for i in 0..n {
                    if sink.send(i).await.is_err() {
                        return;
                    }
                }
                sink.closed().await;
            },
        )
        .subscription(
            "dropping_subscribe",
            "dropping_unsubscribe",
            "dropping",
            |_ctx: Context, (n,): (u64,), pending: PendingSubscription| async move {
                let pending = pending.overflow(OverflowPolicy::DropNewest).buffer(4);
                let Ok(sink) = pending.accept() else { return };
                for i in 0..n {
                    let _ = sink.try_send(i);
                }
                // The producer reads its count, then ends the subscription with it (the
                // end goes out after the queued items, whatever the room).
                let dropped = sink.dropped();
                sink.close_with_error(ErrorObject::new(1, "done").with_data(dropped));
            },
        )
        .subscription(
            "flood_subscribe",
            "flood_unsubscribe",
            "flood",
            |ctx: Context, (): (), pending: PendingSubscription| async move {
                let pending = pending.overflow(OverflowPolicy::Disconnect).buffer(1);
                let Ok(sink) = pending.accept() else { return };
                // Bounded: a client that never reads is cut off long before.
                let mut queued = FLOOD_LIMIT;
                for i in 0..FLOOD_LIMIT {
                    if sink.send(i).await.is_err() {
                        queued = i;
                        break;
                    }
                }
                if let Some(p) = ctx.state::<Probe>() {
                    p.flood_queued.store(queued, Ordering::SeqCst);
                }
            },
        )
        .subscription(
            "topic_subscribe",
            "topic_unsubscribe",
            "topic",
            |ctx: Context, (): (), pending: PendingSubscription| async move {
                let Ok(sink) = pending.accept() else { return };
                if let Some(p) = ctx.state::<Probe>() {
                    p.topic.add(&sink);
                }
                sink.closed().await;
            },
        )
        .subscription(
            "reject_subscribe",
            "reject_unsubscribe",
            "never",
            |_ctx: Context, (): (), pending: PendingSubscription| async move {
                pending.reject(ErrorObject::new(-32050, "no such feed").with_data(json!("x")));
            },
        )
        .method("topic_len", |ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>(ctx.state::<Probe>().map_or(0, |p| p.topic.len()))
        })
        .method("topic_send", |ctx: Context, (n,): (u64,)| async move {
            let Some(p) = ctx.state::<Probe>() else {
                return Ok(0);
            };
            let mut delivered = 0;
            for i in 0..n {
                delivered += p.topic.send(i).await.unwrap_or(0);
            }
            Ok::<_, ErrorObject>(delivered)
        })
        .method("pause", |ctx: Context, (ms,): (u64,)| async move {
            ctx.sleep(std::time::Duration::from_millis(ms)).await;
            Ok::<_, ErrorObject>(())
        })
        .method("max_queue", |ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>(
                ctx.state::<Probe>()
                    .map_or(0, |p| p.max_queue.swap(0, Ordering::SeqCst)),
            )
        })
        .build()
        .expect("the suite's router builds")
}

async fn server_count(client: &Client) -> usize {
    client
        .request::<usize, _>("topic_len", ())
        .await
        .expect("a round trip")
}

/// Round trips on `client` until `done()` (bounded): first quick ones, then ones that wait
/// 1 ms on the server's timer, so a loaded machine (a connection's clean-up is another task)
/// gets a few seconds before the check gives up. Answers whether `done()` came true.
async fn until(client: &Client, mut done: impl FnMut() -> bool) -> bool {
    for i in 0..10_000 {
        if done() {
            return true;
        }
        if i < 5_000 {
            let _ = server_count(client).await;
        } else {
            let _ = client.request::<(), _>("pause", [1]).await;
        }
        yield_now().await;
    }
    done()
}

/// [`until`] the server's subscription count is `want`.
async fn until_count(client: &Client, router: &Router, want: usize) {
    if !until(client, || router.subscription_count() == want).await {
        panic!(
            "the server still holds {} subscriptions, expected {want}",
            router.subscription_count()
        );
    }
}

async fn next_u64(sub: &mut Subscription<u64>) -> Option<u64> {
    sub.next().await.map(|r| r.expect("a u64 item"))
}

/// Every check below, in turn.
pub async fn run_all(c: &dyn Connector, router: &Router) {
    ordering(c, router).await;
    rejected(c).await;
    unsubscribe_races(c, router).await;
    disconnect_frees_everything(c, router).await;
    drop_newest_counts(c, router).await;
    disconnect_policy(c, router).await;
    fan_out(c, router, FANOUT_SUBSCRIBERS).await;
    per_connection_cap(c, router).await;
    backpressure(c, router, BACKPRESSURE_ITEMS).await;
    lagging_ends(c, router).await;
}

/// Items of one subscription arrive in order, then the stream ends with the server's end.
pub async fn ordering(c: &dyn Connector, router: &Router) {
    let client = c.connect(ClientConfig::default(), None).await;
    let mut a: Subscription<u64> = client
        .subscribe("count_subscribe", [1000], "count_unsubscribe")
        .await
        .expect("subscribe");
    let mut b: Subscription<u64> = client
        .subscribe("count_subscribe", [500], "count_unsubscribe")
        .await
        .expect("subscribe");
    assert_eq!(a.id().len(), 32, "ids are 128 bits of hex");
    assert_ne!(a.id(), b.id(), "ids are unique");
    for want in 0..500 {
        assert_eq!(next_u64(&mut a).await, Some(want), "order of a");
        assert_eq!(next_u64(&mut b).await, Some(want), "order of b");
    }
    for want in 500..1000 {
        assert_eq!(next_u64(&mut a).await, Some(want), "order of a");
    }
    assert_eq!(next_u64(&mut a).await, None, "a ends after its last item");
    assert_eq!(next_u64(&mut b).await, None, "b ends after its last item");
    assert_eq!(a.end_reason(), Some(&EndReason::Server(None)));
    assert_eq!(client.active_subscriptions(), 0);
    until_count(&client, router, 0).await;
    client.close().await;
}

/// A rejected subscribe call gets the handler's error exactly.
pub async fn rejected(c: &dyn Connector) {
    let client = c.connect(ClientConfig::default(), None).await;
    let err = client
        .subscribe::<u64, _>("reject_subscribe", (), "reject_unsubscribe")
        .await
        .expect_err("rejected");
    let e = err.as_rpc().expect("an error object");
    assert_eq!((e.code.0, &*e.message), (-32050, "no such feed"));
    let bad = client
        .subscribe::<u64, _>("count_subscribe", ["x"], "count_unsubscribe")
        .await
        .expect_err("bad params");
    assert_eq!(bad.as_rpc().map(|e| e.code.0), Some(-32602));
    let unknown: bool = client
        .request("count_unsubscribe", ["00000000000000000000000000000000"])
        .await
        .expect("unsubscribe answers");
    assert!(!unknown, "an unknown id is answered false");
    client.close().await;
}

/// Unsubscribing while items are in flight: the answer is true, nothing more arrives, other
/// subscriptions of the connection go on in order, and the server frees it.
pub async fn unsubscribe_races(c: &dyn Connector, router: &Router) {
    let client = c.connect(ClientConfig::default(), None).await;
    let before = router.subscription_count();
    for round in 0..20u64 {
        // A live subscription must be read or it stalls its connection once its client
        // buffer is full (lossless): the finite one is opened first.
        let mut other: Subscription<u64> = client
            .subscribe("count_subscribe", [200], "count_unsubscribe")
            .await
            .expect("subscribe");
        let mut ticks: Subscription<u64> = client
            .subscribe("ticks_subscribe", [100_000], "ticks_unsubscribe")
            .await
            .expect("subscribe");
        for want in 0..(round % 5) {
            assert_eq!(next_u64(&mut ticks).await, Some(want));
        }
        if round % 2 == 0 {
            assert!(
                ticks.unsubscribe().await.expect("unsubscribe"),
                "still open"
            );
        } else {
            drop(ticks);
        }
        for want in 0..200 {
            assert_eq!(next_u64(&mut other).await, Some(want), "the other goes on");
        }
        assert_eq!(next_u64(&mut other).await, None);
    }
    assert_eq!(client.active_subscriptions(), 0);
    until_count(&client, router, before).await;
    client.close().await;
}

/// A client that leaves mid-stream: every subscription it held is freed.
pub async fn disconnect_frees_everything(c: &dyn Connector, router: &Router) {
    let watcher = c.connect(ClientConfig::default(), None).await;
    let before = router.subscription_count();
    let client = c.connect(ClientConfig::default(), None).await;
    let mut subs = Vec::new();
    for _ in 0..10 {
        let s: Subscription<u64> = client
            .subscribe("ticks_subscribe", [500], "ticks_unsubscribe")
            .await
            .expect("subscribe");
        subs.push(s);
    }
    for s in &mut subs {
        assert_eq!(next_u64(s).await, Some(0));
    }
    assert!(router.subscription_count() >= before + 10);
    client.close().await;
    for s in &mut subs {
        // Buffered items may still come first; then the end.
        while next_u64(s).await.is_some() {}
        assert_eq!(s.end_reason(), Some(&EndReason::ConnectionClosed));
    }
    drop(subs);
    until_count(&watcher, router, before).await;
    watcher.close().await;
}

/// `LagPolicy::End`: a subscription nobody reads ends after its buffer instead of stalling
/// its connection (which keeps answering calls), and the server is told at once; switching
/// a paused subscription to it frees the connection the same way.
pub async fn lagging_ends(c: &dyn Connector, router: &Router) {
    const ROOM: usize = 8;
    let lagging = ClientConfig::default()
        .with_notification_buffer(ROOM)
        .with_subscription_lag(LagPolicy::End);
    let client = c.connect(lagging, None).await;
    let before = router.subscription_count();
    let mut sub: Subscription<u64> = client
        .subscribe("ticks_subscribe", [100_000], "ticks_unsubscribe")
        .await
        .expect("subscribe");
    // Not read: its buffer fills, it ends, the server ends it too; round trips on this very
    // connection go on meanwhile.
    until_count(&client, router, before).await;
    assert!(sub.queue_len() <= ROOM);
    let mut got = Vec::new();
    while let Some(n) = next_u64(&mut sub).await {
        got.push(n);
    }
    assert_eq!(
        got,
        (0..ROOM as u64).collect::<Vec<_>>(),
        "the buffered items, in order"
    );
    assert_eq!(sub.end_reason(), Some(&EndReason::Lagged));

    // The default (Pause) stalls its connection once full; switching to End frees it.
    let paused = c
        .connect(ClientConfig::default().with_notification_buffer(ROOM), None)
        .await;
    let sub: Subscription<u64> = paused
        .subscribe("ticks_subscribe", [100_000], "ticks_unsubscribe")
        .await
        .expect("subscribe");
    for _ in 0..10_000 {
        if sub.queue_len() >= ROOM {
            break;
        }
        server_count(&client).await;
    }
    assert_eq!(
        sub.queue_len(),
        ROOM,
        "full: that connection stopped reading"
    );
    let mut sub = sub.with_lag_policy(LagPolicy::End);
    until_count(&paused, router, before).await;
    let mut read = 0;
    while next_u64(&mut sub).await.is_some() {
        read += 1;
    }
    assert_eq!(read, ROOM);
    assert_eq!(sub.end_reason(), Some(&EndReason::Lagged));
    client.close().await;
    paused.close().await;
}

/// DropNewest: what was not delivered was counted; what was delivered is in order.
pub async fn drop_newest_counts(c: &dyn Connector, router: &Router) {
    let client = c.connect(ClientConfig::default(), None).await;
    let mut sub: Subscription<u64> = client
        .subscribe("dropping_subscribe", [10_000], "dropping_unsubscribe")
        .await
        .expect("subscribe");
    let mut got = 0u64;
    let mut last = None;
    while let Some(n) = next_u64(&mut sub).await {
        assert!(!matches!(last, Some(l) if n <= l), "in order");
        last = Some(n);
        got += 1;
    }
    let Some(EndReason::Server(Some(end))) = sub.end_reason() else {
        panic!(
            "ended by the server with its count, not {:?}",
            sub.end_reason()
        );
    };
    let dropped: u64 = serde_json::from_str(end.data.as_ref().expect("data").get()).expect("n");
    assert_eq!(got + dropped, 10_000, "delivered + dropped = sent");
    until_count(&client, router, 0).await;
    client.close().await;
}

/// One topic, `n` subscribers over several connections: each gets every item, in order.
pub async fn fan_out(c: &dyn Connector, router: &Router, n: usize) {
    let per_conn = 100;
    let mut clients = Vec::new();
    let mut subs: Vec<Subscription<u64>> = Vec::with_capacity(n);
    while subs.len() < n {
        let client = c.connect(ClientConfig::default(), None).await;
        for _ in 0..per_conn.min(n - subs.len()) {
            subs.push(
                client
                    .subscribe("topic_subscribe", (), "topic_unsubscribe")
                    .await
                    .expect("subscribe"),
            );
        }
        clients.push(client);
    }
    // Each producer joins the topic right after accepting (its answer may come first).
    let mut len = 0;
    for _ in 0..5_000 {
        len = clients[0].request("topic_len", ()).await.expect("len");
        if len == n {
            break;
        }
        yield_now().await;
    }
    assert_eq!(len, n, "every subscriber joined the topic");
    // Ten items, each serialized once; Wait subscribers take every one.
    let send = clients[0].request::<usize, _>("topic_send", [10]);
    let delivered = {
        let readers = futures::future::join_all(subs.iter_mut().map(|s| async move {
            for want in 0..10 {
                assert_eq!(next_u64(s).await, Some(want), "fan-out order");
            }
        }));
        let (d, _) = futures::join!(send, readers);
        d.expect("topic_send")
    };
    assert_eq!(delivered, 10 * n);
    drop(subs);
    until_count(&clients[0], router, 0).await;
    // The producers leave the topic as their tasks end (after the count went to 0).
    let mut len = usize::MAX;
    for _ in 0..5_000 {
        len = clients[0].request("topic_len", ()).await.expect("len");
        if len == 0 {
            break;
        }
        yield_now().await;
    }
    assert_eq!(len, 0, "the topic forgets ended subscriptions");
    for client in clients {
        client.close().await;
    }
}

/// Over the per-connection cap (1024 by default): -32004 with the limit.
pub async fn per_connection_cap(c: &dyn Connector, router: &Router) {
    let client = c.connect(ClientConfig::default(), None).await;
    let limit = SubscriptionConfig::default().max_per_connection;
    let mut subs: Vec<Subscription<u64>> = Vec::with_capacity(limit);
    for _ in 0..limit {
        subs.push(
            client
                .subscribe("topic_subscribe", (), "topic_unsubscribe")
                .await
                .expect("under the cap"),
        );
    }
    let err = client
        .subscribe::<u64, _>("topic_subscribe", (), "topic_unsubscribe")
        .await
        .expect_err("over the cap");
    let e = err.as_rpc().expect("an error object");
    assert_eq!(e.code.0, -32004, "{e}");
    assert_eq!(e.data.as_ref().map(|d| d.get()), Some(r#"{"limit":1024}"#));
    drop(subs);
    until_count(&client, router, 0).await;
    // Room again.
    let again: Result<Subscription<u64>, ClientError> = client
        .subscribe("topic_subscribe", (), "topic_unsubscribe")
        .await;
    assert!(again.is_ok());
    drop(again);
    until_count(&client, router, 0).await;
    client.close().await;
}

/// Wait: a producer of `n` items to a client that reads slowly finishes without loss, and the
/// server's queue for it never holds more than its buffer.
pub async fn backpressure(c: &dyn Connector, router: &Router, n: u64) {
    let config = ClientConfig {
        notification_buffer: 16,
        ..ClientConfig::default()
    };
    let client = c.connect(config, None).await;
    let _ = client.request::<usize, _>("max_queue", ()).await;
    let mut sub: Subscription<u64> = client
        .subscribe("count_subscribe", [n], "count_unsubscribe")
        .await
        .expect("subscribe");
    for want in 0..n {
        if want % 64 == 0 {
            // A slow reader: gives way before every few items.
            for _ in 0..4 {
                yield_now().await;
            }
            assert!(
                sub.queue_len() <= 16 + 1,
                "the client's buffer stays bounded"
            );
        }
        assert_eq!(next_u64(&mut sub).await, Some(want), "no loss, in order");
    }
    assert_eq!(next_u64(&mut sub).await, None);
    let max: usize = client.request("max_queue", ()).await.expect("max_queue");
    assert!(
        max <= BUFFER,
        "the server's queue held {max} items, more than its buffer of {BUFFER}"
    );
    until_count(&client, router, 0).await;
    client.close().await;
}

/// Disconnect: a client that stops reading is cut off (instead of slowing its producer or
/// growing the server's memory); its stream ends with the connection, the server frees it.
pub async fn disconnect_policy(c: &dyn Connector, router: &Router) {
    let watcher = c.connect(ClientConfig::default(), None).await;
    let before = router.subscription_count();
    let config = ClientConfig {
        notification_buffer: 1,
        ..ClientConfig::default()
    };
    let client = c.connect(config, None).await;
    let mut flood: Subscription<u64> = client
        .subscribe("flood_subscribe", (), "flood_unsubscribe")
        .await
        .expect("subscribe");
    // Not read: the client's buffer fills, then the transport's, then the server's.
    until_count(&watcher, router, before).await;
    let mut last = None;
    while let Some(n) = next_u64(&mut flood).await {
        assert_eq!(n, last.map_or(0, |l| l + 1), "from 0, in order, no gap");
        last = Some(n);
    }
    assert_eq!(flood.end_reason(), Some(&EndReason::ConnectionClosed));
    // The producer's send failed well before its limit. (A loaded machine may cut the
    // client off before its first item was written: the abort drops what is queued.)
    let probe = router
        .extensions()
        .get_ref::<Probe>()
        .expect("the suite's router holds its probe");
    let ended = until(&watcher, || {
        probe.flood_queued.load(Ordering::SeqCst) != u64::MAX
    })
    .await;
    assert!(ended, "the flood producer ends once its client is cut off");
    let queued = probe.flood_queued.swap(u64::MAX, Ordering::SeqCst);
    assert!(queued < FLOOD_LIMIT, "cut off early: {queued} items queued");
    let read = last.map_or(0, |l| l + 1);
    assert!(
        read <= queued,
        "the client read {read} items, the producer queued {queued}"
    );
    watcher.close().await;
}
