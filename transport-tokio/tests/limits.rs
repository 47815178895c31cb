//! Limits on the tokio server: nesting depth, connections, idle and header-read timeouts,
//! slow bodies, WebSocket message size, response size, batch length, calls in flight.

mod util;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use transport_tokio::{RunningServer, Server, ServerBuilder};
use util::*;

fn builder(probe: Arc<Probe>) -> ServerBuilder {
    Server::builder(router(probe))
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
}

async fn start(b: ServerBuilder) -> RunningServer {
    b.start().await.expect("start")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_is_a_parse_error_on_every_transport() {
    let server = start(builder(Arc::default())).await;
    let http = server.http_addr().unwrap();
    let doc = nested(100_000);
    let mut in_params = br#"{"jsonrpc":"2.0","id":1,"method":"echo","params":"#.to_vec();
    in_params.extend_from_slice(&doc);
    in_params.push(b'}');

    // TCP: -32700 for each, then the connection serves a call.
    let mut tcp = RawTcp::connect(server.tcp_addr().unwrap()).await;
    for frame in [&doc, &in_params] {
        tcp.send(frame).await;
        tcp.send(b"\n").await;
        let v = tcp.recv().await.expect("an answer");
        assert_eq!(v["error"]["code"], -32700, "{v}");
        assert!(v["id"].is_null());
    }
    tcp.send(format!("{}\n", call(2, "add", json!([2, 3]))).as_bytes())
        .await;
    assert_eq!(tcp.recv().await.expect("answer")["result"], 5);

    // WebSocket: the same.
    let mut ws = raw_ws(http).await;
    for frame in [&doc, &in_params] {
        let text = String::from_utf8(frame.clone()).unwrap();
        let v = ws_call(&mut ws, text).await.expect("an answer");
        assert_eq!(v["error"]["code"], -32700, "{v}");
    }
    let v = ws_call(&mut ws, call(3, "add", json!([2, 3])))
        .await
        .unwrap();
    assert_eq!(v["result"], 5);

    // HTTP: 200 with the error object.
    for frame in [&doc, &in_params] {
        let (status, body) = http_post(http, frame).await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], -32700, "{v}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_refused_cleanly() {
    let server = start(builder(Arc::default()).max_connections(2)).await;
    let http = server.http_addr().unwrap();
    let h = server.handle();
    let mut a = RawTcp::connect(server.tcp_addr().unwrap()).await;
    let mut b = raw_ws(http).await;
    until("two clients", || h.client_count() == 2).await;

    // TCP: one -32003 line with id null, then closed.
    let mut c = RawTcp::connect(server.tcp_addr().unwrap()).await;
    let v = c.recv().await.expect("an error line");
    assert_eq!(v["error"]["code"], -32003, "{v}");
    assert!(v["id"].is_null());
    assert_eq!(v["error"]["data"], "too many connections");
    assert!(c.recv().await.is_none());

    // HTTP: 503.
    let (status, body) = http_post(http, call(1, "add", json!([1, 1])).as_bytes()).await;
    assert_eq!(status, 503, "{body}");

    // WebSocket: upgraded, then closed with 1013 and a reason.
    let mut d = raw_ws(http).await;
    match bounded("a close frame", d.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Again);
            assert_eq!(
                frame.reason.as_str(),
                transport_tokio::ws::TOO_MANY_CONNECTIONS
            );
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    drop(d);

    // The two admitted connections still work.
    a.send(format!("{}\n", call(1, "add", json!([1, 2]))).as_bytes())
        .await;
    assert_eq!(a.recv().await.unwrap()["result"], 3);
    assert_eq!(
        ws_call(&mut b, call(1, "add", json!([2, 2])))
            .await
            .unwrap()["result"],
        4
    );

    // Once one leaves, a new one is served.
    drop(a);
    until("a free slot", || server.open_connections() <= 1).await;
    let (status, body) = http_post(http, call(1, "add", json!([1, 1])).as_bytes()).await;
    assert_eq!(
        (status, body.contains("\"result\":2")),
        (200, true),
        "{body}"
    );
    let _ = b.close(None).await;
    until("no sockets", || server.open_connections() == 0).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_cut_off() {
    let probe = Arc::new(Probe::default());
    let server = start(
        builder(probe.clone())
            .idle_timeout(Some(Duration::from_millis(300)))
            .header_read_timeout(Some(Duration::from_millis(300))),
    )
    .await;
    let http = server.http_addr().unwrap();
    let h = server.handle();
    // A busy client: a call stays in flight (gated) while it makes others, so it is never
    // idle, whatever the machine's load.
    let mut busy = RawTcp::connect(server.tcp_addr().unwrap()).await;
    busy.send(format!("{}\n", call(100, "gated", Value::Null)).as_bytes())
        .await;
    until("the gated call running", || h.pending_requests() == 1).await;
    // Silent TCP, a TCP frame that never ends, a silent WebSocket, HTTP headers that never
    // end.
    let mut silent = RawTcp::connect(server.tcp_addr().unwrap()).await;
    let mut partial = RawTcp::connect(server.tcp_addr().unwrap()).await;
    partial.send(br#"{"jsonrpc":"2.0","method":"add","#).await;
    let mut ws = raw_ws(http).await;
    let mut slow_head = TcpStream::connect(http).await.unwrap();
    slow_head
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    for i in 0..5 {
        busy.send(format!("{}\n", call(i, "sleep", json!([100]))).as_bytes())
            .await;
        assert_eq!(busy.recv().await.unwrap()["result"], 100);
    }

    silent.closed().await;
    partial.closed().await;
    loop {
        match bounded("the WebSocket to close", ws.next()).await {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    let mut rest = Vec::new();
    let _ = bounded(
        "the slow head to be dropped",
        slow_head.read_to_end(&mut rest),
    )
    .await;
    until("only the busy client left", || h.client_count() == 1).await;
    busy.send(format!("{}\n", call(9, "add", json!([4, 5]))).as_bytes())
        .await;
    assert_eq!(busy.recv().await.unwrap()["result"], 9);
    probe.gate.add_permits(1);
    assert_eq!(busy.recv().await.unwrap()["id"], 100);
    drop(busy);
    until("no sockets", || server.open_connections() == 0).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_http_body_gets_408() {
    let server =
        start(builder(Arc::default()).body_read_timeout(Some(Duration::from_millis(200)))).await;
    let http = server.http_addr().unwrap();
    let mut tcp = TcpStream::connect(http).await.unwrap();
    tcp.write_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"",
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    bounded("a 408", tcp.read_to_end(&mut raw)).await.unwrap();
    assert_eq!(parse_http(&raw).0, 408);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_message_over_the_limit_is_closed_with_1009() {
    let server = start(builder(Arc::default()).max_ws_message(1024)).await;
    let mut ws = raw_ws(server.http_addr().unwrap()).await;
    let small = call(1, "echo", json!(["x".repeat(500)]));
    assert!(ws_call(&mut ws, small).await.unwrap()["result"].is_array());
    let big = call(2, "echo", json!(["x".repeat(2000)]));
    ws.send(Message::text(big)).await.unwrap();
    match bounded("a close frame", ws.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Size);
            assert_eq!(frame.reason.as_str(), transport_tokio::ws::TOO_BIG);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    server.shutdown().await;
}

/// The server reads a WebSocket message far larger than its 512-byte read buffer, just under
/// the limit, whole (and echoes it); the same connection then goes on with small calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_message_of_1_mib_is_read_whole() {
    let server = start(builder(Arc::default()).max_ws_message(1 << 20)).await;
    let mut ws = raw_ws(server.http_addr().unwrap()).await;
    let payload = "x".repeat((1 << 20) - 100);
    let big = call(1, "echo", json!([payload]));
    let v = bounded("the answer", ws_call(&mut ws, big)).await.unwrap();
    assert_eq!(v["result"][0].as_str(), Some(payload.as_str()));
    let small = call(2, "add", json!([2, 3]));
    assert_eq!(ws_call(&mut ws, small).await.unwrap()["result"], 5);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_and_body_over_the_limit() {
    let server = start(builder(Arc::default()).max_body(1024)).await;
    let (status, _) = http_post(server.http_addr().unwrap(), &vec![b' '; 2048]).await;
    assert_eq!(status, 413);
    server.shutdown().await;

    // TCP frames: StreamTransport::max_frame on the TCP listener is the codec default;
    // an over-long line ends the connection (the codec cannot find the next frame safely),
    // after the answers already due and a -32600 that says why.
    let server = start(builder(Arc::default())).await;
    let RawTcp {
        mut reader,
        mut writer,
    } = RawTcp::connect(server.tcp_addr().unwrap()).await;
    writer
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[2,3],\"id\":1}\n")
        .await
        .expect("write a call");
    let mut first = String::new();
    bounded("the answer", reader.read_line(&mut first))
        .await
        .expect("read");
    let answer: Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(answer["result"], 5);
    // Written while the answer is read: the server stops reading (and resets) mid-line.
    let line = vec![b' '; jsonrpc_proto::DEFAULT_MAX_FRAME_SIZE + 10];
    let write = tokio::spawn(async move {
        let _ = writer.write_all(&line).await;
        writer
    });
    let mut error = String::new();
    bounded("the error line", reader.read_line(&mut error))
        .await
        .expect("read");
    let error: Value = serde_json::from_str(&error).expect("JSON");
    assert_eq!(error["error"]["code"], -32600, "{error}");
    assert_eq!(error["id"], Value::Null);
    let data = error["error"]["data"].as_str().unwrap_or_default();
    assert!(
        data.contains(&jsonrpc_proto::DEFAULT_MAX_FRAME_SIZE.to_string()),
        "{data}"
    );
    let mut rest = Vec::new();
    let _ = bounded("the close", reader.read_to_end(&mut rest)).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    drop(write.await);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_response_becomes_an_error() {
    let server = start(builder(Arc::default()).max_response_size(1000)).await;
    let http = server.http_addr().unwrap();
    let mut tcp = RawTcp::connect(server.tcp_addr().unwrap()).await;
    tcp.send(format!("{}\n", call(1, "big", json!([500]))).as_bytes())
        .await;
    assert_eq!(
        tcp.recv().await.unwrap()["result"].as_str().unwrap().len(),
        500
    );
    tcp.send(format!("{}\n", call(2, "big", json!([5000]))).as_bytes())
        .await;
    let v = tcp.recv().await.unwrap();
    assert_eq!(v["error"]["code"], -32603, "{v}");
    assert_eq!(v["error"]["message"], "Response too large");
    assert_eq!(v["id"], 2);
    let (status, body) = http_post(http, call(3, "big", json!([5000])).as_bytes()).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32603, "{v}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_over_the_limit_is_one_error() {
    let mut config = jsonrpc_proto::peer::ServerConfig::default();
    config.connection.max_batch_len = 3;
    let server = start(builder(Arc::default()).config(config)).await;
    let batch: Vec<Value> = (0..4)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "add", "params": [i, 1]}))
        .collect();
    let (status, body) = http_post(
        server.http_addr().unwrap(),
        json!(batch).to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32600, "{v}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_apply_backpressure() {
    let probe = Arc::new(Probe::default());
    let mut config = jsonrpc_proto::peer::ServerConfig::default();
    config.connection.max_in_flight = 4;
    let server = start(builder(probe.clone()).config(config)).await;
    let mut tcp = RawTcp::connect(server.tcp_addr().unwrap()).await;
    let mut frames = String::new();
    for i in 0..10 {
        frames.push_str(&call(i, "gated", Value::Null));
        frames.push('\n');
    }
    tcp.send(frames.as_bytes()).await;
    until("four calls started", || {
        probe.started.load(Ordering::SeqCst) == 4
    })
    .await;
    // One at a time: each permit lets exactly one more call in.
    for n in 5..=10 {
        probe.gate.add_permits(1);
        until("one more call started", || {
            probe.started.load(Ordering::SeqCst) == n
        })
        .await;
    }
    probe.gate.add_permits(100);
    let mut ids = Vec::new();
    for _ in 0..10 {
        let v = tcp.recv().await.unwrap();
        assert_eq!(v["result"], "through", "{v}");
        ids.push(v["id"].as_u64().unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..10).collect::<Vec<_>>());
    assert!(probe.max_running.load(Ordering::SeqCst) <= 4);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http_keep_alive_is_closed_after_the_header_read_timeout() {
    let server =
        start(builder(Arc::default()).header_read_timeout(Some(Duration::from_millis(300)))).await;
    let http = server.http_addr().unwrap();
    let mut tcp = TcpStream::connect(http).await.unwrap();
    let body = call(1, "add", json!([1, 2]));
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    // One answer, then the kept-alive connection sits idle until the server closes it.
    let mut raw = Vec::new();
    bounded("the answer and the close", tcp.read_to_end(&mut raw))
        .await
        .unwrap();
    let (status, body) = parse_http(&raw);
    assert_eq!(status, 200);
    assert!(body.contains("\"result\":3"), "{body}");
    until("no sockets", || server.open_connections() == 0).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off() {
    let server =
        start(builder(Arc::default()).idle_timeout(Some(Duration::from_millis(300)))).await;
    let h = server.handle();
    let tcp = TcpStream::connect(server.tcp_addr().unwrap())
        .await
        .unwrap();
    let (mut r, mut w) = tcp.into_split();
    // 64 MiB of answers asked for, none read: the server's writes stall, then it stops
    // reading (backpressure), then the idle timeout closes the connection.
    let mut frames = String::new();
    for i in 0..640 {
        frames.push_str(&call(i, "big", json!([100_000])));
        frames.push('\n');
    }
    // The server may stop reading before all of it is written: do not wait for it.
    let writer = tokio::spawn(async move {
        let _ = w.write_all(frames.as_bytes()).await;
        w
    });
    until("the client dropped", || {
        h.client_count() == 0 && server.open_connections() == 0
    })
    .await;
    // What was sent before the close can still be read, then the end of the stream.
    let mut sink = Vec::new();
    let _ = bounded("the end of the stream", r.read_to_end(&mut sink)).await;
    writer.abort();
    server.shutdown().await;
}
