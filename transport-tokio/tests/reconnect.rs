//! Reconnecting clients on tokio: a server restarted under a Unix, TCP and WebSocket client
//! (calls after the restart succeed), a call in flight when the server dies fails with
//! MayHaveRun and is not re-sent, calls made while it is down wait for the new one, and a
//! client with bounded attempts gives up with Unavailable.

use std::path::Path;
use std::time::Duration;

use jsonrpc_proto::testing::conformance;
use transport_tokio::{
    reconnect_tcp, reconnect_unix, reconnect_ws, ConnectOptions, ReconnectConfig, ReconnectError,
    Reconnecting, RunningServer, Server, ServerBuilder,
};

fn fast() -> ReconnectConfig {
    let mut c = ReconnectConfig::default();
    c.initial_backoff = Duration::from_millis(10);
    c.max_backoff = Duration::from_millis(200);
    c
}

fn builder() -> ServerBuilder {
    Server::builder(conformance::router()).config(conformance::server_config())
}

async fn until_pending(server: &RunningServer) {
    for _ in 0..2000 {
        if server.handle().pending_requests() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the call never reached the server");
}

/// Calls, kills the server under a call in flight, restarts it with `restart`, calls again.
async fn survive_restart<F, Fut>(
    rc: Reconnecting,
    first: RunningServer,
    restart: F,
) -> RunningServer
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = RunningServer>,
{
    let sum: i64 = rc.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    let in_flight = tokio::spawn({
        let rc = rc.clone();
        async move { rc.request::<(), _>("sleep", ()).await }
    });
    until_pending(&first).await;
    drop(first); // the server dies with the call in flight
    let err = tokio::time::timeout(Duration::from_secs(30), in_flight)
        .await
        .expect("the in-flight call ends")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ReconnectError::MayHaveRun { .. }), "{err}");
    assert!(err.to_string().contains("not sent again"), "{err}");
    // Once the client has noticed the drop, a call waits for the next connection. (A call
    // made before it noticed goes out on the dying one and is MayHaveRun, like the one above.)
    for _ in 0..2000 {
        if rc.current().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        rc.current().is_none(),
        "the client notices the server is gone"
    );
    let waiting = tokio::spawn({
        let rc = rc.clone();
        async move { rc.request::<i64, _>("add", [20, 22]).await }
    });
    let second = restart().await;
    let sum = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("answered after the restart")
        .unwrap()
        .unwrap();
    assert_eq!(sum, 42);
    assert_eq!(
        second.handle().pending_requests(),
        0,
        "the cut-off call was not re-sent"
    );
    second
}

/// Starts a server on the ports the dropped one had: its listeners close as its tasks are
/// stopped, so the bind is retried (bounded) until they are.
async fn restart_on(tcp: std::net::SocketAddr, http: std::net::SocketAddr) -> RunningServer {
    for _ in 0..500 {
        let started = builder()
            .tcp(tcp.to_string())
            .http(http.to_string())
            .start()
            .await;
        match started {
            Ok(s) => return s,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    panic!("the old server's ports were never released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_client_survives_a_server_restart() {
    let path = std::env::temp_dir().join(format!("jrpc-tokio-{}-rc.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let first = builder().unix(&path).start().await.unwrap();
    let rc = reconnect_unix(&path, ConnectOptions::default(), fast());
    let p: &Path = &path;
    let second = survive_restart(rc, first, || async {
        builder().unix(p).start().await.unwrap()
    })
    .await;
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_ws_clients_survive_a_server_restart() {
    let first = builder()
        .tcp("127.0.0.1:0")
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let (tcp, http) = (first.tcp_addr().unwrap(), first.http_addr().unwrap());
    let rc = reconnect_tcp(&tcp.to_string(), ConnectOptions::default(), fast());
    let ws = reconnect_ws(
        &format!("ws://{http}/ws"),
        ConnectOptions::default(),
        fast(),
    );
    let sum: i64 = ws.request("add", [2, 2]).await.unwrap();
    assert_eq!(sum, 4);
    let second = survive_restart(rc, first, || restart_on(tcp, http)).await;
    // The WebSocket client lost the first server too, and finds the second.
    let sum: i64 = tokio::time::timeout(Duration::from_secs(30), ws.request("add", [5, 5]))
        .await
        .expect("the WebSocket client reconnects")
        .unwrap();
    assert_eq!(sum, 10);
    second.shutdown().await;
}

#[tokio::test]
async fn bounded_attempts_give_up() {
    let mut config = fast();
    config.max_attempts = Some(3);
    let rc = reconnect_unix("/nonexistent/jrpc.sock", ConnectOptions::default(), config);
    let err = tokio::time::timeout(Duration::from_secs(30), rc.request::<i64, _>("add", [1, 2]))
        .await
        .expect("gives up")
        .unwrap_err();
    assert!(matches!(err, ReconnectError::Unavailable(_)), "{err}");
}
