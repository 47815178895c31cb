//! The crate under test on smol and on async-std, for the shared suites (with
//! `tests/shared/adapter.rs`, which the including file names `adapter`).
#![allow(dead_code)]

use std::future::Future;

use transport_async_std::AsyncIoRuntime;

use crate::adapter::Under;

/// transport-async-std on smol's executor.
pub fn smol() -> Under {
    Under {
        runtime: AsyncIoRuntime::smol(),
        name: "smol",
    }
}

/// transport-async-std on async-std's executor.
pub fn async_std() -> Under {
    Under {
        runtime: AsyncIoRuntime::async_std(),
        name: "async-std",
    }
}

/// Runs `test` on smol.
pub fn on_smol<F: Future<Output = ()>>(test: impl FnOnce(Under) -> F) {
    smol::block_on(test(smol()));
}

/// Runs `test` on async-std.
pub fn on_async_std<F: Future<Output = ()>>(test: impl FnOnce(Under) -> F) {
    async_std::task::block_on(test(async_std()));
}

/// Runs `test` on smol, then on async-std.
pub fn on_both<F: Future<Output = ()>>(test: impl Fn(Under) -> F) {
    smol::block_on(test(smol()));
    async_std::task::block_on(test(async_std()));
}
