//! HTTP and WebSocket served on a Unix domain socket on tokio (`ServerBuilder::http_unix`), as
//! on the HTTP port: the conformance suite over HTTP/1.1, h2c and WebSocket on the socket,
//! curl `--unix-socket` (HTTP/1.1 POST, `--http2-prior-knowledge`, `/health`, `/metrics`), the
//! same limits, the socket file's rules (stale replaced, live refused, permissions, removed on
//! shutdown; a handed-in listener's file kept), and what handlers see of such a peer.

#[path = "../../tests/shared/gate.rs"]
mod gate;
#[path = "../../tests/interop/h2_clients.rs"]
mod h2_clients;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use gate::Gate;
use h2_clients::{curl_get, curl_post, have_curl, missing};
use jsonrpc_proto::peer::{BoxTransport, Client, ClientConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use transport_tokio::{
    connect_http_unix, connect_http_unix_with, connect_unix, connect_ws_unix, connect_ws_unix_with,
    ws_unix_transport, ConnectOptions, HttpClientConfig, RunningServer, Server, StartError,
};

fn sock(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("jrpc-tokio-h-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Http1,
    H2c,
    Ws,
}

struct Target {
    server: RunningServer,
    path: PathBuf,
    kind: Kind,
}

impl Target {
    fn options(&self, client: ClientConfig, router: Option<Router>) -> ConnectOptions {
        ConnectOptions::default()
            .with_client(client)
            .with_router(router)
            .with_http(HttpClientConfig::default().with_http2(self.kind == Kind::H2c))
    }
}

impl Connector for Target {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            let options = self.options(config, local);
            match self.kind {
                Kind::Ws => connect_ws_unix_with(&self.path, "ws://localhost/ws", options).await,
                _ => connect_http_unix_with(&self.path, "http://localhost/", options).await,
            }
            .expect("connect")
        })
    }

    fn connect_raw(&self) -> Option<BoxFuture<'_, BoxTransport>> {
        (self.kind == Kind::Ws).then(|| -> BoxFuture<'_, BoxTransport> {
            Box::pin(async move {
                let options = ConnectOptions::default();
                let ws = ws_unix_transport(&self.path, "ws://localhost/ws", &options)
                    .await
                    .expect("raw WebSocket");
                BoxTransport::from_transport(ws)
            })
        })
    }
}

