//! The limits that live in the shared layer, proven on the async-io server (smol): nesting
//! depth (-32700 on TCP, WebSocket, HTTP), WebSocket message size (close 1009), idle
//! connections, response size.

use std::time::Duration;

use async_net::TcpStream;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::Message;
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use futures::StreamExt;
use jsonrpc_proto::peer::ServerConfig;
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::{ErrorObject, RawValue};
use serde_json::{json, Value};
use transport_async_std::{AsyncIoRuntime, RunningServer, Server};

const BOUND: Duration = Duration::from_secs(30);

async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    let timer = async {
        async_io::Timer::after(BOUND).await;
        panic!("gave up waiting for: {what}");
    };
    futures::pin_mut!(fut);
    futures::pin_mut!(timer);
    match futures::future::select(fut, timer).await {
        futures::future::Either::Left((v, _)) => v,
        futures::future::Either::Right((never, _)) => never,
    }
}

fn router() -> Router {
    Router::builder()
        .method_raw(
            "echo",
            |_ctx: Context, p: Option<Box<RawValue>>| async move {
                Ok::<_, ErrorObject>(p.map(|p| p.get().len()))
            },
        )
        .method("big", |_ctx: Context, (n,): (usize,)| async move {
            Ok::<_, ErrorObject>("x".repeat(n))
        })
        .method("add", |_ctx: Context, (a, b): (i64, i64)| async move {
            Ok::<_, ErrorObject>(a + b)
        })
        .build()
        .unwrap()
}

async fn start(config: ServerConfig, max_ws: usize) -> RunningServer {
    Server::builder(router())
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .config(config)
        .max_ws_message(max_ws)
        .runtime(AsyncIoRuntime::smol())
        .start()
        .await
        .unwrap()
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

async fn read_line(r: &mut BufReader<TcpStream>) -> Option<Value> {
    let mut line = String::new();
    let n = bounded("a line", r.read_line(&mut line)).await.ok()?;
    (n > 0).then(|| serde_json::from_str(&line).unwrap())
}

#[test]
fn shared_limits_hold_on_the_async_io_server() {
    smol::block_on(async {
        let config = ServerConfig::default()
            .with_max_response_size(1000)
            .with_idle_timeout(Some(Duration::from_millis(300)));
        let server = start(config, 4096).await;
        let deep = nested(100_000);

        // TCP: -32700 at any depth, the connection goes on; an oversized result is -32603.
        let tcp = TcpStream::connect(server.tcp_addr().unwrap())
            .await
            .unwrap();
        let mut r = BufReader::new(tcp.clone());
        let mut w = tcp;
        // Both frames in one write: the idle timeout cannot fall between them.
        let call = json!({"jsonrpc":"2.0","id":1,"method":"big","params":[5000]});
        w.write_all(format!("{deep}\n{call}\n").as_bytes())
            .await
            .unwrap();
        assert_eq!(read_line(&mut r).await.unwrap()["error"]["code"], -32700);
        let v = read_line(&mut r).await.unwrap();
        assert_eq!(v["error"]["code"], -32603, "{v}");
        // Then silence: the idle timeout closes the connection.
        assert!(read_line(&mut r).await.is_none());

        // WebSocket: -32700, then a message over the limit gets close 1009.
        let tcp = TcpStream::connect(server.http_addr().unwrap())
            .await
            .unwrap();
        let url = format!("ws://{}/ws", server.http_addr().unwrap());
        let (mut ws, _) = async_tungstenite::client_async(url, tcp).await.unwrap();
        let big = json!({"jsonrpc":"2.0","id":2,"method":"echo","params":["x".repeat(8000)]});
        ws.send(Message::text(nested(1000))).await.unwrap();
        ws.send(Message::text(big.to_string())).await.unwrap();
        match bounded("an answer", ws.next()).await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert_eq!(v["error"]["code"], -32700, "{v}");
            }
            other => panic!("unexpected {other:?}"),
        }
        match bounded("a close frame", ws.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Size),
            other => panic!("expected close 1009, got {other:?}"),
        }

        // HTTP: -32700 in a 200.
        let mut tcp = TcpStream::connect(server.http_addr().unwrap())
            .await
            .unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            deep.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(deep.as_bytes()).await.unwrap();
        let mut raw = String::new();
        bounded("an HTTP answer", tcp.read_to_string(&mut raw))
            .await
            .unwrap();
        let body = raw.split_once("\r\n\r\n").unwrap().1;
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], -32700, "{v}");
        server.shutdown().await;
    });
}

