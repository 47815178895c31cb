//! HTTP and WebSocket served on a Unix domain socket (`ServerBuilder::http_unix`), as on the
//! HTTP port, for both adapters (included with `#[path]`, beside `adapter.rs`, `gate.rs` and
//! `../interop/h2_clients.rs`, which it uses from the crate root; the including file names its
//! crate `under_test`): the conformance suite over HTTP/1.1, h2c and WebSocket on the socket,
//! curl `--unix-socket` (HTTP/1.1 POST, `--http2-prior-knowledge`, `/health`, `/metrics`), the
//! same limits, the socket file's rules (stale replaced, live refused, permissions, removed on
//! shutdown; a handed-in listener's file kept), and what handlers see of such a peer. Blocking
//! work (curl, raw socket reads) runs on a thread of its own while the server runs on the
//! runtime under test. It lives here rather than in `jsonrpc_proto::testing` because it uses
//! the test-only `gate` and curl helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::BoxFuture;
use jsonrpc_proto::adapter::builder::RunningServer;
use jsonrpc_proto::adapter::connect::ConnectOptions;
use jsonrpc_proto::peer::{BoxTransport, Client, ClientConfig, Runtime};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::adapter::{sleep, Adapter};
use jsonrpc_proto::testing::conformance::{self, Connector};

use crate::adapter::{Rt, Under};
use crate::gate::{self, Gate};
use crate::h2_clients::{curl_get, curl_post, have_curl, missing};
use crate::under_test::{
    connect_http_unix_with, connect_unix_with, connect_ws_unix_with, ws_unix_transport,
    HttpClientConfig, StartError,
};

fn sock(a: &Under, name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "jrpc-{}-h-{}-{name}.sock",
        a.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

/// Runs `f` on a thread of its own; its output comes back to the awaiting task.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.expect("blocking thread")
}

/// The transport the conformance suite runs over on the socket.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Kind {
    Http1,
    H2c,
    Ws,
}

struct Target<'a> {
    a: &'a Under,
    server: RunningServer<Rt>,
    path: PathBuf,
    kind: Kind,
}

impl Target<'_> {
    fn options(&self, client: ClientConfig, router: Option<Router>) -> ConnectOptions<Rt> {
        self.a
            .options()
            .with_client(client)
            .with_router(router)
            .with_http(HttpClientConfig::default().with_http2(self.kind == Kind::H2c))
    }
}

impl Connector for Target<'_> {
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
                let ws = ws_unix_transport(&self.path, "ws://localhost/ws", &self.a.options())
                    .await
                    .expect("raw WebSocket");
                BoxTransport::from_transport(ws)
            })
        })
    }
}

/// The conformance suite over `kind` on the socket (over HTTP, the checks a POST can take).
pub async fn conformance_over(a: &Under, kind: Kind) {
    let path = sock(a, &format!("conf-{kind:?}"));
    let server = a
        .builder(conformance::router())
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
    let target = Target {
        a,
        server,
        path,
        kind,
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

/// curl `--unix-socket`: HTTP/1.1 and h2c POSTs, `/health`, `/metrics`.
pub async fn curl_over_the_socket(a: &Under) {
    if missing("curl", have_curl()) {
        return;
    }
    let path = sock(a, "curl");
    let server = a
        .builder(conformance::router())
        .http_unix(&path)
        .node_name("unix-node")
        .metrics(true)
        .start()
        .await
        .unwrap();
    let p = path.to_str().unwrap().to_owned();
    let curl = |args: &'static [&'static str], get: Option<&'static str>| {
        let p = p.clone();
        blocking(move || {
            let mut all = vec!["--unix-socket", p.as_str()];
            all.extend_from_slice(args);
            match get {
                Some(url) => {
                    let (code, body, version) = curl_get(url, &all);
                    (Some(code), body, version)
                }
                None => {
                    let (body, version) = curl_post("http://localhost/", &all);
                    (None, body, version)
                }
            }
        })
    };
    let h2: &'static [&'static str] = &["--http2-prior-knowledge"];
    let (_, body, version) = curl(&["--http1.1"], None).await;
    assert_eq!(version, "1.1");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (_, body, version) = curl(h2, None).await;
    assert_eq!(version, "2");
    assert!(body.contains(r#""result":8"#), "{body}");
    let (code, body, _) = curl(&[], Some("http://localhost/health")).await;
    assert_eq!(code, Some(200));
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["node"], "unix-node");
    let (code, body, version) = curl(h2, Some("http://localhost/metrics")).await;
    assert_eq!((code, version.as_str()), (Some(200), "2"));
    assert!(
        body.contains("add"),
        "the calls are counted per method: {body}"
    );
    server.shutdown().await;
}

