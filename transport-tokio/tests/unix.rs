//! Unix domain sockets on tokio: the conformance suite over a Unix socket, a stale socket file
//! replaced, a live one refused, permissions, the file removed on shutdown.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use futures::future::BoxFuture;
use futures::FutureExt;
use jsonrpc_proto::peer::{BoxTransport, Client, ClientConfig, TransportKind};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use transport_tokio::{
    connect_unix, connect_unix_with, unix_transport, ConnectOptions, RunningServer, Server,
    StartError,
};

fn sock(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("jrpc-tokio-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

struct Target {
    server: RunningServer,
    path: PathBuf,
}

impl Connector for Target {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        async move {
            let options = ConnectOptions::default()
                .with_client(config)
                .with_router(local);
            connect_unix_with(&self.path, options)
                .await
                .expect("connect")
        }
        .boxed()
    }

    fn connect_raw(&self) -> Option<BoxFuture<'_, BoxTransport>> {
        Some(
            async move {
                BoxTransport::from_transport(unix_transport(&self.path).await.expect("raw unix"))
            }
            .boxed(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_unix() {
    let path = sock("conformance");
    let server = Server::builder(conformance::router())
        .unix(&path)
        .config(conformance::server_config())
        .start()
        .await
        .expect("start");
    assert_eq!(server.http_addr(), None, "a Unix path alone starts no HTTP");
    assert_eq!(server.unix_path(), Some(path.as_path()));
    let target = Target { server, path };
    conformance::run_all(&target).await;
    target.server.shutdown().await;
    assert!(
        !target.path.exists(),
        "the socket file is removed on shutdown"
    );
}

#[tokio::test]
async fn unix_clients_see_the_transport_kind() {
    let path = sock("kind");
    let router = Router::builder()
        .method(
            "kind",
            |ctx: jsonrpc_proto::service::Context, (): ()| async move {
                Ok::<_, jsonrpc_proto::ErrorObject>(
                    (ctx.transport().kind == TransportKind::Unix).to_string(),
                )
            },
        )
        .build()
        .unwrap();
    let server = Server::builder(router).unix(&path).start().await.unwrap();
    let client = connect_unix(&path).await.unwrap();
    let kind: String = client.request("kind", ()).await.unwrap();
    assert_eq!(kind, "true");
    drop(server);
    assert!(!path.exists(), "dropping the server removes the file too");
}

#[tokio::test]
async fn stale_socket_replaced_live_one_refused_other_files_kept() {
    let path = sock("stale");
    // A dead server's leftover: the file exists, nobody listens.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = Server::builder(conformance::router())
        .unix(&path)
        .unix_mode(0o660)
        .start()
        .await
        .expect("a stale socket file is replaced");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let client = connect_unix(&path).await.unwrap();
    let sum: i64 = client.request("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);

    // A live one: refused, and the live server keeps its file.
    let second = Server::builder(conformance::router())
        .unix(&path)
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

    // Not a socket: never removed.
    std::fs::write(&path, b"data").unwrap();
    let third = Server::builder(conformance::router())
        .unix(&path)
        .start()
        .await;
    assert!(
        matches!(third, Err(StartError::Bind { .. })),
        "{:?}",
        third.err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn unix_next_to_http() {
    let path = sock("both");
    let server = Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .unix(&path)
        .start()
        .await
        .unwrap();
    assert!(server.http_addr().is_some());
    let url = format!("http://{}/", server.http_addr().unwrap());
    let http = transport_tokio::connect_http(&url).await.unwrap();
    let unix = connect_unix(&path).await.unwrap();
    let a: i64 = http.request("add", [1, 1]).await.unwrap();
    let b: i64 = unix.request("add", [2, 2]).await.unwrap();
    assert_eq!((a, b), (2, 4));
    server.shutdown().await;
    assert!(!path.exists());
}

#[tokio::test]
async fn closed_completes_when_the_server_goes() {
    let path = sock("closed");
    let server = Server::builder(conformance::router())
        .unix(&path)
        .http("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let unix = connect_unix(&path).await.unwrap();
    let ws = transport_tokio::connect_ws(&format!("ws://{}/ws", server.http_addr().unwrap()))
        .await
        .unwrap();
    let (unix_closed, ws_closed) = (unix.closed(), ws.closed());
    let sum: i64 = unix.request("add", [1, 2]).await.unwrap();
    assert_eq!(sum, 3);
    assert!(!unix.is_closed() && !ws.is_closed());
    server.shutdown().await;
    let both = futures::future::join(unix_closed, ws_closed);
    tokio::time::timeout(std::time::Duration::from_secs(30), both)
        .await
        .expect("closed() completes once the server is gone");
    assert!(unix.is_closed() && ws.is_closed());
    // A client closed locally completes too.
    let server = Server::builder(conformance::router())
        .unix(&path)
        .start()
        .await
        .unwrap();
    let c = connect_unix(&path).await.unwrap();
    let closed = c.closed();
    c.close().await;
    closed.await;
    server.shutdown().await;
}
