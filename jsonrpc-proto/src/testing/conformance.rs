//! One conformance suite for every transport and runtime.
//!
//! A transport's tests build a [`Server`](crate::peer::Server) from [`router`] and
//! [`server_config`], implement [`Connector`] (open a fresh [`Client`] connected to that
//! server; optionally a raw connection for malformed frames), and call [`run_all`]:
//!
//! ```ignore
//! let server = Server::new(conformance::router(), rt.clone(), conformance::server_config());
//! conformance::run_all(&MyConnector { server, rt }).await;
//! ```
//!
//! Every check panics with a message naming what failed. No check depends on wall-clock
//! durations: timeouts come from the runtime's timer, and the answers are asserted, never
//! the elapsed time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context as TaskCx, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::peer::{BoxTransport, Client, ClientConfig, ClientError, ServerConfig, Transport};
use crate::protocol::error::{ErrorCode, ErrorObject};
use crate::service::{CallInfo, Context, Hooks, Router};
use crate::RawValue;

/// How the suite reaches the transport under test.
pub trait Connector: Send + Sync {
    /// Opens a fresh client connected to a server serving [`router`] with [`server_config`].
    /// With `local`, the client serves that router too (for callbacks).
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client>;

    /// A fresh raw connection to the same server, for frames a [`Client`] never sends.
    /// `None` when the transport cannot carry arbitrary frames.
    fn connect_raw(&self) -> Option<BoxFuture<'_, BoxTransport>> {
        None
    }
}

/// Per-connection counters bumped by the `bump` notification.
#[derive(Default)]
struct Counters(Mutex<HashMap<u64, i64>>);

/// Counts `sleep` handlers dropped before they finished.
#[derive(Default)]
pub struct Dropped(pub AtomicU64);

struct DropGuard<'a>(&'a AtomicU64);
impl Drop for DropGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Returns `Pending` once (after asking to be polled again), to make a handler really async.
struct YieldNow(bool);
impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Gives way to other tasks once.
pub async fn yield_now() {
    YieldNow(false).await
}

#[derive(Deserialize)]
struct AddParams {
    a: i64,
    b: i64,
}

#[derive(Deserialize)]
struct OptParams {
    a: Option<i64>,
}

#[derive(Deserialize)]
struct BumpParams {
    by: i64,
}

/// The suite's hooks: `admin.*` methods need an `authorization: secret` header (-32010).
struct AuthHooks;

impl Hooks for AuthHooks {
    fn before_request<'a>(
        &'a self,
        call: &'a CallInfo<'a>,
    ) -> BoxFuture<'a, Result<(), ErrorObject>> {
        Box::pin(async move {
            if call.method.starts_with("admin.")
                && call.client.transport.header("authorization") != Some("secret")
            {
                return Err(ErrorObject::new(-32010, "Unauthorized"));
            }
            Ok(())
        })
    }
}

/// The methods every transport serves in the suite.
pub fn router() -> Router {
    Router::builder()
        .state(Counters::default())
        .state(Dropped::default())
        .hooks(AuthHooks)
        .method("add", |_ctx: Context, p: AddParams| async move {
            Ok::<_, ErrorObject>(p.a + p.b)
        })
        .method_raw("echo", |_ctx, params: Option<Box<RawValue>>| async move {
            Ok::<_, ErrorObject>(params)
        })
        .method("none", |_ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>("ok")
        })
        .method("opt", |_ctx: Context, p: OptParams| async move {
            Ok::<_, ErrorObject>(p.a.unwrap_or(-1))
        })
        .method("fail", |_ctx: Context, (): ()| async move {
            Err::<(), _>(ErrorObject::new(42, "boom").with_data(json!({"k": [1, 2]})))
        })
        .method("panic", |_ctx: Context, (): ()| async move {
            if true {
                panic!("conformance: deliberate panic");
            }
            Ok::<(), ErrorObject>(())
        })
        .method("sleep", |ctx: Context, (): ()| async move {
            let dropped = ctx.state::<Dropped>().expect("state");
            let _guard = DropGuard(&dropped.0);
            futures::future::pending::<()>().await;
            Ok::<(), ErrorObject>(())
        })
        .method("yield_echo", |_ctx: Context, (n,): (u64,)| async move {
            for _ in 0..(n % 3) {
                yield_now().await;
            }
            Ok::<_, ErrorObject>(n)
        })
        .notification("bump", |ctx: Context, p: BumpParams| async move {
            if let Some(c) = ctx.state::<Counters>() {
                *c.0.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(ctx.client_id().0)
                    .or_default() += p.by;
            }
        })
        .method("count", |ctx: Context, (): ()| async move {
            let c = ctx.state::<Counters>().expect("state");
            let n =
                c.0.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&ctx.client_id().0)
                    .copied();
            Ok::<_, ErrorObject>(n.unwrap_or(0))
        })
        .method("subscribe", |ctx: Context, (n,): (u64,)| async move {
            for i in 0..n {
                ctx.notify("tick", [i])
                    .map_err(|e| ErrorObject::new(-32000, e.to_string()))?;
            }
            Ok::<_, ErrorObject>(n)
        })
        .method("callback", |ctx: Context, (x,): (i64,)| async move {
            let peer = ctx
                .peer()
                .ok_or_else(|| ErrorObject::new(-32000, "no peer"))?;
            peer.request::<i64, _>("client.double", [x])
                .await
                .map_err(|e| ErrorObject::new(-32000, e.to_string()))
        })
        .method("whoami", |ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>(
                json!({"client": ctx.client_id().0, "kind": ctx.transport().kind.to_string()}),
            )
        })
        .method("admin.secret", |_ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>("the secret")
        })
        .build()
        .expect("the conformance router is valid")
}

