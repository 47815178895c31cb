//! Reconnecting clients on smol and async-std: a server restarted under a Unix and a WebSocket
//! client (calls after the restart succeed), a call in flight when the server dies fails with
//! MayHaveRun and is not re-sent, a call made while it is down waits for the new one, and a
//! client with bounded attempts gives up with Unavailable.

use std::future::Future;
use std::time::Duration;

use futures::future::{self, Either};
use jsonrpc_proto::testing::conformance;
use transport_async_std::{
    reconnect_unix, reconnect_ws, AsyncIoRuntime, ConnectOptions, ReconnectConfig, ReconnectError,
    RunningServer, Server, ServerBuilder,
};

fn fast() -> ReconnectConfig {
    let mut c = ReconnectConfig::default();
    c.initial_backoff = Duration::from_millis(10);
    c.max_backoff = Duration::from_millis(200);
    c
}

fn options(rt: &AsyncIoRuntime) -> ConnectOptions {
    ConnectOptions {
        runtime: Some(rt.clone()),
        ..ConnectOptions::default()
    }
}

fn builder(rt: &AsyncIoRuntime) -> ServerBuilder {
    Server::builder(conformance::router())
        .config(conformance::server_config())
        .runtime(rt.clone())
}

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    futures::pin_mut!(f);
    match future::select(f, async_io::Timer::after(Duration::from_secs(30))).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("{what} did not complete"),
    }
}

async fn until_pending(server: &RunningServer) {
    for _ in 0..2000 {
        if server.handle().pending_requests() > 0 {
            return;
        }
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    panic!("the call never reached the server");
}

async fn restart_under_clients(rt: AsyncIoRuntime, tag: &str) {
    let path = std::env::temp_dir().join(format!("jrpc-{tag}-{}-rc.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let first = builder(&rt)
        .unix(&path)
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let http = first.http_addr().unwrap();
    let rc = reconnect_unix(&path, options(&rt), fast());
    let ws = reconnect_ws(&format!("ws://{http}/ws"), options(&rt), fast());
    let a: i64 = rc.request("add", [1, 2]).await.unwrap();
    let b: i64 = ws.request("add", [2, 2]).await.unwrap();
    assert_eq!((a, b), (3, 4));

    let call = rc.request::<(), _>("sleep", ());
    let kill = async move {
        until_pending(&first).await;
        drop(first); // the server dies with the call in flight
    };
    let (err, ()) = bounded("the in-flight call", future::join(call, kill)).await;
    let err = err.unwrap_err();
    assert!(matches!(err, ReconnectError::MayHaveRun { .. }), "{err}");
    assert!(err.to_string().contains("not sent again"), "{err}");

    // Once the client has noticed the drop, a call waits for the next connection. (A call
    // made before it noticed goes out on the dying one and is MayHaveRun, like the one above.)
    for _ in 0..2000 {
        if rc.current().is_none() {
            break;
        }
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    assert!(
        rc.current().is_none(),
        "the client notices the server is gone"
    );
    let waiting = rc.request::<i64, _>("add", [20, 22]);
    let restart = async {
        for _ in 0..500 {
            match builder(&rt)
                .unix(&path)
                .http(http.to_string())
                .start()
                .await
            {
                Ok(s) => return s,
                Err(_) => async_io::Timer::after(Duration::from_millis(20)).await,
            };
        }
        panic!("the old server's port was never released");
    };
    let (sum, second) = bounded("the call after the restart", future::join(waiting, restart)).await;
    assert_eq!(sum.unwrap(), 42);
    let sum: i64 = bounded("the WebSocket reconnect", ws.request("add", [5, 5]))
        .await
        .unwrap();
    assert_eq!(sum, 10);
    assert_eq!(
        second.handle().pending_requests(),
        0,
        "the cut-off call was not re-sent"
    );
    second.shutdown().await;

    let mut config = fast();
    config.max_attempts = Some(3);
    let gone = reconnect_unix("/nonexistent/jrpc.sock", options(&rt), config);
    let err = bounded("giving up", gone.request::<i64, _>("add", [1, 2]))
        .await
        .unwrap_err();
    assert!(matches!(err, ReconnectError::Unavailable(_)), "{err}");
}

#[test]
fn clients_survive_a_server_restart_smol() {
    smol::block_on(restart_under_clients(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn clients_survive_a_server_restart_async_std() {
    async_std::task::block_on(restart_under_clients(
        AsyncIoRuntime::async_std(),
        "async-std",
    ));
}
