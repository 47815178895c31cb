//! Over WebSocket on tokio: a call run on a task of its own (`spawn_calls`) is dropped when its
//! connection ends; the shared test of tests/shared/ws_spawned.rs (it runs on smol and
//! async-std in transport-async-std/tests/ws_spawned.rs).

use transport_tokio as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
#[path = "../../tests/shared/ws_spawned.rs"]
mod ws_spawned;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_spawned_calls_end_with_their_connection() {
    ws_spawned::spawned_calls_end_with_their_connection(transport_tokio::TokioRuntime::new()).await;
}
