//! HTTP and WebSocket served on a Unix domain socket on tokio (`ServerBuilder::http_unix`), as
//! on the HTTP port: the shared tests of tests/shared/http_unix.rs (they run on smol and
//! async-std in transport-async-std/tests/http_unix.rs): the conformance suite over HTTP/1.1,
//! h2c and WebSocket on the socket, curl `--unix-socket`, the same limits, the socket file's
//! rules, and what handlers see of such a peer.

use transport_tokio as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
#[path = "../../tests/shared/gate.rs"]
mod gate;
#[path = "../../tests/interop/h2_clients.rs"]
mod h2_clients;
#[path = "../../tests/shared/http_unix.rs"]
mod http_unix;

use http_unix::Kind;

fn tokio() -> adapter::Under {
    adapter::Under {
        runtime: transport_tokio::TokioRuntime::new(),
        name: "tokio",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_http1_on_unix() {
    http_unix::conformance_over(&tokio(), Kind::Http1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_h2c_on_unix() {
    http_unix::conformance_over(&tokio(), Kind::H2c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_ws_on_unix() {
    http_unix::conformance_over(&tokio(), Kind::Ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_over_the_unix_socket_http1_h2c_health_and_metrics() {
    http_unix::curl_over_the_socket(&tokio()).await;
}

#[tokio::test]
async fn the_http_port_limits_hold_on_the_socket() {
    http_unix::limits(&tokio()).await;
}

#[tokio::test]
async fn http_socket_file_rules_match_the_ndjson_listener() {
    http_unix::socket_file_rules(&tokio()).await;
}

#[tokio::test]
async fn a_handed_in_listener_serves_http_and_keeps_its_file() {
    http_unix::handed_in_listener(&tokio()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_http_on_unix_and_h2_multiplexes_on_the_socket() {
    http_unix::who_and_h2(&tokio()).await;
}
