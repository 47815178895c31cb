//! math_service: newline-delimited JSON-RPC over raw TCP (the kn-sock scenario).
//!
//! The server registers plain functions under flat names, params by position: `add`,
//! `subtract`, `multiply`, `divide` (dividing by zero is an error the client sees), `factorial`,
//! `hello`, `get_time`, and a small user service (`user_create`, `user_get`, `user_list`,
//! `user_delete`). [`run_demo`] is the client: one printed line per call.
//!
//! Two `#[rpc]` traits, [`MathApi`] and [`UserApi`], each served by its own type and merged
//! into one router (as separate crates owning parts of one API would); the demo calls them
//! through the generated [`MathApiClient`] and [`UserApiClient`].

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonrpc_proto::peer::{Client, ClientError};
use jsonrpc_proto::rpc;
use jsonrpc_proto::service::{Router, RouterError};
use jsonrpc_proto::{ErrorCode, ErrorObject};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use transport_tokio::{RunningServer, Server};

/// Every method the server offers, in registration order.
pub const METHODS: [&str; 11] = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "factorial",
    "hello",
    "get_time",
    "user_create",
    "user_get",
    "user_list",
    "user_delete",
];

/// -32000 with `message`: how a failing function reports to the caller.
fn failure(message: &str) -> ErrorObject {
    ErrorObject::new(ErrorCode::SERVER_ERROR, message.to_owned())
}

/// Integer arithmetic when both operands are integers (and it does not overflow), else floating
/// point.
fn arith(
    a: &Number,
    b: &Number,
    int: fn(i64, i64) -> Option<i64>,
    float: fn(f64, f64) -> f64,
) -> Value {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        if let Some(r) = int(x, y) {
            return r.into();
        }
    }
    let (x, y) = (
        a.as_f64().unwrap_or(f64::NAN),
        b.as_f64().unwrap_or(f64::NAN),
    );
    Number::from_f64(float(x, y)).map_or(Value::Null, Value::Number)
}

/// `n!` for `0 <= n <= 34` (larger does not fit in 128 bits).
pub fn factorial(n: i64) -> Result<u128, ErrorObject> {
    if n < 0 {
        return Err(failure("Factorial is not defined for negative numbers"));
    }
    (2..=n as u128)
        .try_fold(1u128, |acc, i| acc.checked_mul(i))
        .ok_or_else(|| failure("Factorial is too large"))
}

/// The current UTC time as ISO 8601 (`2024-05-01T12:34:56.789Z`).
pub fn now_iso8601() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// A user record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    /// Assigned by the server, from 1.
    pub id: u64,
    /// The name given.
    pub name: String,
    /// The email given.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
}

/// The user service's storage.
#[derive(Debug, Default)]
pub struct Users {
    inner: Mutex<(u64, BTreeMap<u64, User>)>,
}

