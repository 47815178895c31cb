//! Unix domain sockets on smol and async-std: the conformance suite over a Unix socket, a stale
//! socket file replaced, a live one refused, permissions, the file removed on shutdown.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use futures::future::BoxFuture;
use jsonrpc_proto::peer::{BoxTransport, Client, ClientConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use transport_async_std::{
    connect_unix_with, unix_transport, AsyncIoRuntime, ConnectOptions, RunningServer, Server,
    StartError,
};

fn sock(rt: &str, name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("jrpc-{rt}-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

struct Target {
    server: RunningServer,
    path: PathBuf,
    rt: AsyncIoRuntime,
}

impl Target {
    fn options(&self, client: ClientConfig, router: Option<Router>) -> ConnectOptions {
        ConnectOptions::default()
            .with_client(client)
            .with_router(router)
            .with_runtime(Some(self.rt.clone()))
    }
}

impl Connector for Target {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            connect_unix_with(&self.path, self.options(config, local))
                .await
                .expect("connect")
        })
    }

    fn connect_raw(&self) -> Option<BoxFuture<'_, BoxTransport>> {
        Some(Box::pin(async move {
            BoxTransport::from_transport(unix_transport(&self.path).await.expect("raw unix"))
        }))
    }
}

async fn conformance_over_unix(rt: AsyncIoRuntime, tag: &str) {
    let path = sock(tag, "conformance");
    let server = Server::builder(conformance::router())
        .unix(&path)
        .config(conformance::server_config())
        .runtime(rt.clone())
        .start()
        .await
        .expect("start");
    assert_eq!(server.http_addr(), None, "a Unix path alone starts no HTTP");
    assert_eq!(server.unix_path(), Some(path.as_path()));
    let target = Target { server, path, rt };
    conformance::run_all(&target).await;
    target.server.shutdown().await;
    assert!(
        !target.path.exists(),
        "the socket file is removed on shutdown"
    );
}

async fn stale_live_and_other_files(rt: AsyncIoRuntime, tag: &str) {
    let path = sock(tag, "stale");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = Server::builder(conformance::router())
        .unix(&path)
        .unix_mode(0o660)
        .runtime(rt.clone())
        .start()
        .await
        .expect("a stale socket file is replaced");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let opts = || ConnectOptions::default().with_runtime(Some(rt.clone()));
    let client = connect_unix_with(&path, opts()).await.unwrap();
    let sum: i64 = client.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);

    let second = Server::builder(conformance::router())
        .unix(&path)
        .runtime(rt.clone())
        .start()
        .await;
    assert!(
        matches!(second, Err(StartError::UnixInUse { .. })),
        "{:?}",
        second.err()
    );
    assert!(path.exists());
    let sum: i64 = client.request("add", [4, 3]).await.unwrap();
    assert_eq!(sum, 7);
    server.shutdown().await;
    assert!(!path.exists());

    std::fs::write(&path, b"data").unwrap();
    let third = Server::builder(conformance::router())
        .unix(&path)
        .runtime(rt.clone())
        .start()
        .await;
    assert!(
        matches!(third, Err(StartError::Bind { .. })),
        "{:?}",
        third.err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
    std::fs::remove_file(&path).unwrap();

    // Dropping the server (no graceful shutdown) removes the file too.
    let server = Server::builder(conformance::router())
        .unix(&path)
        .runtime(rt.clone())
        .start()
        .await
        .unwrap();
    drop(server);
    assert!(!path.exists());
}

#[test]
fn conformance_unix_smol() {
    smol::block_on(conformance_over_unix(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn conformance_unix_async_std() {
    async_std::task::block_on(conformance_over_unix(
        AsyncIoRuntime::async_std(),
        "async-std",
    ));
}

#[test]
fn stale_socket_replaced_live_one_refused_smol() {
    smol::block_on(stale_live_and_other_files(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn stale_socket_replaced_live_one_refused_async_std() {
    async_std::task::block_on(stale_live_and_other_files(
        AsyncIoRuntime::async_std(),
        "async-std",
    ));
}

async fn closed_when_the_server_goes(rt: AsyncIoRuntime, tag: &str) {
    let path = sock(tag, "closed");
    let server = Server::builder(conformance::router())
        .unix(&path)
        .http("127.0.0.1:0")
        .runtime(rt.clone())
        .start()
        .await
        .unwrap();
    let opts = || ConnectOptions::default().with_runtime(Some(rt.clone()));
    let unix = connect_unix_with(&path, opts()).await.unwrap();
    let ws = transport_async_std::connect_ws_with(
        &format!("ws://{}/ws", server.http_addr().unwrap()),
        opts(),
    )
    .await
    .unwrap();
    let (unix_closed, ws_closed) = (unix.closed(), ws.closed());
    let sum: i64 = unix.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    assert!(!unix.is_closed() && !ws.is_closed());
    server.shutdown().await;
    let both = futures::future::join(unix_closed, ws_closed);
    let limit = async_io::Timer::after(std::time::Duration::from_secs(30));
    futures::pin_mut!(both);
    match futures::future::select(both, limit).await {
        futures::future::Either::Left(_) => {}
        futures::future::Either::Right(_) => panic!("closed() did not complete"),
    }
    assert!(unix.is_closed() && ws.is_closed());
}

#[test]
fn closed_completes_when_the_server_goes_smol() {
    smol::block_on(closed_when_the_server_goes(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn closed_completes_when_the_server_goes_async_std() {
    async_std::task::block_on(closed_when_the_server_goes(
        AsyncIoRuntime::async_std(),
        "async-std",
    ));
}
