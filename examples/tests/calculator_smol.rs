//! The calculator router served on smol (transport-async-std): `sleep` uses the connection's
//! runtime timer (`Context::sleep`), so it answers under smol instead of panicking for want of
//! a tokio reactor (-32603).

use examples::calculator::{router_with_hooks, CalculatorHooks, NODE_NAME};
use serde_json::{json, Value};
use transport_async_std::{connect_http, connect_tcp, AsyncIoRuntime, Server};

#[test]
fn sleep_answers_under_smol() {
    smol::block_on(async {
        let hooks = CalculatorHooks::new();
        let server = Server::builder(router_with_hooks(hooks.clone()).unwrap())
            .http("127.0.0.1:0")
            .tcp("127.0.0.1:0")
            .node_name(NODE_NAME)
            .runtime(AsyncIoRuntime::smol())
            .start()
            .await
            .unwrap();
        hooks.set_server(server.handle());

        let tcp = connect_tcp(&server.tcp_addr().unwrap().to_string())
            .await
            .unwrap();
        let v: Value = tcp.request("sleep", [1]).await.unwrap();
        assert_eq!(v, json!({"slept_ms": 1}));

        let http = connect_http(&format!("http://{}/", server.http_addr().unwrap()))
            .await
            .unwrap();
        let v: Value = http.request("sleep", json!({"ms": 2})).await.unwrap();
        assert_eq!(v, json!({"slept_ms": 2}));

        server.shutdown().await;
    });
}
