//! Transport-level tests: framing over streams, WebSocket rules, TLS loading and mTLS, the
//! HTTP client transport's failure answers.

mod common;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use jsonrpc_proto::peer::{Transport, TransportError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use transport_tokio::tls::{acceptor, connector, TlsClientConfig, TlsError, TlsServerConfig};
use transport_tokio::{HttpClientConfig, HttpTransport, StreamTransport, WsTransport};

#[tokio::test]
async fn lines_over_a_stream() {
    let (a, b) = tokio::io::duplex(4096);
    let (ar, aw) = tokio::io::split(a);
    let (mut tx, _) = StreamTransport::lines(ar, aw).split();
    let (br, bw) = tokio::io::split(b);
    let (_, mut rx) = StreamTransport::lines(br, bw).split();
    let big = format!("{{\"x\":\"{}\"}}", "y".repeat(500));
    tx.send(Bytes::from_static(b"{\"a\":1}")).await.unwrap();
    tx.send(Bytes::from(big.clone())).await.unwrap();
    tx.close().await.unwrap();
    assert_eq!(rx.next().await.unwrap().unwrap(), &b"{\"a\":1}"[..]);
    assert_eq!(rx.next().await.unwrap().unwrap(), big.as_bytes());
    assert!(rx.next().await.is_none());
}

#[tokio::test]
async fn content_length_over_a_stream() {
    let (a, mut b) = tokio::io::duplex(1024);
    let (ar, aw) = tokio::io::split(a);
    let (mut tx, mut rx) = StreamTransport::content_length(ar, aw).split();
    tx.send(Bytes::from_static(b"[1]")).await.unwrap();
    let mut buf = vec![0; 24];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"Content-Length: 3\r\n\r\n[1]");
    b.write_all(b"Content-Length: 2\r\n\r\n{}Content-Length: 2\r\n\r\n[]")
        .await
        .unwrap();
    drop(b);
    assert_eq!(rx.next().await.unwrap().unwrap(), &b"{}"[..]);
    assert_eq!(rx.next().await.unwrap().unwrap(), &b"[]"[..]);
    assert!(rx.next().await.is_none());
}

#[tokio::test]
async fn oversized_line_is_reported_and_the_stream_goes_on() {
    let (a, mut b) = tokio::io::duplex(1024);
    let (ar, aw) = tokio::io::split(a);
    let (_tx, mut rx) = StreamTransport::lines(ar, aw).max_frame(8).split();
    b.write_all(b"{\"much too long\":1}\n{}\n").await.unwrap();
    drop(b);
    assert!(matches!(
        rx.next().await,
        Some(Err(TransportError::FrameTooLarge { .. }))
    ));
    assert_eq!(rx.next().await.unwrap().unwrap(), &b"{}"[..]);
}

#[tokio::test]
async fn websocket_text_ping_binary() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let (mut tx, mut rx) = WsTransport::from_stream(ws).split();
        let first = rx.next().await.unwrap().unwrap();
        tx.send(first).await.unwrap();
        // The binary message ends the stream with a clear error.
        let err = rx.next().await.unwrap().unwrap_err();
        assert!(err.to_string().contains("binary"), "{err}");
    });
    let mut client = ws_connect(addr).await;
    client
        .send(Message::Ping(Bytes::from_static(b"hi")))
        .await
        .unwrap();
    client.send(Message::text("{\"a\":1}")).await.unwrap();
    let mut got_pong = false;
    let mut got_echo = false;
    while !(got_pong && got_echo) {
        match client.next().await.unwrap().unwrap() {
            Message::Pong(p) => {
                assert_eq!(&p[..], b"hi");
                got_pong = true;
            }
            Message::Text(t) => {
                assert_eq!(t.as_str(), "{\"a\":1}");
                got_echo = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let close = loop {
        match client.next().await {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let close = close.expect("close frame with a code");
    assert_eq!(close.code, CloseCode::Unsupported);
    assert!(close.reason.contains("text frames"));
    server.await.unwrap();
}

#[tokio::test]
async fn websocket_close_handshake_ends_the_stream() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let (_tx, mut rx) = WsTransport::from_stream(ws).split();
        assert!(rx.next().await.is_none());
    });
    let mut client = ws_connect(addr).await;
    client.close(None).await.unwrap();
    // The server answers the close: the client sees the end of the stream.
    while let Some(Ok(_)) = client.next().await {}
    server.await.unwrap();
}

async fn ws_connect(addr: std::net::SocketAddr) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
        .await
        .unwrap()
        .0
}

