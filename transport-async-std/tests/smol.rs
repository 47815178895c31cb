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

#[test]
fn conformance_tcp() {
    run(common::conformance(rt(), Kind::Tcp, false));
}

#[test]
fn conformance_tcp_tls() {
    run(common::conformance(rt(), Kind::Tcp, true));
}

#[test]
fn conformance_ws() {
    run(common::conformance(rt(), Kind::Ws, false));
}

#[test]
fn conformance_wss() {
    run(common::conformance(rt(), Kind::Ws, true));
}

#[test]
fn conformance_http() {
    run(common::conformance(rt(), Kind::Http, false));
}

#[test]
fn conformance_https() {
    run(common::conformance(rt(), Kind::Http, true));
}

#[test]
fn http_statuses() {
    run(common::http_statuses(rt(), false));
}

#[test]
fn https_statuses() {
    run(common::http_statuses(rt(), true));
}

#[test]
fn content_length_over_a_stream() {
    run(common::content_length_stream(rt()));
}

#[test]
fn mtls_and_pem_files() {
    run(common::mtls(rt()));
}

#[test]
fn pushes_and_headers() {
    run(common::pushes_and_headers(rt()));
}

#[test]
fn graceful_shutdown() {
    run(common::shutdown(rt()));
}
