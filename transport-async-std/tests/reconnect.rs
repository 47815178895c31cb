//! Reconnecting clients on smol and async-std: the shared suite
//! `jsonrpc_proto::testing::adapter::reconnect` (on tokio in transport-tokio/tests/reconnect.rs).
//! A server restarted under a Unix, TCP, WebSocket and WebSocket-over-Unix client; calls cut off
//! fail with MayHaveRun and are not re-sent; bounded attempts give up; subscriptions resume
//! after a restart.

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;

use jsonrpc_proto::testing::adapter::reconnect;
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
fn clients_survive_a_server_restart_smol() {
    let a = smol();
    smol::block_on(async {
        reconnect::unix_client_survives_a_server_restart(&a).await;
        reconnect::tcp_and_ws_clients_survive_a_server_restart(&a).await;
        reconnect::bounded_attempts_give_up(&a).await;
    });
}

#[test]
fn clients_survive_a_server_restart_async_std() {
    let a = async_std();
    async_std::task::block_on(async {
        reconnect::unix_client_survives_a_server_restart(&a).await;
        reconnect::tcp_and_ws_clients_survive_a_server_restart(&a).await;
        reconnect::bounded_attempts_give_up(&a).await;
    });
}

#[test]
fn ws_unix_client_survives_a_server_restart_smol() {
    let a = smol();
    smol::block_on(async {
        reconnect::ws_unix_client_survives_a_server_restart(&a).await;
    });
}

#[test]
fn ws_unix_client_survives_a_server_restart_async_std() {
    let a = async_std();
    async_std::task::block_on(async {
        reconnect::ws_unix_client_survives_a_server_restart(&a).await;
    });
}

#[test]
fn subscriptions_resume_after_a_server_restart_smol() {
    let a = smol();
    smol::block_on(async {
        reconnect::subscriptions_resume_after_a_server_restart(&a).await;
    });
}

#[test]
fn subscriptions_resume_after_a_server_restart_async_std() {
    let a = async_std();
    async_std::task::block_on(async {
        reconnect::subscriptions_resume_after_a_server_restart(&a).await;
    });
}
