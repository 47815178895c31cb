//! Server registry, pushes, hooks, shutdown and close behaviour over memory pairs (tokio).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jsonrpc_proto::peer::{
    ClientConfig, ClientError, ClientInfo, PushOverflow, Server, ServerConfig,
};
use jsonrpc_proto::service::{Context, Hooks, PushError, Router};
use jsonrpc_proto::ErrorObject;
use transport_memory::{pair, serve_memory, serve_memory_with};

mod common;
use common::Tokio;

#[derive(Default)]
struct Conns {
    up: AtomicUsize,
    down: AtomicUsize,
}

struct ConnHooks(Arc<Conns>);
impl Hooks for ConnHooks {
    fn on_connect(&self, _c: &ClientInfo) {
        self.0.up.fetch_add(1, Ordering::SeqCst);
    }
    fn on_disconnect(&self, _c: &ClientInfo) {
        self.0.down.fetch_add(1, Ordering::SeqCst);
    }
}

type Gate = Arc<tokio::sync::Notify>;

fn server(conns: Arc<Conns>, gate: Gate, config: ServerConfig) -> Server {
    let router = Router::builder()
        .hooks(ConnHooks(conns))
        .state(gate)
        .method("whoami", |c: Context, (): ()| async move {
            Ok::<_, ErrorObject>(c.client_id().0)
        })
        .method("gated", |c: Context, (): ()| async move {
            let gate = c.state::<Gate>().expect("gate");
            gate.notified().await;
            Ok::<_, ErrorObject>("done")
        })
        .method("sleep", |_c: Context, (): ()| async move {
            futures::future::pending::<()>().await;
            Ok::<_, ErrorObject>(())
        })
        .build()
        .expect("router");
    Server::new(router, Tokio, config)
}

async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition not reached");
}

#[tokio::test]
async fn registry_pushes_and_connection_hooks() {
    let conns = Arc::new(Conns::default());
    let s = server(Arc::clone(&conns), Gate::default(), ServerConfig::default());
    let h = s.handle();
    let a = serve_memory(&s, Tokio);
    let b = serve_memory(&s, Tokio);
    let mut a_notes = a.notifications();
    let mut b_notes = b.notifications();
    let a_id: u64 = a.request("whoami", ()).await.unwrap();
    let _: u64 = b.request("whoami", ()).await.unwrap();
    assert_eq!(h.client_count(), 2);
    assert_eq!(conns.up.load(Ordering::SeqCst), 2);
    assert!(h.clients().iter().any(|c| c.id.0 == a_id));

    h.notify_client(jsonrpc_proto::peer::ClientId(a_id), "only_a", [1])
        .unwrap();
    assert_eq!(h.broadcast("all", ["x"]).unwrap(), 2);
    assert_eq!(a_notes.next().await.unwrap().method, "only_a");
    assert_eq!(a_notes.next().await.unwrap().method, "all");
    assert_eq!(b_notes.next().await.unwrap().method, "all");
    assert!(matches!(
        h.notify_client(jsonrpc_proto::peer::ClientId(999), "x", ()),
        Err(PushError::UnknownClient(_))
    ));

    // Dropping the last handle closes the connection; the server unregisters it.
    drop(a_notes);
    drop(a);
    until(|| h.client_count() == 1).await;
    until(|| conns.down.load(Ordering::SeqCst) == 1).await;
    b.close().await;
    until(|| h.client_count() == 0).await;
    assert!(
        b_notes.next().await.is_none(),
        "the stream ends with the connection"
    );
}

#[tokio::test]
async fn closing_transport_fails_pending_calls_at_once() {
    let s = server(Arc::default(), Gate::default(), ServerConfig::default());
    let h = s.handle();
    let client = serve_memory(&s, Tokio);
    let id: u64 = client.request("whoami", ()).await.unwrap();
    let call = client.request::<(), _>("sleep", ());
    until(|| h.pending_requests() == 1).await;
    assert!(h.disconnect(jsonrpc_proto::peer::ClientId(id)));
    assert!(matches!(call.await, Err(ClientError::Closed)));
    until(|| h.pending_requests() == 0).await;
    assert!(matches!(
        client.request::<u64, _>("whoami", ()).await,
        Err(ClientError::Closed)
    ));
}

#[tokio::test]
async fn shutdown_lets_calls_in_flight_finish() {
    let gate = Gate::default();
    let s = server(Arc::default(), Arc::clone(&gate), ServerConfig::default());
    let h = s.handle();
    let client = serve_memory(&s, Tokio);
    let call = tokio::spawn(client.request::<String, _>("gated", ()));
    until(|| h.pending_requests() == 1).await;
    h.shutdown();
    assert!(h.is_shutting_down());
    gate.notify_one();
    assert_eq!(call.await.unwrap().unwrap(), "done");
    h.wait_idle().await;
    assert_eq!(h.client_count(), 0);
    // New connections are refused.
    let late = serve_memory(&s, Tokio);
    assert!(late.request::<u64, _>("whoami", ()).await.is_err());
}

