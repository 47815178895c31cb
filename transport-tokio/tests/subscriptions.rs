//! The subscription suite over the tokio transports that can push: TCP, WebSocket, and
//! Content-Length framing over pipes (the stdio transport's code path).

use futures::future::BoxFuture;
use futures::FutureExt;
use jsonrpc_proto::peer::{Client, ClientConfig, ServerConfig};
use jsonrpc_proto::service::Router;
use jsonrpc_proto::testing::conformance::Connector;
use jsonrpc_proto::testing::subscriptions;
use transport_tokio::{
    connect_tcp_with, connect_ws_with, ConnectOptions, RunningServer, Server, StreamTransport,
    TokioRuntime,
};

#[derive(Clone, Copy)]
enum Kind {
    Tcp,
    Ws,
}

struct Net {
    kind: Kind,
    server: RunningServer,
}

impl Connector for Net {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        async move {
            let options = ConnectOptions::default()
                .with_client(config)
                .with_router(local);
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

async fn run(kind: Kind) {
    let router = subscriptions::router();
    let server = Server::builder(router.clone())
        .http("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .start()
        .await
        .expect("start");
    let net = Net { kind, server };
    subscriptions::run_all(&net, &router).await;
    net.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_tcp() {
    run(Kind::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_websocket() {
    run(Kind::Ws).await;
}

/// Content-Length frames over a pair of pipes, as stdio carries them.
struct Pipes {
    server: jsonrpc_proto::peer::Server,
}

impl Connector for Pipes {
    fn connect(&self, config: ClientConfig, local: Option<Router>) -> BoxFuture<'_, Client> {
        let (client_out, server_in) = tokio::io::duplex(64 * 1024);
        let (server_out, client_in) = tokio::io::duplex(64 * 1024);
        let server = self.server.clone();
        tokio::spawn(async move {
            server
                .serve(StreamTransport::content_length(server_in, server_out))
                .await
        });
        let transport = StreamTransport::content_length(client_in, client_out);
        let rt = TokioRuntime::new();
        let client = match local {
            Some(router) => Client::with_router(transport, rt, config, router),
            None => Client::new(transport, rt, config),
        };
        async move { client }.boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_stdio_framing() {
    let router = subscriptions::router();
    let server = jsonrpc_proto::peer::Server::new(
        router.clone(),
        TokioRuntime::new(),
        ServerConfig::default(),
    );
    subscriptions::run_all(&Pipes { server }, &router).await;
}
