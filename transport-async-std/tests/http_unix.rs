//! HTTP and WebSocket served on a Unix domain socket on smol and async-std
//! (`ServerBuilder::http_unix`), as on the HTTP port: the conformance suite over HTTP/1.1, h2c
//! and WebSocket on the socket, curl `--unix-socket` (HTTP/1.1 POST, `--http2-prior-knowledge`,
//! `/health`, `/metrics`), the same limits, the socket file's rules (stale replaced, live
//! refused, permissions, removed on shutdown; a handed-in listener's file kept), and what
//! handlers see of such a peer. curl is a blocking process run from the test thread while the
//! server runs on the executor's own threads.

#[path = "../../tests/shared/gate.rs"]
mod gate;
#[path = "../../tests/interop/h2_clients.rs"]
mod h2_clients;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use gate::Gate;
use h2_clients::{curl_get, curl_post, have_curl, missing};
use jsonrpc_proto::peer::{BoxTransport, Client, ClientConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use transport_async_std::{
    connect_http_unix_with, connect_unix_with, connect_ws_unix_with, ws_unix_transport,
    AsyncIoRuntime, ConnectOptions, HttpClientConfig, RunningServer, Server, StartError,
};

fn sock(rt: &str, name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("jrpc-{rt}-h-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn opts(rt: &AsyncIoRuntime) -> ConnectOptions {
    ConnectOptions::default().with_runtime(Some(rt.clone()))
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
    rt: AsyncIoRuntime,
}

impl Connector for Target {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            let options = opts(&self.rt)
                .with_client(config)
                .with_router(local)
                .with_http(HttpClientConfig::default().with_http2(self.kind == Kind::H2c));
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
                let ws = ws_unix_transport(&self.path, "ws://localhost/ws", &opts(&self.rt))
                    .await
                    .expect("raw WebSocket");
                BoxTransport::from_transport(ws)
            })
        })
    }
}