/// One raw HTTP/1.1 exchange on the Unix socket at `path` (read for 20 s at most); returns the
/// status.
async fn raw_status(path: &Path, request: &'static str) -> u16 {
    let path = path.to_owned();
    let out = blocking(move || {
        let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    })
    .await;
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// Waits (bounded: 20 s in 5 ms steps) until `open()` is 0.
async fn until_no_connection(a: &Under, open: impl Fn() -> usize) {
    for _ in 0..4000 {
        if open() == 0 {
            return;
        }
        sleep(a, Duration::from_millis(5)).await;
    }
    panic!("the server still holds {} connections", open());
}

/// The HTTP port's limits hold on the socket: 413, 400, 405, and the connection limit.
pub async fn limits(a: &Under) {
    let path = sock(a, "limits");
    let server = a
        .builder(conformance::router())
        .http_unix(&path)
        .max_body(1024)
        .max_connections(1)
        .start()
        .await
        .unwrap();
    let big = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(&path, big).await, 413);
    // Each exchange closes its connection; the next one waits until the server has let go of
    // it (the only slot), else it would be answered 503.
    until_no_connection(a, || server.open_connections()).await;
    let no_host = "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_eq!(raw_status(&path, no_host).await, 400);
    until_no_connection(a, || server.open_connections()).await;
    let get = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(&path, get).await, 405);
    // The connection limit counts the socket's connections: one WebSocket holds the only slot.
    until_no_connection(a, || server.open_connections()).await;
    let ws = connect_ws_unix_with(&path, "ws://localhost/ws", a.options())
        .await
        .unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    let call = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_eq!(raw_status(&path, call).await, 503);
    server.shutdown().await;
}

/// The socket file's rules, as for the newline-delimited JSON listener: a stale file replaced,
/// the mode applied, a live one refused, no TLS scheme, removed on shutdown, a non-socket kept.
pub async fn socket_file_rules(a: &Under) {
    let path = sock(a, "rules");
    // A dead server's leftover is replaced, and the mode applies.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let server = a
        .builder(conformance::router())
        .http_unix(&path)
        .unix_mode(0o600)
        .start()
        .await
        .expect("a stale socket file is replaced");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let client = connect_http_unix_with(&path, "http://localhost/", a.options())
        .await
        .unwrap();
    let sum: i64 = client.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
    // A live one is refused, as HTTP and as newline-delimited JSON.
    for second in [
        a.builder(conformance::router()).http_unix(&path),
        a.builder(conformance::router()).unix(&path),
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
    let https = connect_http_unix_with(&path, "https://localhost/", a.options()).await;
    let wss = connect_ws_unix_with(&path, "wss://localhost/ws", a.options()).await;
    for e in [https.unwrap_err(), wss.unwrap_err()] {
        assert!(e.to_string().contains("without TLS"), "{e}");
    }
    server.shutdown().await;
    assert!(!path.exists(), "removed on shutdown");
    // Not a socket: never removed.
    std::fs::write(&path, b"data").unwrap();
    let third = a
        .builder(conformance::router())
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

/// A listener handed in serves HTTP and WebSocket; its file stays after shutdown.
pub async fn handed_in_listener(a: &Under) {
    let path = sock(a, "handed");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = a
        .builder(conformance::router())
        .http_unix_listener(listener)
        .start()
        .await
        .unwrap();
    assert_eq!(server.http_unix_path(), Some(path.as_path()));
    let ws = connect_ws_unix_with(&path, "ws://localhost/ws", a.options())
        .await
        .unwrap();
    let sum: i64 = ws.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    server.shutdown().await;
    assert!(path.exists(), "the file belongs to whoever bound it");
    std::fs::remove_file(&path).unwrap();
}

/// What handlers see of HTTP, h2c, WebSocket and newline-delimited JSON peers on Unix sockets;
/// HTTP/2 carries every call on one connection.
pub async fn who_and_h2(a: &Under) {
    let path = sock(a, "who");
    let ndjson = sock(a, "who-nd");
    let gate = Gate::default();
    let server = a
        .builder(gate.router())
        .http_unix(&path)
        .unix(&ndjson)
        .start()
        .await
        .unwrap();
    let http = connect_http_unix_with(&path, "http://localhost/", a.options())
        .await
        .unwrap();
    let ws = connect_ws_unix_with(&path, "ws://localhost/ws", a.options())
        .await
        .unwrap();
    let nd = connect_unix_with(&ndjson, a.options()).await.unwrap();
    let h2_options = a
        .options()
        .with_http(HttpClientConfig::default().with_http2(true));
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
        sleep(a, Duration::from_millis(5)).await;
    }
    let rt = a.runtime();
    let nap = move |d: Duration| rt.sleep_until(rt.now() + d);
    let seen = gate::gated_calls(&gate, &h2, gate::N, &|| server.open_connections(), &nap).await;
    assert_eq!(
        seen,
        vec![1],
        "HTTP/2 on the socket: every call on one connection"
    );
    server.shutdown().await;
}
