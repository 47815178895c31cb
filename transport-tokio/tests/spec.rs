//! Issue 19, to the letter of the specifications: number ids of any size echoed exactly, RFC
//! 9112's server MUSTs (Host, request-target forms, framing headers, `Connection: close`),
//! WebSocket Close codes for protocol errors (RFC 6455 §7.1.7), and answers after a half-close
//! (JSON-RPC 2.0 §5, RFC 9293 §3.6); plain and TLS where it applies.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use jsonrpc_proto::peer::{Server as ProtoServer, TransportInfo, TransportKind};
use jsonrpc_proto::testing::conformance;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use transport_tokio::tls::{TlsClientConfig, TlsServerConfig};
use transport_tokio::{RunningServer, Server, StreamTransport, TokioRuntime};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Target {
    server: RunningServer,
    tls: Option<TlsClientConfig>,
    _pki: Option<common::Pki>,
}

async fn start(tls: bool) -> Target {
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
    Target {
        server: builder.start().await.expect("start"),
        tls: client_tls,
        _pki: pki,
    }
}

async fn open(addr: SocketAddr, tls: Option<&TlsClientConfig>) -> Box<dyn Io> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    match tls {
        None => Box::new(tcp),
        Some(tls) => {
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            Box::new(
                transport_tokio::tls::connector(tls)
                    .connect(name, tcp)
                    .await
                    .expect("TLS"),
            )
        }
    }
}

/// The raw connector the conformance suite's byte-level checks take.
fn raw_connector(
    addr: SocketAddr,
    tls: Option<TlsClientConfig>,
) -> impl Fn() -> BoxFuture<'static, Box<dyn conformance::RawIo>> + Sync {
    move || {
        let tls = tls.clone();
        async move {
            let io = open(addr, tls.as_ref()).await;
            Box::new(Compat(io)) as Box<dyn conformance::RawIo>
        }
        .boxed()
    }
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("bounded: the server answers and closes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_message_rules_plain_and_tls() {
    for tls in [false, true] {
        let t = start(tls).await;
        let connect = raw_connector(t.server.http_addr().unwrap(), t.tls.clone());
        within(conformance::http_message_rules(&connect)).await;
        t.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_close_codes_plain_and_tls() {
    for tls in [false, true] {
        let t = start(tls).await;
        let connect = raw_connector(t.server.http_addr().unwrap(), t.tls.clone());
        within(conformance::ws_close_codes(&connect)).await;
        within(conformance::ws_handshake_errors(&connect)).await;
        within(conformance::ws_burst(&connect)).await;
        t.server.shutdown().await;
    }
}

/// Three slow calls and a quick one, then `shutdown(SHUT_WR)`: all four answers arrive, then
/// EOF (raw TCP, plain and TLS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_tcp_gets_every_answer() {
    for tls in [false, true] {
        let t = start(tls).await;
        let mut io = open(t.server.tcp_addr().unwrap(), t.tls.as_ref()).await;
        let mut calls = String::new();
        for n in 1..=3 {
            calls.push_str(&format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"slow\",\"params\":[{n}],\"id\":{n}}}\n"
            ));
        }
        calls.push_str("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[2,2],\"id\":4}\n");
        io.write_all(calls.as_bytes()).await.unwrap();
        io.shutdown().await.expect("half-close");
        let mut out = String::new();
        within(io.read_to_string(&mut out))
            .await
            .expect("read to EOF");
        let mut ids: Vec<u64> = out
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("JSON lines");
                assert!(v["result"].is_number(), "{v}");
                v["id"].as_u64().expect("an id")
            })
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3, 4], "{out}");
        t.server.shutdown().await;
    }
}

/// The conformance server on one end of an in-memory pipe, Content-Length framed as over
/// stdio: its task, and our end's two halves.
fn stdio_pipe() -> (
    tokio::task::JoinHandle<()>,
    tokio::io::ReadHalf<tokio::io::DuplexStream>,
    tokio::io::WriteHalf<tokio::io::DuplexStream>,
) {
    let server = ProtoServer::new(
        conformance::router(),
        TokioRuntime::new(),
        conformance::server_config(),
    );
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (r, w) = tokio::io::split(theirs);
    let transport =
        StreamTransport::content_length(r, w).with_info(TransportInfo::new(TransportKind::Stdio));
    let serving = tokio::spawn(async move { server.serve(transport).await });
    let (r, w) = tokio::io::split(ours);
    (serving, r, w)
}

/// stdio-like: Content-Length framing over a pipe whose input ends while calls run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_like_pipe_answers_after_end_of_input() {
    let (serving, mut r, mut w) = stdio_pipe();
    for n in 1..=3 {
        let body =
            format!("{{\"jsonrpc\":\"2.0\",\"method\":\"slow\",\"params\":[{n}],\"id\":{n}}}");
        w.write_all(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
            .await
            .unwrap();
    }
    w.shutdown().await.unwrap();
    let mut out = String::new();
    within(r.read_to_string(&mut out))
        .await
        .expect("read to EOF");
    for n in 1..=3 {
        assert!(
            out.contains(&format!("\"result\":{n},\"id\":{n}}}")),
            "{out}"
        );
    }
    within(serving).await.expect("the server task ends");
}

