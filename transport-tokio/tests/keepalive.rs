//! WebSocket ping/pong keep-alive on tokio: the shared suite
//! `jsonrpc_proto::testing::adapter::keepalive` (it runs on smol and async-std in
//! transport-async-std/tests/keepalive.rs). A peer that stops answering pings is closed by the
//! server, and by the client; pings keep a push-only client within the server's idle timeout.

use transport_tokio as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;

use jsonrpc_proto::testing::adapter::keepalive;

fn tokio() -> adapter::Under {
    adapter::Under {
        runtime: transport_tokio::TokioRuntime::new(),
        name: "tokio",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_closes_a_peer_that_answers_no_ping() {
    keepalive::server_closes_a_peer_that_answers_no_ping(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_keep_a_push_only_client_within_the_idle_timeout() {
    keepalive::pings_keep_a_push_only_client_within_the_idle_timeout(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_closes_a_server_that_answers_no_ping() {
    keepalive::client_closes_a_server_that_answers_no_ping(&tokio()).await;
}
