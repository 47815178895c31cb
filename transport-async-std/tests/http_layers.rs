//! The same HTTP layers on smol: CORS preflight and cross-origin POST, metrics at /metrics.

use std::io::{Read, Write};
use std::net::TcpStream;

use jsonrpc_proto::testing::conformance;
use transport_async_std::AsyncIoRuntime;

/// Sends `raw` with `Connection: close` and reads the whole answer (blocking std socket).
fn send(addr: std::net::SocketAddr, raw: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.to_ascii_lowercase()
}

#[test]
fn cors_and_metrics_on_smol() {
    let rt = AsyncIoRuntime::smol();
    let server = smol::block_on(
        transport_async_std::Server::builder(conformance::router())
            .http("127.0.0.1:0")
            .runtime(rt)
            .cors(["http://localhost:3000"])
            .metrics(true)
            .start(),
    )
    .expect("smol server starts");
    let addr = server.http_addr().unwrap();
    let pre = send(
        addr,
        &format!(
            "OPTIONS / HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://localhost:3000\r\n\
             Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\
             Sec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(pre.starts_with("http/1.1 200"), "{pre}");
    assert!(pre.contains("access-control-allow-origin: http://localhost:3000"));
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}"#;
    let post = send(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://localhost:3000\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(post.starts_with("http/1.1 200"), "{post}");
    assert!(post.contains("access-control-allow-origin: http://localhost:3000"));
    let metrics = send(
        addr,
        &format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert!(
        metrics.contains("jsonrpc_requests_total{method=\"echo\"} 1"),
        "{metrics}"
    );
    smol::block_on(server.shutdown());
}
