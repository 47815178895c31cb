//! Router and dispatch tests through `Server::handle_http` (no transport needed).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::peer::{Server, ServerConfig, TransportInfo, TransportKind};
use crate::protocol::error::ErrorObject;
use serde_json::value::RawValue;

use crate::peer::rt::Threads;

#[derive(Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

struct Recorder(Arc<Log>);
impl Hooks for Recorder {
    fn before_request<'a>(
        &'a self,
        call: &'a CallInfo<'a>,
    ) -> BoxFuture<'a, Result<(), ErrorObject>> {
        Box::pin(async move {
            if call.method == "limited" {
                return Err(ErrorObject::rate_limited());
            }
            if call.method == "private"
                && call.client.transport.header("authorization") != Some("t0k3n")
            {
                return Err(ErrorObject::new(-32010, "Unauthorized"));
            }
            Ok(())
        })
    }
    fn after_request(
        &self,
        call: &CallInfo<'_>,
        outcome: Result<&RawValue, &ErrorObject>,
        _elapsed: Duration,
    ) {
        let what = match outcome {
            Ok(v) => v.get().to_owned(),
            Err(e) => e.code.to_string(),
        };
        let id = call.id.map_or("-".to_owned(), ToString::to_string);
        self.0
             .0
            .lock()
            .unwrap()
            .push(format!("{} {} {}", call.method, id, what));
    }
}

fn router(log: Arc<Log>) -> Router {
    Router::builder()
        .state(41u32)
        .hooks(Recorder(log))
        .method("add", |_c: Context, p: Add| async move {
            Ok::<_, ErrorObject>(p.a + p.b)
        })
        .method("state", |c: Context, (): ()| async move {
            Ok::<_, ErrorObject>(*c.state::<u32>().expect("state") + 1)
        })
        .method("limited", |_c: Context, (): ()| async move {
            Ok::<_, ErrorObject>(1)
        })
        .method("private", |_c: Context, (): ()| async move {
            Ok::<_, ErrorObject>("secret")
        })
        .method("panic", |_c: Context, (): ()| async move {
            if true {
                panic!("boom");
            }
            Ok::<_, ErrorObject>(())
        })
        .method("sleep", |_c: Context, (): ()| async move {
            futures::future::pending::<()>().await;
            Ok::<_, ErrorObject>(())
        })
        .method("fail", |_c: Context, (): ()| async move {
            Err::<(), _>(ErrorObject::new(7, "app").with_data(json!([1, {"x": null}])))
        })
        .method("kind", |c: Context, (): ()| async move {
            Ok::<_, ErrorObject>(c.transport().kind.to_string())
        })
        .method("push", |c: Context, (): ()| async move {
            Ok::<_, ErrorObject>(c.notify("x", ()).is_err() && c.peer().is_none())
        })
        .notification("note", |_c: Context, (): ()| async move {})
        .method_sync("sync_add", |_c: Context, p: Add| Ok(p.a + p.b))
        .build()
        .expect("valid router")
}

fn server() -> (Server, Arc<Log>) {
    let log = Arc::new(Log::default());
    let config = ServerConfig {
        request_timeout: Some(Duration::from_millis(100)),
        ..ServerConfig::default()
    };
    (Server::new(router(Arc::clone(&log)), Threads, config), log)
}

fn post(server: &Server, body: &str) -> Option<Value> {
    post_with(server, body, TransportInfo::new(TransportKind::Http))
}

fn post_with(server: &Server, body: &str, info: TransportInfo) -> Option<Value> {
    let out = futures::executor::block_on(server.handle_http(Bytes::from(body.to_owned()), info));
    out.map(|b| serde_json::from_slice(&b).expect("JSON answer"))
}

