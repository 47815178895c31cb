//! TLS clients trusting the built-in Mozilla roots (feature `webpki-roots`) plus a CA of their
//! own: the extra CA is honoured, and without it the test CA is not trusted (the roots are not
//! "accept anything"). Public endpoints are out of reach of tests (no network).

mod common;

use jsonrpc_proto::testing::conformance;
use transport_tokio::tls::{load_certs, TlsClientConfig, TlsServerConfig};
use transport_tokio::{connect_http_with, connect_ws_with, ConnectOptions, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webpki_roots_plus_a_private_ca() {
    let pki = common::pki();
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .tls(TlsServerConfig::from_pem_files(&pki.server_cert, &pki.server_key, None).unwrap())
        .start()
        .await
        .unwrap();
    let port = server.http_addr().unwrap().port();
    let with_ca = TlsClientConfig::with_webpki_roots(load_certs(&pki.ca).unwrap(), None).unwrap();
    let http = connect_http_with(
        &format!("https://localhost:{port}/"),
        ConnectOptions::default().with_tls(Some(with_ca.clone())),
    )
    .await
    .unwrap();
    let sum: i64 = http.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
    let ws = connect_ws_with(
        &format!("wss://localhost:{port}/ws"),
        ConnectOptions::default().with_tls(Some(with_ca)),
    )
    .await
    .unwrap();
    let sum: i64 = ws.request("add", [4, 3]).await.unwrap();
    assert_eq!(sum, 7);

    let public_only = TlsClientConfig::with_webpki_roots(Vec::new(), None).unwrap();
    let refused = connect_ws_with(
        &format!("wss://localhost:{port}/ws"),
        ConnectOptions::default().with_tls(Some(public_only)),
    )
    .await;
    let err = refused.expect_err("a private CA is not among the public roots");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    server.shutdown().await;
}
