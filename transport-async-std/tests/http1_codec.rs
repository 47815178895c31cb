//! The HTTP/1.1 codec against hyper on the same raw requests, and the codec under shutdown, on
//! smol and async-std (the cases are transport-tokio's, shared: `http1_diff`).

#[path = "../../transport-tokio/tests/http1_diff/mod.rs"]
mod http1_diff;

use std::time::Duration;

use jsonrpc_proto::testing::conformance;
use transport_async_std::{AsyncIoRuntime, RunningServer, Server};

async fn start(runtime: AsyncIoRuntime, codec: bool) -> RunningServer {
    Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .runtime(runtime)
        .config(conformance::server_config())
        .max_body(1024)
        .http1_codec(codec)
        .start()
        .await
        .unwrap()
}

/// The servers run on `runtime`'s executor threads; the clients are blocking sockets on the
/// test thread.
fn differential(runtime: fn() -> AsyncIoRuntime) {
    let (codec, hyper) =
        async_io::block_on(async { (start(runtime(), true).await, start(runtime(), false).await) });
    http1_diff::compare(codec.http_addr().unwrap(), hyper.http_addr().unwrap());
}

fn shutdown(runtime: fn() -> AsyncIoRuntime) {
    let server = async_io::block_on(start(runtime(), true));
    let addr = server.http_addr().unwrap();
    let idle = http1_diff::open_idle(addr);
    let busy = http1_diff::start_slow(addr);
    // The slow call is under way (it takes 200 ms): shut down now.
    std::thread::sleep(Duration::from_millis(50));
    let stop = std::thread::spawn(move || async_io::block_on(server.shutdown()));
    let (idle, busy) = (http1_diff::finish(idle), http1_diff::finish(busy));
    stop.join().unwrap();
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

#[test]
fn smol_the_codec_answers_every_request_as_hyper_does() {
    differential(AsyncIoRuntime::smol);
}

#[test]
fn async_std_the_codec_answers_every_request_as_hyper_does() {
    differential(AsyncIoRuntime::async_std);
}

#[test]
fn smol_shutdown_closes_idle_connections_and_answers_the_one_under_way() {
    shutdown(AsyncIoRuntime::smol);
}

#[test]
fn async_std_shutdown_closes_idle_connections_and_answers_the_one_under_way() {
    shutdown(AsyncIoRuntime::async_std);
}
