//! Half-open TCP on the tokio server (newline-delimited JSON), with what the other tests
//! already prove: a client that half-closes gets every answer (`spec.rs`,
//! `half_closed_tcp_gets_every_answer`) and a silent peer is reclaimed by the idle timeout
//! (`limits.rs`, `idle_and_trickling_connections_are_cut_off`). Here: a peer that stops reading while the
//! server pushes to it cannot grow the server's memory: its push queue stays within
//! `push_buffer`, and the overflow policy decides between dropping (`PushError::Full`, the
//! peer stays) and disconnecting it (the registry forgets it). The same tests run on smol and
//! async-std in transport-async-std/tests/half_open.rs. Bounded in count; no timing asserted.

use std::net::TcpStream;
use std::time::Duration;

use jsonrpc_proto::peer::{PushError, PushOverflow, ServerConfig};
use jsonrpc_proto::testing::conformance;
use transport_tokio::{RunningServer, Server};

/// Each push carries this much text: loopback socket buffers (a few MiB) fill in hundreds.
const PUSH_BYTES: usize = 16 * 1024;
/// Pushes tried at most before the queue must have refused one.
const MAX_PUSHES: usize = 20_000;
/// The server's per-connection push queue.
const PUSH_BUFFER: usize = 16;

async fn pause() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..3_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for: {what}");
}

async fn start(overflow: PushOverflow) -> RunningServer {
    let config = ServerConfig::default()
        .with_push_buffer(PUSH_BUFFER)
        .with_push_overflow(overflow)
        // Only the push policy may end the connection here.
        .with_idle_timeout(None);
    Server::builder(conformance::router())
        .tcp("127.0.0.1:0")
        .config(config)
        .start()
        .await
        .expect("start")
}

/// Connects a peer that never reads (nor sends) and pushes to it until a push is refused;
/// checks the queue bound after every push. Returns the peer (still open) and the error.
async fn push_until_refused(server: &RunningServer) -> (TcpStream, PushError) {
    let h = server.handle();
    let peer = TcpStream::connect(server.tcp_addr().unwrap()).expect("connect");
    until("the peer registered", || h.client_count() == 1).await;
    let id = h.clients()[0].id;
    let text = "x".repeat(PUSH_BYTES);
    for n in 0..MAX_PUSHES {
        match h.notify_client(id, "big", [&text]) {
            Ok(()) => {}
            // (How many the socket took first depends on the machine's load: not asserted.)
            Err(e) => return (peer, e),
        }
        assert!(
            h.push_queue_depth() <= PUSH_BUFFER,
            "queue over its bound: {}",
            h.push_queue_depth()
        );
        if n % 8 == 0 {
            // Lets the connection write what the socket takes.
            pause().await;
        }
    }
    panic!(
        "{MAX_PUSHES} pushes of {PUSH_BYTES} bytes were all queued for a peer that reads nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_to_a_peer_that_stops_reading_are_dropped_beyond_the_queue() {
    let server = start(PushOverflow::Drop).await;
    let h = server.handle();
    let (peer, err) = push_until_refused(&server).await;
    assert!(matches!(err, PushError::Full), "{err}");
    // The peer stays connected; later pushes are refused too, and the queue stays bounded.
    let id = h.clients()[0].id;
    for _ in 0..100 {
        assert!(matches!(
            h.notify_client(id, "big", ["more"]),
            Err(PushError::Full)
        ));
    }
    assert_eq!(h.push_queue_depth(), PUSH_BUFFER);
    assert_eq!(h.client_count(), 1);
    drop(peer);
    until("the peer forgotten", || {
        h.client_count() == 0 && server.open_connections() == 0
    })
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_pushes_is_disconnected_by_that_policy() {
    let server = start(PushOverflow::Disconnect).await;
    let h = server.handle();
    let (peer, err) = push_until_refused(&server).await;
    assert!(matches!(err, PushError::Full | PushError::Closed), "{err}");
    until("the slow peer disconnected", || {
        h.client_count() == 0 && server.open_connections() == 0
    })
    .await;
    assert_eq!(h.push_queue_depth(), 0);
    drop(peer);
    server.shutdown().await;
}
