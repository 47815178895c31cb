//! Reconnecting clients on smol and async-std: the shared suite
//! `jsonrpc_proto::testing::adapter::reconnect` (on tokio in transport-tokio/tests/reconnect.rs).
//! A server restarted under a Unix, TCP, WebSocket and WebSocket-over-Unix client; calls cut off
//! fail with MayHaveRun and are not re-sent; bounded attempts give up; subscriptions resume
//! after a restart.

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
mod runtimes;

use jsonrpc_proto::testing::adapter::reconnect;
use runtimes::{on_async_std, on_smol};

#[test]
fn clients_survive_a_server_restart_smol() {
    on_smol(|a| async move {
        reconnect::unix_client_survives_a_server_restart(&a).await;
        reconnect::tcp_and_ws_clients_survive_a_server_restart(&a).await;
        reconnect::bounded_attempts_give_up(&a).await;
    });
}

#[test]
fn clients_survive_a_server_restart_async_std() {
    on_async_std(|a| async move {
        reconnect::unix_client_survives_a_server_restart(&a).await;
        reconnect::tcp_and_ws_clients_survive_a_server_restart(&a).await;
        reconnect::bounded_attempts_give_up(&a).await;
    });
}

#[test]
fn ws_unix_client_survives_a_server_restart_smol() {
    on_smol(|a| async move {
        reconnect::ws_unix_client_survives_a_server_restart(&a).await;
    });
}

#[test]
fn ws_unix_client_survives_a_server_restart_async_std() {
    on_async_std(|a| async move {
        reconnect::ws_unix_client_survives_a_server_restart(&a).await;
    });
}

#[test]
fn subscriptions_resume_after_a_server_restart_smol() {
    on_smol(|a| async move {
        reconnect::subscriptions_resume_after_a_server_restart(&a).await;
    });
}

#[test]
fn subscriptions_resume_after_a_server_restart_async_std() {
    on_async_std(|a| async move {
        reconnect::subscriptions_resume_after_a_server_restart(&a).await;
    });
}
