//! `#[subscription]` methods of `#[rpc]` over an in-memory connection: names (namespace,
//! aliases, defaults, the Spark rule), params, rejection, ending, the OpenRPC document.
//! The same service over real sockets on tokio and async-io: the transport crates'
//! `tests/subscriptions.rs`.

use std::time::Instant;

use futures::executor::{block_on, ThreadPool};
use futures::future::BoxFuture;
use futures::StreamExt;
use jsonrpc_proto::peer::{Client, ClientError, EndReason, Runtime, Server, ServerConfig};
use jsonrpc_proto::rpc;
use jsonrpc_proto::service::openrpc::Info;
use jsonrpc_proto::service::{PendingSubscription, Router};
use jsonrpc_proto::ErrorObject;
use serde_json::{json, Value};

#[derive(Clone)]
struct Pool(ThreadPool);

impl Runtime for Pool {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.0.spawn_ok(task);
    }
    fn sleep_until(&self, _at: Instant) -> BoxFuture<'static, ()> {
        Box::pin(futures::future::pending())
    }
}

/// Counters.
#[rpc(namespace = "feed")]
pub trait Feed {
    /// Counts from `from` (default 0) up to `to`, then ends.
    ///
    /// Every number once, in order.
    #[subscription(
        name = "count",
        aliases = ["countUp"],
        unsubscribe = "uncount",
        unsubscribe_aliases = ["stopCount"],
        notification = "counted",
        item = u64
    )]
    async fn count(&self, pending: PendingSubscription, to: u64, from: Option<u64>);

    /// Greets once, then waits until the client unsubscribes.
    #[subscription(unsubscribe = "unhello", item = String)]
    async fn hello(&self, pending: PendingSubscription);

    /// Refuses with the code asked for.
    #[subscription(unsubscribe = "unrefuse", item = u64)]
    async fn refuse(&self, pending: PendingSubscription, code: i64);

    /// A plain method beside the subscriptions.
    async fn ping(&self) -> String;
}

struct FeedService;

impl Feed for FeedService {
    async fn count(&self, pending: PendingSubscription, to: u64, from: Option<u64>) {
        let Ok(sink) = pending.accept() else { return };
        for n in from.unwrap_or(0)..to {
            if sink.send(n).await.is_err() {
                return;
            }
        }
    }
    async fn hello(&self, pending: PendingSubscription) {
        let Ok(sink) = pending.accept() else { return };
        if sink.send("hello").await.is_ok() {
            sink.closed().await;
        }
    }
    async fn refuse(&self, pending: PendingSubscription, code: i64) {
        pending.reject(ErrorObject::new(code, "refused"));
    }
    async fn ping(&self) -> String {
        "pong".into()
    }
}

/// The Spark rule reaches subscriptions too.
#[rpc(naming = "spark")]
pub trait Spark {
    /// One item.
    #[subscription(name = "one_item", unsubscribe = "one_item_stop", item = bool)]
    async fn one(&self, pending: PendingSubscription);
}

impl Spark for FeedService {
    async fn one(&self, pending: PendingSubscription) {
        if let Ok(sink) = pending.accept() {
            let _ = sink.send(true).await;
        }
    }
}

fn router() -> Router {
    Feed::into_router(FeedService)
        .merge(Spark::into_router(FeedService))
        .discover(Info::new("feed", "1.0.0"))
        .build()
        .unwrap()
}

fn connect() -> (Router, Client) {
    let rt = Pool(ThreadPool::new().unwrap());
    let router = router();
    let server = Server::new(router.clone(), rt.clone(), ServerConfig::default());
    (router, transport_memory::serve_memory(&server, rt))
}

fn rpc_err<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorObject {
    match r {
        Err(ClientError::Rpc(e)) => e,
        other => panic!("expected an error object, got {other:?}"),
    }
}

#[test]
fn names_follow_the_namespace_and_defaults() {
    let r = router();
    for name in [
        "feed.count",
        "feed.countUp",
        "feed.uncount",
        "feed.stopCount",
        "feed.hello",
        "feed.unhello",
        "feed.ping",
        "one_item",
        "one_item_stop",
    ] {
        assert!(r.has_method(name), "{name} is served");
    }
    assert!(!r.has_method("count"), "the namespace applies");
    assert!(
        !r.has_method("feed.counted"),
        "a notification is not a method"
    );
}

#[test]
fn typed_client_gets_ordered_items_then_the_end() {
    let (_r, c) = connect();
    block_on(async {
        let sub = c.count(5, Some(2)).await.unwrap();
        assert_eq!(sub.id().len(), 32);
        let mut sub = sub;
        let mut got = Vec::new();
        while let Some(item) = sub.next().await {
            got.push(item.unwrap());
        }
        assert_eq!(got, [2, 3, 4]);
        assert_eq!(sub.end_reason(), Some(&EndReason::Server(None)));
        assert_eq!(c.ping().await.unwrap(), "pong");
    });
}

