//! `#[rpc]` end to end over an in-memory connection: the server router, the typed client and
//! batch, param decoding errors, names (aliases, namespace, the Spark rule), merging and
//! `rpc.discover`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::executor::{block_on, ThreadPool};
use futures::future::BoxFuture;
use jsonrpc_proto::peer::{Client, ClientError, Runtime, Server, ServerConfig};
use jsonrpc_proto::rpc;
use jsonrpc_proto::service::openrpc::Info;
use jsonrpc_proto::service::{Context, Router, RouterError};
use jsonrpc_proto::{ErrorCode, ErrorObject, RawValue};
use serde::{Deserialize, Serialize};
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

/// A point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Point {
    /// Across.
    pub x: i64,
    /// Down.
    pub y: i64,
}

/// Arithmetic and friends.
#[rpc]
pub trait Calc {
    /// Adds two integers.
    ///
    /// Overflow wraps.
    async fn add(&self, a: i64, b: i64) -> i64;

    /// Divides; dividing by zero is an error.
    #[method(aliases = ["div"], error(code = -32000, message = "division by zero"))]
    async fn divide(&self, a: f64, b: f64) -> Result<f64, ErrorObject>;

    /// Greets, with an optional title.
    #[method(name = "greet")]
    async fn hello(&self, name: String, title: Option<String>) -> String;

    /// Who is calling.
    async fn whoami(&self, ctx: Context) -> String;

    /// Moves a point.
    async fn shift(&self, p: Point, by: Option<i64>) -> Point;

    /// Counts up (no answer).
    #[method(notification)]
    async fn bump(&self, by: u64);

    /// The counter.
    async fn count(&self) -> u64;

    /// The params as sent.
    #[method(raw)]
    async fn echo(&self, params: Option<Box<RawValue>>) -> Option<Box<RawValue>>;
}

#[derive(Default)]
struct CalcService {
    counter: AtomicU64,
}

#[derive(Debug)]
struct DivByZero;

impl From<DivByZero> for ErrorObject {
    fn from(_: DivByZero) -> Self {
        ErrorObject::new(ErrorCode::SERVER_ERROR, "division by zero")
    }
}

impl Calc for CalcService {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
    async fn divide(&self, a: f64, b: f64) -> Result<f64, ErrorObject> {
        if b == 0.0 {
            return Err(DivByZero.into());
        }
        Ok(a / b)
    }
    async fn hello(&self, name: String, title: Option<String>) -> String {
        match title {
            Some(t) => format!("Hello, {t} {name}!"),
            None => format!("Hello, {name}!"),
        }
    }
    async fn whoami(&self, ctx: Context) -> String {
        format!("client {}", ctx.client_id())
    }
    async fn shift(&self, p: Point, by: Option<i64>) -> Point {
        let by = by.unwrap_or(1);
        Point {
            x: p.x + by,
            y: p.y + by,
        }
    }
    async fn bump(&self, by: u64) {
        self.counter.fetch_add(by, Ordering::SeqCst);
    }
    async fn count(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }
    async fn echo(&self, params: Option<Box<RawValue>>) -> Option<Box<RawValue>> {
        params
    }
}

/// User records, reached by the Spark RpcNode rule.
#[rpc(naming = "spark")]
pub trait Users {
    /// Creates a user; returns its id.
    async fn user_create(&self, name: String) -> Result<u64, DivByZeroless>;
}

/// An error type converting into an error object.
#[derive(Debug)]
pub struct DivByZeroless;

impl From<DivByZeroless> for ErrorObject {
    fn from(_: DivByZeroless) -> Self {
        ErrorObject::invalid_params("empty name")
    }
}

struct UserService;

impl Users for UserService {
    async fn user_create(&self, name: String) -> Result<u64, DivByZeroless> {
        if name.is_empty() {
            Err(DivByZeroless)
        } else {
            Ok(name.len() as u64)
        }
    }
}

/// A namespaced API.
#[rpc(namespace = "math", namespace_separator = "_")]
pub trait Math {
    /// Negates.
    async fn neg(&self, x: i64) -> i64;
}

