//! Cross-runtime: a smol server (transport-async-std) with tokio clients (transport-tokio), and
//! a tokio server with async-std clients, over WebSocket and TCP, running the conformance
//! suite.

use futures::future::BoxFuture;
use jsonrpc_proto::peer::{Client, ClientConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::{self, Connector};
use transport_async_std::AsyncIoRuntime;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Ws,
}

/// Clients of transport-tokio (called inside a tokio runtime).
struct TokioClients {
    target: String,
    kind: Kind,
}

impl Connector for TokioClients {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            let options = transport_tokio::ConnectOptions::default()
                .with_client(config)
                .with_router(local);
            match self.kind {
                Kind::Tcp => transport_tokio::connect_tcp_with(&self.target, options).await,
                Kind::Ws => transport_tokio::connect_ws_with(&self.target, options).await,
            }
            .expect("tokio client connects")
        })
    }
}

/// Clients of transport-async-std on async-std's executor.
struct AsyncStdClients {
    target: String,
    kind: Kind,
}

impl Connector for AsyncStdClients {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        Box::pin(async move {
            let options = transport_async_std::ConnectOptions::default()
                .with_client(config)
                .with_router(local)
                .with_runtime(Some(AsyncIoRuntime::async_std()));
            match self.kind {
                Kind::Tcp => transport_async_std::connect_tcp_with(&self.target, options).await,
                Kind::Ws => transport_async_std::connect_ws_with(&self.target, options).await,
            }
            .expect("async-std client connects")
        })
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn smol_server_tokio_client(kind: Kind) {
    let server = smol::block_on(
        transport_async_std::Server::builder(conformance::router())
            .http("127.0.0.1:0")
            .tcp("127.0.0.1:0")
            .config(conformance::server_config())
            .runtime(AsyncIoRuntime::smol())
            .start(),
    )
    .expect("smol server starts");
    let target = match kind {
        Kind::Tcp => server.tcp_addr().expect("tcp").to_string(),
        Kind::Ws => format!("ws://{}/ws", server.http_addr().expect("http")),
    };
    tokio_rt().block_on(conformance::run_all(&TokioClients { target, kind }));
    smol::block_on(server.shutdown());
}

fn tokio_server_async_std_client(kind: Kind) {
    let rt = tokio_rt();
    let server = rt
        .block_on(
            transport_tokio::Server::builder(conformance::router())
                .http("127.0.0.1:0")
                .tcp("127.0.0.1:0")
                .config(conformance::server_config())
                .start(),
        )
        .expect("tokio server starts");
    let target = match kind {
        Kind::Tcp => server.tcp_addr().expect("tcp").to_string(),
        Kind::Ws => format!("ws://{}/ws", server.http_addr().expect("http")),
    };
    async_std::task::block_on(conformance::run_all(&AsyncStdClients { target, kind }));
    rt.block_on(server.shutdown());
}

#[test]
fn smol_server_tokio_client_ws() {
    smol_server_tokio_client(Kind::Ws);
}

#[test]
fn smol_server_tokio_client_tcp() {
    smol_server_tokio_client(Kind::Tcp);
}

#[test]
fn tokio_server_async_std_client_ws() {
    tokio_server_async_std_client(Kind::Ws);
}

#[test]
fn tokio_server_async_std_client_tcp() {
    tokio_server_async_std_client(Kind::Tcp);
}
