//! WebSocket ping/pong keep-alive on tokio (the same tests run on smol and async-std in
//! transport-async-std/tests/keepalive.rs): a peer that stops answering pings is closed by the
//! server, and by the client; pings keep a push-only client within the server's idle timeout
//! (the server's pings or the client's own), while a quiet client without them is cut off.
//! The raw peers are plain (blocking) tungstenite on a thread of their own: they complete the
//! handshake and then read nothing, so they answer no ping. Timings are short (50 ms pings) so
//! that the tests are quick; they assert outcomes, never durations.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::StreamExt;
use jsonrpc_proto::peer::{ClientConfig, ClientError};
use jsonrpc_proto::testing::conformance;
use tokio_tungstenite::tungstenite::{self, Message};
use transport_tokio::{connect_ws_with, ConnectOptions, RunningServer, Server, WsKeepAlive};

/// The upper bound of every wait: a failure, never a timing claim.
const BOUND: Duration = Duration::from_secs(30);

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..BOUND.as_millis() / 10 {
        if cond() {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for: {what}");
}

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .unwrap_or_else(|_| panic!("gave up waiting for: {what}"))
}

fn keep_alive(interval_ms: u64, timeout_ms: u64) -> Option<WsKeepAlive> {
    Some(
        WsKeepAlive::default()
            .with_interval(Duration::from_millis(interval_ms))
            .with_timeout(Duration::from_millis(timeout_ms)),
    )
}

async fn server(keep: Option<WsKeepAlive>, idle: Option<Duration>) -> RunningServer {
    Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .ws_keep_alive(keep)
        .idle_timeout(idle)
        .start()
        .await
        .expect("start")
}

fn options(keep: Option<WsKeepAlive>) -> ConnectOptions {
    ConnectOptions::default().with_ws_keep_alive(keep)
}

/// A WebSocket client of tungstenite alone that completes the handshake, then reads nothing
/// (and so answers no ping) until `go` is sent; then it reads what the server sent, to the end.
fn deaf_client(addr: SocketAddr) -> (mpsc::Sender<()>, oneshot::Receiver<Vec<Message>>) {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let stream = TcpStream::connect(addr).expect("connect");
        let (mut ws, _) =
            tungstenite::client(format!("ws://{addr}/ws"), stream).expect("handshake");
        let _ = go_rx.recv();
        let mut seen = Vec::new();
        while let Ok(m) = ws.read() {
            seen.push(m);
        }
        let _ = tx.send(seen);
    });
    (go_tx, rx)
}

/// A WebSocket server of tungstenite alone that accepts one client, then reads nothing (and so
/// answers no ping and no call) until `go` is sent.
fn deaf_server() -> (SocketAddr, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let ws = tungstenite::accept(stream).expect("handshake");
        let _ = go_rx.recv();
        drop(ws);
    });
    (addr, go_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_closes_a_peer_that_answers_no_ping() {
    // No idle timeout: only the keep-alive can close the deaf peer.
    let server = server(keep_alive(50, 50), None).await;
    let h = server.handle();
    let (go, seen) = deaf_client(server.http_addr().unwrap());
    until("the deaf client registered", || h.client_count() == 1).await;
    until("the deaf client closed", || h.client_count() == 0).await;
    until("its socket freed", || server.open_connections() == 0).await;
    go.send(()).unwrap();
    let seen = bounded("the deaf client's reading", seen).await.unwrap();
    assert!(
        seen.iter().any(|m| matches!(m, Message::Ping(_))),
        "the server pinged: {seen:?}"
    );
    let close = seen.iter().find_map(|m| match m {
        Message::Close(Some(f)) => Some((u16::from(f.code), f.reason.to_string())),
        _ => None,
    });
    assert_eq!(
        close,
        Some((1001, transport_tokio::ws::KEEP_ALIVE_TIMEOUT.to_owned())),
        "{seen:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_keep_a_push_only_client_within_the_idle_timeout() {
    let idle = Some(Duration::from_millis(300));
    // The server's pings keep a client without its own; the client's pings keep it on a
    // server without pings; a client with neither is cut off (the control).
    let pinging = server(keep_alive(50, 5_000), idle).await;
    let silent = server(None, idle).await;
    let url = |s: &RunningServer| format!("ws://{}/ws", s.http_addr().unwrap());
    let by_server = connect_ws_with(&url(&pinging), options(None))
        .await
        .unwrap();
    let by_client = connect_ws_with(&url(&silent), options(keep_alive(50, 5_000)))
        .await
        .unwrap();
    let control = connect_ws_with(&url(&silent), options(None)).await.unwrap();
    let mut notes = [by_server.notifications(), by_client.notifications()];
    bounded("the control client cut off", control.closed()).await;
    // Several idle periods with no call and no push either way.
    sleep(Duration::from_millis(1_500)).await;
    assert!(!by_server.is_closed() && !by_client.is_closed());
    assert_eq!(
        (
            pinging.handle().client_count(),
            silent.handle().client_count()
        ),
        (1, 1)
    );
    assert_eq!(pinging.handle().broadcast("tick", [1]).unwrap(), 1);
    assert_eq!(silent.handle().broadcast("tick", [2]).unwrap(), 1);
    for (n, notes) in notes.iter_mut().enumerate() {
        let note = bounded("the push", notes.next()).await.expect("a push");
        assert_eq!(note.method, "tick");
        assert_eq!(
            note.params.map(|p| p.get().to_owned()),
            Some(format!("[{}]", n + 1))
        );
    }
    pinging.shutdown().await;
    silent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_closes_a_server_that_answers_no_ping() {
    let (addr, go) = deaf_server();
    let mut opts = options(keep_alive(50, 50));
    // No call deadline: only the keep-alive can end the call below.
    opts.client = ClientConfig::default()
        .with_connection(jsonrpc_proto::Config::default().with_request_timeout(None));
    let client = connect_ws_with(&format!("ws://{addr}/ws"), opts)
        .await
        .unwrap();
    // A call the deaf server never answers ends with the connection.
    let in_flight = bounded(
        "the in-flight call",
        client.request::<i64, _>("add", [1, 2]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(in_flight, ClientError::Closed | ClientError::Transport(_)),
        "{in_flight}"
    );
    bounded("closed()", client.closed()).await;
    let after = client.request::<i64, _>("add", [1, 2]).await.unwrap_err();
    assert!(matches!(after, ClientError::Closed), "{after}");
    go.send(()).unwrap();
}
