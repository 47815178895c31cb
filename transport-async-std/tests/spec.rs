//! Issue 19 on smol and async-std: number ids of any size echoed exactly, RFC 9112's server
//! MUSTs, WebSocket Close codes for protocol errors (server and client), and answers after a
//! half-close (TCP plain and TLS, a stdio-like pipe); the byte-level checks are the
//! conformance suite's.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::FutureExt;
use jsonrpc_proto::testing::conformance;
use transport_async_std::connect_io;
use transport_async_std::{AsyncIoRuntime, TlsClientConfig};

/// Runs a future to completion on one executor.
type BlockOn = fn(BoxFuture<'static, ()>);

fn runtimes() -> [(AsyncIoRuntime, BlockOn); 2] {
    [
        (AsyncIoRuntime::smol(), |f| smol::block_on(f)),
        (AsyncIoRuntime::async_std(), |f| {
            async_std::task::block_on(f)
        }),
    ]
}

/// Runs `check` (given a fresh runtime and TLS or not) on both executors, plain and TLS.
fn on_both<F>(check: F)
where
    F: Fn(AsyncIoRuntime, bool) -> BoxFuture<'static, ()>,
{
    for (rt, block_on) in runtimes() {
        for tls in [false, true] {
            block_on(within(check(rt.clone(), tls)).boxed());
        }
    }
}

async fn within(f: BoxFuture<'static, ()>) {
    let timer = async {
        async_io::Timer::after(Duration::from_secs(60)).await;
        panic!("bounded: the server answers and closes");
    };
    futures::future::select(f, Box::pin(timer)).await;
}

fn raw_connector(
    addr: SocketAddr,
    tls: Option<TlsClientConfig>,
) -> impl Fn() -> BoxFuture<'static, Box<dyn conformance::RawIo>> + Sync {
    move || {
        let tls = tls.clone();
        async move {
            let io = connect_io(&addr.to_string(), "localhost", tls.as_ref())
                .await
                .expect("connect");
            Box::new(io) as Box<dyn conformance::RawIo>
        }
        .boxed()
    }
}

#[test]
fn http_message_rules() {
    on_both(|rt, tls| {
        async move {
            let pki = tls.then(common::pki);
            let server = common::start(&rt, pki.as_ref()).await;
            let connect = raw_connector(
                server.http_addr().expect("http"),
                pki.as_ref().map(|p| p.client(false)),
            );
            conformance::http_message_rules(&connect).await;
            server.shutdown().await;
        }
        .boxed()
    });
}

#[test]
fn ws_close_codes() {
    on_both(|rt, tls| {
        async move {
            let pki = tls.then(common::pki);
            let server = common::start(&rt, pki.as_ref()).await;
            let connect = raw_connector(
                server.http_addr().expect("http"),
                pki.as_ref().map(|p| p.client(false)),
            );
            conformance::ws_close_codes(&connect).await;
            conformance::ws_handshake_errors(&connect).await;
            conformance::ws_burst(&connect).await;
            server.shutdown().await;
        }
        .boxed()
    });
}

#[test]
fn half_closed_tcp_gets_every_answer() {
    on_both(|rt, tls| {
        async move {
            let pki = tls.then(common::pki);
            let server = common::start(&rt, pki.as_ref()).await;
            let client_tls = pki.as_ref().map(|p| p.client(false));
            let addr = server.tcp_addr().expect("tcp").to_string();
            let mut io = connect_io(&addr, "localhost", client_tls.as_ref())
                .await
                .expect("connect");
            let mut calls = String::new();
            for n in 1..=3 {
                calls.push_str(&format!(
                    "{{\"jsonrpc\":\"2.0\",\"method\":\"slow\",\"params\":[{n}],\"id\":{n}}}\n"
                ));
            }
            calls.push_str(
                "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[2,2],\"id\":18446744073709551617}\n",
            );
            io.write_all(calls.as_bytes()).await.expect("write");
            io.close().await.expect("half-close");
            let mut out = String::new();
            io.read_to_string(&mut out).await.expect("read to EOF");
            for n in 1..=3 {
                assert!(out.contains(&format!("{{\"jsonrpc\":\"2.0\",\"result\":{n},\"id\":{n}}}\n")), "{out}");
            }
            assert!(out.contains("{\"jsonrpc\":\"2.0\",\"result\":4,\"id\":18446744073709551617}\n"), "{out}");
            assert_eq!(out.lines().count(), 4, "{out}");
            server.shutdown().await;
        }
        .boxed()
    });
}