/// The router a client serves for the callback check (`client.double`).
pub fn client_router() -> Router {
    Router::builder()
        .method("client.double", |_ctx: Context, (x,): (i64,)| async move {
            Ok::<_, ErrorObject>(2 * x)
        })
        .build()
        .expect("valid")
}

/// The server configuration of the suite: a short handler deadline (500 ms) for the
/// timeout check.
pub fn server_config() -> ServerConfig {
    ServerConfig {
        request_timeout: Some(Duration::from_millis(500)),
        ..ServerConfig::default()
    }
}

fn code(r: Result<Value, ClientError>) -> i64 {
    match r {
        Err(ClientError::Rpc(e)) => e.code.0,
        other => panic!("expected an error object, got {other:?}"),
    }
}

/// Requests with params by position and by name, absent params, raw params.
pub async fn requests<C: Connector>(c: &C) {
    let client = c.connect(ClientConfig::default(), None).await;
    let s: i64 = client
        .request("add", [5, 3])
        .await
        .expect("add by position");
    assert_eq!(s, 8);
    let s: i64 = client
        .request("add", json!({"a": 5, "b": 3}))
        .await
        .expect("add by name");
    assert_eq!(s, 8);
    let ok: String = client.request("none", ()).await.expect("no params");
    assert_eq!(ok, "ok");
    let a: i64 = client
        .request("opt", ())
        .await
        .expect("all-optional struct, no params");
    assert_eq!(a, -1);
    let a: i64 = client.request("opt", json!({"a": 7})).await.expect("opt");
    assert_eq!(a, 7);
    let v: Value = client
        .request("echo", json!({"x": [1, "two", null]}))
        .await
        .expect("echo");
    assert_eq!(v, json!({"x": [1, "two", null]}));
    let v: Value = client
        .request("echo", ())
        .await
        .expect("echo without params");
    assert_eq!(v, Value::Null);
    client.close().await;
    assert!(matches!(
        client.request::<i64, _>("add", [1, 2]).await,
        Err(ClientError::Closed)
    ));
}

/// Notifications run in arrival order and are observed by a later call.
pub async fn notifications<C: Connector>(c: &C) {
    let client = c.connect(ClientConfig::default(), None).await;
    for by in [1, 2, 3] {
        client
            .notify("bump", json!({"by": by}))
            .await
            .expect("notify");
    }
    let n: i64 = client.request("count", ()).await.expect("count");
    assert_eq!(n, 6, "notifications observed by the next call");
    // A notification to an unknown method is ignored; the connection goes on.
    client
        .notify("no.such.notification", [1])
        .await
        .expect("notify");
    let n: i64 = client.request("count", ()).await.expect("count");
    assert_eq!(n, 6);
}

