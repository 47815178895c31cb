//! Every transport under async-std's executor, with and without TLS.

mod common;

use common::Kind;
use transport_async_std::AsyncIoRuntime;

fn run(f: impl std::future::Future<Output = ()>) {
    async_std::task::block_on(f)
}

fn rt() -> AsyncIoRuntime {
    AsyncIoRuntime::async_std()
}

every_transport_tests!();
