//! Faults on the tokio server: clients that vanish mid-request, mid-batch and mid-TLS-handshake
//! (the server frees the work), servers that die under in-flight calls, half-written frames,
//! 100,000 garbage frames, handlers that panic or never return.

mod common;
mod util;

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jsonrpc_proto::peer::ClientError;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use transport_tokio::tls::TlsServerConfig;
use transport_tokio::{
    connect_http_with, connect_tcp, connect_ws, ConnectOptions, RunningServer, Server,
};
use util::*;

async fn start() -> RunningServer {
    Server::builder(router(Arc::default()))
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .start()
        .await
        .expect("start")
}

/// A TCP peer that vanishes looks like one that half-closed (both send FIN): the server
/// finishes the calls it received, so a call that never returns is freed at its deadline.
/// These servers use a short one, well inside [`BOUND`].
async fn start_with_short_deadline() -> RunningServer {
    Server::builder(router(Arc::default()))
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .request_timeout(Some(Duration::from_secs(1)))
        .start()
        .await
        .expect("start")
}

/// Waits until the server holds no client, no call and no socket.
async fn all_freed(server: &RunningServer) {
    let h = server.handle();
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let state = (
            h.pending_requests(),
            h.client_count(),
            server.open_connections(),
        );
        if state == (0, 0, 0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not freed: (calls, clients, sockets) = {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_vanishing_mid_request_frees_the_work() {
    let server = start_with_short_deadline().await;
    let h = server.handle();
    let http = server.http_addr().unwrap();

    // TCP: a call that never returns, then the socket goes away.
    let mut tcp = RawTcp::connect(server.tcp_addr().unwrap()).await;
    tcp.send(format!("{}\n", call(1, "hang", Value::Null)).as_bytes())
        .await;
    until("the TCP call running", || h.pending_requests() == 1).await;
    drop(tcp);
    all_freed(&server).await;

    // WebSocket.
    let mut ws = raw_ws(http).await;
    ws.send(Message::text(call(1, "hang", Value::Null)))
        .await
        .unwrap();
    until("the WS call running", || h.pending_requests() == 1).await;
    drop(ws);
    all_freed(&server).await;

    // HTTP: the POST's connection closes while its handler runs.
    let mut post = TcpStream::connect(http).await.unwrap();
    let body = call(1, "hang", Value::Null);
    post.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    until("the HTTP call running", || h.pending_requests() == 1).await;
    drop(post);
    all_freed(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_vanishing_mid_batch_frees_the_work() {
    let server = start_with_short_deadline().await;
    let h = server.handle();
    let batch = format!(
        "[{},{},{}]",
        call(1, "hang", Value::Null),
        call(2, "sleep", json!([60_000])),
        call(3, "add", json!([1, 2]))
    );
    let mut tcp = RawTcp::connect(server.tcp_addr().unwrap()).await;
    tcp.send(format!("{batch}\n").as_bytes()).await;
    until("the batch running", || h.pending_requests() == 2).await;
    drop(tcp);
    all_freed(&server).await;

    let mut ws = raw_ws(server.http_addr().unwrap()).await;
    ws.send(Message::text(batch.clone())).await.unwrap();
    until("the WS batch running", || h.pending_requests() == 2).await;
    drop(ws);
    all_freed(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_vanishing_mid_tls_handshake_frees_the_socket() {
    let pki = common::pki();
    let server = Server::builder(router(Arc::default()))
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .tls(TlsServerConfig::from_pem_files(&pki.server_cert, &pki.server_key, None).unwrap())
        // Long enough for the first check below to see the socket on a loaded machine.
        .tls_handshake_timeout(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    for addr in [server.http_addr().unwrap(), server.tcp_addr().unwrap()] {
        // Half a ClientHello record, then gone.
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03])
            .await
            .unwrap();
        until("the handshake socket counted", || {
            server.open_connections() == 1
        })
        .await;
        drop(tcp);
        all_freed(&server).await;

        // Connects and says nothing: cut off by the handshake timeout.
        let mut mute = TcpStream::connect(addr).await.unwrap();
        until("the mute socket counted", || server.open_connections() == 1).await;
        all_freed(&server).await;
        let mut buf = [0u8; 16];
        let n = bounded(
            "the mute socket closed",
            tokio::io::AsyncReadExt::read(&mut mute, &mut buf),
        )
        .await
        .unwrap_or(0);
        assert_eq!(n, 0);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_calls_fail_promptly_when_the_server_dies() {
    let server = start().await;
    let h = server.handle();
    let ws = connect_ws(&format!("ws://{}/ws", server.http_addr().unwrap()))
        .await
        .unwrap();
    let tcp = connect_tcp(&server.tcp_addr().unwrap().to_string())
        .await
        .unwrap();
    let mut options = ConnectOptions::default();
    options.http.backoff = Duration::from_millis(1);
    let http = connect_http_with(&format!("http://{}/", server.http_addr().unwrap()), options)
        .await
        .unwrap();
    let calls: Vec<_> = [ws.clone(), tcp.clone(), http.clone()]
        .into_iter()
        .map(|c| {
            tokio::spawn(async move {
                let many = (0..3).map(|_| c.request::<(), _>("hang", ()));
                futures::future::join_all(many).await
            })
        })
        .collect();
    until("nine calls in flight", || h.pending_requests() == 9).await;
    drop(server);
    for (name, call) in ["WebSocket", "TCP", "HTTP"].into_iter().zip(calls) {
        let results = bounded("the calls to fail", call).await.unwrap();
        for r in results {
            match r {
                Err(ClientError::Transport(_) | ClientError::Closed) => {}
                Err(ClientError::Rpc(e)) if e.code.0 == -32000 => {}
                other => panic!("{name}: expected a transport failure, got {other:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_written_frames_then_disconnect() {
    let server = start().await;
    let h = server.handle();
    // TCP: a frame without its end. At EOF the partial line is a parse error (-32700) and
    // nothing runs.
    let mut tcp = RawTcp::connect(server.tcp_addr().unwrap()).await;
    tcp.send(br#"{"jsonrpc":"2.0","method":"hang","id":1"#)
        .await;
    until("the TCP client registered", || h.client_count() == 1).await;
    tcp.writer.shutdown().await.unwrap();
    if let Some(v) = tcp.recv().await {
        assert_eq!(v["error"]["code"], -32700, "{v}");
    }
    drop(tcp);
    all_freed(&server).await;

    // WebSocket: a masked text frame announcing 100 bytes, 10 sent, then gone.
    let mut ws = raw_ws(server.http_addr().unwrap()).await;
    until("the WS client registered", || h.client_count() == 1).await;
    let socket = ws.get_mut();
    let mut frame = vec![0x81, 0x80 | 100, 1, 2, 3, 4];
    frame.extend_from_slice(b"{\"jsonrpc\"");
    socket.write_all(&frame).await.unwrap();
    drop(ws);
    all_freed(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_after_100_000_garbage_frames_is_answered() {
    const GARBAGE: usize = 100_000;
    let server = start().await;
    let tcp = TcpStream::connect(server.tcp_addr().unwrap())
        .await
        .unwrap();
    let (r, mut w) = tcp.into_split();
    // Read concurrently: every garbage frame is answered, and the server stops reading while
    // its answers are not taken.
    let reader = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(r).lines();
        let mut parse_errors = 0usize;
        while let Some(line) = lines.next_line().await.expect("read") {
            let v: Value = serde_json::from_str(&line).expect("json");
            if v["id"] == 42 {
                return (parse_errors, v);
            }
            assert_eq!(v["error"]["code"], -32700, "{v}");
            parse_errors += 1;
        }
        panic!("closed after {parse_errors} answers");
    });
    let kinds: [&[u8]; 4] = [b"garbage", b"{\"jsonrpc\":", b"\xff\xfe\x00", b"]]]"];
    let mut buf = Vec::with_capacity(GARBAGE * 12);
    for i in 0..GARBAGE {
        buf.extend_from_slice(kinds[i % kinds.len()]);
        buf.push(b'\n');
    }
    buf.extend_from_slice(call(42, "add", json!([40, 2])).as_bytes());
    buf.push(b'\n');
    bounded("writing the garbage", w.write_all(&buf))
        .await
        .unwrap();
    let (parse_errors, answer) = bounded("the answer", reader).await.unwrap();
    assert_eq!(parse_errors, GARBAGE);
    assert_eq!(answer["result"], 42, "{answer}");
    drop(w);
    all_freed(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_and_stuck_handlers_do_not_stop_the_others() {
    let server = Server::builder(router(Arc::default()))
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .request_timeout(Some(Duration::from_millis(300)))
        .start()
        .await
        .unwrap();
    let h = server.handle();
    let ws = connect_ws(&format!("ws://{}/ws", server.http_addr().unwrap()))
        .await
        .unwrap();
    let tcp = connect_tcp(&server.tcp_addr().unwrap().to_string())
        .await
        .unwrap();
    let http = connect_http_with(
        &format!("http://{}/", server.http_addr().unwrap()),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    for (name, c) in [("ws", &ws), ("tcp", &tcp), ("http", &http)] {
        let hang = c.request::<(), _>("hang", ());
        let panic = c.request::<(), _>("panic", ());
        let adds = futures::future::join_all((0..20).map(|i| c.request::<i64, _>("add", [i, 1])));
        let (hang, panic, adds) =
            bounded("the calls", async { tokio::join!(hang, panic, adds) }).await;
        match hang {
            Err(ClientError::Rpc(e)) => assert_eq!(e.code.0, -32001, "{name}"),
            other => panic!("{name}: expected -32001, got {other:?}"),
        }
        match panic {
            Err(ClientError::Rpc(e)) => assert_eq!(e.code.0, -32603, "{name}"),
            other => panic!("{name}: expected -32603, got {other:?}"),
        }
        for (i, r) in adds.into_iter().enumerate() {
            assert_eq!(r.unwrap(), i as i64 + 1, "{name}");
        }
        // The connection still serves.
        assert_eq!(
            c.request::<i64, _>("add", [2, 2]).await.unwrap(),
            4,
            "{name}"
        );
    }
    until("no calls left", || h.pending_requests() == 0).await;
    drop((ws, tcp, http));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_websocket_then_a_call() {
    let server = start().await;
    let mut ws = raw_ws(server.http_addr().unwrap()).await;
    let n = 2_000;
    let mut sink_side = Vec::new();
    for i in 0..n {
        sink_side.push(Ok(Message::text(if i % 2 == 0 { "garbage" } else { "{" })));
    }
    let mut stream = futures::stream::iter(sink_side);
    ws.send_all(&mut stream).await.unwrap();
    ws.send(Message::text(call(7, "add", json!([3, 4]))))
        .await
        .unwrap();
    let mut errors = 0;
    loop {
        match bounded("an answer", ws.next()).await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == 7 {
                    assert_eq!(v["result"], 7);
                    break;
                }
                assert_eq!(v["error"]["code"], -32700);
                errors += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(errors, n);
    server.shutdown().await;
}

/// A server whose answer to a POST leaves its calls unanswered (no body, an error with id
/// null): over HTTP that answer is all the calls will get, so each fails at once with a
/// reason (the server's own error when it gave one), long before its deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_calls_left_unanswered_by_the_answer_fail_at_once() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Each request's body decides the answer; one request per connection.
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut input = Vec::new();
                let mut buf = [0u8; 4096];
                let body = loop {
                    let n = tcp.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    input.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&input).into_owned();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break body.to_owned();
                    }
                };
                // A batch holding a "none" call is answered with no body, as a lone one is.
                let answer = if body.contains("\"none\"") {
                    String::new()
                } else {
                    r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#
                        .to_owned()
                };
                let head = if answer.is_empty() {
                    "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_owned()
                } else {
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", answer.len())
                };
                let _ = tcp.write_all(format!("{head}{answer}").as_bytes()).await;
            });
        }
    });
    let client = transport_tokio::connect_http(&format!("http://{addr}/"))
        .await
        .unwrap();
    // Far below the 30 s deadline of each call.
    let client = &client;
    let quick = |what: &'static str| async move {
        match tokio::time::timeout(Duration::from_secs(5), client.request::<Value, _>(what, ()))
            .await
        {
            Ok(Err(ClientError::Rpc(e))) => e,
            other => panic!("{what}: {other:?}"),
        }
    };
    let e = quick("none").await;
    assert_eq!(e.code.0, -32000, "{e:?}");
    assert!(e.message.contains("without a body"), "{e:?}");
    let e = quick("unreadable").await;
    assert_eq!(e.code.0, -32700, "{e:?}");
    let mut batch = client.batch();
    batch.request("none", ());
    batch.request("second", ());
    let answers = tokio::time::timeout(Duration::from_secs(5), batch.send_as::<Value>())
        .await
        .expect("in time")
        .expect("sent");
    assert_eq!(answers.len(), 2);
    for a in &answers {
        assert!(
            matches!(a, Err(ClientError::Rpc(e)) if e.code.0 == -32000),
            "{answers:?}"
        );
    }
}