/// Batches: results by position, notifications inside, errors per member.
pub async fn batches<C: Connector>(c: &C) {
    let client = c.connect(ClientConfig::default(), None).await;
    let mut b = client.batch();
    let first = b.request("add", [1, 2]);
    b.notify("bump", json!({"by": 10}));
    let second = b.request("fail", ());
    let third = b.request("add", json!({"a": 10, "b": 20}));
    let results = b.send().await.expect("batch sent");
    assert_eq!(results.len(), 3);
    assert_eq!(results[first].as_ref().expect("first").get(), "3");
    match &results[second] {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code.0, 42),
        other => panic!("expected the application error, got {other:?}"),
    }
    assert_eq!(results[third].as_ref().expect("third").get(), "30");
    // Params that are not an array or object: the batch is not sent at all.
    let mut bad = client.batch();
    bad.request("add", [1, 2]);
    bad.notify("bump", json!({"by": 10}));
    bad.request("add", 5);
    match bad.send().await {
        Err(ClientError::Params(m)) => assert!(m.ends_with("not 5"), "{m}"),
        other => panic!("expected a params error, got {other:?}"),
    }
    let n: i64 = client.request("count", ()).await.expect("count");
    assert_eq!(n, 10);
    // A batch whose answers are no longer awaited is forgotten, answered and unanswered
    // calls alike.
    let mut waits = client.batch();
    waits.request("add", [1, 1]);
    waits.request("sleep", ());
    let mut sent = Box::pin(waits.send());
    assert!(futures::poll!(&mut sent).is_pending());
    drop(sent);
    assert_eq!(client.pending(), 0);
    let s: i64 = client
        .request("add", [2, 3])
        .await
        .expect("alive after a dropped batch");
    assert_eq!(s, 5);
}

