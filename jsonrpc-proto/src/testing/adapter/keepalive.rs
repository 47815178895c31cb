//! WebSocket ping/pong keep-alive, for every runtime adapter ([`Adapter`]): a peer that stops
//! answering pings is closed by the server, and by the client; pings keep a push-only client
//! within the server's idle timeout (the server's pings or the client's own), while a quiet
//! client without them is cut off. The raw peers are plain (blocking) tungstenite on a thread
//! of their own: they complete the handshake and then read nothing, so they answer no ping.
//! Timings are short (50 ms pings) so that the tests are quick; they assert outcomes, never
//! durations.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::StreamExt;
use tungstenite::Message;

use crate::adapter::builder::RunningServer;
use crate::adapter::connect::ConnectOptions;
use crate::adapter::ws::{WsKeepAlive, KEEP_ALIVE_TIMEOUT};
use crate::peer::{ClientConfig, ClientError};
use crate::testing::conformance;

use super::{bounded, sleep, Adapter};

async fn until<A: Adapter>(a: &A, what: &str, cond: impl FnMut() -> bool) {
    super::until(a, what, Duration::from_millis(10), 3_000, cond).await
}

fn keep_alive(interval_ms: u64, timeout_ms: u64) -> Option<WsKeepAlive> {
    Some(
        WsKeepAlive::default()
            .with_interval(Duration::from_millis(interval_ms))
            .with_timeout(Duration::from_millis(timeout_ms)),
    )
}

async fn server<A: Adapter>(
    a: &A,
    keep: Option<WsKeepAlive>,
    idle: Option<Duration>,
) -> RunningServer<A::Runtime> {
    a.builder(conformance::router())
        .http("127.0.0.1:0")
        .ws_keep_alive(keep)
        .idle_timeout(idle)
        .start()
        .await
        .expect("start")
}

fn options<A: Adapter>(a: &A, keep: Option<WsKeepAlive>) -> ConnectOptions<A::Runtime> {
    a.options().with_ws_keep_alive(keep)
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

/// The server closes (1001, [`KEEP_ALIVE_TIMEOUT`]) a peer that answers none of its pings.
pub async fn server_closes_a_peer_that_answers_no_ping<A: Adapter>(a: &A) {
    // No idle timeout: only the keep-alive can close the deaf peer.
    let server = server(a, keep_alive(50, 50), None).await;
    let h = server.handle();
    let (go, seen) = deaf_client(server.http_addr().unwrap());
    until(a, "the deaf client registered", || h.client_count() == 1).await;
    until(a, "the deaf client closed", || h.client_count() == 0).await;
    until(a, "its socket freed", || server.open_connections() == 0).await;
    go.send(()).unwrap();
    let seen = bounded(a, "the deaf client's reading", seen).await.unwrap();
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
        Some((1001, KEEP_ALIVE_TIMEOUT.to_owned())),
        "{seen:?}"
    );
    server.shutdown().await;
}

/// Pings, the server's or the client's, keep a push-only client within the idle timeout; a
/// client with neither is cut off.
pub async fn pings_keep_a_push_only_client_within_the_idle_timeout<A: Adapter>(a: &A) {
    let idle = Some(Duration::from_millis(300));
    // The server's pings keep a client without its own; the client's pings keep it on a
    // server without pings; a client with neither is cut off (the control).
    let pinging = server(a, keep_alive(50, 5_000), idle).await;
    let silent = server(a, None, idle).await;
    let url = |s: &RunningServer<A::Runtime>| format!("ws://{}/ws", s.http_addr().unwrap());
    let by_server = a
        .connect_ws(&url(&pinging), options(a, None))
        .await
        .unwrap();
    let by_client = a
        .connect_ws(&url(&silent), options(a, keep_alive(50, 5_000)))
        .await
        .unwrap();
    let control = a.connect_ws(&url(&silent), options(a, None)).await.unwrap();
    let mut notes = [by_server.notifications(), by_client.notifications()];
    bounded(a, "the control client cut off", control.closed()).await;
    // Several idle periods with no call and no push either way.
    sleep(a, Duration::from_millis(1_500)).await;
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
        let note = bounded(a, "the push", notes.next()).await.expect("a push");
        assert_eq!(note.method, "tick");
        assert_eq!(
            note.params.map(|p| p.get().to_owned()),
            Some(format!("[{}]", n + 1))
        );
    }
    pinging.shutdown().await;
    silent.shutdown().await;
}

/// The client closes a server that answers none of its pings: its calls end.
pub async fn client_closes_a_server_that_answers_no_ping<A: Adapter>(a: &A) {
    let (addr, go) = deaf_server();
    let mut opts = options(a, keep_alive(50, 50));
    // No call deadline: only the keep-alive can end the call below.
    opts.client = ClientConfig::default()
        .with_connection(crate::protocol::connection::Config::default().with_request_timeout(None));
    let client = a
        .connect_ws(&format!("ws://{addr}/ws"), opts)
        .await
        .unwrap();
    // A call the deaf server never answers ends with the connection.
    let in_flight = bounded(
        a,
        "the in-flight call",
        client.request::<i64, _>("add", [1, 2]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(in_flight, ClientError::Closed | ClientError::Transport(_)),
        "{in_flight}"
    );
    bounded(a, "closed()", client.closed()).await;
    let after = client.request::<i64, _>("add", [1, 2]).await.unwrap_err();
    assert!(matches!(after, ClientError::Closed), "{after}");
    go.send(()).unwrap();
}
