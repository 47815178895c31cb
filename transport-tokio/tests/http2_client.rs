//! The HTTP client speaking HTTP/2 on tokio (`HttpClientConfig::http2`), against our own
//! server: h2c with prior knowledge, h2 chosen by ALPN over TLS, the fall-back to HTTP/1.1
//! when the server does not choose h2, the server's stream limit, and streams the server resets
//! (REFUSED_STREAM is sent again, any other reason is not). That the connection is
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

/// A bare HTTP/2 server (the h2 crate, no JSON-RPC library) that resets the first `refuse`
/// streams with `reason` and answers every later one as `add` would. Answers its address and
/// the count of streams it saw and of requests it answered.
async fn resetting_h2_server(
    refuse: usize,
    reason: h2::Reason,
) -> (
    std::net::SocketAddr,
    Arc<std::sync::atomic::AtomicUsize>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let streams = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let (s, a) = (streams.clone(), answered.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (s, a) = (s.clone(), a.clone());
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(sock).await else {
                    return;
                };
                while let Some(Ok((req, mut respond))) = conn.accept().await {
                    if s.fetch_add(1, Ordering::SeqCst) < refuse {
                        respond.send_reset(reason);
                        continue;
                    }
                    let a = a.clone();
                    tokio::spawn(async move {
                        let mut body = req.into_body();
                        let mut data = Vec::new();
                        while let Some(chunk) = body.data().await {
                            let chunk = chunk.unwrap();
                            let _ = body.flow_control().release_capacity(chunk.len());
                            data.extend_from_slice(&chunk);
                        }
                        let call: serde_json::Value = serde_json::from_slice(&data).unwrap();
                        let p = &call["params"];
                        let sum = p[0].as_i64().unwrap() + p[1].as_i64().unwrap();
                        let answer =
                            serde_json::json!({"jsonrpc": "2.0", "id": call["id"], "result": sum});
                        let head = http::Response::builder()
                            .status(200)
                            .header("content-type", "application/json")
                            .body(())
                            .unwrap();
                        let mut send = respond.send_response(head, false).unwrap();
                        a.fetch_add(1, Ordering::SeqCst);
                        send.send_data(answer.to_string().into(), true).unwrap();
                    });
                }
            });
        }
    });
    (addr, streams, answered)
}

fn quick_retries(retries: u32) -> ConnectOptions {
    ConnectOptions::default().with_http(
        HttpClientConfig::default()
            .with_http2(true)
            .with_retries(retries)
            .with_backoff(Duration::from_millis(5)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_refused_by_the_server_is_sent_again() {
    use std::sync::atomic::Ordering;
    let (addr, streams, answered) = resetting_h2_server(2, h2::Reason::REFUSED_STREAM).await;
    let client = connect_http_with(&format!("http://{addr}/"), quick_retries(3))
        .await
        .unwrap();
    let sum: i64 = client.request("add", (2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    assert_eq!(
        streams.load(Ordering::SeqCst),
        3,
        "two refused, the third answered"
    );
    assert_eq!(answered.load(Ordering::SeqCst), 1);
    client.close().await;

    // More refusals than retries: the call fails with the reason, after 1 + retries streams.
    let (addr, streams, answered) = resetting_h2_server(10, h2::Reason::REFUSED_STREAM).await;
    let client = connect_http_with(&format!("http://{addr}/"), quick_retries(2))
        .await
        .unwrap();
    let err = client.request::<i64, _>("add", (2, 3)).await.unwrap_err();
    assert!(err.to_string().contains("REFUSED_STREAM"), "{err}");
    assert_eq!(streams.load(Ordering::SeqCst), 3);
    assert_eq!(answered.load(Ordering::SeqCst), 0);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reset_for_another_reason_is_not_sent_again() {
    use std::sync::atomic::Ordering;
    // INTERNAL_ERROR may come after the server acted on the call: one stream, then the error.
    let (addr, streams, _) = resetting_h2_server(1, h2::Reason::INTERNAL_ERROR).await;
    let client = connect_http_with(&format!("http://{addr}/"), quick_retries(3))
        .await
        .unwrap();
    let err = client.request::<i64, _>("add", (2, 3)).await.unwrap_err();
    assert!(!err.to_string().contains("REFUSED_STREAM"), "{err}");
    assert_eq!(streams.load(Ordering::SeqCst), 1, "not retried: {err}");
    // The connection still serves the next call.
    let sum: i64 = client.request("add", (4, 5)).await.unwrap();
    assert_eq!(sum, 9);
    client.close().await;
}