#[test]
fn reserved_and_duplicate_names_fail_at_build() {
    let r = Router::builder()
        .method("rpc.discover", |_c: Context, (): ()| async {
            Ok::<_, ErrorObject>(())
        })
        .build();
    assert_eq!(r.unwrap_err(), RouterError::Reserved("rpc.discover".into()));
    let r = Router::builder()
        .method("a", |_c: Context, (): ()| async {
            Ok::<_, ErrorObject>(())
        })
        .notification("a", |_c: Context, (): ()| async {})
        .build();
    assert_eq!(r.unwrap_err(), RouterError::Duplicate("a".into()));
}

#[test]
fn positional_named_and_errors() {
    let (s, log) = server();
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":1}"#,
    )
    .unwrap();
    assert_eq!(v["result"], 8);
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":"x"}"#,
    )
    .unwrap();
    assert_eq!(
        (v["result"].clone(), v["id"].clone()),
        (json!(8), json!("x"))
    );
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","method":"add","params":{"a":5},"id":2}"#,
    )
    .unwrap();
    assert_eq!(v["error"]["code"], -32602);
    assert_eq!(v["error"]["message"], "Invalid params: missing field `b`");
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"nope","id":3}"#).unwrap();
    assert_eq!(v["error"]["code"], -32601);
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"panic","id":4}"#).unwrap();
    assert_eq!(v["error"]["code"], -32603);
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"fail","id":5}"#).unwrap();
    assert_eq!(
        v["error"],
        json!({"code": 7, "message": "app", "data": [1, {"x": null}]})
    );
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"state","id":6}"#).unwrap();
    assert_eq!(v["result"], 42);
    let v = post(&s, "{oops").unwrap();
    assert_eq!(
        (v["error"]["code"].clone(), v["id"].clone()),
        (json!(-32700), Value::Null)
    );
    let log = log.0.lock().unwrap();
    assert!(log.contains(&"add 1 8".to_owned()), "{log:?}");
    assert!(log.contains(&"panic 4 -32603".to_owned()), "{log:?}");
    assert!(log.contains(&"fail 5 7".to_owned()), "{log:?}");
}

/// `method_sync` handlers without middleware (answered as the call is read) and behind the
/// hooks of [`router`]: params, errors, panics, state, notifications, batches.
#[test]
fn sync_methods_answer_like_async_ones() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let plain = Router::builder()
        .state(AtomicU32::new(0))
        .method_sync("add", |_c: Context, (a, b): (i64, i64)| {
            a.checked_add(b)
                .ok_or_else(|| ErrorObject::invalid_params("the sum overflows i64"))
        })
        .method_sync("bump", |c: Context, (): ()| {
            let n = c.state::<AtomicU32>().expect("state");
            Ok(n.fetch_add(1, Ordering::SeqCst) + 1)
        })
        .method_sync("boom", |_c: Context, (): ()| -> Result<(), ErrorObject> {
            panic!("boom")
        })
        .method_sync("text", |_c: Context, (s,): (String,)| Ok(s))
        .build()
        .expect("valid router");
    let s = Server::new(plain, Threads, ServerConfig::default());
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":1}"#,
    )
    .unwrap();
    assert_eq!(v, json!({"jsonrpc": "2.0", "result": 8, "id": 1}));
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","method":"add","params":[5],"id":2}"#,
    )
    .unwrap();
    assert_eq!(v["error"]["code"], -32602, "{v}");
    let big = i64::MAX;
    let v = post(
        &s,
        &format!(r#"{{"jsonrpc":"2.0","method":"add","params":[{big},1],"id":3}}"#),
    )
    .unwrap();
    assert_eq!(
        v["error"],
        json!({"code": -32602, "message": "Invalid params: the sum overflows i64"})
    );
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"boom","id":4}"#).unwrap();
    assert_eq!(
        (v["error"]["code"].clone(), v["id"].clone()),
        (json!(-32603), json!(4))
    );
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","method":"text","params":["a\"b"],"id":5}"#,
    )
    .unwrap();
    assert_eq!(v["result"], "a\"b");
    // As a notification it runs (no answer); the next call sees its effect.
    assert_eq!(post(&s, r#"{"jsonrpc":"2.0","method":"bump"}"#), None);
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"bump","id":6}"#).unwrap();
    assert_eq!(v["result"], 2);
    let v = post(
        &s,
        r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":"a"},
            {"jsonrpc":"2.0","method":"bump"},
            {"jsonrpc":"2.0","method":"boom","id":"b"},
            {"jsonrpc":"2.0","method":"add","params":[3,4],"id":"c"}]"#,
    )
    .unwrap();
    assert_eq!(
        v,
        json!([
            {"jsonrpc": "2.0", "result": 3, "id": "a"},
            {"jsonrpc": "2.0", "error": {"code": -32603, "message": "Internal error"}, "id": "b"},
            {"jsonrpc": "2.0", "result": 7, "id": "c"},
        ]),
        "{v}"
    );
    // Behind hooks: observed like any method.
    let (s, log) = server();
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","method":"sync_add","params":{"a":2,"b":2},"id":7}"#,
    )
    .unwrap();
    assert_eq!(v["result"], 4);
    assert!(log.0.lock().unwrap().contains(&"sync_add 7 4".to_owned()));
}

