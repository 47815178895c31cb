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
use serde_json::value::RawValue;

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

    /// True when closing a raw connection's sink ends only that direction, as a TCP
    /// `shutdown(SHUT_WR)`, a closed stdin or a closed memory channel do (the server can still
    /// answer); false (the default) when it ends the whole connection (a WebSocket Close).
    fn half_close(&self) -> bool {
        false
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
        .method_sync("add_sync", |_ctx: Context, p: AddParams| {
            p.a.checked_add(p.b)
                .ok_or_else(|| ErrorObject::invalid_params("the sum overflows i64"))
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
        .method("slow", |ctx: Context, (n,): (u64,)| async move {
            ctx.sleep(Duration::from_millis(200)).await;
            Ok::<_, ErrorObject>(n)
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
    let s: i64 = client
        .request("add_sync", json!({"a": 5, "b": 3}))
        .await
        .expect("a synchronous method");
    assert_eq!(s, 8);
    let overflow = client.request::<i64, _>("add_sync", [i64::MAX, 1]).await;
    assert_eq!(code(overflow.map(Value::from)), -32602);
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
    // Typed results, read from the frame: all answers successes (the client's fast path for
    // frames of answers), then an error and a result of the wrong type among them (the full
    // path), by position either way.
    let mut typed = client.batch();
    for i in 0..50i64 {
        typed.request("add", [i, 1]);
    }
    let sums: Vec<i64> = typed
        .send_as::<i64>()
        .await
        .expect("typed batch sent")
        .into_iter()
        .map(|r| r.expect("sum"))
        .collect();
    assert_eq!(sums, (1..=50).collect::<Vec<i64>>());
    let mut mixed = client.batch();
    mixed.request("add", [1, 2]);
    mixed.request("fail", ());
    mixed.notify("bump", json!({"by": 1}));
    mixed.request("add", [2, 2]);
    let got = mixed.send_as::<String>().await.expect("mixed batch sent");
    assert_eq!(got.len(), 3);
    assert!(
        matches!(&got[0], Err(ClientError::Deserialize(_))),
        "{got:?}"
    );
    assert!(
        matches!(&got[1], Err(ClientError::Rpc(e)) if e.code.0 == 42),
        "{got:?}"
    );
    assert!(
        matches!(&got[2], Err(ClientError::Deserialize(_))),
        "{got:?}"
    );
    let mut raws = client.batch();
    raws.request("add", [3, 4]);
    raws.request("add", [5, 6]);
    let raws = raws.send().await.expect("raw batch sent");
    let raws: Vec<String> = raws
        .into_iter()
        .map(|r| r.expect("raw").get().to_owned())
        .collect();
    assert_eq!(raws, ["7", "11"]);
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
    assert_eq!(n, 11);
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

/// Number ids of any size or form are echoed exactly as written (JSON-RPC 2.0 §5), in single
/// calls, invalid requests and batches.
pub async fn exact_ids<C: Connector>(c: &C) {
    let Some(raw) = c.connect_raw() else { return };
    let (mut tx, mut rx) = raw.await.split();
    let ids = [
        "18446744073709551617",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "1.5e400",
        "-1.0E-7",
        "1.0",
    ];
    for id in ids {
        let call = format!(r#"{{"jsonrpc":"2.0","method":"add","params":[1,2],"id":{id}}}"#);
        send_owned(&mut tx, call).await;
        let text = next_text(&mut rx).await;
        assert_eq!(text, format!(r#"{{"jsonrpc":"2.0","result":3,"id":{id}}}"#));
        let bad = format!(r#"{{"jsonrpc":"2.0","method":5,"id":{id}}}"#);
        send_owned(&mut tx, bad).await;
        let text = next_text(&mut rx).await;
        assert!(text.ends_with(&format!(r#","id":{id}}}"#)), "{text}");
        assert!(text.contains("-32600"), "{text}");
    }
    let batch = format!(
        "[{}]",
        ids.iter()
            .map(|id| format!(r#"{{"jsonrpc":"2.0","method":"add","params":[1,1],"id":{id}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    send_owned(&mut tx, batch).await;
    let text = next_text(&mut rx).await;
    for id in ids {
        assert!(text.contains(&format!(r#""id":{id}}}"#)), "{id} in {text}");
    }
}

/// End of input (the peer half-closes): the server reads no more, finishes every call it
/// received, sends every answer, then closes (JSON-RPC 2.0 §5, RFC 9293 §3.6). Runs only where
/// [`Connector::half_close`] says the transport can.
pub async fn end_of_input<C: Connector>(c: &C) {
    if !c.half_close() {
        return;
    }
    let Some(raw) = c.connect_raw() else { return };
    let (mut tx, mut rx) = raw.await.split();
    for n in 1..=3 {
        let call = format!(r#"{{"jsonrpc":"2.0","method":"slow","params":[{n}],"id":{n}}}"#);
        send_owned(&mut tx, call).await;
    }
    send(
        &mut tx,
        r#"{"jsonrpc":"2.0","method":"add","params":[2,2],"id":4}"#,
    )
    .await;
    // A handler that pushes notifications before it answers: the pushes are flushed too.
    send(
        &mut tx,
        r#"{"jsonrpc":"2.0","method":"subscribe","params":[3],"id":5}"#,
    )
    .await;
    tx.close().await.expect("half-close");
    let mut ids = Vec::new();
    let mut ticks = 0;
    while let Some(frame) = rx.next().await {
        let frame = frame.expect("no transport error before the server closes");
        let v: Value = serde_json::from_slice(&frame).expect("the server sends JSON");
        if v["method"] == "tick" {
            ticks += 1;
            continue;
        }
        let id = v["id"].as_u64().unwrap_or_else(|| panic!("an answer: {v}"));
        let expected = if id == 5 { 3 } else { id };
        assert_eq!(v["result"], expected, "{v}");
        ids.push(id);
    }
    ids.sort_unstable();
    assert_eq!(
        ids,
        [1, 2, 3, 4, 5],
        "every call received is answered, then the stream ends"
    );
    assert_eq!(ticks, 3, "pushes queued before the end are sent");
}

async fn send_owned(tx: &mut crate::peer::BoxFrameSink, frame: String) {
    tx.send(Bytes::from(frame)).await.expect("raw send");
}

async fn next_text(rx: &mut crate::peer::BoxFrameStream) -> String {
    let frame = rx
        .next()
        .await
        .expect("the server answers")
        .expect("no transport error");
    String::from_utf8(frame.to_vec()).expect("the server sends UTF-8")
}

/// A raw byte stream to a server's HTTP port (plain or TLS), for bytes no client sends.
pub trait RawIo: futures::io::AsyncRead + futures::io::AsyncWrite + Unpin + Send {}
impl<T: futures::io::AsyncRead + futures::io::AsyncWrite + Unpin + Send> RawIo for T {}

/// Opens a fresh [`RawIo`] to the server under test.
pub type ConnectRaw<'a> = &'a (dyn Fn() -> BoxFuture<'static, Box<dyn RawIo>> + Sync);

/// Writes `request` on a fresh connection and reads until the server closes it.
async fn exchange(connect: ConnectRaw<'_>, request: &[u8]) -> String {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let mut io = connect().await;
    io.write_all(request).await.expect("write the request");
    io.flush().await.expect("flush");
    let mut out = Vec::new();
    // A reset after the answer is as good as a close.
    let _ = io.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn statuses(answer: &str) -> Vec<u16> {
    answer
        .match_indices("HTTP/1.")
        .filter_map(|(i, _)| answer[i..].split(' ').nth(1)?.parse().ok())
        .collect()
}

const ADD: &str = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;

fn http_post(target: &str, version: &str, headers: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/{version}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// RFC 9112's rules for a server, with raw requests on fresh connections to the HTTP port
/// (each asks `Connection: close`, so the server ends every exchange):
/// - exactly one valid `Host` in HTTP/1.1 (none is fine in HTTP/1.0, two never): else 400;
/// - request-target: origin- and absolute-form are served; authority-form (`host:port`) and
///   asterisk-form (`*`) are 400 for a POST;
/// - `Transfer-Encoding`: the final coding must be `chunked` (else 400), any other coding is
///   501, none at all in HTTP/1.0 (400); `Content-Length`: invalid or conflicting values are
///   400; with both headers the request is refused (400) or read by `Transfer-Encoding` alone,
///   and in both cases the connection is closed after the answer;
/// - `Connection: close` ends the connection after the answer, keep-alive is the default;
/// - number ids of any size are echoed exactly over HTTP too.
pub async fn http_message_rules(connect: ConnectRaw<'_>) {
    let chunked = format!("{:x}\r\n{ADD}\r\n0\r\n\r\n", ADD.len());
    let te = |version: &str, te: &str, extra: &str, body: &str| {
        format!(
            "POST / HTTP/{version}\r\nHost: a\r\nContent-Type: application/json\r\n{extra}Transfer-Encoding: {te}\r\nConnection: close\r\n\r\n{body}"
        )
    };
    let cases: Vec<(&str, String, u16)> = vec![
        ("one Host", http_post("/", "1.1", "Host: a\r\n", ADD), 200),
        (
            "Host with port",
            http_post("/", "1.1", "Host: 127.0.0.1:80\r\n", ADD),
            200,
        ),
        ("no Host", http_post("/", "1.1", "", ADD), 400),
        (
            "two Host lines",
            http_post("/", "1.1", "Host: a\r\nHost: a\r\n", ADD),
            400,
        ),
        (
            "an invalid Host",
            http_post("/", "1.1", "Host: a b\r\n", ADD),
            400,
        ),
        (
            "an invalid Host port",
            http_post("/", "1.1", "Host: a:b\r\n", ADD),
            400,
        ),
        ("HTTP/1.0 without Host", http_post("/", "1.0", "", ADD), 200),
        (
            "HTTP/1.0 with two Host",
            http_post("/", "1.0", "Host: a\r\nHost: b\r\n", ADD),
            400,
        ),
        (
            "absolute-form",
            http_post("http://a/", "1.1", "Host: a\r\n", ADD),
            200,
        ),
        (
            "authority-form",
            http_post("a:80", "1.1", "Host: a\r\n", ADD),
            400,
        ),
        (
            "asterisk-form",
            http_post("*", "1.1", "Host: a\r\n", ADD),
            400,
        ),
        ("chunked", te("1.1", "chunked", "", &chunked), 200),
        ("gzip last", te("1.1", "chunked, gzip", "", ADD), 400),
        ("gzip only", te("1.1", "gzip", "", ADD), 400),
        (
            "gzip then chunked",
            te("1.1", "gzip, chunked", "", &chunked),
            501,
        ),
        (
            "chunked in HTTP/1.0",
            te("1.0", "chunked", "", &chunked),
            400,
        ),
        (
            "an invalid Content-Length",
            ADD_WITH_LENGTH.replace("{len}", "5x"),
            400,
        ),
        (
            "conflicting Content-Length",
            ADD_WITH_LENGTH.replace("{len}", &format!("{}\r\nContent-Length: 3", ADD.len())),
            400,
        ),
    ];
    for (what, request, status) in &cases {
        let answer = exchange(connect, request.as_bytes()).await;
        assert_eq!(statuses(&answer), [*status], "{what}: {answer}");
    }
    // Both Content-Length and Transfer-Encoding: refused, or read by Transfer-Encoding alone;
    // either way the connection closes after the answer (a request pipelined behind it is
    // not read: it could be smuggled).
    let both = te(
        "1.1",
        "chunked",
        &format!("Content-Length: {}\r\n", chunked.len()),
        &chunked,
    )
    .replace("Connection: close\r\n", "");
    let behind = http_post("/", "1.1", "Host: a\r\n", ADD);
    let answer = exchange(connect, format!("{both}{behind}").as_bytes()).await;
    let got = statuses(&answer);
    assert!(
        got == [400] || got == [200],
        "Content-Length with chunked: {answer}"
    );
    // Keep-alive by default, `Connection: close` honoured.
    let keep = http_post("/", "1.1", "Host: a\r\n", ADD).replace("Connection: close\r\n", "");
    let close = http_post("/", "1.1", "Host: a\r\n", ADD);
    let answer = exchange(connect, format!("{keep}{close}").as_bytes()).await;
    assert_eq!(statuses(&answer), [200, 200], "keep-alive: {answer}");
    let answer = exchange(connect, format!("{close}{keep}").as_bytes()).await;
    assert_eq!(statuses(&answer), [200], "Connection: close: {answer}");
    // Big ids survive HTTP.
    let body =
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":123456789012345678901234567890}"#;
    let answer = exchange(
        connect,
        http_post("/", "1.1", "Host: a\r\n", body).as_bytes(),
    )
    .await;
    assert!(
        answer.ends_with(r#"{"jsonrpc":"2.0","result":3,"id":123456789012345678901234567890}"#),
        "{answer}"
    );
}

const ADD_WITH_LENGTH: &str = "POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2],\"id\":1}";

/// A WebSocket handshake for `/ws` (key from RFC 6455 §1.3).
pub const WS_HANDSHAKE: &str = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A client frame (masked with a zero key, so the payload reads as written).
pub fn ws_client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

/// The complete frames at the start of `bytes` (masked or not, payloads up to 64 KiB), as
/// opcode and unmasked payload; stops at the first incomplete frame.
fn ws_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let masked = bytes[1] & 0x80 != 0;
        let (len, mut at) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            126 | 127 => break,
            n => (usize::from(n), 2),
        };
        let mask = if masked {
            let Some(m) = bytes.get(at..at + 4) else {
                break;
            };
            at += 4;
            [m[0], m[1], m[2], m[3]]
        } else {
            [0; 4]
        };
        let Some(payload) = bytes.get(at..at + len) else {
            break;
        };
        let payload = payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        frames.push((opcode, payload));
        bytes = &bytes[at + len..];
    }
    frames
}

/// The code of the first Close frame in `bytes` (masked or not), with its reason; `None`
/// when the bytes hold no complete Close frame.
pub fn ws_close_code(bytes: &[u8]) -> Option<(u16, String)> {
    let (_, payload) = ws_frames(bytes).into_iter().find(|(op, _)| *op == 0x8)?;
    let code = u16::from_be_bytes([*payload.first()?, *payload.get(1)?]);
    Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()))
}

/// RFC 6455 §4.2.2 and §4.4: an upgrade at `/ws` asking for another version than 13 gets 426
/// with `Sec-WebSocket-Version: 13`; one without a version, or without a key of 16 bytes in
/// base64, gets 400. Each on a fresh connection to the HTTP port, with `Connection: close` so
/// that the server closes after its answer.
pub async fn ws_handshake_errors(connect: ConnectRaw<'_>) {
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    let cases = [
        (
            "version 8",
            format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n"),
            426,
        ),
        ("no version", format!("Sec-WebSocket-Key: {KEY}\r\n"), 400),
        ("no key", "Sec-WebSocket-Version: 13\r\n".to_owned(), 400),
        (
            "short key",
            "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n".to_owned(),
            400,
        ),
        (
            "key of 17 bytes",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=\r\nSec-WebSocket-Version: 13\r\n"
                .to_owned(),
            400,
        ),
    ];
    for (what, fields, status) in cases {
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n{fields}\r\n"
        );
        let answer = exchange(connect, request.as_bytes()).await;
        let status_line = answer.lines().next().unwrap_or("");
        assert!(
            status_line.starts_with(&format!("HTTP/1.1 {status} ")),
            "{what}: {answer}"
        );
        let lower = answer.to_ascii_lowercase();
        assert!(!lower.contains("sec-websocket-accept"), "{what}: {answer}");
        assert_eq!(
            lower.contains("\r\nsec-websocket-version: 13\r\n"),
            status == 426,
            "{what}: {answer}"
        );
    }
}

/// RFC 6455 §7.1.7: a client that breaks the protocol gets a Close frame with the reason's
/// code before the server closes TCP: 1007 for invalid UTF-8 in a text message, 1002 for
/// reserved bits, reserved opcodes, fragmented or oversized control frames, unmasked frames and
/// stray continuations. Each case on a fresh connection to the HTTP port (`/ws`).
pub async fn ws_close_codes(connect: ConnectRaw<'_>) {
    let unmasked_text = vec![0x81, 0x01, b'a'];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "invalid UTF-8",
            ws_client_frame(0x81, &[0x7b, 0xc3, 0x28]),
            1007,
        ),
        (
            "invalid UTF-8 across fragments",
            [
                ws_client_frame(0x01, b"{\"a\":\"\xe2"),
                ws_client_frame(0x80, &[0x28, 0xa1]),
            ]
            .concat(),
            1007,
        ),
        ("RSV1 set", ws_client_frame(0xc1, b"{}"), 1002),
        ("RSV3 set", ws_client_frame(0x91, b"{}"), 1002),
        ("reserved data opcode", ws_client_frame(0x83, b""), 1002),
        ("reserved control opcode", ws_client_frame(0x8b, b""), 1002),
        ("oversized ping", ws_client_frame(0x89, &[b'p'; 126]), 1002),
        ("fragmented ping", ws_client_frame(0x09, b"p"), 1002),
        ("continuation first", ws_client_frame(0x80, b"{}"), 1002),
        ("unmasked frame", unmasked_text, 1002),
    ];
    for (what, frame, code) in cases {
        let mut request = WS_HANDSHAKE.as_bytes().to_vec();
        request.extend_from_slice(&frame);
        let answer = exchange_bytes(connect, &request).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 101"), "{what}: {text}");
        let head_end = text.find("\r\n\r\n").map_or(answer.len(), |i| i + 4);
        let close = ws_close_code(&answer[head_end..]);
        assert_eq!(close.as_ref().map(|c| c.0), Some(code), "{what}: {close:?}");
    }
}

/// The text frames in `bytes` (lengths up to 64 KiB), up to the first Close frame or the
/// first incomplete frame.
pub fn ws_texts(bytes: &[u8]) -> Vec<String> {
    ws_frames(bytes)
        .into_iter()
        .take_while(|(op, _)| *op != 0x8)
        .filter(|(op, _)| *op == 0x1)
        .map(|(_, payload)| String::from_utf8_lossy(&payload).into_owned())
        .collect()
}

/// A burst far larger than the server's read buffer, in one write: 400 calls in frames of
/// their own with a 40 KB one among them (larger than a read ahead), then a Close. Every call
/// is answered once and correctly, whatever the reads the burst is cut into.
pub async fn ws_burst(connect: ConnectRaw<'_>) {
    let mut request = WS_HANDSHAKE.as_bytes().to_vec();
    let big = "y".repeat(40_000);
    for i in 0..400u64 {
        let call = if i == 200 {
            json!({"jsonrpc": "2.0", "method": "echo", "params": [big], "id": i}).to_string()
        } else {
            json!({"jsonrpc": "2.0", "method": "add_sync", "params": [i, 1], "id": i}).to_string()
        };
        request.extend_from_slice(&ws_client_frame(0x81, call.as_bytes()));
    }
    request.extend_from_slice(&ws_client_frame(0x88, &1000u16.to_be_bytes()));
    let answer = exchange_bytes(connect, &request).await;
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .expect("a 101 head");
    assert!(answer.starts_with(b"HTTP/1.1 101"));
    let mut seen = vec![false; 400];
    for text in ws_texts(&answer[head_end..]) {
        let v: Value = serde_json::from_str(&text).expect("an answer is JSON");
        let id = v["id"].as_u64().expect("an answer has its call's id") as usize;
        assert!(
            !std::mem::replace(&mut seen[id], true),
            "id {id} answered twice"
        );
        if id == 200 {
            assert_eq!(v["result"][0].as_str(), Some(big.as_str()));
        } else {
            assert_eq!(v["result"], json!(id + 1), "{text}");
        }
    }
    let missing: Vec<usize> = (0..400).filter(|&i| !seen[i]).collect();
    assert!(missing.is_empty(), "unanswered: {missing:?}");
}

async fn exchange_bytes(connect: ConnectRaw<'_>, request: &[u8]) -> Vec<u8> {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let mut io = connect().await;
    io.write_all(request).await.expect("write the request");
    io.flush().await.expect("flush");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Until the server closes (after its Close frame), or a Close frame is complete.
    loop {
        match io.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&out);
        if let Some(i) = text.find("\r\n\r\n") {
            if ws_close_code(&out[i + 4..]).is_some() {
                break;
            }
        }
    }
    out
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
    exact_ids(c).await;
    end_of_input(c).await;
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
