//! HTTP/2 on tokio, next to HTTP/1.1 and WebSocket on one port: h2c with prior knowledge and
//! h2 over TLS (ALPN) from curl and Python's httpx, the limits HTTP/2 announces, and a client
//! that never sends its preface.

mod common;

#[path = "../../tests/interop/h2_clients.rs"]
mod h2_clients;

use std::time::Duration;

use h2_clients::{curl_post, have_curl, have_httpx, missing, python_h2};
use jsonrpc_proto::testing::conformance;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use transport_tokio::tls::{TlsClientConfig, TlsServerConfig};
use transport_tokio::{connect_ws, connect_ws_with, ConnectOptions, RunningServer, Server};

async fn start(tls: Option<&common::Pki>, streams: u32) -> RunningServer {
    let mut b = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .max_concurrent_streams(streams);
    if let Some(p) = tls {
        b = b.tls(TlsServerConfig::from_pem_files(&p.server_cert, &p.server_key, None).unwrap());
    }
    b.start().await.expect("start")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_h2c_h2_over_tls_and_http1_on_one_port() {
    if missing("curl", have_curl()) {
        return;
    }
    let plain = start(None, 128).await;
    let url = format!("http://127.0.0.1:{}/", plain.http_addr().unwrap().port());
    let u = url.clone();
    let (body, version) = blocking(move || curl_post(&u, &["--http2-prior-knowledge"])).await;
    assert_eq!(version, "2");
    assert!(body.contains(r#""result":8"#), "{body}");
    let u = url.clone();
    let (body, version) = blocking(move || curl_post(&u, &["--http1.1"])).await;
    assert_eq!(version, "1.1");
    assert!(body.contains(r#""result":8"#), "{body}");
    // WebSocket still upgrades on the same port.
    let ws = connect_ws(&format!("ws://{}/ws", plain.http_addr().unwrap()))
        .await
        .unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);

    let pki = common::pki();
    let tls = start(Some(&pki), 128).await;
    let url = format!("https://localhost:{}/", tls.http_addr().unwrap().port());
    let ca = pki.ca.to_str().unwrap().to_owned();
    let (u, c) = (url.clone(), ca.clone());
    let (body, version) = blocking(move || curl_post(&u, &["--http2", "--cacert", &c])).await;
    assert_eq!(version, "2", "ALPN picks h2");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (u, c) = (url.clone(), ca.clone());
    let (_, version) = blocking(move || curl_post(&u, &["--http1.1", "--cacert", &c])).await;
    assert_eq!(version, "1.1", "ALPN falls back to http/1.1");
    let options =
        ConnectOptions::default().with_tls(Some(TlsClientConfig::with_ca_file(&pki.ca).unwrap()));
    let wss = connect_ws_with(
        &format!("wss://localhost:{}/ws", tls.http_addr().unwrap().port()),
        options,
    )
    .await
    .unwrap();
    let sum: i64 = wss.request("add", [2, 2]).await.unwrap();
    assert_eq!(sum, 4);
    plain.shutdown().await;
    tls.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_httpx_over_h2c_and_h2() {
    if missing("python3 with httpx and h2", have_httpx()) {
        return;
    }
    let plain = start(None, 7).await;
    let pki = common::pki();
    let tls = start(Some(&pki), 7).await;
    let p = format!("127.0.0.1:{}", plain.http_addr().unwrap().port());
    let t = format!("localhost:{}", tls.http_addr().unwrap().port());
    let ca = pki.ca.clone();
    let out = blocking(move || python_h2(&p, &t, &ca, 7)).await;
    assert!(out.contains("h2 over TLS: version"), "{out}");
    plain.shutdown().await;
    tls.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_preface_is_closed() {
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .header_read_timeout(Some(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    for start in [&b""[..], b"PRI * HTTP/2.0\r\n"] {
        let mut s = tokio::net::TcpStream::connect(server.http_addr().unwrap())
            .await
            .unwrap();
        s.write_all(start).await.unwrap();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => {}
            other => panic!("expected the server to close, got {other:?}"),
        }
    }
    server.shutdown().await;
}