async fn conformance_over(kind: Kind, name: &str) {
    let path = sock(name);
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .config(conformance::server_config())
        .start()
        .await
        .expect("start");
    assert_eq!(
        server.http_addr(),
        None,
        "a Unix path alone listens on no TCP port"
    );
    assert_eq!(server.http_unix_path(), Some(path.as_path()));
    let target = Target { server, path, kind };
    if kind == Kind::Ws {
        conformance::run_all(&target).await;
    } else {
        // Over HTTP each POST stands alone: no pushes, callbacks or raw frames.
        conformance::requests(&target).await;
        conformance::errors(&target).await;
        conformance::timeouts(&target).await;
        conformance::concurrency(&target, 200).await;
        conformance::cancellation(&target).await;
    }
    target.server.shutdown().await;
    assert!(
        !target.path.exists(),
        "the socket file is removed on shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_http1_on_unix() {
    conformance_over(Kind::Http1, "conf-h1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_h2c_on_unix() {
    conformance_over(Kind::H2c, "conf-h2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_ws_on_unix() {
    conformance_over(Kind::Ws, "conf-ws").await;
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_over_the_unix_socket_http1_h2c_health_and_metrics() {
    if missing("curl", have_curl()) {
        return;
    }
    let path = sock("curl");
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .node_name("unix-node")
        .metrics(true)
        .start()
        .await
        .unwrap();
    let p = path.to_str().unwrap().to_owned();
    let (body, version) = blocking({
        let p = p.clone();
        move || curl_post("http://localhost/", &["--unix-socket", &p, "--http1.1"])
    })
    .await;
    assert_eq!(version, "1.1");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (body, version) = blocking({
        let p = p.clone();
        move || {
            curl_post(
                "http://localhost/",
                &["--unix-socket", &p, "--http2-prior-knowledge"],
            )
        }
    })
    .await;
    assert_eq!(version, "2");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (code, body, _) = blocking({
        let p = p.clone();
        move || curl_get("http://localhost/health", &["--unix-socket", &p])
    })
    .await;
    assert_eq!(code, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["node"], "unix-node");
    let (code, body, version) = blocking({
        let p = p.clone();
        move || {
            curl_get(
                "http://localhost/metrics",
                &["--unix-socket", &p, "--http2-prior-knowledge"],
            )
        }
    })
    .await;
    assert_eq!((code, version.as_str()), (200, "2"));
    assert!(
        body.contains("add"),
        "the calls are counted per method: {body}"
    );
    server.shutdown().await;
}

/// One raw HTTP/1.1 exchange on the Unix socket at `path`; returns the status.
async fn raw_status(path: &std::path::Path, request: &str) -> u16 {
    let mut s = tokio::net::UnixStream::connect(path).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

#[tokio::test]
async fn the_http_port_limits_hold_on_the_socket() {
    let path = sock("limits");
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .max_body(1024)
        .max_connections(1)
        .start()
        .await
        .unwrap();
    let big = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(&path, big).await, 413);
    let no_host = "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_eq!(raw_status(&path, no_host).await, 400);
    let get = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(&path, get).await, 405);
    // The connection limit counts the socket's connections: one WebSocket holds the only slot.
    for _ in 0..4000 {
        if server.open_connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ws = connect_ws_unix(&path, "ws://localhost/ws").await.unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    let call = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_eq!(raw_status(&path, call).await, 503);
    server.shutdown().await;
}

#[tokio::test]
async fn http_socket_file_rules_match_the_ndjson_listener() {
    let path = sock("rules");
    // A dead server's leftover is replaced, and the mode applies.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .unix_mode(0o600)
        .start()
        .await
        .expect("a stale socket file is replaced");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let client = connect_http_unix(&path, "http://localhost/").await.unwrap();
    let sum: i64 = client.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
    // A live one is refused, as HTTP and as newline-delimited JSON.
    for second in [
        Server::builder(conformance::router()).http_unix(&path),
        Server::builder(conformance::router()).unix(&path),
    ] {
        let second = second.start().await;
        assert!(
            matches!(second, Err(StartError::UnixInUse { .. })),
            "{:?}",
            second.err()
        );
    }
    let sum: i64 = client.request("add", [4, 3]).await.unwrap();
    assert_eq!(sum, 7);
    // No TLS on a Unix socket: a secure scheme is a clear error, not a handshake that hangs.
    let https = connect_http_unix(&path, "https://localhost/")
        .await
        .unwrap_err();
    let wss = connect_ws_unix(&path, "wss://localhost/ws")
        .await
        .unwrap_err();
    for e in [https, wss] {
        assert!(e.to_string().contains("without TLS"), "{e}");
    }
    server.shutdown().await;
    assert!(!path.exists(), "removed on shutdown");
    // Not a socket: never removed.
    std::fs::write(&path, b"data").unwrap();
    let third = Server::builder(conformance::router())
        .http_unix(&path)
        .start()
        .await;
    assert!(
        matches!(third, Err(StartError::Bind { .. })),
        "{:?}",
        third.err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn a_handed_in_listener_serves_http_and_keeps_its_file() {
    let path = sock("handed");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = Server::builder(conformance::router())
        .http_unix_listener(listener)
        .start()
        .await
        .unwrap();
    assert_eq!(server.http_unix_path(), Some(path.as_path()));
    let ws = connect_ws_unix(&path, "ws://localhost/ws").await.unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    server.shutdown().await;
    assert!(path.exists(), "the file belongs to whoever bound it");
    std::fs::remove_file(&path).unwrap();
}

fn nap(d: Duration) -> BoxFuture<'static, ()> {
    Box::pin(tokio::time::sleep(d))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_http_on_unix_and_h2_multiplexes_on_the_socket() {
    let path = sock("who");
    let ndjson = sock("who-nd");
    let gate = Gate::default();
    let server = Server::builder(gate.router())
        .http_unix(&path)
        .unix(&ndjson)
        .start()
        .await
        .unwrap();
    let http = connect_http_unix(&path, "http://localhost/").await.unwrap();
    let ws = connect_ws_unix(&path, "ws://localhost/ws").await.unwrap();
    let nd = connect_unix(&ndjson).await.unwrap();
    let h2 = connect_http_unix_with(
        &path,
        "http://localhost/",
        ConnectOptions::default().with_http(HttpClientConfig::default().with_http2(true)),
    )
    .await
    .unwrap();
    let who = |c: Client| async move { c.request::<String, _>("who", ()).await.unwrap() };
    assert_eq!(who(http.clone()).await, "http unix=true tls=false");
    assert_eq!(who(h2.clone()).await, "http unix=true tls=false");
    assert_eq!(who(ws.clone()).await, "websocket unix=true tls=false");
    assert_eq!(who(nd.clone()).await, "unix unix=true tls=false");
    drop((http, ws, nd));
    // Only the h2 client's socket stays: wait (bounded) for the others to close.
    for _ in 0..4000 {
        if server.open_connections() <= 1 {
            break;
        }
        nap(Duration::from_millis(5)).await;
    }
    let seen = gate::gated_calls(&gate, &h2, gate::N, &|| server.open_connections(), &nap).await;
    assert_eq!(
        seen,
        vec![1],
        "HTTP/2 on the socket: every call on one connection"
    );
    server.shutdown().await;
}
