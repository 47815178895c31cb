//! The HTTP client speaking HTTP/2 on smol and async-std (`HttpClientConfig::http2`), against
//! our own server: h2c with prior knowledge, h2 chosen by ALPN over TLS, the fall-back to
//! HTTP/1.1 when the server does not choose h2, and the server's stream limit. That the
//! connection is HTTP/2 is checked on the server: N calls held in flight at once travel on one
//! socket (`RunningServer::open_connections`), where HTTP/1.1 needs N.

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
use transport_async_std::tls::TlsServerConfig;
use transport_async_std::{
    connect_http_with, AsyncIoRuntime, ConnectOptions, HttpClientConfig, RunningServer, Server,
};

fn options(rt: &AsyncIoRuntime, http2: bool, tls: Option<&common::Pki>) -> ConnectOptions {
    ConnectOptions::default()
        .with_tls(tls.map(|p| p.client(false)))
        .with_http(HttpClientConfig::default().with_http2(http2))
        .with_runtime(Some(rt.clone()))
}

fn server_tls(p: &common::Pki, alpn: &[&[u8]]) -> TlsServerConfig {
    let mut config = (*p.server(false).rustls()).clone();
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    TlsServerConfig::from_rustls(Arc::new(config))
}

async fn start(
    rt: &AsyncIoRuntime,
    gate: &Gate,
    tls: Option<TlsServerConfig>,
    streams: u32,
) -> RunningServer {
    let mut b = Server::builder(gate.router())
        .http("127.0.0.1:0")
        .max_concurrent_streams(streams)
        .runtime(rt.clone());
    if let Some(tls) = tls {
        b = b.tls(tls);
    }
    b.start().await.expect("start")
}

fn nap(d: Duration) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        async_io::Timer::after(d).await;
    })
}

async fn gated_calls(
    server: &RunningServer,
    gate: &Gate,
    client: &Client,
    streams: usize,
) -> Vec<usize> {
    gate::gated_calls(gate, client, streams, &|| server.open_connections(), &nap).await
}

async fn h2c_multiplexes(rt: AsyncIoRuntime) {
    let gate = Gate::default();
    let server = start(&rt, &gate, None, 128).await;
    let url = format!("http://{}/", server.http_addr().unwrap());
    let h2 = connect_http_with(&url, options(&rt, true, None))
        .await
        .unwrap();
    let seen = gated_calls(&server, &gate, &h2, N).await;
    assert_eq!(seen, vec![1], "HTTP/2: one socket");
    let who: String = h2.request("who", ()).await.unwrap();
    assert_eq!(who, "http unix=false tls=false");
    h2.close().await;

    // The same with HTTP/1.1 (the default) takes a socket per call in flight.
    let gate = Gate::default();
    let server = start(&rt, &gate, None, 128).await;
    let url = format!("http://{}/", server.http_addr().unwrap());
    let h1 = connect_http_with(&url, options(&rt, false, None))
        .await
        .unwrap();
    let seen = gated_calls(&server, &gate, &h1, N).await;
    assert_eq!(seen, vec![N], "HTTP/1.1: N sockets");
}

async fn alpn_h2_and_fallback(rt: AsyncIoRuntime) {
    let pki = common::pki();
    let gate = Gate::default();
    let tls = server_tls(&pki, &[b"h2", b"http/1.1"]);
    let server = start(&rt, &gate, Some(tls), 128).await;
    let url = format!("https://localhost:{}/", server.http_addr().unwrap().port());
    let h2 = connect_http_with(&url, options(&rt, true, Some(&pki)))
        .await
        .unwrap();
    let seen = gated_calls(&server, &gate, &h2, N).await;
    assert_eq!(seen, vec![1], "ALPN h2: one socket");
    let who: String = h2.request("who", ()).await.unwrap();
    assert_eq!(who, "http unix=false tls=true");

    // A server that only speaks http/1.1 in ALPN: the client falls back, a socket per call.
    let gate = Gate::default();
    let server = start(&rt, &gate, Some(server_tls(&pki, &[b"http/1.1"])), 128).await;
    let url = format!("https://localhost:{}/", server.http_addr().unwrap().port());
    let fallback = connect_http_with(&url, options(&rt, true, Some(&pki)))
        .await
        .unwrap();
    let seen = gated_calls(&server, &gate, &fallback, N).await;
    assert_eq!(seen, vec![N], "fell back to HTTP/1.1");
    let sum: i64 = fallback.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
}

async fn stream_limit(rt: AsyncIoRuntime) {
    let gate = Gate::default();
    let server = start(&rt, &gate, None, 4).await;
    let url = format!("http://{}/", server.http_addr().unwrap());
    let h2 = connect_http_with(&url, options(&rt, true, None))
        .await
        .unwrap();
    let seen = gated_calls(&server, &gate, &h2, 4).await;
    assert!(seen.len() >= N / 4, "at most 4 calls at a time: {seen:?}");
    assert!(seen.iter().all(|&s| s == 1), "always one socket: {seen:?}");
}

struct H2c {
    server: RunningServer,
    rt: AsyncIoRuntime,
}

impl Connector for H2c {
    fn connect(&self, config: ClientConfig, _local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            let url = format!("http://{}/", self.server.http_addr().unwrap());
            let options = options(&self.rt, true, None).with_client(config);
            connect_http_with(&url, options).await.expect("connect")
        })
    }
}

async fn conformance_h2c(rt: AsyncIoRuntime) {
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .config(conformance::server_config())
        .runtime(rt.clone())
        .start()
        .await
        .unwrap();
    let target = H2c { server, rt };
    // Over HTTP each POST stands alone: no pushes, callbacks or raw frames.
    conformance::requests(&target).await;
    conformance::errors(&target).await;
    conformance::timeouts(&target).await;
    conformance::concurrency(&target, 200).await;
    conformance::cancellation(&target).await;
    target.server.shutdown().await;
}

#[test]
fn h2c_prior_knowledge_multiplexes_calls_on_one_connection_smol() {
    smol::block_on(h2c_multiplexes(AsyncIoRuntime::smol()));
}

#[test]
fn h2c_prior_knowledge_multiplexes_calls_on_one_connection_async_std() {
    async_std::task::block_on(h2c_multiplexes(AsyncIoRuntime::async_std()));
}

#[test]
fn h2_over_tls_by_alpn_and_fallback_to_http1_smol() {
    smol::block_on(alpn_h2_and_fallback(AsyncIoRuntime::smol()));
}

#[test]
fn h2_over_tls_by_alpn_and_fallback_to_http1_async_std() {
    async_std::task::block_on(alpn_h2_and_fallback(AsyncIoRuntime::async_std()));
}

#[test]
fn calls_over_the_stream_limit_wait_on_the_same_connection_smol() {
    smol::block_on(stream_limit(AsyncIoRuntime::smol()));
}

#[test]
fn calls_over_the_stream_limit_wait_on_the_same_connection_async_std() {
    async_std::task::block_on(stream_limit(AsyncIoRuntime::async_std()));
}

#[test]
fn conformance_over_h2c_smol() {
    smol::block_on(conformance_h2c(AsyncIoRuntime::smol()));
}

#[test]
fn conformance_over_h2c_async_std() {
    async_std::task::block_on(conformance_h2c(AsyncIoRuntime::async_std()));
}