impl Users {
    fn with<T>(&self, f: impl FnOnce(&mut (u64, BTreeMap<u64, User>)) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The math functions, `hello` and `get_time`; params by position (or by name).
#[rpc]
pub trait MathApi {
    /// a + b (integers stay integral).
    async fn add(&self, a: Number, b: Number) -> Value;
    /// a - b.
    async fn subtract(&self, a: Number, b: Number) -> Value;
    /// a * b.
    async fn multiply(&self, a: Number, b: Number) -> Value;
    /// a / b; dividing by zero is -32000.
    #[method(error(code = -32000, message = "Division by zero is not allowed"))]
    async fn divide(&self, a: f64, b: f64) -> Result<f64, ErrorObject>;
    /// n! for 0 <= n <= 34.
    async fn factorial(&self, n: i64) -> Result<u128, ErrorObject>;
    /// "Hello, {name}!".
    async fn hello(&self, name: String) -> String;
    /// The server's UTC time, ISO 8601.
    async fn get_time(&self) -> String;
}

/// The user service.
#[rpc]
pub trait UserApi {
    /// Creates a user.
    async fn user_create(&self, name: String, email: String) -> User;
    /// The user with `id`, or null.
    async fn user_get(&self, id: u64) -> Option<User>;
    /// Every user, by id.
    async fn user_list(&self) -> Vec<User>;
    /// Deletes the user with `id`; gives it back, or null.
    async fn user_delete(&self, id: u64) -> Option<User>;
}

/// Serves [`MathApi`]: no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct MathFunctions;

impl MathApi for MathFunctions {
    async fn add(&self, a: Number, b: Number) -> Value {
        arith(&a, &b, i64::checked_add, |x, y| x + y)
    }
    async fn subtract(&self, a: Number, b: Number) -> Value {
        arith(&a, &b, i64::checked_sub, |x, y| x - y)
    }
    async fn multiply(&self, a: Number, b: Number) -> Value {
        arith(&a, &b, i64::checked_mul, |x, y| x * y)
    }
    async fn divide(&self, a: f64, b: f64) -> Result<f64, ErrorObject> {
        if b == 0.0 {
            return Err(failure("Division by zero is not allowed"));
        }
        Ok(a / b)
    }
    async fn factorial(&self, n: i64) -> Result<u128, ErrorObject> {
        factorial(n)
    }
    async fn hello(&self, name: String) -> String {
        format!("Hello, {name}!")
    }
    async fn get_time(&self) -> String {
        now_iso8601()
    }
}

impl UserApi for Users {
    async fn user_create(&self, name: String, email: String) -> User {
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        self.with(|(next, all)| {
            *next += 1;
            let user = User {
                id: *next,
                name,
                email,
                created_at,
            };
            all.insert(user.id, user.clone());
            user
        })
    }
    async fn user_get(&self, id: u64) -> Option<User> {
        self.with(|(_, all)| all.get(&id).cloned())
    }
    async fn user_list(&self) -> Vec<User> {
        self.with(|(_, all)| all.values().cloned().collect())
    }
    async fn user_delete(&self, id: u64) -> Option<User> {
        self.with(|(_, all)| all.remove(&id))
    }
}

/// The router: math functions, `hello`, `get_time` and the user service.
pub fn router() -> Result<Router, RouterError> {
    MathFunctions
        .into_router()
        .merge(Users::default().into_router())
        .build()
}

/// Serves [`router`] over newline-delimited JSON on raw TCP at `addr` (e.g. "127.0.0.1:8080").
pub async fn start(addr: &str) -> Result<RunningServer, Box<dyn Error + Send + Sync>> {
    Ok(Server::builder(router()?).tcp(addr).start().await?)
}

/// A failed call as the demo prints it: the server's message, or what went wrong locally.
fn reason(e: &ClientError) -> String {
    match e {
        ClientError::Rpc(obj) => obj.message.to_string(),
        other => other.to_string(),
    }
}

/// The client demo: one line per call, like the seed's client prints them. Connection-level
/// failures end the demo with `Err`; errors the server answers are printed.
pub async fn run_demo(client: &Client) -> Result<Vec<String>, ClientError> {
    let mut out = Vec::new();
    let greeting = client.hello("Alice".into()).await?;
    out.push(format!("Greeting: {greeting}"));
    let time = client.get_time().await?;
    out.push(format!("Server time: {time}"));
    let sum = client.add(10.into(), 20.into()).await?;
    out.push(format!("10 + 20 = {sum}"));
    let diff = client.subtract(10.into(), 20.into()).await?;
    out.push(format!("10 - 20 = {diff}"));
    let product = client.multiply(7.into(), 8.into()).await?;
    out.push(format!("7 * 8 = {product}"));
    let quotient = client.divide(100.0, 4.0).await?;
    out.push(format!("100 / 4 = {quotient}"));
    let fact = client.factorial(5).await?;
    out.push(format!("5! = {fact}"));
    match client.divide(10.0, 0.0).await {
        Ok(v) => out.push(format!("10 / 0 = {v}")),
        Err(e @ ClientError::Rpc(_)) => out.push(format!("Division by zero error: {}", reason(&e))),
        Err(e) => return Err(e),
    }
    // A method no trait declares: the untyped call.
    match client.request::<Value, _>("non_existent_method", ()).await {
        Ok(v) => out.push(format!("non_existent_method() = {v}")),
        Err(e @ ClientError::Rpc(_)) => out.push(format!("Method not found error: {}", reason(&e))),
        Err(e) => return Err(e),
    }

    let alice = client
        .user_create("Alice Smith".into(), "alice@example.com".into())
        .await?;
    out.push(format!("Created user: {}", serde_json::json!(alice)));
    let bob = client
        .user_create("Bob Johnson".into(), "bob@example.com".into())
        .await?;
    out.push(format!("Created user: {}", serde_json::json!(bob)));
    let got = client.user_get(alice.id).await?;
    out.push(format!(
        "Retrieved user {}: {}",
        alice.id,
        serde_json::json!(got)
    ));
    let all = client.user_list().await?;
    out.push(format!("All users: {} users", all.len()));
    let deleted = client.user_delete(bob.id).await?;
    out.push(format!("Deleted user: {}", serde_json::json!(deleted)));
    Ok(out)
}
