//! Middleware tests through `Server::handle_http` (no transport needed).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::*;
use crate::peer::{Server, ServerConfig, TransportInfo, TransportKind};
use crate::service::{CallInfo, Hooks, Router, RouterBuilder};

use crate::peer::rt::Threads;

type Log = Arc<Mutex<Vec<String>>>;

fn logged(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// A middleware that logs `name>` on the way in and `<name` on the way out.
fn tracer(name: &'static str, log: Log) -> impl Middleware {
    from_fn(move |req: RpcRequest, next: Next| {
        let log = Arc::clone(&log);
        log.lock().unwrap().push(format!("{name}>{}", req.method));
        let fut = next.run(req);
        Box::pin(async move {
            let r = fut.await;
            log.lock().unwrap().push(format!("<{name}"));
            r
        })
    })
}

fn base() -> RouterBuilder {
    Router::builder()
        .method("echo", |_c: Context, (v,): (Value,)| async move {
            Ok::<_, ErrorObject>(v)
        })
        .method("meta", |c: Context, (): ()| async move {
            Ok::<_, ErrorObject>(json!({
                "method": c.method(),
                "id": c.request_id().map(ToString::to_string),
                "user": c.extension::<User>().map(|u| u.0.clone()),
            }))
        })
        .method("sleep", |c: Context, (ms,): (u64,)| async move {
            c.sleep(Duration::from_millis(ms)).await;
            Ok::<_, ErrorObject>(ms)
        })
        .method("panic", |_c: Context, (): ()| async move {
            if true {
                panic!("boom");
            }
            Ok::<_, ErrorObject>(())
        })
}

fn server(router: Router) -> Server {
    Server::new(router, Threads, ServerConfig::default())
}

fn post(server: &Server, body: &str) -> Option<Value> {
    post_with(server, body, TransportInfo::new(TransportKind::Http))
}

fn post_with(server: &Server, body: &str, info: TransportInfo) -> Option<Value> {
    let out = futures::executor::block_on(server.handle_http(Bytes::from(body.to_owned()), info));
    out.map(|b| serde_json::from_slice(&b).expect("JSON answer"))
}

struct User(String);

#[test]
fn layers_run_in_the_order_added_first_outermost() {
    let log = Log::default();
    let l2 = Arc::clone(&log);
    let router = base()
        .middleware(tracer("a", Arc::clone(&log)))
        .layer(tower::layer::layer_fn(move |inner: RpcService| {
            let log = Arc::clone(&l2);
            tower::service_fn(move |req: RpcRequest| {
                log.lock().unwrap().push(format!("tower>{}", req.method));
                let mut inner = inner.clone();
                tower::Service::call(&mut inner, req)
            })
        }))
        .middleware(tracer("c", Arc::clone(&log)))
        .build()
        .unwrap();
    let s = server(router);
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[5]}"#,
    )
    .unwrap();
    assert_eq!(v["result"], 5);
    assert_eq!(logged(&log), ["a>echo", "tower>echo", "c>echo", "<c", "<a"]);
}

#[test]
fn batch_members_pass_one_by_one_and_can_be_rejected_alone() {
    let log = Log::default();
    let router = base()
        .middleware(tracer("m", Arc::clone(&log)))
        .middleware(from_fn(|req: RpcRequest, next: Next| {
            if req.params.as_deref().map(|p| p.get()) == Some("[\"no\"]") {
                return Box::pin(async { Err(ErrorObject::new(-32010, "Unauthorized")) });
            }
            next.run(req)
        }))
        .build()
        .unwrap();
    let s = server(router);
    let v = post(
        &s,
        r#"[{"jsonrpc":"2.0","id":1,"method":"echo","params":["a"]},
            {"jsonrpc":"2.0","id":2,"method":"echo","params":["no"]},
            {"jsonrpc":"2.0","method":"echo","params":["n"]},
            {"jsonrpc":"2.0","id":3,"method":"missing"}]"#,
    )
    .unwrap();
    let answers = v.as_array().unwrap();
    assert_eq!(answers.len(), 3);
    let by_id = |id: i64| answers.iter().find(|a| a["id"] == id).unwrap();
    assert_eq!(by_id(1)["result"], "a");
    assert_eq!(by_id(2)["error"]["code"], -32010);
    assert_eq!(by_id(3)["error"]["code"], -32601);
    let entered: Vec<String> = logged(&log)
        .into_iter()
        .filter(|l| l.starts_with("m>"))
        .collect();
    // Three requests and the notification (unknown methods too; unhandled notifications
    // never reach the chain).
    assert_eq!(entered.len(), 4, "{entered:?}");
}

