//! The subscription suite over the async-io transports that can push, on smol and
//! async-std: TCP, WebSocket, and Content-Length framing over a socket pair (the stdio
//! transport's code path).

use futures::future::BoxFuture;
use futures::io::AsyncReadExt;
use futures::FutureExt;
use jsonrpc_proto::peer::{Client, ClientConfig, ServerConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::Connector;
use jsonrpc_proto::testing::subscriptions;
use transport_async_std::{
    connect_tcp_with, connect_ws_with, AsyncIoRuntime, ConnectOptions, RunningServer, Server,
    StreamTransport,
};

#[derive(Clone, Copy)]
enum Kind {
    Tcp,
    Ws,
}

struct Net {
    kind: Kind,
    server: RunningServer,
    rt: AsyncIoRuntime,
}

impl Connector for Net {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        async move {
            let options = ConnectOptions::default()
                .with_client(config)
                .with_router(local)
                .with_runtime(Some(self.rt.clone()));
            match self.kind {
                Kind::Tcp => {
                    let addr = self.server.tcp_addr().expect("tcp addr");
                    connect_tcp_with(&addr.to_string(), options).await
                }
                Kind::Ws => {
                    let addr = self.server.http_addr().expect("http addr");
                    connect_ws_with(&format!("ws://{addr}/ws"), options).await
                }
            }
            .expect("connect")
        }
        .boxed()
    }
}

async fn run(kind: Kind, rt: AsyncIoRuntime) {
    let router = subscriptions::router();
    let server = Server::builder(router.clone())
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .runtime(rt.clone())
        .start()
        .await
        .expect("start");
    let net = Net { kind, server, rt };
    subscriptions::run_all(&net, &router).await;
    net.server.shutdown().await;
}

#[test]
fn subscriptions_smol_tcp() {
    smol::block_on(run(Kind::Tcp, AsyncIoRuntime::smol()));
}

#[test]
fn subscriptions_smol_websocket() {
    smol::block_on(run(Kind::Ws, AsyncIoRuntime::smol()));
}

#[test]
fn subscriptions_async_std_tcp() {
    async_std::task::block_on(run(Kind::Tcp, AsyncIoRuntime::async_std()));
}

/// Content-Length frames over a Unix socket pair, as stdio carries them.
struct Pipes {
    server: jsonrpc_proto::peer::Server,
    rt: AsyncIoRuntime,
}

impl Connector for Pipes {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        let (a, b) = smol::net::unix::UnixStream::pair().expect("socket pair");
        let server = self.server.clone();
        let (server_in, server_out) = a.split();
        smol::spawn(async move {
            server
                .serve(StreamTransport::content_length(server_in, server_out))
                .await
        })
        .detach();
        let (client_in, client_out) = b.split();
        let transport = StreamTransport::content_length(client_in, client_out);
        let client = match local {
            Some(router) => Client::with_router(transport, self.rt.clone(), config, router),
            None => Client::new(transport, self.rt.clone(), config),
        };
        async move { client }.boxed()
    }
}

#[test]
fn subscriptions_smol_stdio_framing() {
    let router = subscriptions::router();
    let rt = AsyncIoRuntime::smol();
    let server =
        jsonrpc_proto::peer::Server::new(router.clone(), rt.clone(), ServerConfig::default());
    smol::block_on(subscriptions::run_all(&Pipes { server, rt }, &router));
}