/// Every error code: -32601, -32602, -32603 (panic, the connection lives), application
/// errors with data passed through exactly, rejections by hooks.
pub async fn errors<C: Connector>(c: &C) {
    let client = c.connect(ClientConfig::default(), None).await;
    assert_eq!(code(client.request("no.such.method", ()).await), -32601);
    assert_eq!(code(client.request("add", json!(["x", 1])).await), -32602);
    assert_eq!(code(client.request("add", json!({"a": 1})).await), -32602);
    match client.request::<Value, _>("add", json!(["x", 1])).await {
        Err(ClientError::Rpc(e)) => assert!(
            e.message.starts_with("Invalid params: invalid type"),
            "serde's message: {}",
            e.message
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(code(client.request("panic", ()).await), -32603);
    let s: i64 = client
        .request("add", [1, 1])
        .await
        .expect("alive after a panic");
    assert_eq!(s, 2);
    match client.request::<Value, _>("fail", ()).await {
        Err(ClientError::Rpc(e)) => {
            assert_eq!(
                e,
                ErrorObject::new(42, "boom").with_data(json!({"k": [1, 2]}))
            );
            assert_eq!(e.data.as_deref().map(RawValue::get), Some(r#"{"k":[1,2]}"#));
        }
        other => panic!("expected the application error, got {other:?}"),
    }
    assert_eq!(code(client.request("admin.secret", ()).await), -32010);
}

/// Raw frames: -32700, -32600, invalid batch members, `$/cancelRequest`.
pub async fn raw_frames<C: Connector>(c: &C) {
    let Some(raw) = c.connect_raw() else { return };
    let (mut tx, mut rx) = raw.await.split();
    send(&mut tx, "{\"jsonrpc\":\"2.0\",\"method\"").await;
    let v = next_json(&mut rx).await;
    assert_eq!(v["error"]["code"], -32700, "{v}");
    assert_eq!(v["id"], Value::Null);

    send(
        &mut tx,
        r#"{"jsonrpc":"1.0","method":"add","params":[1,2],"id":9}"#,
    )
    .await;
    let v = next_json(&mut rx).await;
    assert_eq!(v["error"]["code"], -32600, "{v}");
    assert_eq!(v["id"], 9);

    send(&mut tx, "[]").await;
    let v = next_json(&mut rx).await;
    assert_eq!(v["error"]["code"], -32600, "{v}");

    send(&mut tx, r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"foo":1},5,{"jsonrpc":"2.0","method":"bump","params":{"by":1}}]"#).await;
    let v = next_json(&mut rx).await;
    let arr = v
        .as_array()
        .unwrap_or_else(|| panic!("a batch answer is an array: {v}"));
    assert_eq!(arr.len(), 3, "{v}");
    let ok = arr.iter().find(|e| e["id"] == 1).expect("answer to id 1");
    assert_eq!(ok["result"], 3);
    assert_eq!(
        arr.iter()
            .filter(|e| e["error"]["code"] == -32600 && e["id"].is_null())
            .count(),
        2
    );

    // A batch of notifications only gets no answer at all: the next answer is for id 2.
    send(
        &mut tx,
        r#"[{"jsonrpc":"2.0","method":"bump","params":{"by":1}}]"#,
    )
    .await;
    send(&mut tx, r#"{"jsonrpc":"2.0","method":"count","id":2}"#).await;
    let v = next_json(&mut rx).await;
    assert_eq!(v["id"], 2, "{v}");
    assert_eq!(v["result"], 2);

    // Cancellation: the running handler is dropped and the call answered -32800.
    send(&mut tx, r#"{"jsonrpc":"2.0","method":"sleep","id":"s1"}"#).await;
    send(
        &mut tx,
        r#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"s1"}}"#,
    )
    .await;
    let v = next_json(&mut rx).await;
    assert_eq!(v["id"], "s1", "{v}");
    assert_eq!(v["error"]["code"], -32800, "{v}");
}

async fn send(tx: &mut crate::peer::BoxFrameSink, frame: &'static str) {
    tx.send(Bytes::from_static(frame.as_bytes()))
        .await
        .expect("raw send");
}

async fn next_json(rx: &mut crate::peer::BoxFrameStream) -> Value {
    let frame = rx
        .next()
        .await
        .expect("the server answers")
        .expect("no transport error");
    serde_json::from_slice(&frame).expect("the server sends JSON")
}

/// Handler deadline (-32001 from the server) and client-side deadline.
pub async fn timeouts<C: Connector>(c: &C) {
    let client = c.connect(ClientConfig::default(), None).await;
    assert_eq!(
        code(client.request("sleep", ()).await),
        ErrorCode::REQUEST_TIMEOUT.0
    );
    let r = client
        .request_with_timeout::<Value, _>("sleep", (), Duration::from_millis(20))
        .await;
    assert!(matches!(r, Err(ClientError::Timeout)), "{r:?}");
    let s: i64 = client
        .request("add", [2, 2])
        .await
        .expect("alive after timeouts");
    assert_eq!(s, 4);
}

/// Notifications pushed by a handler reach this client's stream, in order.
pub async fn server_notifications<C: Connector>(c: &C) {
    let client = c.connect(ClientConfig::default(), None).await;
    let mut stream = client.notifications();
    let n: u64 = client.request("subscribe", [3]).await.expect("subscribe");
    assert_eq!(n, 3);
    for i in 0..3u64 {
        let note = stream.next().await.expect("a tick");
        assert_eq!(note.method, "tick");
        let params: Vec<u64> =
            serde_json::from_str(note.params.as_deref().map_or("[]", RawValue::get))
                .expect("params");
        assert_eq!(params, vec![i]);
    }
}

/// A server handler calls back into the client on the same connection.
pub async fn callbacks<C: Connector>(c: &C) {
    let client = c
        .connect(ClientConfig::default(), Some(client_router()))
        .await;
    let v: i64 = client.request("callback", [21]).await.expect("callback");
    assert_eq!(v, 42);
    // Without a local router the callback is answered -32601 and the server reports it.
    let plain = c.connect(ClientConfig::default(), None).await;
    assert_eq!(code(plain.request("callback", [1]).await), -32000);
}

/// `n` calls in flight at once on one connection; every answer reaches its own caller.
pub async fn concurrency<C: Connector>(c: &C, n: u64) {
    let mut config = ClientConfig::default();
    config.connection.max_pending = config.connection.max_pending.max(n as usize + 16);
    let client = c.connect(config, None).await;
    let calls: Vec<_> = (0..n)
        .map(|i| client.request::<u64, _>("yield_echo", [i]))
        .collect();
    let results = futures::future::join_all(calls).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(
            r.expect("answer"),
            i as u64,
            "answer {i} reached its own caller"
        );
    }
}

/// Dropping a call's future forgets it; with cancel notifications on, the server drops the
/// handler.
pub async fn cancellation<C: Connector>(c: &C) {
    let config = ClientConfig {
        send_cancel_notifications: true,
        ..ClientConfig::default()
    };
    let client = c.connect(config, None).await;
    let call = client.request::<Value, _>("sleep", ());
    assert_eq!(client.pending(), 1);
    drop(call);
    assert_eq!(client.pending(), 0, "a dropped call is forgotten");
    let s: i64 = client
        .request("add", [3, 4])
        .await
        .expect("alive after a cancel");
    assert_eq!(s, 7);
}

/// Runs every check in turn.
pub async fn run_all<C: Connector>(c: &C) {
    requests(c).await;
    notifications(c).await;
    batches(c).await;
    errors(c).await;
    raw_frames(c).await;
    timeouts(c).await;
    server_notifications(c).await;
    callbacks(c).await;
    concurrency(c, 500).await;
    cancellation(c).await;
}

/// Unused import guard for transports that only need the trait.
#[doc(hidden)]
pub fn _boxed<T: Transport>(t: T) -> BoxTransport {
    BoxTransport::from_transport(t)
}