#[test]
fn request_scoped_extensions_reach_the_handler_and_stay_per_call() {
    let router = base()
        .middleware(from_fn(|mut req: RpcRequest, next: Next| {
            if let Some(user) = req
                .ctx
                .transport()
                .header("authorization")
                .map(str::to_owned)
            {
                if req.id.as_ref().map(ToString::to_string).as_deref() == Some("1") {
                    req.ctx.insert_extension(User(user));
                }
            }
            next.run(req)
        }))
        .build()
        .unwrap();
    let s = server(router);
    let mut info = TransportInfo::new(TransportKind::Http);
    info.headers = vec![("authorization".into(), "alice".into())].into();
    let v = post_with(
        &s,
        r#"[{"jsonrpc":"2.0","id":1,"method":"meta"},{"jsonrpc":"2.0","id":"two","method":"meta"}]"#,
        info,
    )
    .unwrap();
    let a = v.as_array().unwrap();
    let one = a.iter().find(|x| x["id"] == 1).unwrap();
    let two = a.iter().find(|x| x["id"] == "two").unwrap();
    assert_eq!(
        one["result"],
        json!({"method": "meta", "id": "1", "user": "alice"})
    );
    assert_eq!(
        two["result"],
        json!({"method": "meta", "id": "\"two\"", "user": null})
    );
}

#[test]
fn context_knows_method_and_id_without_middleware() {
    let s = server(base().build().unwrap());
    let v = post(&s, r#"{"jsonrpc":"2.0","id":7,"method":"meta"}"#).unwrap();
    assert_eq!(
        v["result"],
        json!({"method": "meta", "id": "7", "user": null})
    );
}

#[test]
fn rewrite_changes_the_method_called() {
    let router = base()
        .middleware(from_fn(|mut req: RpcRequest, next: Next| {
            if req.method == "v1.echo" {
                req.method = "echo".into();
            }
            next.run(req)
        }))
        .build()
        .unwrap();
    let s = server(router);
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"v1.echo","params":[1]}"#,
    )
    .unwrap();
    assert_eq!(v["result"], 1);
}

#[test]
fn timeout_per_method_answers_32001() {
    let router = base()
        .middleware(Timeout::per_method().method("sleep", Duration::from_millis(50)))
        .build()
        .unwrap();
    let s = server(router);
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"sleep","params":[2000]}"#,
    )
    .unwrap();
    assert_eq!(v["error"]["code"], -32001);
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"sleep","params":[1]}"#,
    )
    .unwrap();
    assert_eq!(v["result"], 1);
}

#[test]
fn concurrency_limit_sheds_with_32003() {
    let router = base()
        .middleware(ConcurrencyLimit::per_method().method("sleep", 1))
        .build()
        .unwrap();
    let s = server(router);
    let v = post(
        &s,
        r#"[{"jsonrpc":"2.0","id":1,"method":"sleep","params":[200]},
            {"jsonrpc":"2.0","id":2,"method":"sleep","params":[200]},
            {"jsonrpc":"2.0","id":3,"method":"echo","params":[3]}]"#,
    )
    .unwrap();
    let codes: Vec<Value> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["error"]["code"].clone())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == -32003).count(), 1, "{v}");
    // Slots come back when calls end.
    let v = post(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"sleep","params":[1]}"#,
    )
    .unwrap();
    assert_eq!(v["result"], 1);
}

#[test]
fn tower_concurrency_limit_layer_works_as_it_is() {
    let router = base()
        .layer(tower::limit::ConcurrencyLimitLayer::new(1))
        .build()
        .unwrap();
    let s = server(router);
    let started = Instant::now();
    let v = post(
        &s,
        r#"[{"jsonrpc":"2.0","id":1,"method":"sleep","params":[100]},
            {"jsonrpc":"2.0","id":2,"method":"sleep","params":[100]}]"#,
    )
    .unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    // One at a time: the second waited for the first.
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn rate_limit_answers_32002_per_client() {
    let router = base()
        .middleware(RateLimit::new(2, Duration::from_secs(3600)))
        .build()
        .unwrap();
    let s = server(router);
    let from = |ip: &str| {
        let mut info = TransportInfo::new(TransportKind::Http);
        info.peer_addr = Some(format!("{ip}:1000").parse().unwrap());
        info
    };
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}"#;
    for _ in 0..2 {
        assert_eq!(post_with(&s, call, from("10.0.0.1")).unwrap()["result"], 1);
    }
    let v = post_with(&s, call, from("10.0.0.1")).unwrap();
    assert_eq!(v["error"]["code"], -32002);
    assert_eq!(v["error"]["data"]["limit"], 2);
    assert_eq!(post_with(&s, call, from("10.0.0.2")).unwrap()["result"], 1);
}

struct CountHooks(Log);
impl Hooks for CountHooks {
    fn before_request<'a>(
        &'a self,
        call: &'a CallInfo<'a>,
    ) -> BoxFuture<'a, Result<(), ErrorObject>> {
        self.0.lock().unwrap().push(format!("hook>{}", call.method));
        Box::pin(std::future::ready(Ok(())))
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
        self.0
            .lock()
            .unwrap()
            .push(format!("<hook {} {what}", call.method));
    }
}

