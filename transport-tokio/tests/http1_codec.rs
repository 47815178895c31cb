//! The HTTP/1.1 codec against hyper on the same raw requests (see `http1_diff`), and the
//! codec's own behaviour under shutdown, on tokio.

mod http1_diff;

use jsonrpc_proto::testing::conformance;
use transport_tokio::{RunningServer, Server};

async fn start(codec: bool) -> RunningServer {
    Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .config(conformance::server_config())
        .max_body(1024)
        .http1_codec(codec)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codec_answers_every_request_as_hyper_does() {
    let codec = start(true).await;
    let hyper = start(false).await;
    let (a, b) = (codec.http_addr().unwrap(), hyper.http_addr().unwrap());
    tokio::task::spawn_blocking(move || http1_diff::compare(a, b))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_keep_alive_connections_and_answers_the_one_under_way() {
    let server = start(true).await;
    let addr = server.http_addr().unwrap();
    let (idle, busy) = tokio::task::spawn_blocking(move || {
        let idle = http1_diff::open_idle(addr);
        let busy = http1_diff::start_slow(addr);
        (idle, busy)
    })
    .await
    .unwrap();
    // The slow call is under way (it takes 200 ms): shut down now.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let stop = tokio::spawn(server.shutdown());
    let (idle, busy) =
        tokio::task::spawn_blocking(move || (http1_diff::finish(idle), http1_diff::finish(busy)))
            .await
            .unwrap();
    stop.await.unwrap();
    assert!(idle.closed && idle.answers.is_empty(), "idle: {idle:?}");
    assert!(busy.closed, "busy: {busy:?}");
    assert_eq!(busy.answers.len(), 1, "busy: {busy:?}");
    let answer = &busy.answers[0];
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, br#"{"jsonrpc":"2.0","result":7,"id":7}"#);
    assert!(answer
        .headers
        .contains(&("connection".to_owned(), "close".to_owned())));
}
