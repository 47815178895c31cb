//! A closed client the application still holds lets go of its socket: the peer learns it is
//! gone (its writes fail) instead of filling the socket's buffers and blocking forever.

use std::time::Duration;

use futures::AsyncWriteExt;
use transport_async_std::AsyncIoRuntime;

async fn closed_client_releases_its_socket(rt: AsyncIoRuntime) {
    let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let client = transport_async_std::connect_tcp_with(
        &addr,
        transport_async_std::ConnectOptions::default().with_runtime(Some(rt)),
    )
    .await
    .unwrap();
    let (mut peer, _) = listener.accept().await.unwrap();
    client.close().await;
    assert!(client.is_closed());
    let call = client.request::<i64, _>("add", [1, 2]).await;
    assert!(call.is_err(), "a call after close must fail, got {call:?}");

    // `client` is still alive here; see transport-tokio/tests/close.rs.
    let chunk = vec![b' '; 64 * 1024];
    let write = async {
        let mut written = 0usize;
        loop {
            if let Err(e) = peer.write_all(&chunk).await {
                return Some(Ok(e));
            }
            written += chunk.len();
            if written > 512 << 20 {
                return Some(Err(written));
            }
        }
    };
    let bound = async {
        async_io::Timer::after(Duration::from_secs(30)).await;
        None
    };
    match futures::future::select(Box::pin(write), Box::pin(bound))
        .await
        .factor_first()
        .0
    {
        Some(Ok(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "unexpected error: {e}"
        ),
        Some(Err(n)) => panic!("{n} bytes were taken by a closed client's socket"),
        None => panic!("the closed client's socket is still open: the peer's write blocked"),
    }
    drop(client);
}

#[test]
fn smol_closed_client_still_held_releases_its_socket() {
    smol::block_on(closed_client_releases_its_socket(AsyncIoRuntime::smol()));
}

#[test]
fn async_std_closed_client_still_held_releases_its_socket() {
    async_std::task::block_on(closed_client_releases_its_socket(
        AsyncIoRuntime::async_std(),
    ));
}
