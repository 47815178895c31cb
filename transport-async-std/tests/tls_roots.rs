//! TLS clients trusting the built-in Mozilla roots (feature `webpki-roots`) plus a CA of their
//! own, on smol and async-std: the extra CA is honoured, and without it the test CA is not
//! trusted. Public endpoints are out of reach of tests (no network).

mod common;

use jsonrpc_proto::testing::conformance;
use transport_async_std::tls::TlsClientConfig;
use transport_async_std::{
    connect_http_with, connect_ws_with, AsyncIoRuntime, ConnectOptions, Server,
};

async fn roots(rt: AsyncIoRuntime) {
    let pki = common::pki();
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .tls(pki.server(false))
        .runtime(rt.clone())
        .start()
        .await
        .unwrap();
    let port = server.http_addr().unwrap().port();
    let opts = |tls: TlsClientConfig| {
        ConnectOptions::default()
            .with_tls(Some(tls))
            .with_runtime(Some(rt.clone()))
    };
    let with_ca = TlsClientConfig::with_webpki_roots(vec![pki.ca.clone()], None).unwrap();
    let http = connect_http_with(&format!("https://localhost:{port}/"), opts(with_ca.clone()))
        .await
        .unwrap();
    let sum: i64 = http.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
    let ws = connect_ws_with(&format!("wss://localhost:{port}/ws"), opts(with_ca))
        .await
        .unwrap();
    let sum: i64 = ws.request("add", [4, 3]).await.unwrap();
    assert_eq!(sum, 7);
    let public_only = TlsClientConfig::with_webpki_roots(Vec::new(), None).unwrap();
    let err = connect_ws_with(&format!("wss://localhost:{port}/ws"), opts(public_only))
        .await
        .expect_err("a private CA is not among the public roots");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    server.shutdown().await;
}

#[test]
fn webpki_roots_plus_a_private_ca_smol() {
    smol::block_on(roots(AsyncIoRuntime::smol()));
}

#[test]
fn webpki_roots_plus_a_private_ca_async_std() {
    async_std::task::block_on(roots(AsyncIoRuntime::async_std()));
}