#[test]
fn stdio_like_pipe_answers_after_end_of_input() {
    on_both(|rt, tls| {
        async move {
            if tls {
                return;
            }
            // A socket pair stands in for stdin/stdout: Content-Length framing, input ends
            // while the calls run.
            let listener = async_net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let srv_rt = rt.clone();
            let (done_tx, done_rx) = futures::channel::oneshot::channel();
            rt.spawn(async move {
                if let Ok((stream, _)) = listener.accept().await {
                    let (r, w) = futures::io::AsyncReadExt::split(stream);
                    transport_async_std::serve_io_content_length(
                        conformance::router(),
                        conformance::server_config(),
                        srv_rt,
                        r,
                        w,
                    )
                    .await;
                }
                let _ = done_tx.send(());
            });
            let mut io = async_net::TcpStream::connect(addr).await.expect("connect");
            for n in 1..=3 {
                let body = format!(
                    "{{\"jsonrpc\":\"2.0\",\"method\":\"slow\",\"params\":[{n}],\"id\":{n}}}"
                );
                io.write_all(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
                    .await
                    .expect("write");
            }
            io.shutdown(std::net::Shutdown::Write).expect("half-close");
            let mut out = String::new();
            io.read_to_string(&mut out).await.expect("read to EOF");
            for n in 1..=3 {
                assert!(
                    out.contains(&format!("\"result\":{n},\"id\":{n}}}")),
                    "{out}"
                );
            }
            done_rx.await.expect("the server ends after its input");
        }
        .boxed()
    });
}

#[test]
fn ws_client_sends_close_codes_to_a_misbehaving_server() {
    on_both(|rt, tls| {
        async move {
            if tls {
                return;
            }
            let cases: [(&str, Vec<u8>, u16); 3] = [
                ("invalid UTF-8", vec![0x81, 0x02, 0xc3, 0x28], 1007),
                ("reserved opcode", vec![0x83, 0x00], 1002),
                ("oversized pong", [vec![0x8a, 126, 0, 126], vec![b'p'; 126]].concat(), 1002),
            ];
            for (what, frame, code) in cases {
                let listener = async_net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr = listener.local_addr().expect("addr");
                let (tx, rx) = futures::channel::oneshot::channel();
                rt.spawn(async move {
                    let (mut tcp, _) = listener.accept().await.expect("accept");
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        tcp.read_exact(&mut byte).await.expect("handshake");
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let key = head
                        .lines()
                        .find_map(|l| {
                            let (n, v) = l.split_once(':')?;
                            n.eq_ignore_ascii_case("sec-websocket-key").then(|| v.trim().to_owned())
                        })
                        .expect("a key");
                    let accept =
                        async_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
                    let reply = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
                    tcp.write_all(reply.as_bytes()).await.expect("101");
                    tcp.write_all(&frame).await.expect("frame");
                    let mut out = Vec::new();
                    let mut buf = [0u8; 1024];
                    while conformance::ws_close_code(&out).is_none() {
                        match tcp.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => out.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = tx.send(out);
                });
                let options = transport_async_std::ConnectOptions::default().with_runtime(Some(rt.clone()));
                let client = transport_async_std::connect_ws_with(
                    &format!("ws://127.0.0.1:{}/ws", addr.port()),
                    options,
                )
                .await
                .expect("handshake");
                let out = rx.await.expect("the fake server reads");
                let close = conformance::ws_close_code(&out);
                assert_eq!(close.as_ref().map(|c| c.0), Some(code), "{what}: {close:?}");
                drop(client);
            }
        }
        .boxed()
    });
}