#[tokio::test]
async fn shutdown_grace_drops_stuck_calls() {
    let config = ServerConfig::default().with_shutdown_grace(Duration::from_millis(50));
    let s = server(Arc::default(), Gate::default(), config);
    let h = s.handle();
    let client = serve_memory(&s, Tokio);
    let call = client.request::<(), _>("sleep", ());
    until(|| h.pending_requests() == 1).await;
    h.shutdown();
    h.wait_idle().await;
    assert!(matches!(call.await, Err(ClientError::Closed)));
}

#[tokio::test]
async fn slow_client_pushes_are_bounded() {
    for overflow in [PushOverflow::Drop, PushOverflow::Disconnect] {
        let config = ServerConfig::default()
            .with_push_buffer(4)
            .with_push_overflow(overflow);
        let s = server(Arc::default(), Gate::default(), config);
        let h = s.handle();
        // A peer that never reads.
        let (a, _b) = pair();
        let srv = s.clone();
        tokio::spawn(async move { srv.serve(a).await });
        until(|| h.client_count() == 1).await;
        let mut full = false;
        for _ in 0..10_000 {
            match h.broadcast("tick", [1]) {
                Ok(1) => tokio::task::yield_now().await,
                Ok(_) => {
                    full = true;
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(
            full,
            "a client that does not read cannot take pushes without bound"
        );
        if overflow == PushOverflow::Disconnect {
            until(|| h.client_count() == 0).await;
        }
    }
}

#[tokio::test]
async fn client_side_cancel_is_quiet_and_config_applies() {
    let s = server(Arc::default(), Gate::default(), ServerConfig::default());
    let client = serve_memory_with(
        &s,
        Tokio,
        ClientConfig::default().with_send_cancel_notifications(true),
    );
    let h = s.handle();
    let call = client.request::<(), _>("sleep", ());
    until(|| h.pending_requests() == 1).await;
    drop(call);
    // The server drops the handler on `$/cancelRequest`.
    until(|| h.pending_requests() == 0).await;
    let id: u64 = client.request("whoami", ()).await.unwrap();
    assert!(id > 0);
}

struct Welcome(Arc<std::sync::OnceLock<jsonrpc_proto::peer::ServerHandle>>);
impl Hooks for Welcome {
    fn on_connect(&self, c: &ClientInfo) {
        let h = self.0.get().expect("handle set before serving");
        for i in 0..3 {
            h.notify_client(c.id, "welcome", [i])
                .expect("push on connect");
        }
    }
}

#[tokio::test]
async fn notifications_pushed_before_subscribing_are_kept() {
    let handle = Arc::new(std::sync::OnceLock::new());
    let router = Router::builder()
        .hooks(Welcome(Arc::clone(&handle)))
        .method("ping", |_c: Context, (): ()| async move {
            Ok::<_, ErrorObject>("pong")
        })
        .build()
        .expect("router");
    let s = Server::new(router, Tokio, ServerConfig::default());
    let _ = handle.set(s.handle());
    let config = ClientConfig::default().with_notification_buffer(2);
    let client = serve_memory_with(&s, Tokio, config);
    // The pushes went out before the answer to this call, so they have been received (and,
    // with no subscriber yet, buffered: two of three, the bound) once it is answered.
    let pong: String = client.request("ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    let mut notes = client.notifications();
    for i in 0..2 {
        let n = notes.next().await.expect("buffered welcome");
        assert_eq!(n.method, "welcome");
        assert_eq!(n.params.expect("params").get(), format!("[{i}]"));
    }
    // Later pushes follow on the same stream; the third early one was over the bound.
    s.handle().broadcast("later", ()).unwrap();
    assert_eq!(notes.next().await.unwrap().method, "later");
    // A second stream gets only what comes after it.
    let mut second = client.notifications();
    s.handle().broadcast("again", ()).unwrap();
    assert_eq!(second.next().await.unwrap().method, "again");
    assert_eq!(notes.next().await.unwrap().method, "again");
}

/// The idle timeout is for network sockets: a quiet in-process (or stdio) peer is never cut off.
#[tokio::test]
async fn quiet_memory_peers_are_not_cut_off_by_the_idle_timeout() {
    let conns = Arc::new(Conns::default());
    let config = ServerConfig::default().with_idle_timeout(Some(Duration::from_millis(20)));
    let server = server(conns.clone(), Gate::default(), config);
    let client = serve_memory(&server, Tokio);
    let first: u64 = client.request("whoami", ()).await.unwrap();
    // Ten idle timeouts of silence.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again: u64 = client.request("whoami", ()).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(conns.down.load(Ordering::SeqCst), 0);
}
