//! The shared suites of the runtime adapters ([`keepalive`], [`half_open`], [`reconnect`]) and
//! what they need of an adapter: its
//! server builder, its runtime and its client functions, behind one small trait. Each adapter's
//! test file implements [`Adapter`] in a few lines and runs the suite's functions under its
//! executor:
//!
//! ```ignore
//! struct Tokio;
//! impl Adapter for Tokio { /* builder, runtime, connect_ws, reconnect_* */ }
//! #[tokio::test]
//! async fn server_closes_a_peer_that_answers_no_ping() {
//!     keepalive::server_closes_a_peer_that_answers_no_ping(&Tokio).await
//! }
//! ```
//!
//! The helpers here wait on the adapter's own timer ([`Runtime::sleep_until`]); a wait that
//! passes its bound fails the test, it never measures it.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use futures::future::{self, BoxFuture, Either};

use crate::adapter::builder::{Listen, ServerBuilder};
use crate::adapter::connect::ConnectOptions;
use crate::adapter::http::ConnectError;
use crate::adapter::reconnect::{ReconnectConfig, Reconnecting};
use crate::peer::{Client, Runtime};
use crate::service::Router;

pub mod half_open;
pub mod keepalive;
pub mod reconnect;

/// The upper bound of every wait in the suites: a failure, never a timing claim.
pub const BOUND: Duration = Duration::from_secs(30);

/// A runtime adapter (transport-tokio, or transport-async-std on smol or async-std) as the
/// shared suites use it.
pub trait Adapter: Sync {
    /// The adapter's listener (its `Server`).
    type Listen: Listen<Runtime = Self::Runtime>;
    /// The adapter's runtime.
    type Runtime: Runtime + Clone + Default;

    /// A short name for socket files ("tokio", "smol", "async-std").
    fn name(&self) -> &'static str;

    /// The runtime the suite's servers, clients and timers run on.
    fn runtime(&self) -> Self::Runtime;

    /// `connect_ws_with`.
    fn connect_ws(
        &self,
        url: &str,
        options: ConnectOptions<Self::Runtime>,
    ) -> BoxFuture<'static, Result<Client, ConnectError>>;

    /// `reconnect_tcp`.
    fn reconnect_tcp(
        &self,
        addr: &str,
        options: ConnectOptions<Self::Runtime>,
        config: ReconnectConfig,
    ) -> Reconnecting;

    /// `reconnect_ws`.
    fn reconnect_ws(
        &self,
        url: &str,
        options: ConnectOptions<Self::Runtime>,
        config: ReconnectConfig,
    ) -> Reconnecting;

    /// `reconnect_unix`.
    fn reconnect_unix(
        &self,
        path: &Path,
        options: ConnectOptions<Self::Runtime>,
        config: ReconnectConfig,
    ) -> Reconnecting;

    /// `reconnect_ws_unix`.
    fn reconnect_ws_unix(
        &self,
        socket: &Path,
        url: &str,
        options: ConnectOptions<Self::Runtime>,
        config: ReconnectConfig,
    ) -> Reconnecting;

    /// `Server::builder(router)` on [`Adapter::runtime`].
    fn builder(&self, router: Router) -> ServerBuilder<Self::Listen> {
        ServerBuilder::new(router).runtime(self.runtime())
    }

    /// Default client options on [`Adapter::runtime`].
    fn options(&self) -> ConnectOptions<Self::Runtime> {
        ConnectOptions::default().with_runtime(Some(self.runtime()))
    }
}

/// Sleeps `d` on the adapter's timer.
pub async fn sleep<A: Adapter>(a: &A, d: Duration) {
    let rt = a.runtime();
    rt.sleep_until(rt.now() + d).await
}

/// `f`'s output; panics naming `what` when it takes longer than [`BOUND`].
pub async fn bounded<A: Adapter, T>(a: &A, what: &str, f: impl Future<Output = T>) -> T {
    futures::pin_mut!(f);
    let timer = sleep(a, BOUND);
    futures::pin_mut!(timer);
    match future::select(f, timer).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("gave up waiting for: {what}"),
    }
}

/// Checks `cond` every `step` up to `tries` times; panics naming `what` if it never held.
pub async fn until<A: Adapter>(
    a: &A,
    what: &str,
    step: Duration,
    tries: u32,
    mut cond: impl FnMut() -> bool,
) {
    for _ in 0..tries {
        if cond() {
            return;
        }
        sleep(a, step).await;
    }
    panic!("gave up waiting for: {what}");
}
