//! Many callers sharing one client on smol and async-std: the shared tests of
//! tests/shared/client_calls.rs (they run on tokio in transport-tokio/tests/client_calls.rs).

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
#[path = "../../tests/shared/client_calls.rs"]
mod client_calls;
mod runtimes;

use runtimes::{on_async_std, on_smol};

#[test]
fn smol_concurrent_callers_each_get_their_own_answers_in_order() {
    on_smol(client_calls::concurrent_callers_each_get_their_own_answers_in_order);
}

#[test]
fn async_std_concurrent_callers_each_get_their_own_answers_in_order() {
    on_async_std(client_calls::concurrent_callers_each_get_their_own_answers_in_order);
}

#[test]
fn smol_dropped_calls_among_concurrent_ones_are_forgotten() {
    on_smol(client_calls::dropped_calls_among_concurrent_ones_are_forgotten);
}

#[test]
fn async_std_dropped_calls_among_concurrent_ones_are_forgotten() {
    on_async_std(client_calls::dropped_calls_among_concurrent_ones_are_forgotten);
}

#[test]
fn smol_params_of_every_size_and_shape() {
    on_smol(client_calls::params_of_every_size_and_shape);
}

#[test]
fn async_std_params_of_every_size_and_shape() {
    on_async_std(client_calls::params_of_every_size_and_shape);
}
