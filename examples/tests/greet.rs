//! The hand-driven greet server over an in-memory pair and over a real WebSocket.

use examples::greet::{run_client, serve_memory, start_ws};
use jsonrpc_proto::peer::ClientError;
use serde_json::{json, Value};

const EXPECTED: [&str; 2] = [
    r#"greet("Alice") -> {"greeting":"Hello, Alice!"}"#,
    r#"farewell("Alice") -> error -32601: Method not found"#,
];

#[tokio::test]
async fn greet_over_memory() {
    let client = serve_memory();
    assert_eq!(run_client(&client).await.unwrap(), EXPECTED);
    let by_name: Value = client
        .request("greet", json!({"name": "Bob"}))
        .await
        .unwrap();
    assert_eq!(by_name, json!({"greeting": "Hello, Bob!"}));
    match client.request::<Value, _>("greet", [1]).await {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code.code(), -32602),
        other => panic!("expected invalid params, got {other:?}"),
    }
    client.close().await;
}

#[tokio::test]
async fn greet_over_websocket() {
    let server = start_ws("127.0.0.1:0").await.unwrap();
    let client = transport_tokio::connect_ws(&server.url()).await.unwrap();
    assert_eq!(run_client(&client).await.unwrap(), EXPECTED);
    // A batch goes through the same hand-written loop.
    let mut batch = client.batch();
    batch.request("greet", ["A"]);
    batch.request("nope", ());
    let results = batch.send().await.unwrap();
    assert_eq!(
        results[0].as_ref().unwrap().get(),
        r#"{"greeting":"Hello, A!"}"#
    );
    assert!(matches!(&results[1], Err(ClientError::Rpc(e)) if e.code.code() == -32601));
    client.close().await;
}
