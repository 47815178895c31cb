//! The math service over a real TCP socket, with newline-delimited JSON.

use examples::math_service::{factorial, now_iso8601, run_demo, start};
use jsonrpc_proto::peer::ClientError;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test]
async fn the_client_demo_prints_one_line_per_call() {
    let server = start("127.0.0.1:0").await.unwrap();
    let addr = server.tcp_addr().unwrap().to_string();
    let client = transport_tokio::connect_tcp(&addr).await.unwrap();
    let lines = run_demo(&client).await.unwrap();
    assert_eq!(lines[0], "Greeting: Hello, Alice!");
    let time = lines[1].strip_prefix("Server time: ").unwrap();
    assert_eq!(time.len(), now_iso8601().len(), "{time}");
    assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
    assert_eq!(
        lines[2..9],
        [
            "10 + 20 = 30",
            "10 - 20 = -10",
            "7 * 8 = 56",
            "100 / 4 = 25",
            "5! = 120",
            "Division by zero error: Division by zero is not allowed",
            "Method not found error: Method not found",
        ]
    );
    let created: Value =
        serde_json::from_str(lines[9].strip_prefix("Created user: ").unwrap()).unwrap();
    assert_eq!(
        (
            created["id"].clone(),
            created["name"].clone(),
            created["email"].clone()
        ),
        (json!(1), json!("Alice Smith"), json!("alice@example.com"))
    );
    assert!(
        lines[10].starts_with(r#"Created user: {"created_at":"#),
        "{}",
        lines[10]
    );
    assert!(
        lines[11].starts_with("Retrieved user 1: {"),
        "{}",
        lines[11]
    );
    assert_eq!(lines[12], "All users: 2 users");
    assert!(
        lines[13].contains(r#""name":"Bob Johnson""#),
        "{}",
        lines[13]
    );
    assert_eq!(lines.len(), 14);

    // Deleted users are gone; missing users read as null.
    let gone: Value = client.request("user_get", [2]).await.unwrap();
    assert_eq!(gone, Value::Null);
    let left: Vec<Value> = client.request("user_list", ()).await.unwrap();
    assert_eq!(left.len(), 1);
    match client.request::<Value, _>("factorial", [-1]).await {
        Err(ClientError::Rpc(e)) => {
            assert_eq!(e.message, "Factorial is not defined for negative numbers")
        }
        other => panic!("{other:?}"),
    }
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn raw_newline_delimited_json_on_the_wire() {
    let server = start("127.0.0.1:0").await.unwrap();
    let stream = tokio::net::TcpStream::connect(server.tcp_addr().unwrap())
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"multiply\",\"params\":[6,7],\"id\":1}\n")
        .await
        .unwrap();
    let mut lines = BufReader::new(read).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v, json!({"jsonrpc": "2.0", "result": 42, "id": 1}));
    write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"divide\",\"params\":[1,0],\"id\":2}\n")
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(v["error"]["code"], -32000);
    assert_eq!(v["error"]["message"], "Division by zero is not allowed");
    server.shutdown().await;
}

#[test]
fn factorial_bounds() {
    assert_eq!(factorial(0).unwrap(), 1);
    assert_eq!(factorial(20).unwrap(), 2_432_902_008_176_640_000);
    assert!(factorial(34).is_ok());
    assert!(factorial(35).is_err());
    assert!(factorial(-1).is_err());
}
