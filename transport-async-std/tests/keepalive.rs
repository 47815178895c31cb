//! WebSocket ping/pong keep-alive on smol and async-std: the shared suite
//! `jsonrpc_proto::testing::adapter::keepalive` (it runs on tokio in
//! transport-tokio/tests/keepalive.rs). A peer that stops answering pings is closed by the
//! server, and by the client; pings keep a push-only client within the server's idle timeout.

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
mod runtimes;

use jsonrpc_proto::testing::adapter::keepalive;
use runtimes::on_both;

#[test]
fn server_closes_a_peer_that_answers_no_ping_smol_and_async_std() {
    on_both(|a| async move {
        keepalive::server_closes_a_peer_that_answers_no_ping(&a).await;
    });
}

#[test]
fn pings_keep_a_push_only_client_within_the_idle_timeout_smol_and_async_std() {
    on_both(|a| async move {
        keepalive::pings_keep_a_push_only_client_within_the_idle_timeout(&a).await;
    });
}

#[test]
fn client_closes_a_server_that_answers_no_ping_smol_and_async_std() {
    on_both(|a| async move {
        keepalive::client_closes_a_server_that_answers_no_ping(&a).await;
    });
}
