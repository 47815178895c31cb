//! The tokio server end to end: the conformance suite over TCP, WebSocket and HTTP (plain and
//! TLS), HTTP status codes, health, hooks, pushes, shutdown, dead servers, mTLS.

mod common;

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use jsonrpc_proto::peer::{
    BoxTransport, Client, ClientConfig, ClientError, ClientInfo, TransportKind,
};
use jsonrpc_proto::service::{CallInfo, Context, Hooks, Router};
use jsonrpc_proto::testing::conformance::{self, Connector};
use jsonrpc_proto::ErrorObject;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use transport_tokio::tls::{TlsClientConfig, TlsServerConfig};
use transport_tokio::{
    connect_http_with, connect_tcp_with, connect_ws_with, tcp_transport, ws_transport,
    ConnectOptions, RunningServer, Server,
};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Tcp,
    Ws,
    Http,
}

struct Target {
    kind: Kind,
    server: RunningServer,
    tls: Option<TlsClientConfig>,
}

impl Target {
    fn url(&self) -> String {
        let addr = self.server.http_addr().expect("http addr");
        let s = if self.tls.is_some() { "s" } else { "" };
        match self.kind {
            Kind::Ws => format!("ws{s}://localhost:{}/ws", addr.port()),
            _ => format!("http{s}://localhost:{}/", addr.port()),
        }
    }

    fn tcp_addr(&self) -> String {
        format!(
            "localhost:{}",
            self.server.tcp_addr().expect("tcp addr").port()
        )
    }

    fn options(&self, config: ClientConfig, router: Option<Router>) -> ConnectOptions {
        ConnectOptions::default()
            .with_tls(self.tls.clone())
            .with_client(config)
            .with_router(router)
    }
}

impl Connector for Target {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        async move {
            let options = self.options(config, local);
            match self.kind {
                Kind::Tcp => connect_tcp_with(&self.tcp_addr(), options).await,
                Kind::Ws => connect_ws_with(&self.url(), options).await,
                Kind::Http => connect_http_with(&self.url(), options).await,
            }
            .expect("connect")
        }
        .boxed()
    }

    fn connect_raw(&self) -> Option<BoxFuture<'_, BoxTransport>> {
        match self.kind {
            Kind::Http => None,
            Kind::Tcp => Some(
                async move {
                    BoxTransport::from_transport(
                        tcp_transport(&self.tcp_addr(), self.tls.as_ref())
                            .await
                            .expect("raw tcp"),
                    )
                }
                .boxed(),
            ),
            Kind::Ws => Some(
                async move {
                    let options = self.options(ClientConfig::default(), None);
                    BoxTransport::from_transport(
                        ws_transport(&self.url(), &options).await.expect("raw ws"),
                    )
                }
                .boxed(),
            ),
        }
    }

    fn half_close(&self) -> bool {
        matches!(self.kind, Kind::Tcp)
    }
}

async fn conformance_target(kind: Kind, tls: bool) -> (Target, Option<common::Pki>) {
    let pki = tls.then(common::pki);
    let mut builder = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .config(conformance::server_config());
    let mut client_tls = None;
    if let Some(pki) = &pki {
        builder = builder
            .tls(TlsServerConfig::from_pem_files(&pki.server_cert, &pki.server_key, None).unwrap());
        client_tls = Some(TlsClientConfig::with_ca_file(&pki.ca).unwrap());
    }
    let server = builder.start().await.expect("start");
    (
        Target {
            kind,
            server,
            tls: client_tls,
        },
        pki,
    )
}

