//! Reconnecting clients on tokio: the shared suite `jsonrpc_proto::testing::adapter::reconnect`
//! (on smol and async-std in transport-async-std/tests/reconnect.rs). A server restarted under a
//! Unix, TCP, WebSocket and WebSocket-over-Unix client; calls cut off fail with MayHaveRun and
//! are not re-sent; bounded attempts give up; subscriptions resume after a restart.

use transport_tokio as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;

use jsonrpc_proto::testing::adapter::reconnect;

fn tokio() -> adapter::Under {
    adapter::Under {
        runtime: transport_tokio::TokioRuntime::new(),
        name: "tokio",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_client_survives_a_server_restart() {
    reconnect::unix_client_survives_a_server_restart(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_ws_clients_survive_a_server_restart() {
    reconnect::tcp_and_ws_clients_survive_a_server_restart(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_unix_client_survives_a_server_restart() {
    reconnect::ws_unix_client_survives_a_server_restart(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_attempts_give_up() {
    reconnect::bounded_attempts_give_up(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_resume_after_a_server_restart() {
    reconnect::subscriptions_resume_after_a_server_restart(&tokio()).await;
}
