//! WebSocket ping/pong keep-alive on smol and async-std: the shared suite
//! `jsonrpc_proto::testing::adapter::keepalive` (it runs on tokio in
//! transport-tokio/tests/keepalive.rs). A peer that stops answering pings is closed by the
//! server, and by the client; pings keep a push-only client within the server's idle timeout.

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;

use jsonrpc_proto::testing::adapter::keepalive;
use transport_async_std::AsyncIoRuntime;

fn smol() -> adapter::Under {
    adapter::Under {
        runtime: AsyncIoRuntime::smol(),
        name: "smol",
    }
}

fn async_std() -> adapter::Under {
    adapter::Under {
        runtime: AsyncIoRuntime::async_std(),
        name: "async-std",
    }
}

#[test]
fn server_closes_a_peer_that_answers_no_ping_smol_and_async_std() {
    let test = |a: adapter::Under| async move {
        keepalive::server_closes_a_peer_that_answers_no_ping(&a).await;
    };
    smol::block_on(test(smol()));
    async_std::task::block_on(test(async_std()));
}

#[test]
fn pings_keep_a_push_only_client_within_the_idle_timeout_smol_and_async_std() {
    let test = |a: adapter::Under| async move {
        keepalive::pings_keep_a_push_only_client_within_the_idle_timeout(&a).await;
    };
    smol::block_on(test(smol()));
    async_std::task::block_on(test(async_std()));
}

#[test]
fn client_closes_a_server_that_answers_no_ping_smol_and_async_std() {
    let test = |a: adapter::Under| async move {
        keepalive::client_closes_a_server_that_answers_no_ping(&a).await;
    };
    smol::block_on(test(smol()));
    async_std::task::block_on(test(async_std()));
}