#[test]
fn hooks_reject_before_the_handler() {
    let (s, log) = server();
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"limited","id":1}"#).unwrap();
    assert_eq!(v["error"]["code"], -32002);
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"private","id":2}"#).unwrap();
    assert_eq!(v["error"]["code"], -32010);
    let mut info = TransportInfo::new(TransportKind::Http);
    info.headers.push(("authorization".into(), "t0k3n".into()));
    let v = post_with(&s, r#"{"jsonrpc":"2.0","method":"private","id":3}"#, info).unwrap();
    assert_eq!(v["result"], "secret");
    assert!(log
        .0
        .lock()
        .unwrap()
        .contains(&"limited 1 -32002".to_owned()));
}

#[test]
fn http_context_and_notifications() {
    let (s, _) = server();
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"kind","id":1}"#).unwrap();
    assert_eq!(v["result"], "http");
    let v = post(&s, r#"{"jsonrpc":"2.0","method":"push","id":1}"#).unwrap();
    assert_eq!(v["result"], true, "no pushes or callbacks over HTTP");
    assert!(
        post(&s, r#"{"jsonrpc":"2.0","method":"note"}"#).is_none(),
        "204"
    );
    assert!(post(
        &s,
        r#"[{"jsonrpc":"2.0","method":"note"},{"jsonrpc":"2.0","method":"add","params":[1,1]}]"#
    )
    .is_none());
}

#[test]
fn batch_members_run_concurrently_and_time_out_alone() {
    let (s, _) = server();
    let v = post(
        &s,
        r#"[{"jsonrpc":"2.0","method":"sleep","id":1},{"jsonrpc":"2.0","method":"add","params":[2,2],"id":2},{"x":1}]"#,
    )
    .unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    let by_id = |id: i64| arr.iter().find(|e| e["id"] == id).cloned().unwrap();
    assert_eq!(by_id(1)["error"]["code"], -32001);
    assert_eq!(by_id(2)["result"], 4);
    assert_eq!(s.handle().pending_requests(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn positional_and_named_agree(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000, id in 0u64..u64::MAX) {
        let (s, _) = server();
        let p = post(&s, &format!(r#"{{"jsonrpc":"2.0","method":"add","params":[{a},{b}],"id":{id}}}"#)).unwrap();
        let n = post(&s, &format!(r#"{{"jsonrpc":"2.0","method":"add","params":{{"b":{b},"a":{a}}},"id":{id}}}"#)).unwrap();
        prop_assert_eq!(&p, &n);
        prop_assert_eq!(p["result"].as_i64(), Some(a + b));
        prop_assert_eq!(p["id"].as_u64(), Some(id));
    }

    #[test]
    fn any_method_name_gets_an_answer(method in "[a-z.$/]{0,12}") {
        let (s, _) = server();
        let body = format!(r#"{{"jsonrpc":"2.0","method":{},"id":1}}"#, serde_json::to_string(&method).unwrap());
        let v = post(&s, &body).unwrap();
        prop_assert_eq!(v["id"].as_u64(), Some(1));
        prop_assert!(v.get("result").is_some() || v["error"]["code"].is_i64());
    }
}

#[test]
fn prefix_and_whole_call_routes() {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let record = |tag: &'static str| {
        let tx = tx.clone();
        move |_c: Context, call: RawCall| {
            let tx = tx.clone();
            async move {
                let line = format!(
                    "{tag} {} {} {}",
                    call.method,
                    call.params.as_ref().map_or("-", |p| p.get()),
                    call.id.as_ref().map_or("-".to_owned(), ToString::to_string)
                );
                let _ = tx.send(line.clone());
                Ok::<_, ErrorObject>(line)
            }
        }
    };
    let router = Router::builder()
        .method("calc.exact", |_c: Context, _p: Value| async move {
            Ok::<_, ErrorObject>("exact")
        })
        .prefix_raw("calc.", record("short"))
        .prefix_raw("calc.deep.", record("long"))
        .prefix_raw("", record("any"))
        .call_raw("whole", record("whole"))
        .build()
        .expect("valid router");
    let s = Server::new(router, Threads, ServerConfig::default());
    let call = |method: &str| {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":[1],"id":7}}"#);
        post(&s, &body).unwrap()
    };
    assert_eq!(call("calc.exact")["result"], "exact");
    assert_eq!(call("calc.add")["result"], "short calc.add [1] 7");
    assert_eq!(call("calc.deep.x")["result"], "long calc.deep.x [1] 7");
    assert_eq!(call("other")["result"], "any other [1] 7");
    assert_eq!(call("whole")["result"], "whole whole [1] 7");
    assert_eq!(call("rpc.discover")["error"]["code"], -32601, "reserved");
    // A notification reaches the route with no id (its handler runs in the background).
    assert!(post(&s, r#"{"jsonrpc":"2.0","method":"calc.note"}"#).is_none());
    let note = (0..10)
        .filter_map(|_| rx.recv_timeout(Duration::from_secs(10)).ok())
        .find(|l| l.contains("note"));
    assert_eq!(note.as_deref(), Some("short calc.note - -"));

    let dup = Router::builder()
        .prefix_raw("a.", record("x"))
        .prefix_raw("a.", record("y"))
        .build();
    assert_eq!(dup.unwrap_err(), RouterError::Duplicate("a.*".into()));
    let reserved = Router::builder().prefix_raw("rpc.", record("x")).build();
    assert_eq!(reserved.unwrap_err(), RouterError::Reserved("rpc.".into()));
}

/// Hooks that watch connections only: a `before_request` that would reject everything, never
/// called because `observes_calls` is `false`.
struct ConnectionsOnly(Arc<Log>);
impl Hooks for ConnectionsOnly {
    fn before_request<'a>(
        &'a self,
        _call: &'a CallInfo<'a>,
    ) -> BoxFuture<'a, Result<(), ErrorObject>> {
        self.0 .0.lock().unwrap().push("before".into());
        Box::pin(std::future::ready(Err(ErrorObject::new(-32010, "never"))))
    }
    fn observes_calls(&self) -> bool {
        false
    }
    fn on_connect(&self, client: &ClientInfo) {
        self.0
             .0
            .lock()
            .unwrap()
            .push(format!("connect {}", client.transport.kind));
    }
}

#[test]
fn hooks_that_observe_no_calls_are_skipped_per_call_but_see_connections() {
    use crate::peer::{ClientId, ClientInfo, Dispatch};
    let log = Arc::new(Log::default());
    let router = Router::builder()
        .hooks(ConnectionsOnly(Arc::clone(&log)))
        .method("add", |_c: Context, p: Add| async move {
            Ok::<_, ErrorObject>(p.a + p.b)
        })
        .build()
        .unwrap();
    assert!(router.hooks().is_some());
    assert!(!Dispatch::observes_calls(&router));
    let s = Server::new(router.clone(), Threads, ServerConfig::default());
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":2,"b":3}}"#,
    );
    assert_eq!(v.unwrap()["result"], 5);
    let v = post(&s, r#"{"jsonrpc":"2.0","id":2,"method":"nope"}"#);
    assert_eq!(v.unwrap()["error"]["code"], -32601);
    let client = ClientInfo {
        id: ClientId(7),
        transport: TransportInfo::new(TransportKind::WebSocket),
    };
    Dispatch::connected(&router, &client);
    assert_eq!(*log.0.lock().unwrap(), ["connect websocket"]);
}

/// Bodies of one HTTP connection share a scratch: each still sees its own client id and
/// transport, a context a handler kept is not reused, and a body's leftovers never leak
/// into the next one.
#[test]
fn bodies_sharing_a_scratch_see_their_own_client() {
    let kept: Arc<Mutex<Vec<Context>>> = Arc::default();
    let keep = Arc::clone(&kept);
    let router = Router::builder()
        .method("who", |ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>((
                ctx.client_id().0,
                ctx.transport().path.clone(),
                ctx.transport().header("x-n").map(str::to_owned),
            ))
        })
        .method("keep", move |ctx: Context, (): ()| {
            keep.lock().unwrap().push(ctx);
            async { Ok::<_, ErrorObject>(1) }
        })
        .build()
        .unwrap();
    let server = Server::new(router, Threads, ServerConfig::default());
    let mut scratch = crate::peer::HttpScratch::default();
    let mut post = |body: &str, n: &str| {
        let mut info = TransportInfo::new(TransportKind::Http);
        info.path = Some(format!("/{n}"));
        info.headers = crate::peer::Headers::from(vec![("x-n".to_owned(), n.to_owned())]);
        let out = futures::executor::block_on(server.handle_http_in(
            Bytes::from(body.to_owned()),
            info,
            &mut scratch,
        ));
        serde_json::from_slice::<Value>(&out.expect("an answer")).unwrap()
    };
    let who = r#"{"jsonrpc":"2.0","id":1,"method":"who"}"#;
    let mut ids = Vec::new();
    for n in ["a", "b"] {
        let out = post(who, n);
        assert_eq!(out["result"][1], json!(format!("/{n}")));
        assert_eq!(out["result"][2], json!(n));
        ids.push(out["result"][0].clone());
    }
    let out = post(
        r#"[{"jsonrpc":"2.0","id":7,"method":"keep"},{"jsonrpc":"2.0","id":8,"method":"nope"}]"#,
        "c",
    );
    assert_eq!(out[0]["result"], json!(1));
    assert_eq!(out[1]["error"]["code"], json!(-32601));
    let out = post(who, "d");
    assert_eq!(out["result"][1], json!("/d"));
    ids.push(out["result"][0].clone());
    // The kept context still describes its own body's client.
    let kept = kept.lock().unwrap();
    assert_eq!(kept[0].transport().path.as_deref(), Some("/c"));
    assert_eq!(kept[0].transport().header("x-n"), Some("c"));
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && kept[0].client_id().0 != ids[2]);
}

#[test]
fn only_synchronous_methods_with_nothing_around_them_are_answered_at_once() {
    use crate::peer::Dispatch;
    let build = |hooked: bool| {
        let b = Router::builder()
            .method_sync("now", |_ctx: Context, (): ()| Ok::<i64, ErrorObject>(1))
            .method("later", |_ctx: Context, (): ()| async {
                Ok::<i64, ErrorObject>(1)
            })
            .notification("note", |_ctx: Context, (): ()| async {});
        let b = if hooked {
            b.hooks(Recorder(Arc::default()))
        } else {
            b
        };
        b.build().expect("router")
    };
    let plain = build(false);
    assert!(plain.answers_at_once("now"));
    for method in ["later", "note", "missing", "rpc.discover"] {
        assert!(!plain.answers_at_once(method), "{method}");
    }
    // Hooks and middleware run every call as a future.
    assert!(!build(true).answers_at_once("now"));
}
