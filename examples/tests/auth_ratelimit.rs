//! Bearer-token checks, per-client rate limits and metrics, over real HTTP.

use std::time::Duration;

use examples::auth_ratelimit::{start, Metrics, Policy, UNAUTHORIZED};
use jsonrpc_proto::peer::{Client, ClientError};
use jsonrpc_proto::ErrorObject;
use serde_json::{json, Value};
use transport_tokio::{connect_http_with, ConnectOptions};

async fn client(url: &str, token: Option<&str>) -> Client {
    let mut options = ConnectOptions::default();
    if let Some(t) = token {
        options = options.header("Authorization", format!("Bearer {t}"));
    }
    connect_http_with(url, options).await.unwrap()
}

async fn echo(c: &Client, text: &str) -> Result<String, ErrorObject> {
    match c.request::<String, _>("echo", [text]).await {
        Ok(v) => Ok(v),
        Err(ClientError::Rpc(e)) => Err(e),
        Err(e) => panic!("transport failure: {e}"),
    }
}

#[tokio::test]
async fn tokens_limits_and_metrics_over_http() {
    let policy = Policy {
        tokens: ["alpha".to_owned(), "beta".to_owned()].into(),
        limit: 3,
        // Long enough that the window never rolls over during the test.
        window: Duration::from_secs(3600),
    };
    let (server, guard) = start("127.0.0.1:0", policy).await.unwrap();
    let url = format!("http://{}/", server.http_addr().unwrap());

    let anonymous = client(&url, None).await;
    let e = echo(&anonymous, "x").await.unwrap_err();
    assert_eq!(e.code.code(), UNAUTHORIZED);
    assert_eq!(e.message, "Unauthorized");
    let wrong = client(&url, Some("gamma")).await;
    assert_eq!(
        echo(&wrong, "x").await.unwrap_err().code.code(),
        UNAUTHORIZED
    );

    let alpha = client(&url, Some("alpha")).await;
    for i in 0..3 {
        assert_eq!(echo(&alpha, &format!("{i}")).await.unwrap(), i.to_string());
    }
    let limited = echo(&alpha, "3").await.unwrap_err();
    assert_eq!(limited.code.code(), -32002);
    assert_eq!(limited.message, "Rate limit exceeded");
    let data: Value = serde_json::from_str(limited.data.as_ref().unwrap().get()).unwrap();
    assert_eq!(data["limit"], 3);

    // Another client has its own budget; it reads the metrics.
    let beta = client(&url, Some("beta")).await;
    let whoami: Value = beta.request("whoami", ()).await.unwrap();
    // The handler reads the principal the auth middleware set for this call.
    assert_eq!(
        whoami,
        json!({"transport": "http", "ip": "127.0.0.1", "principal": "token:beta"})
    );
    let m: Metrics = beta.request("metrics", ()).await.unwrap();
    // 2 unauthorized + 3 echoes + 1 limited + whoami (metrics counts itself afterwards).
    assert_eq!((m.calls, m.errors), (7, 3));
    assert_eq!(m.by_method["echo"], [6, 3]);
    assert_eq!(m.by_method["whoami"], [1, 0]);
    assert_eq!(guard.metrics().by_method["metrics"], [1, 0]);
    server.shutdown().await;
}

#[tokio::test]
async fn without_tokens_clients_are_limited_by_address() {
    let policy = Policy {
        tokens: Default::default(),
        limit: 2,
        window: Duration::from_secs(3600),
    };
    let (server, _guard) = start("127.0.0.1:0", policy).await.unwrap();
    let url = format!("http://{}/", server.http_addr().unwrap());
    // Two clients from the same address share one budget.
    let (a, b) = (client(&url, None).await, client(&url, None).await);
    assert_eq!(echo(&a, "1").await.unwrap(), "1");
    assert_eq!(echo(&b, "2").await.unwrap(), "2");
    assert_eq!(echo(&a, "3").await.unwrap_err().code.code(), -32002);
    server.shutdown().await;
}