#[test]
fn tls_bad_files_are_clear_errors() {
    let pki = common::pki();
    let missing = pki.dir.join("missing.pem");
    let err = TlsServerConfig::from_pem_files(&missing, &pki.server_key, None).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let garbage = pki.dir.join("garbage.pem");
    std::fs::write(&garbage, "not a pem file").unwrap();
    let err = TlsServerConfig::from_pem_files(&garbage, &pki.server_key, None).unwrap_err();
    assert!(matches!(err, TlsError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("garbage.pem"), "{err}");
    let err = TlsServerConfig::from_pem_files(&pki.server_cert, &garbage, None).unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
    // A key that does not match the certificate.
    let err = TlsServerConfig::from_pem_files(&pki.server_cert, &pki.client_key, None).unwrap_err();
    assert!(matches!(err, TlsError::Rustls(_)), "{err}");
    assert!(
        TlsServerConfig::from_pem_files(&pki.server_cert, &pki.server_key, Some(&pki.ca)).is_ok()
    );
}

async fn tls_echo_server(
    config: TlsServerConfig,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        match acceptor(&config).accept(tcp).await {
            Ok(mut tls) => {
                let mut b = [0u8; 4];
                tls.read_exact(&mut b).await.unwrap();
                tls.write_all(&b).await.unwrap();
                tls.shutdown().await.ok();
                true
            }
            Err(_) => false,
        }
    });
    (addr, task)
}

#[tokio::test]
async fn mtls_refuses_a_client_without_a_certificate() {
    let pki = common::pki();
    let config =
        TlsServerConfig::from_pem_files(&pki.server_cert, &pki.server_key, Some(&pki.ca)).unwrap();

    // Without a client certificate: the handshake fails on the server.
    let (addr, task) = tls_echo_server(config.clone()).await;
    let client = TlsClientConfig::with_ca_file(&pki.ca).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = transport_tokio::tls::server_name("localhost").unwrap();
    // TLS 1.3 completes the client side first; the refusal shows on the first read.
    if let Ok(mut s) = connector(&client).connect(name.clone(), tcp).await {
        let _ = s.write_all(b"ping").await;
        let mut b = [0u8; 4];
        assert!(s.read_exact(&mut b).await.is_err());
    }
    assert!(
        !task.await.unwrap(),
        "server accepted a client without a certificate"
    );

    // With one: it works.
    let (addr, task) = tls_echo_server(config).await;
    let client =
        TlsClientConfig::with_client_cert_files(&pki.ca, &pki.client_cert, &pki.client_key)
            .unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut s = connector(&client).connect(name, tcp).await.unwrap();
    s.write_all(b"ping").await.unwrap();
    let mut b = [0u8; 4];
    s.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"ping");
    assert!(task.await.unwrap());
}

#[tokio::test]
async fn http_client_answers_calls_when_the_server_is_unreachable() {
    // Bind then drop: nothing listens on this port any more.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let config = HttpClientConfig::default()
        .with_retries(2)
        .with_backoff(std::time::Duration::from_millis(1));
    let (mut tx, mut rx) = HttpTransport::new(&format!("http://{addr}/"), config)
        .unwrap()
        .split();
    tx.send(Bytes::from_static(
        br#"[{"jsonrpc":"2.0","method":"add","id":1},{"jsonrpc":"2.0","method":"log"}]"#,
    ))
    .await
    .unwrap();
    let answer = rx.next().await.unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(v[0]["id"], 1);
    assert_eq!(v[0]["error"]["code"], -32000);
    tx.close().await.unwrap();
    assert!(rx.next().await.is_none());
}
