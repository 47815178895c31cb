//! Shared test support: certificates made at test time (rcgen), a connector per transport for
//! the conformance suite, raw HTTP requests for status codes. Each test file runs these under
//! one executor.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use jsonrpc_proto::adapter::framed::StreamTransport;
use jsonrpc_proto::adapter::ws::WsTransport;
use jsonrpc_proto::peer::{BoxTransport, Client, ClientConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use transport_async_std::{
    connect_http_with, connect_io, connect_tcp_with, connect_ws_with, AsyncIoRuntime,
    ConnectOptions, RunningServer, Server, TlsClientConfig, TlsServerConfig,
};

/// A CA, a server certificate for localhost / 127.0.0.1 and a client certificate, all made
/// now.
pub struct Pki {
    pub ca: CertificateDer<'static>,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key_der: Vec<u8>,
    pub client_chain: Vec<CertificateDer<'static>>,
    pub client_key_der: Vec<u8>,
    pub ca_pem: String,
    pub server_pem: String,
    pub server_key_pem: String,
}

pub fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "jsonrpc test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");

    let server_key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
    let server = params
        .signed_by(&server_key, &ca, &ca_key)
        .expect("server cert");

    let client_key = KeyPair::generate().expect("client key");
    let mut params = CertificateParams::new(vec!["client".to_owned()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "test client");
    let client = params
        .signed_by(&client_key, &ca, &ca_key)
        .expect("client cert");

    Pki {
        ca: ca.der().clone(),
        server_chain: vec![server.der().clone()],
        server_key_der: server_key.serialize_der(),
        client_chain: vec![client.der().clone()],
        client_key_der: client_key.serialize_der(),
        ca_pem: ca.pem(),
        server_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
    }
}

fn key(der: &[u8]) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.to_vec()))
}

impl Pki {
    pub fn server(&self, mtls: bool) -> TlsServerConfig {
        TlsServerConfig::from_der(
            self.server_chain.clone(),
            key(&self.server_key_der),
            mtls.then(|| vec![self.ca.clone()]),
        )
        .expect("server TLS config")
    }

    pub fn client(&self, with_cert: bool) -> TlsClientConfig {
        TlsClientConfig::from_der(
            vec![self.ca.clone()],
            with_cert.then(|| (self.client_chain.clone(), key(&self.client_key_der))),
        )
        .expect("client TLS config")
    }

    /// Writes the CA, the server certificate and key as PEM files in a fresh directory.
    pub fn write_pem(&self, tag: &str) -> (PathBuf, PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "transport-async-std-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (ca, cert, key) = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        std::fs::write(&ca, &self.ca_pem).expect("write");
        std::fs::write(&cert, &self.server_pem).expect("write");
        std::fs::write(&key, &self.server_key_pem).expect("write");
        (ca, cert, key)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Ws,
    Http,
}

/// Starts the conformance server (HTTP + WS + TCP on 127.0.0.1 port 0), TLS when `pki`.
pub async fn start(rt: &AsyncIoRuntime, pki: Option<&Pki>) -> RunningServer {
    let mut b = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .config(conformance::server_config())
        .grace_period(Duration::from_secs(5))
        .node_name("conformance")
        .max_body(64 * 1024)
        .runtime(rt.clone());
    if let Some(p) = pki {
        b = b.tls(p.server(false));
    }
    b.start().await.expect("server starts")
}

pub struct Conn {
    pub server: RunningServer,
    pub kind: Kind,
    pub tls: Option<TlsClientConfig>,
    pub rt: AsyncIoRuntime,
}

impl Conn {
    pub fn url(&self) -> String {
        let s = if self.tls.is_some() { "s" } else { "" };
        match self.kind {
            Kind::Tcp => self.server.tcp_addr().expect("tcp").to_string(),
            Kind::Ws => format!("ws{s}://{}/ws", self.server.http_addr().expect("http")),
            Kind::Http => format!("http{s}://{}/", self.server.http_addr().expect("http")),
        }
    }

