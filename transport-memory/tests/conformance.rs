//! The conformance suite over memory pairs on tokio, async-std, smol and futures' executor.

use std::time::Instant;

use futures::future::BoxFuture;
use jsonrpc_proto::peer::{BoxTransport, Client, ClientConfig, Runtime, Server};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use transport_memory::pair;

struct MemConnector<R: Runtime> {
    server: Server,
    rt: R,
}

impl<R: Runtime> MemConnector<R> {
    fn new(rt: R) -> Self {
        Self::with_config(rt, conformance::server_config())
    }

    /// A server whose handlers each run on a task of their own.
    fn spawning(rt: R) -> Self {
        let mut config = conformance::server_config();
        config.spawn_calls = true;
        Self::with_config(rt, config)
    }

    fn with_config(rt: R, config: jsonrpc_proto::peer::ServerConfig) -> Self {
        let server = Server::new(conformance::router(), rt.clone(), config);
        MemConnector { server, rt }
    }
}

impl<R: Runtime> Connector for MemConnector<R> {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        let (a, b) = pair();
        let server = self.server.clone();
        self.rt
            .spawn(Box::pin(async move { server.serve(a).await }));
        let client = match local {
            Some(router) => Client::with_router(b, self.rt.clone(), config, router),
            None => Client::new(b, self.rt.clone(), config),
        };
        Box::pin(async move { client })
    }

    fn connect_raw(&self) -> Option<BoxFuture<'_, BoxTransport>> {
        let (a, b) = pair();
        let server = self.server.clone();
        self.rt
            .spawn(Box::pin(async move { server.serve(a).await }));
        Some(Box::pin(async move { BoxTransport::from_transport(b) }))
    }

    fn half_close(&self) -> bool {
        true
    }
}

mod common;
use common::Tokio;

#[derive(Clone)]
struct AsyncStd;
impl Runtime for AsyncStd {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        async_std::task::spawn(task);
    }
    fn sleep_until(&self, at: Instant) -> BoxFuture<'static, ()> {
        Box::pin(async_std::task::sleep(
            at.saturating_duration_since(Instant::now()),
        ))
    }
}

#[derive(Clone)]
struct Smol;
impl Runtime for Smol {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        smol::spawn(task).detach();
    }
    fn sleep_until(&self, at: Instant) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            smol::Timer::at(at).await;
        })
    }
}

/// futures' thread pool, with a thread per timer (tests only).
#[derive(Clone)]
struct Pool(futures::executor::ThreadPool);
impl Runtime for Pool {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.0.spawn_ok(task);
    }
    fn sleep_until(&self, at: Instant) -> BoxFuture<'static, ()> {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        std::thread::spawn(move || {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            let _ = tx.send(());
        });
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_tokio_multi_thread() {
    conformance::run_all(&MemConnector::new(Tokio)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_tokio_spawn_calls() {
    conformance::run_all(&MemConnector::spawning(Tokio)).await;
    conformance::concurrency(&MemConnector::spawning(Tokio), 2_000).await;
}

#[test]
fn conformance_smol_spawn_calls() {
    smol::block_on(conformance::run_all(&MemConnector::spawning(Smol)));
}

#[tokio::test(flavor = "current_thread")]
async fn conformance_tokio_current_thread() {
    conformance::run_all(&MemConnector::new(Tokio)).await;
}

#[test]
fn conformance_async_std() {
    async_std::task::block_on(conformance::run_all(&MemConnector::new(AsyncStd)));
}

#[test]
fn conformance_smol() {
    smol::block_on(conformance::run_all(&MemConnector::new(Smol)));
}

#[test]
fn conformance_futures_executor() {
    let pool = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .expect("thread pool");
    futures::executor::block_on(conformance::run_all(&MemConnector::new(Pool(pool))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_calls_on_one_pair() {
    conformance::concurrency(&MemConnector::new(Tokio), 10_000).await;
}
