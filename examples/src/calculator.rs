//! The calculator service: add, subtract, multiply, divide, factorial, echo, sleep, and the
//! notification `log`. Params by name (`{"a":5,"b":3}`) or by position (`[5,3]`). Integer inputs
//! give integer results (`add` of 5 and 3 is `8`, not `8.0`).
//!
//! The service is one `#[rpc]` trait, [`Calculator`]: the same definition gives the router
//! ([`router`]), the typed client [`CalculatorClient`] and the OpenRPC document served at
//! `rpc.discover`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jsonrpc_proto::peer::{ClientInfo, ServerHandle, TransportKind};
use jsonrpc_proto::rpc;
use jsonrpc_proto::service::openrpc::Info;
use jsonrpc_proto::service::{Context, Hooks, Router, RouterBuilder, RouterError};
use jsonrpc_proto::{ErrorObject, RawValue};
use serde::{Deserialize, Serialize};
use serde_json::{json, Number, Value};

/// The node name reported by `/health`.
pub const NODE_NAME: &str = "CalculatorNode";

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

fn as_int(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn from_int(v: i128) -> Option<Number> {
    if let Ok(i) = i64::try_from(v) {
        Some(Number::from(i))
    } else {
        u64::try_from(v).ok().map(Number::from)
    }
}

fn finite(v: f64) -> Result<Number, ErrorObject> {
    Number::from_f64(v).ok_or_else(|| {
        ErrorObject::invalid_params("the result is not a finite number")
            .with_data(json!({"result": v.to_string()}))
    })
}

fn divide_by_zero() -> ErrorObject {
    ErrorObject::invalid_params("Cannot divide by zero")
        .with_data(json!({"parameter": "b", "reason": "must not be zero"}))
}

/// Applies an arithmetic operation, keeping the result integral when both inputs are integers
/// and the exact result is an integer that fits in 64 bits.
fn apply(op: Op, a: &Number, b: &Number) -> Result<Number, ErrorObject> {
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        let exact = match op {
            Op::Add => Some(x + y),
            Op::Sub => Some(x - y),
            Op::Mul => x.checked_mul(y),
            Op::Div => {
                if y == 0 {
                    return Err(divide_by_zero());
                }
                (x % y == 0).then(|| x / y)
            }
        };
        if let Some(n) = exact.and_then(from_int) {
            return Ok(n);
        }
    }
    let x = a.as_f64().unwrap_or(f64::NAN);
    let y = b.as_f64().unwrap_or(f64::NAN);
    let v = match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::Div => {
            if y == 0.0 {
                return Err(divide_by_zero());
            }
            x / y
        }
    };
    finite(v)
}

/// n! as a JSON number: an integer up to 20!, a float up to 170!; negative or larger n is -32602.
pub fn factorial(n: i64) -> Result<Number, ErrorObject> {
    if n < 0 {
        return Err(
            ErrorObject::invalid_params("Factorial is not defined for negative numbers")
                .with_data(json!({"parameter": "n", "value": n})),
        );
    }
    if n <= 20 {
        return Ok(Number::from((1..=n as u64).product::<u64>()));
    }
    if n > 170 {
        return Err(ErrorObject::invalid_params("n is too large (at most 170)")
            .with_data(json!({"parameter": "n", "value": n})));
    }
    finite((1..=n).map(|i| i as f64).product())
}

/// Hooks of the calculator: greet WebSocket clients with a `welcome` notification.
#[derive(Default)]
pub struct CalculatorHooks {
    server: OnceLock<ServerHandle>,
}

impl CalculatorHooks {
    /// Hooks that learn the server handle later, with [`CalculatorHooks::set_server`].
    pub fn new() -> Arc<Self> {
        Arc::new(CalculatorHooks::default())
    }

    /// Tells the hooks which server to push notifications through.
    pub fn set_server(&self, handle: ServerHandle) {
        let _ = self.server.set(handle);
    }
}

impl Hooks for CalculatorHooks {
    fn on_connect(&self, client: &ClientInfo) {
        tracing::info!(client = %client.id, transport = %client.transport.kind, "client connected");
        if client.transport.kind != TransportKind::WebSocket {
            return;
        }
        if let Some(server) = self.server.get() {
            let welcome = json!({
                "message": "Connected to RPC server",
                "client_id": client.id.to_string(),
                "server_version": env!("CARGO_PKG_VERSION"),
            });
            if let Err(e) = server.notify_client(client.id, "welcome", welcome) {
                tracing::warn!(client = %client.id, "welcome notification not sent: {e}");
            }
        }
    }

    fn on_disconnect(&self, client: &ClientInfo) {
        tracing::info!(client = %client.id, "client disconnected");
    }

    /// Only connections are watched: calls skip the hook step.
    fn observes_calls(&self) -> bool {
        false
    }
}

/// `{"sum": ..}`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sum {
    /// a + b.
    pub sum: Number,
}

/// `{"difference": ..}`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Difference {
    /// a - b.
    pub difference: Number,
}

/// `{"product": ..}`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Product {
    /// a * b.
    pub product: Number,
}

/// `{"quotient": ..}`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Quotient {
    /// a / b.
    pub quotient: Number,
}

/// `{"slept_ms": ..}`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Slept {
    /// How long the call slept, in milliseconds.
    pub slept_ms: u64,
}

/// The calculator (the seed's CalculatorNode). Callers may send members beyond the params
/// (`{"a":1,"b":2,"note":".."}`); they are ignored, as the seed's `params.get` did.
#[rpc(unknown_params = "ignore")]
pub trait Calculator {
    /// Adds two numbers.
    async fn add(&self, a: Number, b: Number) -> Result<Sum, ErrorObject>;

    /// Subtracts `b` from `a`.
    async fn subtract(&self, a: Number, b: Number) -> Result<Difference, ErrorObject>;