    pub fn options(&self, client: ClientConfig, router: Option<Router>) -> ConnectOptions {
        ConnectOptions::default()
            .with_tls(self.tls.clone())
            .with_client(client)
            .with_router(router)
            .with_runtime(Some(self.rt.clone()))
    }
}

impl Connector for Conn {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            let url = self.url();
            let options = self.options(config, local);
            match self.kind {
                Kind::Tcp => connect_tcp_with(&url, options).await,
                Kind::Ws => connect_ws_with(&url, options).await,
                Kind::Http => connect_http_with(&url, options).await,
            }
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
        })
    }

    fn connect_raw(&self) -> Option<BoxFuture<'_, BoxTransport>> {
        let kind = self.kind;
        if kind == Kind::Http {
            return None;
        }
        Some(Box::pin(async move {
            let addr = match kind {
                Kind::Tcp => self.server.tcp_addr(),
                _ => self.server.http_addr(),
            }
            .expect("addr")
            .to_string();
            let io = connect_io(&addr, "127.0.0.1", self.tls.as_ref())
                .await
                .expect("raw connect");
            match kind {
                Kind::Tcp => BoxTransport::from_transport(StreamTransport::lines_duplex(io)),
                _ => {
                    let (ws, _) = async_tungstenite::client_async(self.url(), io)
                        .await
                        .expect("raw WebSocket handshake");
                    BoxTransport::from_transport(WsTransport::from_stream(ws))
                }
            }
        }))
    }

    fn half_close(&self) -> bool {
        self.kind == Kind::Tcp
    }
}

/// The conformance suite over `kind` (with TLS when `tls`) on `rt`.
pub async fn conformance(rt: AsyncIoRuntime, kind: Kind, tls: bool) {
    let pki = tls.then(pki);
    let server = start(&rt, pki.as_ref()).await;
    let conn = Conn {
        server,
        kind,
        tls: pki.as_ref().map(|p| p.client(false)),
        rt,
    };
    match kind {
        // Over HTTP each POST is its own connection: no per-connection state, no pushes, no
        // callbacks, no raw frames.
        Kind::Http => {
            conformance::requests(&conn).await;
            conformance::errors(&conn).await;
            conformance::timeouts(&conn).await;
            conformance::concurrency(&conn, 100).await;
            conformance::cancellation(&conn).await;
        }
        _ => conformance::run_all(&conn).await,
    }
    conn.server.shutdown().await;
}

/// Sends one raw HTTP/1.1 request and returns (status, lower-case headers, body).
pub async fn raw_http(
    addr: std::net::SocketAddr,
    tls: Option<&TlsClientConfig>,
    request: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut io = connect_io(&addr.to_string(), "127.0.0.1", tls)
        .await
        .expect("connect");
    io.write_all(request.as_bytes()).await.expect("write head");
    io.write_all(body).await.expect("write body");
    io.flush().await.expect("flush");
    let mut out = Vec::new();
    let _ = io.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.as_bytes().to_vec())
}

