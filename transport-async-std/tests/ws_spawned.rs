//! Over WebSocket on smol and async-std: a call run on a task of its own (`spawn_calls`) is
//! dropped when its connection ends; the shared test of tests/shared/ws_spawned.rs (it runs on
//! tokio in transport-tokio/tests/ws_spawned.rs).

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
#[path = "../../tests/shared/ws_spawned.rs"]
mod ws_spawned;

use transport_async_std::AsyncIoRuntime;

#[test]
fn spawned_calls_end_with_their_connection_smol_and_async_std() {
    smol::block_on(ws_spawned::spawned_calls_end_with_their_connection(
        AsyncIoRuntime::smol(),
    ));
    async_std::task::block_on(ws_spawned::spawned_calls_end_with_their_connection(
        AsyncIoRuntime::async_std(),
    ));
}
