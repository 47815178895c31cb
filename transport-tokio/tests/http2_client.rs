//! The HTTP client speaking HTTP/2 on tokio (`HttpClientConfig::http2`), against our own
//! server: h2c with prior knowledge, h2 chosen by ALPN over TLS, the fall-back to HTTP/1.1
//! when the server does not choose h2, and the server's stream limit. That the connection is
//! HTTP/2 is checked on the server: N calls held in flight at once travel on one socket
//! (`RunningServer::open_connections`), where HTTP/1.1 needs N.

mod common;

#[path = "../../tests/shared/gate.rs"]
mod gate;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use gate::{Gate, N};
use jsonrpc_proto::peer::{Client, ClientConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use transport_tokio::tls::{TlsClientConfig, TlsServerConfig};
use transport_tokio::{connect_http_with, ConnectOptions, HttpClientConfig, RunningServer, Server};

fn options(http2: bool, tls: Option<&common::Pki>) -> ConnectOptions {
    ConnectOptions::default()
        .with_tls(tls.map(|p| TlsClientConfig::with_ca_file(&p.ca).expect("CA")))
        .with_http(HttpClientConfig::default().with_http2(http2))
}

fn server_tls(p: &common::Pki, alpn: &[&[u8]]) -> TlsServerConfig {
    let tls = TlsServerConfig::from_pem_files(&p.server_cert, &p.server_key, None).expect("PEM");
    let mut config = (*tls.rustls()).clone();
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    TlsServerConfig::from_rustls(Arc::new(config))
}

async fn start(gate: &Gate, tls: Option<TlsServerConfig>, streams: u32) -> RunningServer {
    let mut b = Server::builder(gate.router())
        .http("127.0.0.1:0")
        .max_concurrent_streams(streams);
    if let Some(tls) = tls {
        b = b.tls(tls);
    }
    b.start().await.expect("start")
}

fn nap(d: Duration) -> BoxFuture<'static, ()> {
    Box::pin(tokio::time::sleep(d))
}

async fn gated_calls(
    server: &RunningServer,
    gate: &Gate,
    client: &Client,
    streams: usize,
) -> Vec<usize> {
    gate::gated_calls(gate, client, streams, &|| server.open_connections(), &nap).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_multiplexes_calls_on_one_connection() {
    let gate = Gate::default();
    let server = start(&gate, None, 128).await;
    let url = format!("http://{}/", server.http_addr().unwrap());
    let h2 = connect_http_with(&url, options(true, None)).await.unwrap();
    assert_eq!(
        gated_calls(&server, &gate, &h2, N).await,
        vec![1],
        "HTTP/2: one socket"
    );
    let who: String = h2.request("who", ()).await.unwrap();
    assert_eq!(who, "http unix=false tls=false");
    h2.close().await;

    // The same with HTTP/1.1 (the default) takes a socket per call in flight.
    let gate = Gate::default();
    let server = start(&gate, None, 128).await;
    let url = format!("http://{}/", server.http_addr().unwrap());
    let h1 = connect_http_with(&url, options(false, None)).await.unwrap();
    assert_eq!(
        gated_calls(&server, &gate, &h1, N).await,
        vec![N],
        "HTTP/1.1: N sockets"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_over_tls_by_alpn_and_fallback_to_http1() {
    let pki = common::pki();
    let gate = Gate::default();
    let server = start(&gate, Some(server_tls(&pki, &[b"h2", b"http/1.1"])), 128).await;
    let url = format!("https://localhost:{}/", server.http_addr().unwrap().port());
    let h2 = connect_http_with(&url, options(true, Some(&pki)))
        .await
        .unwrap();
    assert_eq!(
        gated_calls(&server, &gate, &h2, N).await,
        vec![1],
        "ALPN h2: one socket"
    );
    let who: String = h2.request("who", ()).await.unwrap();
    assert_eq!(who, "http unix=false tls=true");

    // A server that only speaks http/1.1 in ALPN: the client falls back, a socket per call.
    let gate = Gate::default();
    let server = start(&gate, Some(server_tls(&pki, &[b"http/1.1"])), 128).await;
    let url = format!("https://localhost:{}/", server.http_addr().unwrap().port());
    let fallback = connect_http_with(&url, options(true, Some(&pki)))
        .await
        .unwrap();
    assert_eq!(
        gated_calls(&server, &gate, &fallback, N).await,
        vec![N],
        "fell back to HTTP/1.1"
    );
    let sum: i64 = fallback.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_over_the_stream_limit_wait_for_a_stream_on_the_same_connection() {
    let gate = Gate::default();
    let server = start(&gate, None, 4).await;
    let url = format!("http://{}/", server.http_addr().unwrap());
    let h2 = connect_http_with(&url, options(true, None)).await.unwrap();
    let seen = gated_calls(&server, &gate, &h2, 4).await;
    assert!(seen.len() >= N / 4, "at most 4 calls at a time: {seen:?}");
    assert!(seen.iter().all(|&s| s == 1), "always one socket: {seen:?}");
}

struct H2c {
    server: RunningServer,
}

impl Connector for H2c {
    fn connect(&self, config: ClientConfig, _local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            let url = format!("http://{}/", self.server.http_addr().unwrap());
            let options = options(true, None).with_client(config);
            connect_http_with(&url, options).await.expect("connect")
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_h2c() {
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .config(conformance::server_config())
        .start()
        .await
        .unwrap();
    let target = H2c { server };
    // Over HTTP each POST stands alone: no pushes, callbacks or raw frames.
    conformance::requests(&target).await;
    conformance::errors(&target).await;
    conformance::timeouts(&target).await;
    conformance::concurrency(&target, 200).await;
    conformance::cancellation(&target).await;
    target.server.shutdown().await;
}