fn post(ct: &str, len: usize) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ct}\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// 415, 413, 405, 404, 204, 200 and the health body.
pub async fn http_statuses(rt: AsyncIoRuntime, tls: bool) {
    let pki = tls.then(pki);
    let server = start(&rt, pki.as_ref()).await;
    let addr = server.http_addr().expect("http");
    let ctls = pki.as_ref().map(|p| p.client(false));
    let ctls = ctls.as_ref();
    let call = br#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":1}"#;

    let (s, _, _) = raw_http(addr, ctls, &post("text/plain", call.len()), call).await;
    assert_eq!(s, 415);

    // The decision comes from the head: the body is not sent (a server that answers early and
    // closes could reset a connection with unread data, and the answer with it).
    let (s, _, _) = raw_http(addr, ctls, &post("application/json", 100 * 1024), b"").await;
    assert_eq!(s, 413);

    let (s, h, _) = raw_http(
        addr,
        ctls,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await;
    assert_eq!(s, 405);
    assert!(h.iter().any(|(n, v)| n == "allow" && v == "POST"), "{h:?}");

    let (s, _, _) = raw_http(
        addr,
        ctls,
        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await;
    assert_eq!(s, 404);

    let note = br#"{"jsonrpc":"2.0","method":"bump","params":{"by":1}}"#;
    let (s, _, b) = raw_http(addr, ctls, &post("application/json", note.len()), note).await;
    assert_eq!(s, 204);
    assert!(b.is_empty());

    let (s, h, b) = raw_http(
        addr,
        ctls,
        &post("application/json; charset=utf-8", call.len()),
        call,
    )
    .await;
    assert_eq!(s, 200);
    assert!(h
        .iter()
        .any(|(n, v)| n == "content-type" && v == "application/json"));
    let v: serde_json::Value = serde_json::from_slice(&b).expect("JSON answer");
    assert_eq!(v["result"], 8);

    let _ws = connect_ws_with(
        &format!("ws{}://{addr}/ws", if tls { "s" } else { "" }),
        ConnectOptions::default()
            .with_tls(ctls.cloned())
            .with_runtime(Some(rt.clone())),
    )
    .await
    .expect("ws");
    // The WebSocket client is registered once its connection is served.
    let handle = server.handle();
    for _ in 0..1000 {
        if handle.client_count() == 1 {
            break;
        }
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    let (s, _, b) = raw_http(
        addr,
        ctls,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_slice(&b).expect("health JSON");
    assert_eq!(
        v,
        serde_json::json!({"status":"ok","node":"conformance","websocket_clients":1,"pending_requests":0})
    );
    server.shutdown().await;
}

/// Content-Length framing over any futures-io stream (here a TCP socket pair).
pub async fn content_length_stream(rt: AsyncIoRuntime) {
    let listener = async_net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let srv_rt = rt.clone();
    rt.spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            let (r, w) = futures::io::AsyncReadExt::split(stream);
            transport_async_std::serve_io_content_length(
                conformance::router(),
                conformance::server_config(),
                srv_rt,
                r,
                w,
            )
            .await;
        }
    });
    let stream = async_net::TcpStream::connect(addr).await.expect("connect");
    let client = Client::new(
        StreamTransport::content_length_duplex(stream),
        rt,
        ClientConfig::default(),
    );
    let s: i64 = client.request("add", [2, 3]).await.expect("add");
    assert_eq!(s, 5);
    let mut b = client.batch();
    let i = b.request("add", [1, 1]);
    b.notify("bump", serde_json::json!({"by": 4}));
    let r = b.send().await.expect("batch");
    assert_eq!(r[i].as_ref().expect("answer").get(), "2");
    let n: i64 = client.request("count", ()).await.expect("count");
    assert_eq!(n, 4);
    client.close().await;
}

/// PEM files, a clear error for a bad path, and mTLS refusing a client without a certificate.
pub async fn mtls(rt: AsyncIoRuntime) {
    let pki = pki();
    let (ca, cert, key) = pki.write_pem("mtls");
    let missing = ca.with_file_name("missing.pem");
    let err = TlsServerConfig::from_pem_files(&cert, &missing, None).expect_err("bad path");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let tls = TlsServerConfig::from_pem_files(&cert, &key, Some(ca.as_path())).expect("PEM");
    let server = Server::builder(conformance::router())
        .tcp("127.0.0.1:0")
        .tls(tls)
        .runtime(rt.clone())
        .start()
        .await
        .expect("start");
    let addr = server.tcp_addr().expect("tcp").to_string();
    let options = |with_cert: bool| {
        ConnectOptions::default()
            .with_tls(Some(pki.client(with_cert)))
            .with_runtime(Some(rt.clone()))
    };
    // Without a certificate: the handshake or the first call fails (TLS 1.3 reports the
    // refusal after the client finished its side), never an answer.
    if let Ok(client) = connect_tcp_with(&addr, options(false)).await {
        assert!(client.request::<i64, _>("add", [1, 2]).await.is_err());
    }
    let client = connect_tcp_with(&addr, options(true))
        .await
        .expect("with a certificate");
    let s: i64 = client.request("add", [1, 2]).await.expect("mTLS call");
    assert_eq!(s, 3);
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(ca.parent().expect("dir"));
}

/// notify_client and broadcast reach WebSocket and TCP clients; headers reach hooks over HTTP.
pub async fn pushes_and_headers(rt: AsyncIoRuntime) {
    use futures::StreamExt;
    let server = start(&rt, None).await;
    let opts = || ConnectOptions::default().with_runtime(Some(rt.clone()));
    let ws = connect_ws_with(
        &format!("ws://{}/ws", server.http_addr().expect("http")),
        opts(),
    )
    .await
    .expect("ws");
    let tcp = connect_tcp_with(&server.tcp_addr().expect("tcp").to_string(), opts())
        .await
        .expect("tcp");
    let (mut ws_notes, mut tcp_notes) = (ws.notifications(), tcp.notifications());
    let handle = server.handle();
    for _ in 0..1000 {
        if handle.client_count() == 2 {
            break;
        }
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    assert_eq!(handle.broadcast("news", [1]).expect("broadcast"), 2);
    assert_eq!(ws_notes.next().await.expect("ws news").method, "news");
    assert_eq!(tcp_notes.next().await.expect("tcp news").method, "news");
    let ws_id = handle
        .clients()
        .into_iter()
        .find(|c| c.transport.kind == jsonrpc_proto::peer::TransportKind::WebSocket)
        .expect("the ws client")
        .id;
    handle
        .notify_client(ws_id, "only.you", [2])
        .expect("notify_client");
    assert_eq!(ws_notes.next().await.expect("direct").method, "only.you");

    let url = format!("http://{}/", server.http_addr().expect("http"));
    let authorized = connect_http_with(
        &url,
        opts().with_headers(vec![("Authorization".into(), "secret".into())]),
    )
    .await
    .expect("http");
    let s: String = authorized
        .request("admin.secret", ())
        .await
        .expect("authorized");
    assert_eq!(s, "the secret");
    server.shutdown().await;
}

/// A graceful shutdown lets a call in flight finish; a client whose server is gone fails fast.
pub async fn shutdown(rt: AsyncIoRuntime) {
    let router = Router::builder()
        .method(
            "slow",
            |_ctx: jsonrpc_proto::service::Context, (): ()| async move {
                async_io::Timer::after(Duration::from_millis(200)).await;
                Ok::<_, jsonrpc_proto::ErrorObject>("done")
            },
        )
        .build()
        .expect("router");
    let server = Server::builder(router)
        .http("127.0.0.1:0")
        .runtime(rt.clone())
        .start()
        .await
        .expect("start");
    let client = connect_ws_with(
        &format!("ws://{}/ws", server.http_addr().expect("http")),
        ConnectOptions::default().with_runtime(Some(rt.clone())),
    )
    .await
    .expect("ws");
    let call = client.request::<String, _>("slow", ());
    let handle = server.handle();
    for _ in 0..1000 {
        if handle.pending_requests() == 1 {
            break;
        }
        async_io::Timer::after(Duration::from_millis(2)).await;
    }
    let (answer, ()) = futures::join!(call, server.shutdown());
    assert_eq!(answer.expect("the call in flight finished"), "done");
    let r = client.request::<String, _>("slow", ()).await;
    assert!(r.is_err(), "after shutdown: {r:?}");
}

/// The tests every executor runs: expands to one `#[test]` per check, calling the `run` and
/// `rt` functions of the module that invokes it.
#[macro_export]
macro_rules! every_transport_tests {
    () => {
        #[test]
        fn conformance_tcp() {
            run(common::conformance(rt(), Kind::Tcp, false));
        }

        #[test]
        fn conformance_tcp_tls() {
            run(common::conformance(rt(), Kind::Tcp, true));
        }

        #[test]
        fn conformance_ws() {
            run(common::conformance(rt(), Kind::Ws, false));
        }

        #[test]
        fn conformance_wss() {
            run(common::conformance(rt(), Kind::Ws, true));
        }

        #[test]
        fn conformance_http() {
            run(common::conformance(rt(), Kind::Http, false));
        }

        #[test]
        fn conformance_https() {
            run(common::conformance(rt(), Kind::Http, true));
        }

        #[test]
        fn http_statuses() {
            run(common::http_statuses(rt(), false));
        }

        #[test]
        fn https_statuses() {
            run(common::http_statuses(rt(), true));
        }

        #[test]
        fn content_length_over_a_stream() {
            run(common::content_length_stream(rt()));
        }

        #[test]
        fn mtls_and_pem_files() {
            run(common::mtls(rt()));
        }

        #[test]
        fn pushes_and_headers() {
            run(common::pushes_and_headers(rt()));
        }

        #[test]
        fn graceful_shutdown() {
            run(common::shutdown(rt()));
        }
    };
}
