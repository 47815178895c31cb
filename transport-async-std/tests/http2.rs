//! HTTP/2 on smol and async-std, next to HTTP/1.1 and WebSocket on one port: h2c with prior
//! knowledge and h2 over TLS (ALPN) from curl and Python's httpx, the limits HTTP/2 announces,
//! and a client that never sends its preface. The clients are blocking processes run from the
//! test thread while the server runs on the executor's own threads.

mod common;

#[path = "../../tests/interop/h2_clients.rs"]
mod h2_clients;

use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use h2_clients::{curl_post, have_curl, have_httpx, missing, python_h2};
use jsonrpc_proto::testing::conformance;
use transport_async_std::{connect_ws_with, AsyncIoRuntime, ConnectOptions, RunningServer, Server};

async fn start(rt: &AsyncIoRuntime, tls: Option<&common::Pki>, streams: u32) -> RunningServer {
    let mut b = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .max_concurrent_streams(streams)
        .runtime(rt.clone());
    if let Some(p) = tls {
        b = b.tls(p.server(false));
    }
    b.start().await.expect("start")
}

async fn curl_on_one_port(rt: AsyncIoRuntime) {
    if missing("curl", have_curl()) {
        return;
    }
    let plain = start(&rt, None, 128).await;
    let url = format!("http://127.0.0.1:{}/", plain.http_addr().unwrap().port());
    let (body, version) = curl_post(&url, &["--http2-prior-knowledge"]);
    assert_eq!(version, "2");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (body, version) = curl_post(&url, &["--http1.1"]);
    assert_eq!(version, "1.1");
    assert!(body.contains(r#""result":8"#), "{body}");
    let options = || ConnectOptions::default().with_runtime(Some(rt.clone()));
    let ws = connect_ws_with(
        &format!("ws://{}/ws", plain.http_addr().unwrap()),
        options(),
    )
    .await
    .unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);

    let pki = common::pki();
    let (ca, _, _) = pki.write_pem("h2");
    let tls = start(&rt, Some(&pki), 128).await;
    let url = format!("https://localhost:{}/", tls.http_addr().unwrap().port());
    let ca_s = ca.to_str().unwrap();
    let (body, version) = curl_post(&url, &["--http2", "--cacert", ca_s]);
    assert_eq!(version, "2", "ALPN picks h2");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (_, version) = curl_post(&url, &["--http1.1", "--cacert", ca_s]);
    assert_eq!(version, "1.1", "ALPN falls back to http/1.1");
    let wss = connect_ws_with(
        &format!("wss://localhost:{}/ws", tls.http_addr().unwrap().port()),
        options().with_tls(Some(pki.client(false))),
    )
    .await
    .unwrap();
    let sum: i64 = wss.request("add", [2, 2]).await.unwrap();
    assert_eq!(sum, 4);
    plain.shutdown().await;
    tls.shutdown().await;
}

async fn httpx(rt: AsyncIoRuntime) {
    if missing("python3 with httpx and h2", have_httpx()) {
        return;
    }
    let plain = start(&rt, None, 7).await;
    let pki = common::pki();
    let (ca, _, _) = pki.write_pem("h2py");
    let tls = start(&rt, Some(&pki), 7).await;
    let p = format!("127.0.0.1:{}", plain.http_addr().unwrap().port());
    let t = format!("localhost:{}", tls.http_addr().unwrap().port());
    let out = python_h2(&p, &t, &ca, 7);
    assert!(out.contains("h2 over TLS: version"), "{out}");
    plain.shutdown().await;
    tls.shutdown().await;
}

async fn silent_preface(rt: AsyncIoRuntime) {
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .header_read_timeout(Some(Duration::from_millis(200)))
        .runtime(rt)
        .start()
        .await
        .unwrap();
    for start in [&b""[..], b"PRI * HTTP/2.0\r\n"] {
        let mut s = async_net::TcpStream::connect(server.http_addr().unwrap())
            .await
            .unwrap();
        s.write_all(start).await.unwrap();
        let mut buf = [0u8; 64];
        let read = s.read(&mut buf);
        let limit = async_io::Timer::after(Duration::from_secs(20));
        futures::pin_mut!(read);
        match futures::future::select(read, limit).await {
            futures::future::Either::Left((Ok(0) | Err(_), _)) => {}
            futures::future::Either::Left((Ok(n), _)) => panic!("unexpected {n} bytes"),
            futures::future::Either::Right(_) => panic!("the server did not close"),
        }
    }
    server.shutdown().await;
}

#[test]
fn curl_h2c_h2_over_tls_and_http1_on_one_port_smol() {
    smol::block_on(curl_on_one_port(AsyncIoRuntime::smol()));
}

#[test]
fn curl_h2c_h2_over_tls_and_http1_on_one_port_async_std() {
    async_std::task::block_on(curl_on_one_port(AsyncIoRuntime::async_std()));
}

#[test]
fn python_httpx_over_h2c_and_h2_smol() {
    smol::block_on(httpx(AsyncIoRuntime::smol()));
}

#[test]
fn python_httpx_over_h2c_and_h2_async_std() {
    async_std::task::block_on(httpx(AsyncIoRuntime::async_std()));
}

#[test]
fn a_client_that_never_finishes_its_preface_is_closed_smol() {
    smol::block_on(silent_preface(AsyncIoRuntime::smol()));
}

#[test]
fn a_client_that_never_finishes_its_preface_is_closed_async_std() {
    async_std::task::block_on(silent_preface(AsyncIoRuntime::async_std()));
}
