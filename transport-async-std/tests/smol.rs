//! Every transport under smol's executor, with and without TLS.

mod common;

use common::Kind;
use transport_async_std::AsyncIoRuntime;

fn run(f: impl std::future::Future<Output = ()>) {
    smol::block_on(f)
}

fn rt() -> AsyncIoRuntime {
    AsyncIoRuntime::smol()
}

every_transport_tests!();