#[test]
fn shared_http_service_answers_a_slow_body_with_408() {
    use http_body_util::StreamBody;
    use jsonrpc_proto::adapter::http::{ConnInfo, HttpOutcome, HttpService};
    use jsonrpc_proto::http::Limits;
    use jsonrpc_proto::peer::Server as ProtoServer;
    smol::block_on(async {
        let proto = ProtoServer::new(router(), AsyncIoRuntime::smol(), ServerConfig::default());
        let service = HttpService::new(proto, "n", Limits::default())
            .with_body_read_timeout(Some(Duration::from_millis(200)));
        // Headers arrived; the body never does.
        let body = StreamBody::new(futures::stream::pending::<
            Result<hyper::body::Frame<bytes::Bytes>, std::convert::Infallible>,
        >());
        // An HTTP/1.1 request needs its Host header (RFC 9112 §3.2), or it gets 400.
        let req = http::Request::post("/")
            .header("host", "n")
            .header("content-type", "application/json")
            .header("content-length", "100")
            .body(body)
            .unwrap();
        let conn = ConnInfo {
            peer: None,
            local: None,
            tls: false,
            unix: false,
        };
        match bounded("a 408", service.handle(req, &conn)).await {
            HttpOutcome::Respond(r) => {
                assert_eq!(r.status(), 408);
                assert_eq!(r.headers()["connection"], "close");
            }
            HttpOutcome::WebSocket { .. } => panic!("not an upgrade"),
        }
    });
}

async fn poll_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + BOUND;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for: {what}"
        );
        async_io::Timer::after(Duration::from_millis(10)).await;
    }
}

#[test]
fn connections_over_the_limit_and_slow_heads_on_the_async_io_server() {
    smol::block_on(async {
        let server = Server::builder(router())
            .http("127.0.0.1:0")
            .tcp("127.0.0.1:0")
            .max_connections(1)
            .header_read_timeout(Some(Duration::from_millis(300)))
            .runtime(AsyncIoRuntime::smol())
            .start()
            .await
            .unwrap();
        let http = server.http_addr().unwrap();
        let h = server.handle();
        let held = TcpStream::connect(server.tcp_addr().unwrap())
            .await
            .unwrap();
        poll_until("one client", || h.client_count() == 1).await;

        // TCP: one -32003 line, then closed.
        let tcp = TcpStream::connect(server.tcp_addr().unwrap())
            .await
            .unwrap();
        let mut r = BufReader::new(tcp);
        let v = read_line(&mut r).await.expect("an error line");
        assert_eq!(v["error"]["code"], -32003, "{v}");
        assert!(v["id"].is_null());
        assert!(read_line(&mut r).await.is_none());

        // HTTP: 503.
        let mut tcp = TcpStream::connect(http).await.unwrap();
        tcp.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            .await
            .unwrap();
        let mut raw = String::new();
        bounded("a 503", tcp.read_to_string(&mut raw))
            .await
            .unwrap();
        assert!(raw.starts_with("HTTP/1.1 503"), "{raw}");

        // WebSocket: upgraded, then close 1013.
        let tcp = TcpStream::connect(http).await.unwrap();
        let (mut ws, _) = async_tungstenite::client_async(format!("ws://{http}/ws"), tcp)
            .await
            .unwrap();
        match bounded("a close frame", ws.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Again);
                assert_eq!(
                    frame.reason.as_str(),
                    jsonrpc_proto::adapter::ws::TOO_MANY_CONNECTIONS
                );
            }
            other => panic!("expected close 1013, got {other:?}"),
        }
        drop(ws);

        // A slot frees up; a client that trickles its HTTP head is cut off.
        drop(held);
        poll_until("no sockets", || server.open_connections() == 0).await;
        let mut slow = TcpStream::connect(http).await.unwrap();
        slow.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut rest = Vec::new();
        let _ = bounded("the slow head dropped", slow.read_to_end(&mut rest)).await;
        poll_until("no sockets", || server.open_connections() == 0).await;
        server.shutdown().await;
    });
}