async fn conformance_over(rt: AsyncIoRuntime, tag: &str, kind: Kind) {
    let path = sock(tag, &format!("conf-{}", kind as u8));
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .config(conformance::server_config())
        .runtime(rt.clone())
        .start()
        .await
        .expect("start");
    assert_eq!(
        server.http_addr(),
        None,
        "a Unix path alone listens on no TCP port"
    );
    assert_eq!(server.http_unix_path(), Some(path.as_path()));
    let target = Target {
        server,
        path,
        kind,
        rt,
    };
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

async fn curl_over_the_socket(rt: AsyncIoRuntime, tag: &str) {
    if missing("curl", have_curl()) {
        return;
    }
    let path = sock(tag, "curl");
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .node_name("unix-node")
        .metrics(true)
        .runtime(rt)
        .start()
        .await
        .unwrap();
    let p = path.to_str().unwrap();
    let (body, version) = curl_post("http://localhost/", &["--unix-socket", p, "--http1.1"]);
    assert_eq!(version, "1.1");
    assert!(body.contains(r#""result":8"#), "{body}");
    let h2 = ["--unix-socket", p, "--http2-prior-knowledge"];
    let (body, version) = curl_post("http://localhost/", &h2);
    assert_eq!(version, "2");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (code, body, _) = curl_get("http://localhost/health", &["--unix-socket", p]);
    assert_eq!(code, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["node"], "unix-node");
    let (code, body, version) = curl_get("http://localhost/metrics", &h2);
    assert_eq!((code, version.as_str()), (200, "2"));
    assert!(
        body.contains("add"),
        "the calls are counted per method: {body}"
    );
    server.shutdown().await;
}

/// One raw HTTP/1.1 exchange on the Unix socket at `path`; returns the status.
async fn raw_status(path: &Path, request: &str) -> u16 {
    let mut s = async_net::unix::UnixStream::connect(path).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let read = s.read_to_end(&mut out);
    futures::pin_mut!(read);
    let timer = async_io::Timer::after(Duration::from_secs(20));
    let _ = futures::future::select(read, timer).await;
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

async fn limits(rt: AsyncIoRuntime, tag: &str) {
    let path = sock(tag, "limits");
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .max_body(1024)
        .max_connections(1)
        .runtime(rt.clone())
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
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    let ws = connect_ws_unix_with(&path, "ws://localhost/ws", opts(&rt))
        .await
        .unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    let call = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_eq!(raw_status(&path, call).await, 503);
    server.shutdown().await;
}

async fn socket_file_rules(rt: AsyncIoRuntime, tag: &str) {
    let path = sock(tag, "rules");
    // A dead server's leftover is replaced, and the mode applies.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let server = Server::builder(conformance::router())
        .http_unix(&path)
        .unix_mode(0o600)
        .runtime(rt.clone())
        .start()
        .await
        .expect("a stale socket file is replaced");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let client = connect_http_unix_with(&path, "http://localhost/", opts(&rt))
        .await
        .unwrap();
    let sum: i64 = client.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
    // A live one is refused, as HTTP and as newline-delimited JSON.
    for second in [
        Server::builder(conformance::router()).http_unix(&path),
        Server::builder(conformance::router()).unix(&path),
    ] {
        let second = second.runtime(rt.clone()).start().await;
        assert!(
            matches!(second, Err(StartError::UnixInUse { .. })),
            "{:?}",
            second.err()
        );
    }
    let sum: i64 = client.request("add", [4, 3]).await.unwrap();
    assert_eq!(sum, 7);
    // No TLS on a Unix socket: a secure scheme is a clear error, not a handshake that hangs.
    let https = connect_http_unix_with(&path, "https://localhost/", opts(&rt)).await;
    let wss = connect_ws_unix_with(&path, "wss://localhost/ws", opts(&rt)).await;
    for e in [https.unwrap_err(), wss.unwrap_err()] {
        assert!(e.to_string().contains("without TLS"), "{e}");
    }
    server.shutdown().await;
    assert!(!path.exists(), "removed on shutdown");
    // Not a socket: never removed.
    std::fs::write(&path, b"data").unwrap();
    let third = Server::builder(conformance::router())
        .http_unix(&path)
        .runtime(rt.clone())
        .start()
        .await;
    assert!(
        matches!(third, Err(StartError::Bind { .. })),
        "{:?}",
        third.err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
    std::fs::remove_file(&path).unwrap();

    // A listener handed in serves HTTP and WebSocket; its file stays.
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = Server::builder(conformance::router())
        .http_unix_listener(listener)
        .runtime(rt.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(server.http_unix_path(), Some(path.as_path()));
    let ws = connect_ws_unix_with(&path, "ws://localhost/ws", opts(&rt))
        .await
        .unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    server.shutdown().await;
    assert!(path.exists(), "the file belongs to whoever bound it");
    std::fs::remove_file(&path).unwrap();
}

fn nap(d: Duration) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        async_io::Timer::after(d).await;
    })
}

async fn who_and_h2(rt: AsyncIoRuntime, tag: &str) {
    let path = sock(tag, "who");
    let ndjson = sock(tag, "who-nd");
    let gate = Gate::default();
    let server = Server::builder(gate.router())
        .http_unix(&path)
        .unix(&ndjson)
        .runtime(rt.clone())
        .start()
        .await
        .unwrap();
    let http = connect_http_unix_with(&path, "http://localhost/", opts(&rt))
        .await
        .unwrap();
    let ws = connect_ws_unix_with(&path, "ws://localhost/ws", opts(&rt))
        .await
        .unwrap();
    let nd = connect_unix_with(&ndjson, opts(&rt)).await.unwrap();
    let h2_options = opts(&rt).with_http(HttpClientConfig::default().with_http2(true));
    let h2 = connect_http_unix_with(&path, "http://localhost/", h2_options)
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

#[test]
fn conformance_http1_on_unix_smol() {
    smol::block_on(conformance_over(
        AsyncIoRuntime::smol(),
        "smol",
        Kind::Http1,
    ));
}

#[test]
fn conformance_http1_on_unix_async_std() {
    let rt = AsyncIoRuntime::async_std();
    async_std::task::block_on(conformance_over(rt, "astd", Kind::Http1));
}

#[test]
fn conformance_h2c_on_unix_smol() {
    smol::block_on(conformance_over(AsyncIoRuntime::smol(), "smol", Kind::H2c));
}

#[test]
fn conformance_h2c_on_unix_async_std() {
    let rt = AsyncIoRuntime::async_std();
    async_std::task::block_on(conformance_over(rt, "astd", Kind::H2c));
}

#[test]
fn conformance_ws_on_unix_smol() {
    smol::block_on(conformance_over(AsyncIoRuntime::smol(), "smol", Kind::Ws));
}

#[test]
fn conformance_ws_on_unix_async_std() {
    let rt = AsyncIoRuntime::async_std();
    async_std::task::block_on(conformance_over(rt, "astd", Kind::Ws));
}

#[test]
fn curl_over_the_unix_socket_http1_h2c_health_and_metrics_smol() {
    smol::block_on(curl_over_the_socket(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn curl_over_the_unix_socket_http1_h2c_health_and_metrics_async_std() {
    let rt = AsyncIoRuntime::async_std();
    async_std::task::block_on(curl_over_the_socket(rt, "astd"));
}

#[test]
fn the_http_port_limits_hold_on_the_socket_smol() {
    smol::block_on(limits(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn the_http_port_limits_hold_on_the_socket_async_std() {
    async_std::task::block_on(limits(AsyncIoRuntime::async_std(), "astd"));
}

#[test]
fn http_socket_file_rules_and_handed_in_listener_smol() {
    smol::block_on(socket_file_rules(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn http_socket_file_rules_and_handed_in_listener_async_std() {
    let rt = AsyncIoRuntime::async_std();
    async_std::task::block_on(socket_file_rules(rt, "astd"));
}

#[test]
fn handlers_see_http_on_unix_and_h2_multiplexes_on_the_socket_smol() {
    smol::block_on(who_and_h2(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn handlers_see_http_on_unix_and_h2_multiplexes_on_the_socket_async_std() {
    async_std::task::block_on(who_and_h2(AsyncIoRuntime::async_std(), "astd"));
}