async fn run_conformance(kind: Kind, tls: bool) {
    let (target, _pki) = conformance_target(kind, tls).await;
    match kind {
        // One POST per call: no per-connection state, no pushes, no callbacks.
        Kind::Http => {
            conformance::requests(&target).await;
            conformance::errors(&target).await;
            conformance::timeouts(&target).await;
            conformance::concurrency(&target, 50).await;
            conformance::cancellation(&target).await;
        }
        _ => conformance::run_all(&target).await,
    }
    target.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_tcp() {
    run_conformance(Kind::Tcp, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_ws() {
    run_conformance(Kind::Ws, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_http() {
    run_conformance(Kind::Http, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_tcp_tls() {
    run_conformance(Kind::Tcp, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_wss() {
    run_conformance(Kind::Ws, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_https() {
    run_conformance(Kind::Http, true).await;
}

// ------------------------------------------------------------------------------------------
// HTTP over a raw socket.

struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request with `Connection: close` and reads the whole response.
async fn raw_http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    tcp.write_all(req.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

#[tokio::test]
async fn http_status_codes() {
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .node_name("TestNode")
        .max_body(1024)
        .start()
        .await
        .unwrap();
    let addr = server.http_addr().unwrap();
    let call = br#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":1}"#;

    let r = raw_http(addr, "POST", "/", &[JSON], call).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, r#"{"jsonrpc":"2.0","result":8,"id":1}"#);

    let r = raw_http(
        addr,
        "POST",
        "/",
        &[("Content-Type", "application/json; charset=utf-8")],
        call,
    )
    .await;
    assert_eq!(r.status, 200);

    let r = raw_http(addr, "POST", "/", &[("Content-Type", "text/plain")], call).await;
    assert_eq!(r.status, 415);
    let r = raw_http(addr, "POST", "/", &[], call).await;
    assert_eq!(r.status, 415);

    let big = vec![b' '; 2048];
    let r = raw_http(addr, "POST", "/", &[JSON], &big).await;
    assert_eq!(r.status, 413);

    let r = raw_http(addr, "GET", "/", &[], b"").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = raw_http(addr, "DELETE", "/health", &[], b"").await;
    assert_eq!(r.status, 405);

    let r = raw_http(addr, "POST", "/nope", &[JSON], call).await;
    assert_eq!(r.status, 404);

    // Only notifications: 204 without a body.
    let r = raw_http(
        addr,
        "POST",
        "/",
        &[JSON],
        br#"{"jsonrpc":"2.0","method":"bump","params":{"by":1}}"#,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, "");
    let r = raw_http(
        addr,
        "POST",
        "/",
        &[JSON],
        br#"[{"jsonrpc":"2.0","method":"bump","params":{"by":1}}]"#,
    )
    .await;
    assert_eq!(r.status, 204);

    // JSON-RPC errors are 200 with a JSON body.
    let r = raw_http(addr, "POST", "/", &[JSON], b"{not json").await;
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["code"], -32700);
    let r = raw_http(
        addr,
        "POST",
        "/",
        &[JSON],
        br#"{"jsonrpc":"2.0","method":"nope","id":"x"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["code"], -32601);
    assert_eq!(v["id"], "x");

    // A WebSocket client shows in the health body.
    let ws = connect_ws_with(&format!("ws://{addr}/ws"), ConnectOptions::default())
        .await
        .unwrap();
    let _: i64 = ws.request("add", [1, 1]).await.unwrap();
    let r = raw_http(addr, "GET", "/health", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v,
        json!({"status":"ok","node":"TestNode","websocket_clients":1,"pending_requests":0})
    );
    ws.close().await;
    server.shutdown().await;
}

// ------------------------------------------------------------------------------------------
// Hooks, pushes, client ids.

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, u64, TransportKind)>>,
    connected: tokio::sync::Notify,
}

struct AuthHooks(Arc<Recorder>);

impl Hooks for AuthHooks {
    fn before_request<'a>(
        &'a self,
        call: &'a CallInfo<'a>,
    ) -> BoxFuture<'a, Result<(), ErrorObject>> {
        Box::pin(async move {
            if call.client.transport.header("authorization") == Some("Bearer let-me-in") {
                Ok(())
            } else {
                Err(ErrorObject::new(-32004, "Unauthorized")
                    .with_data("send Authorization: Bearer <token>"))
            }
        })
    }
    fn on_connect(&self, client: &ClientInfo) {
        self.0
            .events
            .lock()
            .unwrap()
            .push(("connect".into(), client.id.0, client.transport.kind));
        self.0.connected.notify_one();
    }
    fn on_disconnect(&self, client: &ClientInfo) {
        self.0.events.lock().unwrap().push((
            "disconnect".into(),
            client.id.0,
            client.transport.kind,
        ));
    }
}

fn auth_router(rec: Arc<Recorder>) -> Router {
    Router::builder()
        .hooks(AuthHooks(rec))
        .method("whoami", |ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>(ctx.client_id().0)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn before_request_rejects_calls_without_authorization() {
    let rec = Arc::new(Recorder::default());
    let server = Server::builder(auth_router(rec.clone()))
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let addr = server.http_addr().unwrap();
    let http = format!("http://{addr}/");
    let ws = format!("ws://{addr}/ws");

    let anonymous = connect_http_with(&http, ConnectOptions::default())
        .await
        .unwrap();
    match anonymous.request::<u64, _>("whoami", ()).await {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code.0, -32004),
        other => panic!("expected a rejection, got {other:?}"),
    }
    let wrong = ConnectOptions::default().header("Authorization", "Bearer nope");
    let wrong = connect_http_with(&http, wrong).await.unwrap();
    assert!(matches!(
        wrong.request::<u64, _>("whoami", ()).await,
        Err(ClientError::Rpc(_))
    ));
    let good = ConnectOptions::default().header("Authorization", "Bearer let-me-in");
    let good = connect_http_with(&http, good).await.unwrap();
    good.request::<u64, _>("whoami", ())
        .await
        .expect("authorized over HTTP");

    // WebSocket: the handshake headers count.
    let anonymous = connect_ws_with(&ws, ConnectOptions::default())
        .await
        .unwrap();
    assert!(matches!(
        anonymous.request::<u64, _>("whoami", ()).await,
        Err(ClientError::Rpc(_))
    ));
    let good = ConnectOptions::default().header("Authorization", "Bearer let-me-in");
    let good = connect_ws_with(&ws, good).await.unwrap();
    good.request::<u64, _>("whoami", ())
        .await
        .expect("authorized over WebSocket");
    server.shutdown().await;
}

struct OpenHooks(Arc<Recorder>);
impl Hooks for OpenHooks {
    fn on_connect(&self, client: &ClientInfo) {
        self.0
            .events
            .lock()
            .unwrap()
            .push(("connect".into(), client.id.0, client.transport.kind));
        self.0.connected.notify_one();
    }
    fn on_disconnect(&self, client: &ClientInfo) {
        self.0.events.lock().unwrap().push((
            "disconnect".into(),
            client.id.0,
            client.transport.kind,
        ));
        self.0.connected.notify_one();
    }
}

#[tokio::test]
async fn connect_hooks_and_pushes_reach_ws_and_tcp_clients() {
    let rec = Arc::new(Recorder::default());
    let router = Router::builder()
        .hooks(OpenHooks(rec.clone()))
        .method("whoami", |ctx: Context, (): ()| async move {
            Ok::<_, ErrorObject>(ctx.client_id().0)
        })
        .build()
        .unwrap();
    let server = Server::builder(router)
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let ws = connect_ws_with(
        &format!("ws://{}/ws", server.http_addr().unwrap()),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let tcp = connect_tcp_with(
        &server.tcp_addr().unwrap().to_string(),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let ws_id: u64 = ws.request("whoami", ()).await.unwrap();
    let tcp_id: u64 = tcp.request("whoami", ()).await.unwrap();
    assert_ne!(ws_id, tcp_id);
    {
        let events = rec.events.lock().unwrap();
        assert!(events.contains(&("connect".into(), ws_id, TransportKind::WebSocket)));
        assert!(events.contains(&("connect".into(), tcp_id, TransportKind::Tcp)));
    }
    let handle = server.handle();
    let mut ws_notes = ws.notifications();
    let mut tcp_notes = tcp.notifications();
    handle
        .notify_client(
            jsonrpc_proto::peer::ClientId(tcp_id),
            "direct",
            json!({"to": "tcp"}),
        )
        .unwrap();
    assert_eq!(handle.broadcast("news", ["hello"]).unwrap(), 2);
    let n = tcp_notes.next().await.unwrap();
    assert_eq!(n.method, "direct");
    let n = tcp_notes.next().await.unwrap();
    assert_eq!(n.method, "news");
    let n = ws_notes.next().await.unwrap();
    assert_eq!(n.method, "news");

    ws.close().await;
    for _ in 0..100 {
        if rec
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.0 == "disconnect" && e.1 == ws_id)
        {
            break;
        }
        rec.connected.notified().await;
    }
    assert!(rec.events.lock().unwrap().contains(&(
        "disconnect".into(),
        ws_id,
        TransportKind::WebSocket
    )));
    server.shutdown().await;
}

// ------------------------------------------------------------------------------------------
// Shutdown and dead servers.

struct Gate(Arc<tokio::sync::Semaphore>);

fn gated_router(gate: Arc<tokio::sync::Semaphore>) -> Router {
    Router::builder()
        .state(Gate(gate))
        .method("wait", |ctx: Context, (): ()| async move {
            let gate = ctx.state::<Gate>().expect("gate");
            let _permit = gate
                .0
                .acquire()
                .await
                .map_err(|_| ErrorObject::internal_error())?;
            Ok::<_, ErrorObject>("finished")
        })
        .method("release", |ctx: Context, (): ()| async move {
            ctx.state::<Gate>().expect("gate").0.add_permits(1);
            Ok::<_, ErrorObject>(())
        })
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_calls_finish() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let router = gated_router(gate.clone());
    let server = Server::builder(router)
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let handle = server.handle();
    let ws = connect_ws_with(
        &format!("ws://{}/ws", server.http_addr().unwrap()),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let tcp_addr = server.tcp_addr().unwrap().to_string();
    let call = tokio::spawn(async move { ws.request::<String, _>("wait", ()).await });
    // Wait (bounded) until the call is being handled.
    for _ in 0..1000 {
        if handle.pending_requests() == 1 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(handle.pending_requests(), 1);
    let shutdown_handle = server.shutdown_handle();
    let stopping = tokio::spawn(server.shutdown());
    // The spawned shutdown may not have run yet: wait (bounded) until the server refuses new
    // connections, so the late client below cannot slip in before it (it did, once in ~10 runs).
    for _ in 0..1000 {
        if handle.is_shutting_down() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert!(shutdown_handle.is_shutting_down() && handle.is_shutting_down());
    // New connections are refused while shutting down; the call in flight still finishes.
    let late = connect_tcp_with(&tcp_addr, ConnectOptions::default()).await;
    if let Ok(late) = late {
        assert!(late.request::<(), _>("release", ()).await.is_err());
    }
    gate.add_permits(1);
    let answer = call.await.unwrap();
    match answer {
        Ok(s) => assert_eq!(s, "finished"),
        Err(e) => panic!("the in-flight call was cut off: {e:?}"),
    }
    stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_get_an_error_when_the_server_dies() {
    let server = Server::builder(gated_router(Arc::new(tokio::sync::Semaphore::new(0))))
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let http_url = format!("http://{}/", server.http_addr().unwrap());
    let ws = connect_ws_with(
        &format!("ws://{}/ws", server.http_addr().unwrap()),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let tcp = connect_tcp_with(
        &server.tcp_addr().unwrap().to_string(),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let ws_call = tokio::spawn({
        let ws = ws.clone();
        async move { ws.request::<String, _>("wait", ()).await }
    });
    let tcp_call = tokio::spawn({
        let tcp = tcp.clone();
        async move { tcp.request::<String, _>("wait", ()).await }
    });
    for _ in 0..1000 {
        if server.handle().pending_requests() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    drop(server); // stops every connection at once
    assert!(ws_call.await.unwrap().is_err(), "WebSocket call must fail");
    assert!(tcp_call.await.unwrap().is_err(), "TCP call must fail");
    assert!(ws.request::<(), _>("release", ()).await.is_err());
    // HTTP: nothing listens any more; the call fails after the bounded retries.
    let mut options = ConnectOptions::default();
    options.http.backoff = std::time::Duration::from_millis(1);
    let http = connect_http_with(&http_url, options).await.unwrap();
    match http.request::<(), _>("release", ()).await {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code.0, -32000),
        other => panic!("expected a transport failure, got {other:?}"),
    }
}

#[tokio::test]
async fn mtls_server_refuses_clients_without_a_certificate() {
    let pki = common::pki();
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .tls(
            TlsServerConfig::from_pem_files(&pki.server_cert, &pki.server_key, Some(&pki.ca))
                .unwrap(),
        )
        .start()
        .await
        .unwrap();
    let port = server.http_addr().unwrap().port();
    let plain = TlsClientConfig::with_ca_file(&pki.ca).unwrap();
    let mut options = ConnectOptions::default().with_tls(Some(plain.clone()));
    options.http.retries = 0;
    let http = connect_http_with(&format!("https://localhost:{port}/"), options)
        .await
        .unwrap();
    assert!(http.request::<i64, _>("add", [1, 2]).await.is_err());
    assert!(connect_ws_with(
        &format!("wss://localhost:{port}/ws"),
        ConnectOptions::default().with_tls(Some(plain))
    )
    .await
    .is_err());

    let with_cert =
        TlsClientConfig::with_client_cert_files(&pki.ca, &pki.client_cert, &pki.client_key)
            .unwrap();
    let https = connect_http_with(
        &format!("https://localhost:{port}/"),
        ConnectOptions::default().with_tls(Some(with_cert.clone())),
    )
    .await
    .unwrap();
    assert_eq!(https.request::<i64, _>("add", [1, 2]).await.unwrap(), 3);
    let wss = connect_ws_with(
        &format!("wss://localhost:{port}/ws"),
        ConnectOptions::default().with_tls(Some(with_cert)),
    )
    .await
    .unwrap();
    assert_eq!(wss.request::<i64, _>("add", [2, 2]).await.unwrap(), 4);
    wss.close().await;
    server.shutdown().await;
}

/// POSTs are driven by the client's connection task: a notification sent just before `close`
/// (or before the last handle is dropped) is still delivered, and `close` waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_notifications_sent_before_close_are_delivered() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let router = Router::builder()
        .notification("log", move |_ctx: Context, (n,): (u64,)| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(n);
            }
        })
        .build()
        .unwrap();
    let server = Server::builder(router)
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let url = format!("http://{}/", server.http_addr().unwrap());

    let client = connect_http_with(&url, ConnectOptions::default())
        .await
        .unwrap();
    for n in 0..5u64 {
        client.notify("log", (n,)).await.unwrap();
    }
    client.close().await;

    let dropped = connect_http_with(&url, ConnectOptions::default())
        .await
        .unwrap();
    dropped.notify("log", (5u64,)).await.unwrap();
    drop(dropped);

    let mut got = Vec::new();
    while got.len() < 6 {
        match tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await {
            Ok(Some(n)) => got.push(n),
            other => panic!("notifications missing after {got:?}: {other:?}"),
        }
    }
    got.sort_unstable();
    assert_eq!(got, vec![0, 1, 2, 3, 4, 5]);
    server.shutdown().await;
}

// ------------------------------------------------------------------------------------------
// Batches answered whole (every member a request to a `method_sync` handler, no hooks).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_synchronous_calls_over_tcp_and_websocket() {
    let router = Router::builder()
        .method_sync("add", |_ctx: Context, (a, b): (i64, i64)| {
            a.checked_add(b)
                .ok_or_else(|| ErrorObject::invalid_params("the sum overflows i64"))
        })
        .method_sync("whoami", |ctx: Context, (): ()| {
            Ok::<String, ErrorObject>(format!(
                "{}:{:?}",
                ctx.method().unwrap_or("?"),
                ctx.request_id()
            ))
        })
        .build()
        .unwrap();
    let server = Server::builder(router)
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .start()
        .await
        .expect("start");
    let ws_url = format!("ws://{}/ws", server.http_addr().unwrap());
    let tcp = server.tcp_addr().unwrap().to_string();
    let clients = [
        connect_ws_with(&ws_url, ConnectOptions::default())
            .await
            .unwrap(),
        connect_tcp_with(&tcp, ConnectOptions::default())
            .await
            .unwrap(),
    ];
    for client in &clients {
        // 100 calls in one batch: the sums, by position.
        let mut b = client.batch();
        for i in 0..100i64 {
            b.request("add", (i, 1));
        }
        let sums: Vec<i64> = b
            .send_as::<i64>()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(sums, (1..=100).collect::<Vec<i64>>());
        // Errors stay per member; each handler sees its own call.
        let mut b = client.batch();
        let ok = b.request("add", (1, 2));
        let overflow = b.request("add", (i64::MAX, 1));
        let bad = b.request("add", ("x", 1));
        let who = b.request("whoami", ());
        let got = b.send().await.unwrap();
        assert_eq!(got[ok].as_ref().unwrap().get(), "3");
        assert!(matches!(&got[overflow], Err(ClientError::Rpc(e)) if e.code.0 == -32602));
        assert!(matches!(&got[bad], Err(ClientError::Rpc(e)) if e.code.0 == -32602));
        let who: String = serde_json::from_str(got[who].as_ref().unwrap().get()).unwrap();
        assert!(who.starts_with("whoami:Some("), "{who}");
    }
    for client in clients {
        client.close().await;
    }
    // The same batch as raw text over TCP: one array, in member order, ids as sent.
    let mut raw = TcpStream::connect(&tcp).await.unwrap();
    raw.write_all(
        concat!(
            r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":"a"},"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"add","params":[3,4]},"#,
            r#"{"jsonrpc":"2.0","method":"add","params":[1],"id":8}]"#,
            "\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    while !buf.ends_with(b"\n") {
        let mut chunk = [0u8; 1024];
        let n = raw.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the answer: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
    let v: Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v[0], json!({"jsonrpc":"2.0","result":3,"id":"a"}));
    assert_eq!(v[1], json!({"jsonrpc":"2.0","result":7,"id":7}));
    assert_eq!(v[2]["error"]["code"], -32602);
    assert_eq!(v[2]["id"], 8);
    server.shutdown().await;
}
