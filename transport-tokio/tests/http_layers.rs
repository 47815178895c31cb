//! tower-http layers on the server's HTTP side, unchanged: compression, request ids and CORS,
//! stacked with the WebSocket endpoint still working through them.

use std::collections::HashMap;
use std::net::SocketAddr;

use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use transport_tokio::Server;

async fn send(addr: SocketAddr, raw: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let mut body = Vec::new();
    if let Some(len) = headers.get("content-length") {
        body.resize(len.parse().unwrap(), 0);
        reader.read_exact(&mut body).await.unwrap();
    } else {
        // Chunked (compressed bodies): read to the end (Connection: close).
        reader.read_to_end(&mut body).await.unwrap();
    }
    (status, headers, body)
}

fn router() -> Router {
    Router::builder()
        .method("big", |_c: Context, (): ()| async move {
            Ok::<_, ErrorObject>("x".repeat(4096))
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn compression_request_id_and_cors_layers_work_unchanged() {
    let header = http::HeaderName::from_static("x-request-id");
    let server = Server::builder(router())
        .http("127.0.0.1:0")
        .cors(["https://app.example"])
        .http_layer(SetRequestIdLayer::new(header.clone(), MakeRequestUuid))
        .http_layer(PropagateRequestIdLayer::new(header))
        .http_layer(CompressionLayer::new())
        .metrics(true)
        .start()
        .await
        .unwrap();
    let addr = server.http_addr().unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"big"}"#;
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept-Encoding: gzip\r\nOrigin: https://app.example\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, headers, bytes) = send(addr, &raw).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    assert!(!String::from_utf8_lossy(&bytes).contains("xxxxxxxx"));
    assert!(headers["x-request-id"].len() >= 32, "{headers:?}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );

    // A request id the client sent comes back as it is; /metrics goes through the layers.
    let raw = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nx-request-id: abc-123\r\nConnection: close\r\n\r\n"
    );
    let (status, headers, bytes) = send(addr, &raw).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-request-id"], "abc-123");
    assert!(String::from_utf8_lossy(&bytes).contains("jsonrpc_requests_total{method=\"big\"} 1"));

    // WebSocket upgrades pass through every layer.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    use futures::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::text(body))
        .await
        .unwrap();
    let answer = ws.next().await.unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains("xxxx"));
    server.shutdown().await;
}
