//! Listeners handed in (as systemd socket activation or a test that pre-binds does) on smol and
//! async-std: HTTP, raw TCP and Unix served on sockets the server did not bind.

use jsonrpc_proto::testing::conformance;
use transport_async_std::{
    connect_http_with, connect_tcp_with, connect_unix_with, AsyncIoRuntime, ConnectOptions, Server,
};

async fn handed_in(rt: AsyncIoRuntime, tag: &str) {
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (http_addr, tcp_addr) = (http.local_addr().unwrap(), tcp.local_addr().unwrap());
    let path = std::env::temp_dir().join(format!("jrpc-{tag}-{}-handed.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = Server::builder(conformance::router())
        .http_listener(http)
        .tcp_listener(tcp)
        .unix_listener(unix)
        .runtime(rt.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(server.http_addr(), Some(http_addr));
    assert_eq!(server.tcp_addr(), Some(tcp_addr));
    assert_eq!(server.unix_path(), Some(path.as_path()));
    let o = || ConnectOptions::default().with_runtime(Some(rt.clone()));
    let h = connect_http_with(&format!("http://{http_addr}/"), o())
        .await
        .unwrap();
    let t = connect_tcp_with(&tcp_addr.to_string(), o()).await.unwrap();
    let u = connect_unix_with(&path, o()).await.unwrap();
    let a: i64 = h.request("add", [1, 1]).await.unwrap();
    let b: i64 = t.request("add", [2, 2]).await.unwrap();
    let c: i64 = u.request("add", [3, 3]).await.unwrap();
    assert_eq!((a, b, c), (2, 4, 6));
    server.shutdown().await;
    assert!(
        path.exists(),
        "a handed-in socket's file belongs to whoever bound it"
    );
    std::fs::remove_file(&path).unwrap();

    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::builder(conformance::router())
        .tcp_listener(tcp)
        .runtime(rt)
        .start()
        .await
        .unwrap();
    assert_eq!(
        server.http_addr(),
        None,
        "no default HTTP next to a handed-in listener"
    );
    server.shutdown().await;
}

#[test]
fn http_tcp_and_unix_listeners_handed_in_smol() {
    smol::block_on(handed_in(AsyncIoRuntime::smol(), "smol"));
}

#[test]
fn http_tcp_and_unix_listeners_handed_in_async_std() {
    async_std::task::block_on(handed_in(AsyncIoRuntime::async_std(), "async-std"));
}