#[test]
fn hooks_run_outside_middleware_and_see_panics() {
    let log = Log::default();
    let router = base()
        .middleware(tracer("m", Arc::clone(&log)))
        .hooks(CountHooks(Arc::clone(&log)))
        .build()
        .unwrap();
    let s = server(router);
    let v = post(&s, r#"{"jsonrpc":"2.0","id":1,"method":"panic"}"#).unwrap();
    assert_eq!(v["error"]["code"], -32603);
    assert_eq!(
        logged(&log),
        ["hook>panic", "m>panic", "<m", "<hook panic -32603"]
    );
}

#[test]
fn with_middleware_wraps_a_built_router_outermost() {
    let log = Log::default();
    let router = base()
        .middleware(tracer("inner", Arc::clone(&log)))
        .build()
        .unwrap()
        .with_middleware(tracer("outer", Arc::clone(&log)));
    let s = server(router);
    post(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}"#,
    )
    .unwrap();
    assert_eq!(
        logged(&log),
        ["outer>echo", "inner>echo", "<inner", "<outer"]
    );
}

#[test]
fn bad_input_through_middleware_never_panics() {
    let log = Log::default();
    let s = server(base().middleware(tracer("m", log)).build().unwrap());
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"rpc.x"}, 5, {"id":2}]"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"v":1}}"#,
    ] {
        let v = post(&s, body).unwrap();
        assert!(v.is_object() || v.is_array(), "{v}");
    }
}

#[cfg(feature = "metrics")]
#[test]
fn metrics_count_calls_errors_and_notifications() {
    let metrics = Metrics::for_methods(["echo", "sleep"]);
    let router = base().build().unwrap().with_middleware(metrics.clone());
    let s = server(router);
    for i in 0..5 {
        post(
            &s,
            &format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"echo","params":[{i}]}}"#),
        )
        .unwrap();
    }
    post(&s, r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#).unwrap();
    post(&s, r#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#).unwrap();
    assert!(post(&s, r#"{"jsonrpc":"2.0","method":"echo","params":[1]}"#).is_none());
    let text = metrics.render();
    assert!(
        text.contains(r#"jsonrpc_requests_total{method="echo"} 6"#),
        "{text}"
    );
    assert!(text.contains(r#"jsonrpc_requests_total{method="other"} 1"#));
    assert!(text.contains(r#"jsonrpc_errors_total{method="other",code="-32601"} 1"#));
    assert!(text.contains(r#"jsonrpc_errors_total{method="echo",code="-32602"} 1"#));
    assert!(text.contains(r#"jsonrpc_notifications_total{method="echo"} 1"#));
    assert!(text.contains(r#"jsonrpc_request_duration_seconds_count{method="echo"} 6"#));
    assert!(text.contains("jsonrpc_requests_in_flight 0"));
}

mod spans {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id as SpanId, Record};
    use tracing_subscriber::layer::{Context as LayerCx, SubscriberExt};
    use tracing_subscriber::Layer;

    type Fields = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

    struct Recorder(Fields);
    struct Visitor<'a>(&'a mut BTreeMap<String, String>);
    impl Visit for Visitor<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(
                field.name().to_owned(),
                format!("{value:?}").replace('"', ""),
            );
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
    }
    impl<S: tracing::Subscriber> Layer<S> for Recorder {
        fn on_new_span(&self, attrs: &Attributes<'_>, _id: &SpanId, _cx: LayerCx<'_, S>) {
            if attrs.metadata().name() == "rpc.call" {
                let mut m = BTreeMap::new();
                attrs.record(&mut Visitor(&mut m));
                self.0.lock().unwrap().push(m);
            }
        }
        fn on_record(&self, _id: &SpanId, values: &Record<'_>, _cx: LayerCx<'_, S>) {
            // One call at a time in this test: the last span is the one recorded.
            if let Some(m) = self.0.lock().unwrap().last_mut() {
                values.record(&mut Visitor(m));
            }
        }
    }

    #[test]
    fn each_call_gets_an_otel_span() {
        let fields = Fields::default();
        let subscriber = tracing_subscriber::registry().with(Recorder(Arc::clone(&fields)));
        let _default = tracing::subscriber::set_default(subscriber);
        let s = super::server(super::base().build().unwrap());
        super::post(
            &s,
            r#"{"jsonrpc":"2.0","id":"a1","method":"echo","params":[1]}"#,
        );
        super::post(&s, r#"{"jsonrpc":"2.0","id":2,"method":"missing"}"#);
        let spans = fields.lock().unwrap().clone();
        assert_eq!(spans.len(), 2, "{spans:?}");
        let ok = &spans[0];
        assert_eq!(ok["rpc.system"], "jsonrpc");
        assert_eq!(ok["rpc.method"], "echo");
        assert_eq!(ok["otel.name"], "echo");
        assert_eq!(ok["otel.kind"], "server");
        assert_eq!(ok["rpc.jsonrpc.version"], "2.0");
        assert_eq!(ok["rpc.jsonrpc.request_id"], "a1");
        assert_eq!(ok["rpc.transport"], "http");
        assert!(ok.contains_key("jsonrpc.client_id"));
        assert!(!ok.contains_key("rpc.jsonrpc.error_code"));
        let failed = &spans[1];
        assert_eq!(failed["rpc.jsonrpc.request_id"], "2");
        assert_eq!(failed["rpc.jsonrpc.error_code"], "-32601");
        assert_eq!(failed["otel.status_code"], "ERROR");
    }
}
