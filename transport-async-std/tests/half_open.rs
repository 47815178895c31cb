//! Half-open TCP on the async-io server (smol and async-std): the shared suite
//! `jsonrpc_proto::testing::adapter::half_open` (its push tests run on tokio in
//! transport-tokio/tests/half_open.rs). A peer that stops reading while the server pushes to it
//! cannot grow the server's memory; a silent peer is reclaimed by the idle timeout.

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
mod runtimes;

use jsonrpc_proto::testing::adapter::half_open;
use runtimes::on_both;

#[test]
fn pushes_to_a_peer_that_stops_reading_are_dropped_beyond_the_queue_smol_and_async_std() {
    on_both(|a| async move {
        half_open::pushes_to_a_peer_that_stops_reading_are_dropped_beyond_the_queue(&a).await;
    });
}

#[test]
fn a_peer_that_stops_reading_pushes_is_disconnected_by_that_policy_smol_and_async_std() {
    on_both(|a| async move {
        half_open::a_peer_that_stops_reading_pushes_is_disconnected_by_that_policy(&a).await;
    });
}

#[test]
fn a_silent_peer_is_reclaimed_by_the_idle_timeout_smol_and_async_std() {
    on_both(|a| async move {
        half_open::a_silent_peer_is_reclaimed_by_the_idle_timeout(&a).await;
    });
}
