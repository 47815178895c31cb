//! The subscription suite over memory pairs on tokio (both flavours, and with spawned
//! handlers) and smol.

use std::time::Instant;

use futures::future::BoxFuture;
use jsonrpc_proto::peer::{Client, ClientConfig, Runtime, Server, ServerConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::Connector;
use jsonrpc_proto::testing::subscriptions;
use transport_memory::pair;

mod common;
use common::Tokio;

struct Mem<R: Runtime> {
    server: Server,
    rt: R,
}

impl<R: Runtime> Mem<R> {
    // Field by field: `ServerConfig` is `#[non_exhaustive]` on main.
    #[allow(clippy::field_reassign_with_default)]
    fn new(rt: R, router: &Router, spawn_calls: bool) -> Self {
        let mut config = ServerConfig::default();
        config.spawn_calls = spawn_calls;
        let server = Server::new(router.clone(), rt.clone(), config);
        Mem { server, rt }
    }
}

impl<R: Runtime> Connector for Mem<R> {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        let (a, b) = pair();
        let server = self.server.clone();
        self.rt
            .spawn(Box::pin(async move { server.serve(a).await }));
        let client = match local {
            Some(router) => Client::with_router(b, self.rt.clone(), config, router),
            None => Client::new(b, self.rt.clone(), config),
        };
        Box::pin(async move { client })
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_tokio_multi_thread() {
    let router = subscriptions::router();
    subscriptions::run_all(&Mem::new(Tokio, &router, false), &router).await;
}

#[tokio::test(flavor = "current_thread")]
async fn subscriptions_tokio_current_thread() {
    let router = subscriptions::router();
    subscriptions::run_all(&Mem::new(Tokio, &router, false), &router).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_tokio_spawn_calls() {
    let router = subscriptions::router();
    subscriptions::run_all(&Mem::new(Tokio, &router, true), &router).await;
}

#[test]
fn subscriptions_smol() {
    let router = subscriptions::router();
    smol::block_on(subscriptions::run_all(
        &Mem::new(Smol, &router, false),
        &router,
    ));
}

/// The frames on the wire: the jsonrpsee/Ethereum shape, the answer before the items, the
/// end notification last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_shape() {
    use bytes::Bytes;
    use futures::SinkExt;
    use jsonrpc_proto::peer::Transport;
    use serde_json::json;

    let router = subscriptions::router();
    let server = Server::new(router.clone(), Tokio, ServerConfig::default());
    let (a, b) = pair();
    tokio::spawn(async move { server.serve(a).await });
    let (mut tx, mut rx) = b.split();
    tx.send(Bytes::from_static(
        br#"{"jsonrpc":"2.0","method":"count_subscribe","params":[2],"id":7}"#,
    ))
    .await
    .expect("send");
    let answer = next(&mut rx).await;
    assert_eq!(answer["id"], 7, "{answer}");
    let id = answer["result"].as_str().expect("a string id").to_owned();
    for n in 0..2 {
        let item = next(&mut rx).await;
        assert_eq!(
            item,
            json!({"jsonrpc":"2.0","method":"count","params":{"subscription":id,"result":n}})
        );
    }
    let end = next(&mut rx).await;
    assert_eq!(
        end,
        json!({"jsonrpc":"2.0","method":"count","params":{"subscription":id,"error":null}})
    );
    // In a batch the answer goes out with the batch, and the items after it.
    tx.send(Bytes::from_static(
        br#"[{"jsonrpc":"2.0","method":"count_subscribe","params":[1],"id":1},{"jsonrpc":"2.0","method":"topic_send","params":[0],"id":2}]"#,
    ))
    .await
    .expect("send");
    let batch = next(&mut rx).await;
    assert!(batch.is_array(), "the batch answer first: {batch}");
    let item = next(&mut rx).await;
    assert_eq!(item["params"]["result"], 0, "{item}");
    let _end = next(&mut rx).await;
    // Unsubscribing an ended subscription answers false.
    let unsub =
        format!(r#"{{"jsonrpc":"2.0","method":"count_unsubscribe","params":["{id}"],"id":8}}"#);
    tx.send(Bytes::from(unsub)).await.expect("send");
    assert_eq!(
        next(&mut rx).await,
        json!({"jsonrpc":"2.0","result":false,"id":8})
    );
}

async fn next<S>(rx: &mut S) -> serde_json::Value
where
    S: futures::Stream<Item = Result<bytes::Bytes, jsonrpc_proto::peer::TransportError>> + Unpin,
{
    use futures::StreamExt;
    let frame = rx.next().await.expect("a frame").expect("ok");
    serde_json::from_slice(&frame).expect("json")
}
