//! Half-open TCP on the tokio server: the shared suite `jsonrpc_proto::testing::adapter::half_open`
//! (on smol and async-std in transport-async-std/tests/half_open.rs). A peer that stops reading
//! while the server pushes to it cannot grow the server's memory; the overflow policy decides
//! between dropping and disconnecting. (A silent peer is reclaimed by the idle timeout:
//! `limits.rs`, `idle_and_trickling_connections_are_cut_off`.)

use transport_tokio as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;

use jsonrpc_proto::testing::adapter::half_open;

fn tokio() -> adapter::Under {
    adapter::Under {
        runtime: transport_tokio::TokioRuntime::new(),
        name: "tokio",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_to_a_peer_that_stops_reading_are_dropped_beyond_the_queue() {
    half_open::pushes_to_a_peer_that_stops_reading_are_dropped_beyond_the_queue(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_pushes_is_disconnected_by_that_policy() {
    half_open::a_peer_that_stops_reading_pushes_is_disconnected_by_that_policy(&tokio()).await;
}
