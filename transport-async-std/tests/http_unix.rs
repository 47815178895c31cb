//! HTTP and WebSocket served on a Unix domain socket on smol and async-std
//! (`ServerBuilder::http_unix`), as on the HTTP port: the shared tests of
//! tests/shared/http_unix.rs (they run on tokio in transport-tokio/tests/http_unix.rs): the
//! conformance suite over HTTP/1.1, h2c and WebSocket on the socket, curl `--unix-socket`, the
//! same limits, the socket file's rules (and a handed-in listener), and what handlers see of
//! such a peer.

use transport_async_std as under_test;

#[path = "../../tests/shared/adapter.rs"]
mod adapter;
#[path = "../../tests/shared/gate.rs"]
mod gate;
#[path = "../../tests/interop/h2_clients.rs"]
mod h2_clients;
#[path = "../../tests/shared/http_unix.rs"]
mod http_unix;
mod runtimes;

use http_unix::Kind;
use runtimes::{on_async_std, on_smol};

#[test]
fn conformance_http1_on_unix_smol() {
    on_smol(|a| async move {
        http_unix::conformance_over(&a, Kind::Http1).await;
    });
}

#[test]
fn conformance_http1_on_unix_async_std() {
    on_async_std(|a| async move {
        http_unix::conformance_over(&a, Kind::Http1).await;
    });
}

#[test]
fn conformance_h2c_on_unix_smol() {
    on_smol(|a| async move {
        http_unix::conformance_over(&a, Kind::H2c).await;
    });
}

#[test]
fn conformance_h2c_on_unix_async_std() {
    on_async_std(|a| async move {
        http_unix::conformance_over(&a, Kind::H2c).await;
    });
}

#[test]
fn conformance_ws_on_unix_smol() {
    on_smol(|a| async move {
        http_unix::conformance_over(&a, Kind::Ws).await;
    });
}

#[test]
fn conformance_ws_on_unix_async_std() {
    on_async_std(|a| async move {
        http_unix::conformance_over(&a, Kind::Ws).await;
    });
}

#[test]
fn curl_over_the_unix_socket_http1_h2c_health_and_metrics_smol() {
    on_smol(|a| async move {
        http_unix::curl_over_the_socket(&a).await;
    });
}

#[test]
fn curl_over_the_unix_socket_http1_h2c_health_and_metrics_async_std() {
    on_async_std(|a| async move {
        http_unix::curl_over_the_socket(&a).await;
    });
}

#[test]
fn the_http_port_limits_hold_on_the_socket_smol() {
    on_smol(|a| async move {
        http_unix::limits(&a).await;
    });
}

#[test]
fn the_http_port_limits_hold_on_the_socket_async_std() {
    on_async_std(|a| async move {
        http_unix::limits(&a).await;
    });
}

#[test]
fn http_socket_file_rules_and_handed_in_listener_smol() {
    on_smol(|a| async move {
        http_unix::socket_file_rules(&a).await;
        http_unix::handed_in_listener(&a).await;
    });
}

#[test]
fn http_socket_file_rules_and_handed_in_listener_async_std() {
    on_async_std(|a| async move {
        http_unix::socket_file_rules(&a).await;
        http_unix::handed_in_listener(&a).await;
    });
}

#[test]
fn handlers_see_http_on_unix_and_h2_multiplexes_on_the_socket_smol() {
    on_smol(|a| async move {
        http_unix::who_and_h2(&a).await;
    });
}

#[test]
fn handlers_see_http_on_unix_and_h2_multiplexes_on_the_socket_async_std() {
    on_async_std(|a| async move {
        http_unix::who_and_h2(&a).await;
    });
}