#[test]
fn aliases_and_the_notification_name_are_on_the_wire() {
    let (_r, c) = connect();
    block_on(async {
        // By alias, by name, read untyped: the items go out on `feed.counted`.
        let mut sub = c
            .subscribe::<u64, _>("feed.countUp", json!({"to": 2}), "feed.stopCount")
            .await
            .unwrap();
        assert_eq!(sub.next().await.unwrap().unwrap(), 0);
        assert_eq!(sub.next().await.unwrap().unwrap(), 1);
        assert!(sub.next().await.is_none());
        let mut raw = c.notifications();
        let id: String = c.request("feed.count", [1]).await.unwrap();
        let note = raw.next().await.unwrap();
        assert_eq!(note.method, "feed.counted");
        let params: Value = serde_json::from_str(note.params.unwrap().get()).unwrap();
        assert_eq!(params, json!({"subscription": id, "result": 0}));
        // The default notification name is the subscribe name.
        let mut hello = c.hello().await.unwrap();
        assert_eq!(hello.next().await.unwrap().unwrap(), "hello");
        assert!(hello.unsubscribe().await.unwrap(), "it was open");
        let mut spark = c
            .subscribe::<bool, _>("one.item", (), "one-item-stop")
            .await
            .unwrap();
        assert!(spark.next().await.unwrap().unwrap());
    });
}

#[test]
fn bad_params_and_rejections_answer_the_call() {
    let (r, c) = connect();
    block_on(async {
        let e = rpc_err(
            c.subscribe::<u64, _>("feed.count", json!({"to": "x"}), "feed.uncount")
                .await,
        );
        assert_eq!(e.code.0, -32602);
        assert!(e.message.contains("parameter `to`"), "{}", e.message);
        let e = rpc_err(
            c.subscribe::<u64, _>("feed.count", (), "feed.uncount")
                .await,
        );
        assert_eq!(e.message, "Invalid params: missing required parameter `to`");
        let e = rpc_err(c.refuse(-32050).await);
        assert_eq!((e.code.0, &*e.message), (-32050, "refused"));
        assert_eq!(c.active_subscriptions(), 0);
        assert_eq!(r.subscription_count(), 0);
        // Unsubscribing an unknown id answers false.
        let gone: bool = c.request("feed.uncount", ["nope"]).await.unwrap();
        assert!(!gone);
    });
}

#[test]
fn the_openrpc_document_lists_subscriptions() {
    let (_r, c) = connect();
    let doc: Value = block_on(c.request("rpc.discover", ())).unwrap();
    let methods = doc["methods"].as_array().unwrap();
    let find = |name: &str| {
        methods
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} described"))
    };
    let count = find("feed.count");
    assert_eq!(
        count["summary"],
        "Counts from `from` (default 0) up to `to`, then ends."
    );
    assert_eq!(count["x-aliases"], json!(["feed.countUp"]));
    assert_eq!(count["params"][0]["name"], "to");
    assert_eq!(count["params"][1]["required"], false);
    assert_eq!(count["result"]["schema"], json!({"type": "string"}));
    assert_eq!(count["x-subscription"]["unsubscribe"], "feed.uncount");
    assert_eq!(count["x-subscription"]["notification"], "feed.counted");
    assert_eq!(count["x-subscription"]["item"]["type"], "integer");
    let uncount = find("feed.uncount");
    assert_eq!(uncount["x-aliases"], json!(["feed.stopCount"]));
    assert_eq!(uncount["params"][0]["name"], "subscription");
    assert_eq!(uncount["result"]["schema"]["type"], "boolean");
    assert_eq!(
        find("feed.hello")["x-subscription"]["notification"],
        "feed.hello"
    );
}

#[test]
fn merged_services_share_the_outer_count_and_config() {
    use jsonrpc_proto::service::SubscriptionConfig;
    let one = || SubscriptionConfig::default().max_per_connection(1);
    // Set on the outer builder after the merge, or on the merged one only: both apply.
    let outer = Spark::into_router(FeedService)
        .merge(Feed::into_router(FeedService))
        .subscription_config(one())
        .build()
        .unwrap();
    let inner = Router::builder()
        .merge(Feed::into_router(FeedService).subscription_config(one()))
        .build()
        .unwrap();
    for router in [outer, inner] {
        let rt = Pool(ThreadPool::new().unwrap());
        let server = Server::new(router.clone(), rt.clone(), ServerConfig::default());
        let c = transport_memory::serve_memory(&server, rt);
        block_on(async {
            let mut first = c.hello().await.unwrap();
            assert_eq!(first.next().await.unwrap().unwrap(), "hello");
            assert_eq!(
                router.subscription_count(),
                1,
                "counted by the built router"
            );
            let e = rpc_err(c.hello().await);
            assert_eq!((e.code.0, &*e.message), (-32004, "Too many subscriptions"));
            assert!(first.unsubscribe().await.unwrap());
        });
    }
}