    /// Multiplies two numbers.
    async fn multiply(&self, a: Number, b: Number) -> Result<Product, ErrorObject>;

    /// Divides `a` by `b`.
    #[method(error(code = -32602, message = "Invalid params: Cannot divide by zero"))]
    async fn divide(&self, a: Number, b: Number) -> Result<Quotient, ErrorObject>;

    /// `n!`: an integer up to 20!, a float up to 170!.
    #[method(error(
        code = -32602,
        message = "Invalid params: Factorial is not defined for negative numbers"
    ))]
    #[method(error(code = -32602, message = "Invalid params: n is too large (at most 170)"))]
    async fn factorial(&self, n: i64) -> Result<Number, ErrorObject>;

    /// The params, as sent.
    #[method(raw)]
    async fn echo(&self, params: Option<Box<RawValue>>) -> Option<Box<RawValue>>;

    /// Sleeps `ms` milliseconds on the connection's runtime timer.
    async fn sleep(&self, ctx: Context, ms: u64) -> Slept;

    /// Prints `message` on the server's standard output (a notification: no answer).
    #[method(notification)]
    async fn log(&self, ctx: Context, message: Value);
}

/// The calculator's state: none (each call stands alone).
#[derive(Clone, Copy, Debug, Default)]
pub struct CalculatorService;

impl Calculator for CalculatorService {
    async fn add(&self, a: Number, b: Number) -> Result<Sum, ErrorObject> {
        Ok(Sum {
            sum: apply(Op::Add, &a, &b)?,
        })
    }
    async fn subtract(&self, a: Number, b: Number) -> Result<Difference, ErrorObject> {
        Ok(Difference {
            difference: apply(Op::Sub, &a, &b)?,
        })
    }
    async fn multiply(&self, a: Number, b: Number) -> Result<Product, ErrorObject> {
        Ok(Product {
            product: apply(Op::Mul, &a, &b)?,
        })
    }
    async fn divide(&self, a: Number, b: Number) -> Result<Quotient, ErrorObject> {
        Ok(Quotient {
            quotient: apply(Op::Div, &a, &b)?,
        })
    }
    async fn factorial(&self, n: i64) -> Result<Number, ErrorObject> {
        factorial(n)
    }
    async fn echo(&self, params: Option<Box<RawValue>>) -> Option<Box<RawValue>> {
        params
    }
    async fn sleep(&self, ctx: Context, ms: u64) -> Slept {
        // The connection's runtime timer: works under tokio, smol and async-std alike.
        ctx.sleep(Duration::from_millis(ms)).await;
        Slept { slept_ms: ms }
    }
    async fn log(&self, ctx: Context, message: Value) {
        let text = match &message {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!("[log from client {}] {text}", ctx.client_id());
    }
}

/// The calculator's router without hooks.
pub fn router() -> Result<Router, RouterError> {
    builder().build()
}

/// The calculator's router with the given hooks.
pub fn router_with_hooks(hooks: Arc<CalculatorHooks>) -> Result<Router, RouterError> {
    builder().hooks_arc(hooks).build()
}

/// The calculator's methods, serving its OpenRPC document at `rpc.discover`.
fn builder() -> RouterBuilder {
    CalculatorService.into_router().discover(
        Info::new("calculator", env!("CARGO_PKG_VERSION"))
            .description("The seed's CalculatorNode: arithmetic, echo, sleep and log."),
    )
}

/// Starts the calculator on tokio with its hooks wired (welcome push, `log` printing): HTTP and
/// WebSocket on `http`, newline JSON on `tcp`. Tests serve it on `127.0.0.1:0`.
pub async fn start_tokio(
    http: &str,
    tcp: &str,
) -> Result<transport_tokio::RunningServer, Box<dyn std::error::Error>> {
    let hooks = CalculatorHooks::new();
    let server = transport_tokio::Server::builder(router_with_hooks(hooks.clone())?)
        .http(http)
        .tcp(tcp)
        .node_name(NODE_NAME)
        .start()
        .await?;
    hooks.set_server(server.handle());
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: Value) -> Number {
        match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        }
    }

    #[test]
    fn integers_stay_integral() {
        assert_eq!(
            apply(Op::Add, &n(json!(5)), &n(json!(3)))
                .unwrap()
                .to_string(),
            "8"
        );
        assert_eq!(
            apply(Op::Div, &n(json!(6)), &n(json!(3)))
                .unwrap()
                .to_string(),
            "2"
        );
        assert_eq!(
            apply(Op::Div, &n(json!(7)), &n(json!(2)))
                .unwrap()
                .to_string(),
            "3.5"
        );
        assert_eq!(
            apply(Op::Add, &n(json!(1.5)), &n(json!(2)))
                .unwrap()
                .to_string(),
            "3.5"
        );
        assert_eq!(
            apply(Op::Mul, &n(json!(u64::MAX)), &n(json!(2)))
                .unwrap()
                .as_f64()
                .unwrap(),
            u64::MAX as f64 * 2.0
        );
        let e = apply(Op::Div, &n(json!(1)), &n(json!(0))).unwrap_err();
        assert_eq!(e.message, "Invalid params: Cannot divide by zero");
        assert!(apply(Op::Div, &n(json!(1.0)), &n(json!(0.0))).is_err());
    }

    #[test]
    fn factorials() {
        assert_eq!(factorial(0).unwrap().to_string(), "1");
        assert_eq!(factorial(5).unwrap().to_string(), "120");
        assert_eq!(factorial(20).unwrap().as_u64(), Some(2432902008176640000));
        assert!(factorial(21).unwrap().is_f64());
        assert!(factorial(-1).is_err());
        assert!(factorial(171).is_err());
    }
}
