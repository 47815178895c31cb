//! Listeners handed in (as systemd socket activation or a test that pre-binds does): HTTP, raw
//! TCP and Unix served on sockets the server did not bind.

use jsonrpc_proto::testing::conformance;
use transport_tokio::{connect_http, connect_tcp, connect_unix, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_tcp_and_unix_listeners_handed_in() {
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (http_addr, tcp_addr) = (http.local_addr().unwrap(), tcp.local_addr().unwrap());
    let path = std::env::temp_dir().join(format!("jrpc-tokio-{}-handed.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = Server::builder(conformance::router())
        .http_listener(http)
        .tcp_listener(tcp)
        .unix_listener(unix)
        .start()
        .await
        .unwrap();
    assert_eq!(server.http_addr(), Some(http_addr));
    assert_eq!(server.tcp_addr(), Some(tcp_addr));
    assert_eq!(server.unix_path(), Some(path.as_path()));
    let h = connect_http(&format!("http://{http_addr}/")).await.unwrap();
    let t = connect_tcp(&tcp_addr.to_string()).await.unwrap();
    let u = connect_unix(&path).await.unwrap();
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
}

#[tokio::test]
async fn a_handed_in_listener_alone_starts_no_default_http() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::builder(conformance::router())
        .tcp_listener(tcp)
        .start()
        .await
        .unwrap();
    assert_eq!(server.http_addr(), None);
    assert!(server.tcp_addr().is_some());
    server.shutdown().await;
}
