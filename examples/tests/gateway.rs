//! The gateway in front of a real calculator, over HTTP and WebSocket upstreams.

use std::time::Duration;

use examples::gateway::{start, GatewayConfig, UpstreamTransport};
use jsonrpc_proto::peer::{Client, ClientError};
use jsonrpc_proto::ErrorObject;
use serde_json::{json, Value};
use transport_tokio::{connect_http, RunningServer};

async fn calculator() -> RunningServer {
    transport_tokio::Server::builder(examples::calculator::router().unwrap())
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap()
}

async fn error_of(client: &Client, method: &str, params: Value) -> ErrorObject {
    match client.request::<Value, _>(method, params).await {
        Err(ClientError::Rpc(e)) => e,
        other => panic!("{method}: expected an error object, got {other:?}"),
    }
}

async fn check_forwarding(upstream: String) {
    let remote = calculator().await;
    let config =
        GatewayConfig::new(&upstream.replace("ADDR", &remote.http_addr().unwrap().to_string()));
    let gateway = start("127.0.0.1:0", &config).await.unwrap();
    let client = connect_http(&format!("http://{}/", gateway.http_addr().unwrap()))
        .await
        .unwrap();
    let direct = connect_http(&format!("http://{}/", remote.http_addr().unwrap()))
        .await
        .unwrap();

    let pong: String = client.request("ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    let sum: Value = client
        .request("calc.add", json!({"a": 5, "b": 3}))
        .await
        .unwrap();
    assert_eq!(sum, json!({"sum": 8}));
    let product: Value = client.request("calc.multiply", [6, 7]).await.unwrap();
    assert_eq!(product, json!({"product": 42}));

    // Errors: exactly what the calculator says, code, message and data.
    for (method, params) in [
        ("divide", json!({"a": 1, "b": 0})),
        ("factorial", json!([-1])),
        ("nope", json!([])),
    ] {
        let through = error_of(&client, &format!("calc.{method}"), params.clone()).await;
        let from_remote = error_of(&direct, method, params).await;
        assert_eq!(
            serde_json::to_value(&through).unwrap(),
            serde_json::to_value(&from_remote).unwrap()
        );
    }
    // Not forwarded: the gateway's own -32601.
    assert_eq!(
        error_of(&client, "add", json!([1, 2])).await.code.code(),
        -32601
    );
    let info: Value = client.request("gateway.info", ()).await.unwrap();
    assert_eq!(info["transport"], config.transport.to_string());
    drop(gateway);
    drop(remote);
}

#[tokio::test]
async fn forwards_calc_over_http() {
    check_forwarding("http://ADDR/".to_owned()).await;
}

#[tokio::test]
async fn forwards_calc_over_websocket() {
    check_forwarding("ws://ADDR/ws".to_owned()).await;
}

#[tokio::test]
async fn a_slow_upstream_call_times_out_with_32001() {
    let remote = calculator().await;
    let mut config = GatewayConfig::new(&format!("ws://{}/ws", remote.http_addr().unwrap()));
    config.timeout = Duration::from_millis(100);
    let gateway = start("127.0.0.1:0", &config).await.unwrap();
    let client = connect_http(&format!("http://{}/", gateway.http_addr().unwrap()))
        .await
        .unwrap();
    let e = error_of(&client, "calc.sleep", json!({"ms": 60_000})).await;
    assert_eq!(e.code.code(), -32001);
    // The gateway and its upstream connection still work.
    let sum: Value = client.request("calc.add", [1, 1]).await.unwrap();
    assert_eq!(sum, json!({"sum": 2}));
}

#[tokio::test]
async fn an_unreachable_upstream_is_retried_then_reported() {
    // A port nobody listens on any more.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for transport in [UpstreamTransport::Ws, UpstreamTransport::Http] {
        let endpoint = match transport {
            UpstreamTransport::Ws => format!("ws://{addr}/ws"),
            UpstreamTransport::Http => format!("http://{addr}/"),
        };
        let mut config = GatewayConfig::new(&endpoint);
        config.retries = 2;
        config.backoff = Duration::from_millis(1);
        let gateway = start("127.0.0.1:0", &config).await.unwrap();
        let client = connect_http(&format!("http://{}/", gateway.http_addr().unwrap()))
            .await
            .unwrap();
        let e = error_of(&client, "calc.add", json!([1, 2])).await;
        assert_eq!(e.code.code(), -32000, "{transport}: {e}");
        // Local methods are unaffected.
        let pong: String = client.request("ping", ()).await.unwrap();
        assert_eq!(pong, "pong");
    }
}
