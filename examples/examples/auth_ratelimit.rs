//! auth_ratelimit: bearer-token authentication and a per-client rate limit in `before_request`,
//! call and error counts in `after_request`, exposed by a `metrics` method; over HTTP.
//!
//! ```sh
//! cargo run --example auth_ratelimit                               # a short demo
//! cargo run --example auth_ratelimit -- serve 127.0.0.1:8003 TOKEN   # 5 calls per 10 s per token
//! curl -X POST http://127.0.0.1:8003 -H "Authorization: Bearer TOKEN" \
//!   -H "Content-Type: application/json" -d '{"jsonrpc":"2.0","method":"metrics","id":1}'
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use examples::auth_ratelimit::{start, Policy};
use jsonrpc_proto::peer::Client;
use serde_json::Value;
use transport_tokio::{connect_http_with, ConnectOptions};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => demo().await,
        ["serve", addr, token] => serve(addr, token).await,
        _ => {
            eprintln!("usage: auth_ratelimit [serve ADDR TOKEN]");
            return ExitCode::from(2);
        }
    };
    examples::exit_code(result)
}

fn policy(token: &str) -> Policy {
    Policy {
        tokens: [token.to_owned()].into(),
        limit: 5,
        window: Duration::from_secs(10),
    }
}

async fn call(client: &Client, who: &str, method: &str, params: Value) {
    match client.request::<Value, _>(method, params).await {
        Ok(v) => println!("{who}: {method} -> {v}"),
        Err(e) => println!("{who}: {method} -> {e}"),
    }
}

async fn demo() -> Result<(), Box<dyn Error>> {
    let (server, guard) = start("127.0.0.1:0", policy("s3cret")).await?;
    let url = format!("http://{}/", server.http_addr().ok_or("no address")?);
    let anonymous = connect_http_with(&url, ConnectOptions::default()).await?;
    call(&anonymous, "anonymous", "echo", serde_json::json!(["hi"])).await;
    let user = connect_http_with(
        &url,
        ConnectOptions::default().header("Authorization", "Bearer s3cret"),
    )
    .await?;
    for i in 1..=6 {
        call(
            &user,
            "user",
            "echo",
            serde_json::json!([format!("call {i}")]),
        )
        .await;
    }
    // The limit is per client: metrics would be limited too, so read them from the guard.
    println!("metrics: {}", serde_json::to_string(&guard.metrics())?);
    server.shutdown().await;
    Ok(())
}

async fn serve(addr: &str, token: &str) -> Result<(), Box<dyn Error>> {
    let (server, _guard) = start(addr, policy(token)).await?;
    let addr = server.http_addr().ok_or("no address")?;
    println!("listening on http://{addr}/ ; send Authorization: Bearer {token}; 5 calls per 10 s");
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