struct MathService;

impl Math for MathService {
    async fn neg(&self, x: i64) -> i64 {
        -x
    }
}

fn router() -> Router {
    CalcService::default()
        .into_router()
        .merge(UserService.into_router())
        .merge(MathService.into_router())
        .discover(Info::new("test", "1.0.0"))
        .build()
        .unwrap()
}

fn connect() -> Client {
    let rt = Pool(ThreadPool::new().unwrap());
    let server = Server::new(router(), rt.clone(), ServerConfig::default());
    transport_memory::serve_memory(&server, rt)
}

fn rpc_err<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorObject {
    match r {
        Err(ClientError::Rpc(e)) => e,
        other => panic!("expected an error object, got {other:?}"),
    }
}

#[test]
fn typed_client_calls() {
    let c = connect();
    block_on(async {
        assert_eq!(c.add(5, 3).await.unwrap(), 8);
        assert_eq!(c.divide(7.0, 2.0).await.unwrap(), 3.5);
        let e = rpc_err(c.divide(1.0, 0.0).await);
        assert_eq!((e.code.0, &*e.message), (-32000, "division by zero"));
        assert_eq!(c.hello("Ann".into(), None).await.unwrap(), "Hello, Ann!");
        assert_eq!(
            c.hello("Ann".into(), Some("Dr".into())).await.unwrap(),
            "Hello, Dr Ann!"
        );
        assert!(c.whoami().await.unwrap().starts_with("client "));
        let p = c.shift(Point { x: 1, y: 2 }, Some(10)).await.unwrap();
        assert_eq!(p, Point { x: 11, y: 12 });
        c.bump(4).await.unwrap();
        c.bump(1).await.unwrap();
        // Notifications run in arrival order before the next answer is read.
        assert_eq!(c.count().await.unwrap(), 5);
        let raw = RawValue::from_string(r#"{"any":[1,2]}"#.into()).unwrap();
        let back = c.echo(Some(raw)).await.unwrap().unwrap();
        assert_eq!(back.get(), r#"{"any":[1,2]}"#);
        assert_eq!(c.user_create("bob".into()).await.unwrap(), 3);
        let e = rpc_err(c.user_create(String::new()).await);
        assert_eq!(e.message, "Invalid params: empty name");
        assert_eq!(c.neg(4).await.unwrap(), -4);
    });
}

#[test]
fn params_by_position_or_name_with_errors_naming_the_param() {
    let c = connect();
    block_on(async {
        let v: i64 = c.request("add", json!({"b": 3, "a": 5})).await.unwrap();
        assert_eq!(v, 8);
        let v: i64 = c.request("add", [5, 3]).await.unwrap();
        assert_eq!(v, 8);
        // A trailing Option may be omitted, by position or by name.
        let v: String = c.request("greet", ["Ann"]).await.unwrap();
        assert_eq!(v, "Hello, Ann!");
        let v: String = c.request("greet", json!({"name": "Ann"})).await.unwrap();
        assert_eq!(v, "Hello, Ann!");
        let v: Point = c
            .request("shift", json!({"p": {"x": 0, "y": 0}}))
            .await
            .unwrap();
        assert_eq!(v, Point { x: 1, y: 1 });

        let cases: [(Value, &str); 8] = [
            (
                json!({"a": 1}),
                "Invalid params: missing required parameter `b`",
            ),
            (json!([1]), "Invalid params: missing required parameter `b`"),
            (
                json!(null),
                "Invalid params: missing required parameter `a`",
            ),
            (
                json!({"a": 1, "b": 2, "c": 3}),
                "Invalid params: unknown parameter `c` (expected: a, b)",
            ),
            (
                json!([1, 2, 3]),
                "Invalid params: expected at most 2 parameters, got 3",
            ),
            (
                json!(["x", 1]),
                "Invalid params: parameter `a`: invalid type: string \"x\", expected i64",
            ),
            (
                json!({"a": 1, "b": 1.5}),
                "Invalid params: parameter `b`: invalid type: floating point `1.5`, expected i64",
            ),
            (
                json!([1, null]),
                "Invalid params: parameter `b`: invalid type: null, expected i64",
            ),
        ];
        for (params, message) in cases {
            let r: Result<Value, _> = if params.is_null() {
                c.request("add", ()).await
            } else {
                c.request("add", params.clone()).await
            };
            let e = rpc_err(r);
            assert_eq!(e.code.0, -32602, "{params}");
            assert_eq!(e.message, message, "{params}");
        }
        let e = rpc_err(c.request::<Value, _>("count", json!({"x": 1})).await);
        assert_eq!(
            e.message,
            "Invalid params: unknown parameter `x` (this method takes no params)"
        );
        let e = rpc_err(c.request::<Value, _>("count", [1]).await);
        assert_eq!(
            e.message,
            "Invalid params: expected at most 0 parameters, got 1"
        );
        let e = rpc_err(c.request::<Value, _>("shift", json!({"p": {"x": 1}})).await);
        assert_eq!(
            e.message,
            "Invalid params: parameter `p`: missing field `y`"
        );
        // A notification with bad params is dropped, and the connection goes on.
        c.notify("bump", json!({"by": "many"})).await.unwrap();
        assert_eq!(c.count().await.unwrap(), 0);
    });
}

#[test]
fn names_aliases_namespace_and_spark_rule() {
    let c = connect();
    block_on(async {
        let v: f64 = c.request("div", [9, 3]).await.unwrap();
        assert_eq!(v, 3.0);
        for name in ["user_create", "user.create", "user-create", "user#create"] {
            let v: u64 = c.request(name, ["alice"]).await.unwrap();
            assert_eq!(v, 5, "{name}");
        }
        let v: i64 = c.request("math_neg", [2]).await.unwrap();
        assert_eq!(v, -2);
        // Only the Spark-named service matches loosely; the Rust name of a renamed method
        // is not a wire name.
        for name in ["math.neg", "neg", "hello", "user.delete"] {
            let e = rpc_err(c.request::<Value, _>(name, [1]).await);
            assert_eq!(e.code.0, -32601, "{name}");
        }
        // A notification called as a request is -32601, as for closure routers.
        let e = rpc_err(c.request::<Value, _>("bump", [1]).await);
        assert_eq!(e.code.0, -32601);
    });
}

#[test]
fn typed_calls_inside_one_batch() {
    let c = connect();
    block_on(async {
        let mut batch = c.batch();
        let sum = CalcBatch::add(&mut batch, 1, 2);
        CalcBatch::bump(&mut batch, 7);
        let quotient = batch.divide(1.0, 0.0);
        let greeting = batch.hello("Bo".into(), None);
        let mut answers = batch.send().await.unwrap();
        assert_eq!(sum.take(&mut answers).unwrap(), 3);
        let e = rpc_err(quotient.take(&mut answers));
        assert_eq!(e.code.0, -32000);
        assert_eq!(greeting.take(&mut answers).unwrap(), "Hello, Bo!");
        assert_eq!(c.count().await.unwrap(), 7);
        // A slot read against the wrong answers is an error, not a panic.
        let mut batch = c.batch();
        let first = batch.add(1, 1);
        let second = batch.add(2, 2);
        let mut answers = batch.send().await.unwrap();
        assert_eq!(second.take(&mut answers).unwrap(), 4);
        let stale = jsonrpc_proto::service::BatchSlot::<i64>::new(1);
        assert!(matches!(
            stale.take(&mut answers),
            Err(ClientError::Deserialize(_))
        ));
        let beyond = jsonrpc_proto::service::BatchSlot::<i64>::new(9);
        assert!(matches!(
            beyond.take(&mut answers),
            Err(ClientError::Deserialize(_))
        ));
        assert_eq!(first.take(&mut answers).unwrap(), 2);
    });
}

#[test]
fn merging_refuses_duplicates_and_user_rpc_names() {
    let twice = CalcService::default()
        .into_router()
        .merge(CalcService::default().into_router())
        .build();
    assert_eq!(twice.unwrap_err(), RouterError::Duplicate("add".into()));
    let reserved = Router::builder()
        .method("rpc.discover", |_c: Context, (): ()| async {
            Ok::<_, ErrorObject>(0)
        })
        .build();
    assert!(matches!(reserved, Err(RouterError::Reserved(_))));
    // Closure routes and typed services share one router.
    let router = Router::builder()
        .method("ping", |_c: Context, (): ()| async {
            Ok::<_, ErrorObject>("pong")
        })
        .merge(MathService.into_router())
        .build()
        .unwrap();
    assert!(router.has_method("ping") && router.has_method("math_neg"));
    assert!(!router.has_method("rpc.discover"));
}

#[test]
fn a_built_router_merges_too() {
    #[derive(Debug)]
    struct Greeting(&'static str);
    let inner = Router::builder()
        .state(Greeting("hi"))
        .method("hello", |ctx: Context, (name,): (String,)| async move {
            let g = ctx.state::<Greeting>().map_or("?", |g| g.0);
            Ok::<_, ErrorObject>(format!("{g} {name}"))
        })
        .prefix_raw(
            "plugin.",
            |_c: Context, call: jsonrpc_proto::service::RawCall| async move {
                Ok::<_, ErrorObject>(call.method)
            },
        )
        .merge(UserService.into_router())
        .build()
        .unwrap();
    let router = MathService
        .into_router()
        .merge_router(inner.clone())
        .build()
        .unwrap();
    let rt = Pool(ThreadPool::new().unwrap());
    let server = Server::new(router, rt.clone(), ServerConfig::default());
    let c = transport_memory::serve_memory(&server, rt);
    block_on(async {
        let v: String = c.request("hello", ["bo"]).await.unwrap();
        assert_eq!(v, "hi bo");
        let v: String = c.request("plugin.x", ()).await.unwrap();
        assert_eq!(v, "plugin.x");
        assert_eq!(c.user_create("al".into()).await.unwrap(), 2);
        let v: u64 = c.request("user.create", ["alice"]).await.unwrap();
        assert_eq!(v, 5);
        assert_eq!(c.neg(1).await.unwrap(), -1);
        let e = rpc_err(c.request::<Value, _>("hello", [1]).await);
        assert_eq!(e.code.0, -32602);
    });
    let twice = MathService
        .into_router()
        .merge_router(MathService.into_router().build().unwrap())
        .build();
    assert_eq!(
        twice.unwrap_err(),
        RouterError::Duplicate("math_neg".into())
    );
}

#[test]
fn rpc_discover_describes_every_merged_method() {
    let c = connect();
    let doc: Value = block_on(c.request("rpc.discover", ())).unwrap();
    assert_eq!(doc["openrpc"], "1.3.2");
    assert_eq!(doc["info"], json!({"title": "test", "version": "1.0.0"}));
    let methods = doc["methods"].as_array().unwrap();
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "add",
            "divide",
            "greet",
            "whoami",
            "shift",
            "bump",
            "count",
            "echo",
            "user_create",
            "math_neg"
        ]
    );
    let add = &methods[0];
    assert_eq!(add["summary"], "Adds two integers.");
    assert_eq!(add["description"], "Adds two integers.\n\nOverflow wraps.");
    assert_eq!(add["paramStructure"], "either");
    assert_eq!(add["params"][0]["name"], "a");
    assert_eq!(add["params"][0]["required"], true);
    assert_eq!(add["params"][0]["schema"]["type"], "integer");
    assert_eq!(add["result"]["schema"]["type"], "integer");
    let divide = &methods[1];
    assert_eq!(
        divide["errors"],
        json!([{"code": -32000, "message": "division by zero"}])
    );
    assert_eq!(divide["x-aliases"], json!(["div"]));
    let greet = &methods[2];
    assert_eq!(greet["params"][1]["required"], false);
    // `whoami`'s Context is not a param.
    assert_eq!(methods[3]["params"], json!([]));
    let shift = &methods[4];
    let point = &shift["params"][0]["schema"];
    assert_eq!(point["properties"]["x"]["description"], "Across.");
    assert_eq!(point["required"], json!(["x", "y"]));
    // A notification has no result (OpenRPC 1.3).
    assert!(methods[5].get("result").is_none());
    // RawValue has no JSON Schema: any value.
    assert_eq!(methods[7]["params"][0]["schema"], json!(true));
}

/// Methods that answer at once: plain `fn`s beside an `async fn`.
#[rpc]
pub trait Quick {
    /// Multiplies.
    fn mul(&self, a: i64, b: i64) -> i64;

    /// Subtracts, refusing to overflow; names its caller in the error.
    #[method(name = "checked_sub", aliases = ["csub"])]
    fn sub(&self, ctx: Context, a: i64, b: Option<i64>) -> Result<i64, ErrorObject>;

    /// Panics.
    fn boom(&self) -> u8;

    /// Waits for nothing.
    async fn later(&self) -> u8;
}

struct QuickService;

impl Quick for QuickService {
    fn mul(&self, a: i64, b: i64) -> i64 {
        a.wrapping_mul(b)
    }
    fn sub(&self, ctx: Context, a: i64, b: Option<i64>) -> Result<i64, ErrorObject> {
        a.checked_sub(b.unwrap_or(1)).ok_or_else(|| {
            ErrorObject::invalid_params(format!("overflow for client {}", ctx.client_id()))
        })
    }
    fn boom(&self) -> u8 {
        panic!("quick boom")
    }
    async fn later(&self) -> u8 {
        7
    }
}

#[test]
fn synchronous_methods_answer_like_async_ones() {
    let rt = Pool(ThreadPool::new().unwrap());
    let router = QuickService
        .into_router()
        .discover(Info::new("quick", "1.0.0"))
        .build()
        .unwrap();
    let server = Server::new(router, rt.clone(), ServerConfig::default());
    let c = transport_memory::serve_memory(&server, rt);
    block_on(async {
        assert_eq!(c.mul(6, 7).await.unwrap(), 42);
        assert_eq!(c.sub(10, Some(3)).await.unwrap(), 7);
        assert_eq!(c.sub(10, None).await.unwrap(), 9);
        let e = rpc_err(c.sub(i64::MIN, Some(1)).await);
        assert_eq!(e.code.0, -32602);
        assert!(
            e.message
                .starts_with("Invalid params: overflow for client "),
            "{}",
            e.message
        );
        assert_eq!(c.later().await.unwrap(), 7);
        assert_eq!(rpc_err(c.boom().await).code.0, -32603);
        // By name, through the alias, and with a param's error naming it.
        let v: i64 = c.request("csub", json!({"a": 5, "b": 5})).await.unwrap();
        assert_eq!(v, 0);
        let e = rpc_err(c.request::<i64, _>("mul", json!([1, "x"])).await);
        assert_eq!(e.code.0, -32602);
        assert!(e.message.contains("parameter `b`"), "{}", e.message);
        // Inside one batch with the async method.
        let mut batch = c.batch();
        let product = QuickBatch::mul(&mut batch, 3, 4);
        let waited = QuickBatch::later(&mut batch);
        let failed = QuickBatch::boom(&mut batch);
        let mut answers = batch.send().await.unwrap();
        assert_eq!(product.take(&mut answers).unwrap(), 12);
        assert_eq!(waited.take(&mut answers).unwrap(), 7);
        assert_eq!(
            failed
                .take(&mut answers)
                .unwrap_err()
                .as_rpc()
                .unwrap()
                .code
                .0,
            -32603
        );
        // OpenRPC describes them like any method.
        let doc: Value = c.request("rpc.discover", ()).await.unwrap();
        let names: Vec<&str> = doc["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["mul", "checked_sub", "boom", "later"]);
        assert_eq!(doc["methods"][1]["params"][1]["required"], false);
    });
}