/// stdio-like: framing that cannot be followed (a Content-Length that is no number, a frame
/// over the limit) is answered with -32600 saying why, after the answers already due, and the
/// stream then closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_like_pipe_tells_why_it_stops_reading() {
    let bad_inputs: [(&str, &[u8]); 2] = [
        ("Content-Length: abc\r\n\r\n", b"Content-Length"),
        ("Content-Length: 99999999999\r\n\r\n", b"limit"),
    ];
    for (bad, why) in bad_inputs {
        let (serving, mut r, mut w) = stdio_pipe();
        let body = r#"{"jsonrpc":"2.0","method":"add","params":[2,3],"id":1}"#;
        let good = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        w.write_all(format!("{good}{bad}").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        within(r.read_to_string(&mut out))
            .await
            .expect("read to EOF");
        let answers: Vec<serde_json::Value> = out
            .split("Content-Length: ")
            .filter_map(|part| part.split_once("\r\n\r\n"))
            .map(|(_, json)| serde_json::from_str(json).expect("a JSON answer"))
            .collect();
        assert_eq!(answers.len(), 2, "{bad}: {out}");
        assert_eq!(answers[0]["result"], 5, "{out}");
        assert_eq!(answers[1]["error"]["code"], -32600, "{out}");
        assert_eq!(answers[1]["id"], serde_json::Value::Null, "{out}");
        let data = answers[1]["error"]["data"].as_str().unwrap_or_default();
        assert!(
            data.contains(std::str::from_utf8(why).unwrap()),
            "{bad}: {data}"
        );
        within(serving).await.expect("the server task ends");
    }
}

/// Our WebSocket client facing a server that breaks the protocol: it sends a Close frame with
/// the reason's code before closing TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_client_sends_close_codes_to_a_misbehaving_server() {
    let cases: [(&str, Vec<u8>, u16); 3] = [
        ("invalid UTF-8", vec![0x81, 0x02, 0xc3, 0x28], 1007),
        ("RSV2 set", vec![0xa1, 0x02, b'{', b'}'], 1002),
        (
            "masked server frame",
            vec![0x81, 0x82, 0, 0, 0, 0, b'{', b'}'],
            1002,
        ),
    ];
    for (what, frame, code) in cases {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                tcp.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let key = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Sec-WebSocket-Key: ")
                        .or_else(|| l.strip_prefix("sec-websocket-key: "))
                })
                .expect("a key")
                .trim()
                .to_owned();
            let accept = derive_accept_key(key.as_bytes());
            tcp.write_all(format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").as_bytes()).await.unwrap();
            tcp.write_all(&frame).await.unwrap();
            // Until the client's Close frame is complete (or it closes TCP).
            let mut out = Vec::new();
            let mut buf = [0u8; 1024];
            while conformance::ws_close_code(&out).is_none() {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
            }
            out
        });
        let client = transport_tokio::connect_ws(&format!("ws://127.0.0.1:{}/ws", addr.port()))
            .await
            .expect("handshake");
        let out = within(server).await.unwrap();
        let close = conformance::ws_close_code(&out);
        assert_eq!(close.as_ref().map(|c| c.0), Some(code), "{what}: {close:?}");
        drop(client);
    }
}

/// Over HTTP, big ids come back exactly; the client still matches a big-id answer's call
/// (it never allocates such ids, so the answer is unmatched, not a crash).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_ids_over_tcp_raw() {
    let t = start(false).await;
    let mut io = open(t.server.tcp_addr().unwrap(), None).await;
    let ids = [
        "18446744073709551617",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "1.5e400",
    ];
    for id in ids {
        io.write_all(
            format!("{{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2],\"id\":{id}}}\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    }
    io.shutdown().await.unwrap();
    let mut out = String::new();
    within(io.read_to_string(&mut out)).await.unwrap();
    for id in ids {
        assert!(
            out.contains(&format!(
                "{{\"jsonrpc\":\"2.0\",\"result\":3,\"id\":{id}}}\n"
            )),
            "{out}"
        );
    }
    t.server.shutdown().await;
}

/// A half-close with a call still running under a short idle timeout: the running call keeps
/// the connection (nothing is idle while a call is in flight), its answer arrives, then EOF;
/// a half-close with nothing running closes at once, without waiting for the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_close_and_idle_timeout() {
    let config = conformance::server_config().with_idle_timeout(Some(Duration::from_millis(50)));
    let server = Server::builder(conformance::router())
        .tcp("127.0.0.1:0")
        .config(config)
        .start()
        .await
        .expect("start");
    let addr = server.tcp_addr().unwrap();
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"slow\",\"params\":[7],\"id\":7}\n")
        .await
        .unwrap();
    io.shutdown().await.unwrap();
    let mut out = String::new();
    within(io.read_to_string(&mut out)).await.unwrap();
    assert_eq!(out, "{\"jsonrpc\":\"2.0\",\"result\":7,\"id\":7}\n");
    // Nothing running: the half-close ends the connection (EOF comes back).
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.shutdown().await.unwrap();
    let mut out = String::new();
    within(io.read_to_string(&mut out)).await.unwrap();
    assert_eq!(out, "");
    server.shutdown().await;
}

/// A tokio stream seen as a `futures::io` one (the adapter keeps its own copy private).
struct Compat<T>(T);

impl<T: tokio::io::AsyncRead + Unpin> futures::io::AsyncRead for Compat<T> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        out: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let mut buf = tokio::io::ReadBuf::new(out);
        std::task::ready!(std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, &mut buf))?;
        std::task::Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> futures::io::AsyncWrite for Compat<T> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        b: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, b)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}
