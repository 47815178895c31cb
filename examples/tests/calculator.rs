//! The calculator example's behaviour over real sockets, including the seed's curl bodies.

use futures::StreamExt;
use jsonrpc_proto::peer::ClientError;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use transport_tokio::{connect_tcp, connect_ws, RunningServer};

async fn start() -> RunningServer {
    examples::calculator::start_tokio("127.0.0.1:0", "127.0.0.1:0")
        .await
        .unwrap()
}

/// POSTs `body` the way the seed's curl command does; returns status and body.
async fn curl_post(addr: std::net::SocketAddr, body: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: localhost:{}\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        addr.port(),
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[tokio::test]
async fn seed_curl_commands() {
    let server = start().await;
    let addr = server.http_addr().unwrap();
    let (status, body) = curl_post(
        addr,
        r#"{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":1}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"jsonrpc":"2.0","result":{"sum":8},"id":1}"#);

    let (status, body) = curl_post(
        addr,
        r#"{"jsonrpc":"2.0","method":"log","params":{"message":"hello"}}"#,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(body, "");

    let (status, body) = curl_post(
        addr,
        r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"multiply","params":{"a":4,"b":5},"id":2},{"jsonrpc":"2.0","method":"log","params":["batched"]}]"#,
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert!(arr.contains(&json!({"jsonrpc":"2.0","result":{"sum":3},"id":1})));
    assert!(arr.contains(&json!({"jsonrpc":"2.0","result":{"product":20},"id":2})));
    server.shutdown().await;
}

#[tokio::test]
async fn methods_and_errors_over_tcp() {
    let server = start().await;
    let c = connect_tcp(&server.tcp_addr().unwrap().to_string())
        .await
        .unwrap();
    let v: Value = c.request("add", json!({"a": 5, "b": 3})).await.unwrap();
    assert_eq!(v.to_string(), r#"{"sum":8}"#);
    let v: Value = c.request("add", [1.5, 2.0]).await.unwrap();
    assert_eq!(v, json!({"sum": 3.5}));
    let v: Value = c.request("subtract", [5, 8]).await.unwrap();
    assert_eq!(v.to_string(), r#"{"difference":-3}"#);
    let v: Value = c
        .request("multiply", json!({"a": 7, "b": 8}))
        .await
        .unwrap();
    assert_eq!(v.to_string(), r#"{"product":56}"#);
    let v: Value = c.request("divide", [7, 2]).await.unwrap();
    assert_eq!(v, json!({"quotient": 3.5}));
    let v: Value = c.request("factorial", json!({"n": 5})).await.unwrap();
    assert_eq!(v.to_string(), "120");
    let v: Value = c.request("echo", json!({"x": [1, "two"]})).await.unwrap();
    assert_eq!(v, json!({"x": [1, "two"]}));
    let v: Value = c.request("sleep", [1]).await.unwrap();
    assert_eq!(v, json!({"slept_ms": 1}));
    c.notify("log", json!({"message": "from the test"}))
        .await
        .unwrap();

    let err = |r: Result<Value, ClientError>| match r {
        Err(ClientError::Rpc(e)) => e,
        other => panic!("expected an error object, got {other:?}"),
    };
    let e = err(c.request("divide", json!({"a": 1, "b": 0})).await);
    assert_eq!(e.code.0, -32602);
    assert_eq!(e.message, "Invalid params: Cannot divide by zero");
    let data: Value = serde_json::from_str(e.data.as_ref().unwrap().get()).unwrap();
    assert_eq!(data["parameter"], "b");
    assert_eq!(err(c.request("factorial", [-1]).await).code.0, -32602);
    assert_eq!(err(c.request("add", json!({"a": 1})).await).code.0, -32602);
    assert_eq!(err(c.request("add", json!(["x", 1])).await).code.0, -32602);
    assert_eq!(err(c.request("add", ()).await).code.0, -32602);
    assert_eq!(err(c.request("nope", ()).await).code.0, -32601);
    server.shutdown().await;
}

#[tokio::test]
async fn websocket_clients_are_welcomed() {
    let server = start().await;
    let ws = connect_ws(&format!("ws://{}/ws", server.http_addr().unwrap()))
        .await
        .unwrap();
    let mut notes = ws.notifications();
    let welcome = notes.next().await.expect("a welcome notification");
    assert_eq!(welcome.method, "welcome");
    let params: Value = serde_json::from_str(welcome.params.as_ref().unwrap().get()).unwrap();
    assert_eq!(params["message"], "Connected to RPC server");
    let v: Value = ws.request("add", [5, 3]).await.unwrap();
    assert_eq!(v.to_string(), r#"{"sum":8}"#);
    ws.close().await;
    server.shutdown().await;
}
