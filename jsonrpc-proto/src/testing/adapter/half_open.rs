//! Half-open TCP on every runtime adapter's server (newline-delimited JSON; [`Adapter`]). A
//! client that half-closes gets every answer (the conformance suite's `end_of_input`). Here: a
//! peer that stops reading while the server pushes to it cannot grow the server's memory: its
//! push queue stays within `push_buffer`, and the overflow policy decides between dropping
//! (`PushError::Full`, the peer stays) and disconnecting it (the registry forgets it); and a
//! peer that connects and then never sends nor reads is reclaimed by the idle timeout.
//! Bounded in count; no timing asserted.

use std::net::TcpStream;
use std::time::Duration;

use crate::adapter::builder::RunningServer;
use crate::peer::{PushError, PushOverflow, ServerConfig};
use crate::testing::conformance;

use super::{sleep, Adapter};

/// Each push carries this much text: loopback socket buffers (a few MiB) fill in hundreds.
const PUSH_BYTES: usize = 16 * 1024;
/// Pushes tried at most before the queue must have refused one.
const MAX_PUSHES: usize = 20_000;
/// The server's per-connection push queue.
const PUSH_BUFFER: usize = 16;

async fn until<A: Adapter>(a: &A, what: &str, cond: impl FnMut() -> bool) {
    super::until(a, what, Duration::from_millis(10), 3_000, cond).await
}

async fn start<A: Adapter>(a: &A, overflow: PushOverflow) -> RunningServer<A::Runtime> {
    let config = ServerConfig::default()
        .with_push_buffer(PUSH_BUFFER)
        .with_push_overflow(overflow)
        // Only the push policy may end the connection here.
        .with_idle_timeout(None);
    a.builder(conformance::router())
        .tcp("127.0.0.1:0")
        .config(config)
        .start()
        .await
        .expect("start")
}

/// Connects a peer that never reads (nor sends) and pushes to it until a push is refused;
/// checks the queue bound after every push. Returns the peer (still open) and the error.
async fn push_until_refused<A: Adapter>(
    a: &A,
    server: &RunningServer<A::Runtime>,
) -> (TcpStream, PushError) {
    let h = server.handle();
    let peer = TcpStream::connect(server.tcp_addr().unwrap()).expect("connect");
    until(a, "the peer registered", || h.client_count() == 1).await;
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
            sleep(a, Duration::from_millis(1)).await;
        }
    }
    panic!(
        "{MAX_PUSHES} pushes of {PUSH_BYTES} bytes were all queued for a peer that reads nothing"
    );
}

/// With [`PushOverflow::Drop`], pushes beyond the queue are refused and the peer stays.
pub async fn pushes_to_a_peer_that_stops_reading_are_dropped_beyond_the_queue<A: Adapter>(a: &A) {
    let server = start(a, PushOverflow::Drop).await;
    let h = server.handle();
    let (peer, err) = push_until_refused(a, &server).await;
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
    until(a, "the peer forgotten", || {
        h.client_count() == 0 && server.open_connections() == 0
    })
    .await;
    server.shutdown().await;
}

/// With [`PushOverflow::Disconnect`], a peer whose queue fills is disconnected.
pub async fn a_peer_that_stops_reading_pushes_is_disconnected_by_that_policy<A: Adapter>(a: &A) {
    let server = start(a, PushOverflow::Disconnect).await;
    let h = server.handle();
    let (peer, err) = push_until_refused(a, &server).await;
    assert!(matches!(err, PushError::Full | PushError::Closed), "{err}");
    until(a, "the slow peer disconnected", || {
        h.client_count() == 0 && server.open_connections() == 0
    })
    .await;
    assert_eq!(h.push_queue_depth(), 0);
    drop(peer);
    server.shutdown().await;
}

/// A peer that connects, then never sends and never reads: the idle timeout reclaims it.
pub async fn a_silent_peer_is_reclaimed_by_the_idle_timeout<A: Adapter>(a: &A) {
    use std::io::Read;
    let server = a
        .builder(conformance::router())
        .tcp("127.0.0.1:0")
        .idle_timeout(Some(Duration::from_millis(200)))
        .start()
        .await
        .expect("start");
    let h = server.handle();
    let mut peer = TcpStream::connect(server.tcp_addr().unwrap()).expect("connect");
    until(a, "the peer registered", || h.client_count() == 1).await;
    until(a, "the silent peer reclaimed", || {
        h.client_count() == 0 && server.open_connections() == 0
    })
    .await;
    // The peer sees the end of the stream, with nothing before it.
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    assert_eq!(
        peer.read_to_end(&mut rest).map(|_| rest.len()).ok(),
        Some(0)
    );
    server.shutdown().await;
}
