//! One `#[rpc]` trait (the calculator) served over HTTP, WebSocket and TCP on tokio and on
//! smol, called through its generated client: typed calls, a notification, typed calls inside
//! one batch, and `rpc.discover`.

use examples::calculator::{router, CalculatorBatch, CalculatorClient};
use jsonrpc_proto::peer::{Client, ClientError};
use serde_json::{json, Number, Value};

fn n(v: i64) -> Number {
    Number::from(v)
}

/// The same calls over whatever transport and runtime `client` uses.
async fn exercise(client: &Client, label: &str) {
    let sum = client.add(n(5), n(3)).await.unwrap();
    assert_eq!(sum.sum.to_string(), "8", "{label}");
    let diff = client.subtract(n(5), n(8)).await.unwrap();
    assert_eq!(diff.difference.to_string(), "-3", "{label}");
    let q = client.divide(n(7), n(2)).await.unwrap();
    assert_eq!(q.quotient.as_f64(), Some(3.5), "{label}");
    match client.divide(n(1), n(0)).await {
        Err(ClientError::Rpc(e)) => {
            assert_eq!(e.code.0, -32602, "{label}");
            assert_eq!(
                e.message, "Invalid params: Cannot divide by zero",
                "{label}"
            );
        }
        other => panic!("{label}: {other:?}"),
    }
    assert_eq!(
        client.factorial(5).await.unwrap().to_string(),
        "120",
        "{label}"
    );
    let raw = jsonrpc_proto::RawValue::from_string(r#"{"x":[1,"two"]}"#.into()).unwrap();
    let echoed = client.echo(Some(raw)).await.unwrap().unwrap();
    assert_eq!(echoed.get(), r#"{"x":[1,"two"]}"#, "{label}");
    assert_eq!(client.sleep(1).await.unwrap().slept_ms, 1, "{label}");
    client
        .log(json!(format!("typed client over {label}")))
        .await
        .unwrap();

    let mut batch = client.batch();
    let sum = CalculatorBatch::add(&mut batch, n(1), n(2));
    let product = batch.multiply(n(4), n(5));
    CalculatorBatch::log(&mut batch, json!("batched"));
    let fact = batch.factorial(-1);
    let mut answers = batch.send().await.unwrap();
    assert_eq!(sum.take(&mut answers).unwrap().sum.to_string(), "3");
    assert_eq!(
        product.take(&mut answers).unwrap().product.to_string(),
        "20"
    );
    match fact.take(&mut answers) {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code.0, -32602, "{label}"),
        other => panic!("{label}: {other:?}"),
    }

    let doc: Value = client.request("rpc.discover", ()).await.unwrap();
    assert_eq!(doc["openrpc"], "1.3.2", "{label}");
    let names: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "add",
            "subtract",
            "multiply",
            "divide",
            "factorial",
            "echo",
            "sleep",
            "log"
        ],
        "{label}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_http_websocket_and_tcp() {
    let server = transport_tokio::Server::builder(router().unwrap())
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let http = server.http_addr().unwrap();
    let clients = [
        (
            "tokio http",
            transport_tokio::connect_http(&format!("http://{http}/"))
                .await
                .unwrap(),
        ),
        (
            "tokio websocket",
            transport_tokio::connect_ws(&format!("ws://{http}/ws"))
                .await
                .unwrap(),
        ),
        (
            "tokio tcp",
            transport_tokio::connect_tcp(&server.tcp_addr().unwrap().to_string())
                .await
                .unwrap(),
        ),
    ];
    for (label, client) in &clients {
        exercise(client, label).await;
        client.close().await;
    }
    server.shutdown().await;
}

#[test]
fn smol_http_websocket_and_tcp() {
    use transport_async_std::{AsyncIoRuntime, Server};
    smol::block_on(async {
        let server = Server::builder(router().unwrap())
            .http("127.0.0.1:0")
            .tcp("127.0.0.1:0")
            .runtime(AsyncIoRuntime::smol())
            .start()
            .await
            .unwrap();
        let http = server.http_addr().unwrap();
        let clients = [
            (
                "smol http",
                transport_async_std::connect_http(&format!("http://{http}/"))
                    .await
                    .unwrap(),
            ),
            (
                "smol websocket",
                transport_async_std::connect_ws(&format!("ws://{http}/ws"))
                    .await
                    .unwrap(),
            ),
            (
                "smol tcp",
                transport_async_std::connect_tcp(&server.tcp_addr().unwrap().to_string())
                    .await
                    .unwrap(),
            ),
        ];
        for (label, client) in &clients {
            exercise(client, label).await;
            client.close().await;
        }
        server.shutdown().await;
    });
}
