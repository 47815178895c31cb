//! A closed client the application still holds lets go of its socket: the peer learns it is
//! gone (its writes fail) instead of filling the socket's buffers and blocking forever.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn a_closed_client_still_held_releases_its_socket() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let client = transport_tokio::connect_tcp(&addr).await.unwrap();
    let (mut peer, _) = listener.accept().await.unwrap();
    client.close().await;
    assert!(client.is_closed());
    let call = client.request::<i64, _>("add", [1, 2]).await;
    assert!(call.is_err(), "a call after close must fail, got {call:?}");

    // `client` is still alive here. The peer writes until its kernel reports the other end
    // gone; with the socket kept open it would fill the buffers and block (then the bound
    // below ends the test with a failure, it does not measure anything).
    let chunk = vec![b' '; 64 * 1024];
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        let mut written = 0usize;
        loop {
            if let Err(e) = peer.write_all(&chunk).await {
                return Ok(e);
            }
            written += chunk.len();
            if written > 512 << 20 {
                return Err(written);
            }
        }
    })
    .await;
    match outcome {
        Ok(Ok(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "unexpected error: {e}"
        ),
        Ok(Err(n)) => panic!("{n} bytes were taken by a closed client's socket"),
        Err(_) => panic!("the closed client's socket is still open: the peer's write blocked"),
    }
    drop(client);
}
