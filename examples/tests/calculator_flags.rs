//! The calculator's `--metrics` and `--cors-origin` flags, applied to a real server the way
//! both calculator binaries apply them (`Options::apply_http`).

use std::collections::HashMap;
use std::net::SocketAddr;

use examples::calculator::{router_with_hooks, CalculatorHooks};
use examples::calculator_cli::parse_args;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use transport_tokio::{RunningServer, Server};

async fn start(args: &[&str]) -> RunningServer {
    let opts = parse_args(args.iter().map(|s| s.to_string()))
        .unwrap()
        .unwrap();
    let builder =
        Server::builder(router_with_hooks(CalculatorHooks::new()).unwrap()).http("127.0.0.1:0");
    opts.apply_http(builder).start().await.unwrap()
}

async fn send(addr: SocketAddr, raw: &str) -> (u16, HashMap<String, String>, String) {
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
    let len: usize = headers
        .get("content-length")
        .map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await.unwrap();
    (status, headers, String::from_utf8(body).unwrap())
}

fn preflight(addr: SocketAddr, origin: &str) -> String {
    format!(
        "OPTIONS / HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\
         Origin: {origin}\r\nSec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n"
    )
}

fn add(addr: SocketAddr, origin: &str) -> String {
    let body = r#"{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":1}"#;
    format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Origin: {origin}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn get(addr: SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
}

#[tokio::test]
async fn without_flags_no_cors_headers_and_no_metrics() {
    let server = start(&[]).await;
    let addr = server.http_addr().unwrap();
    let (status, headers, _) = send(addr, &preflight(addr, "https://a.example")).await;
    assert_eq!(status, 405);
    assert!(!headers.keys().any(|k| k.starts_with("access-control-")));
    let (status, headers, body) = send(addr, &add(addr, "https://a.example")).await;
    assert_eq!(status, 200);
    assert!(!headers.keys().any(|k| k.starts_with("access-control-")));
    assert_eq!(body, r#"{"jsonrpc":"2.0","result":{"sum":8},"id":1}"#);
    assert_eq!(send(addr, &get(addr, "/metrics")).await.0, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_and_cors_origin_flags() {
    let server = start(&[
        "--metrics",
        "--cors-origin",
        "https://a.example",
        "--cors-origin",
        "https://b.example",
    ])
    .await;
    let addr = server.http_addr().unwrap();
    for origin in ["https://a.example", "https://b.example"] {
        let (status, headers, _) = send(addr, &preflight(addr, origin)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["access-control-allow-origin"], origin);
    }
    let (_, headers, _) = send(addr, &preflight(addr, "https://c.example")).await;
    assert!(!headers.contains_key("access-control-allow-origin"));
    let (status, headers, body) = send(addr, &add(addr, "https://a.example")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "https://a.example");
    // The answer is exactly what it is without the flags.
    assert_eq!(body, r#"{"jsonrpc":"2.0","result":{"sum":8},"id":1}"#);
    let (status, _, text) = send(addr, &get(addr, "/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"jsonrpc_requests_total{method="add"} 1"#),
        "{text}"
    );
    // RFC 9112 §3.2 holds on the metrics path too: an HTTP/1.1 request without Host is 400.
    let (status, _, text) = send(addr, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status, 400);
    assert!(!text.contains("jsonrpc_requests"));
    // Health is unchanged.
    let (status, _, health) = send(addr, &get(addr, "/health")).await;
    assert_eq!(status, 200);
    assert!(health.contains("\"status\""));
    server.shutdown().await;
}

#[tokio::test]
async fn any_origin_flag() {
    let server = start(&["--cors-origin", "*"]).await;
    let addr = server.http_addr().unwrap();
    let (status, headers, _) = send(addr, &preflight(addr, "https://x.example")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    // Metrics stay off without --metrics.
    assert_eq!(send(addr, &get(addr, "/metrics")).await.0, 404);
    server.shutdown().await;
}
