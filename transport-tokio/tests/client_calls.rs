//! Many callers sharing one client on tokio: the shared tests of tests/shared/client_calls.rs
//! (they run on smol and async-std in transport-async-std/tests/client_calls.rs).

use transport_tokio as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
#[path = "../../tests/shared/client_calls.rs"]
mod client_calls;

fn tokio() -> adapter::Under {
    adapter::Under {
        runtime: transport_tokio::TokioRuntime::new(),
        name: "tokio",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_each_get_their_own_answers_in_order() {
    client_calls::concurrent_callers_each_get_their_own_answers_in_order(tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_calls_among_concurrent_ones_are_forgotten() {
    client_calls::dropped_calls_among_concurrent_ones_are_forgotten(tokio()).await;
}

#[tokio::test]
async fn params_of_every_size_and_shape() {
    client_calls::params_of_every_size_and_shape(tokio()).await;
}
