//! The two adapters export the same API (DESIGN.md, "Layers": the adapters share one skeleton).
//! Every exported item of both crates is named here, so a rename or a removal in one crate fails
//! to compile; `same_export_list` fails when an export is added to one crate only. The list is
//! written once (the macro) and expanded for transport-tokio and for transport-async-std; only
//! the runtime's name differs.

macro_rules! same_api {
    ($api:ident, $krate:ident, $Runtime:ident) => {
        #[allow(unused_imports, dead_code, clippy::type_complexity)]
        mod $api {
            use ::$krate::tls::{
                acceptor, connector, load_certs, load_key, server_name, TlsAcceptor,
                TlsClientConfig, TlsConnector, TlsError, TlsServerConfig,
            };
            use ::$krate::ws::{
                ws_client_config, ws_config, WsKeepAlive, WsSink, WsStream, WsTransport,
                BINARY_REFUSED, DEFAULT_KEEP_ALIVE_INTERVAL, DEFAULT_KEEP_ALIVE_TIMEOUT,
                DEFAULT_MAX_MESSAGE, KEEP_ALIVE_TIMEOUT, TOO_BIG, TOO_MANY_CONNECTIONS,
            };
            use ::$krate::{
                connect_http, connect_http_unix, connect_http_unix_with, connect_http_with,
                connect_io, connect_tcp, connect_tcp_with, connect_unix, connect_unix_with,
                connect_ws, connect_ws_unix, connect_ws_unix_with, connect_ws_with, reconnect_tcp,
                reconnect_unix, reconnect_ws, reconnect_ws_unix, serve_io_content_length,
                serve_stdio, stdio, tcp_transport, unix_transport, ws_transport, ws_unix_transport,
                BoxIo, ConnectError, ConnectOptions, FrameReader, FrameWriter, Framing,
                HttpClientConfig, HttpSink, HttpStream, HttpTransport, Io, ReconnectConfig,
                Reconnecting, RunningServer, Server, ServerBuilder, ShutdownHandle, StartError,
                Stdin, Stdout, StreamTransport, TcpTransport, DEFAULT_BODY_READ_TIMEOUT,
                DEFAULT_GRACE, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_FRAME,
                DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            };
            // The crate root re-exports these too.
            use ::$krate::{$Runtime as Runtime, WsKeepAlive as _, WsTransport as _};
            use ::$krate::{TlsClientConfig as _, TlsError as _, TlsServerConfig as _};

            use jsonrpc_proto::peer::{Client, ClientConfig, ServerConfig};
            use jsonrpc_proto::service::Router;

            /// Never run: it only has to compile, with the same signatures in both crates.
            fn signatures(runtime: Runtime, router: Router, tls: TlsClientConfig) {
                let _: fn(&TlsServerConfig) -> TlsAcceptor = acceptor;
                let _: fn(&TlsClientConfig) -> TlsConnector = connector;
                let _: fn() -> (Stdin, Stdout) = stdio;
                let _: fn(&str, HttpClientConfig) -> Result<HttpTransport, ConnectError> =
                    HttpTransport::new;
                let _: fn(&str, HttpClientConfig, Runtime) -> Result<HttpTransport, ConnectError> =
                    HttpTransport::with_runtime;
                let _ = |p: &str,
                         u: &str,
                         c: HttpClientConfig|
                 -> Result<HttpTransport, ConnectError> {
                    HttpTransport::unix(p, u, c)
                };
                let _ = |p: std::path::PathBuf,
                         u: &str,
                         c: HttpClientConfig,
                         r: Runtime|
                 -> Result<HttpTransport, ConnectError> {
                    HttpTransport::unix_with_runtime(p, u, c, r)
                };
                let _: HttpClientConfig = HttpClientConfig::default().with_http2(true);
                let _: fn(ConnectOptions, Option<TlsClientConfig>) -> ConnectOptions =
                    ConnectOptions::with_tls;
                let _: fn(ConnectOptions, &'static str, String) -> ConnectOptions =
                    ConnectOptions::header;
                let _: fn(Router) -> ServerBuilder = Server::builder;
                let _: ServerBuilder = Server::builder(router.clone()).runtime(runtime.clone());
                let _ = ConnectOptions::default()
                    .with_tls(None::<TlsClientConfig>)
                    .with_headers(Vec::new())
                    .with_client(ClientConfig::default())
                    .with_router(None)
                    .with_http(HttpClientConfig::default())
                    .with_max_message(DEFAULT_MAX_MESSAGE)
                    .with_ws_keep_alive(Some(WsKeepAlive::default()))
                    .with_runtime(Some(runtime.clone()));
                let _: fn(ConnectOptions, Option<WsKeepAlive>) -> ConnectOptions =
                    ConnectOptions::with_ws_keep_alive;
                let _: fn(&str, ConnectOptions, ReconnectConfig) -> Reconnecting = reconnect_tcp;
                let _: fn(&str, ConnectOptions, ReconnectConfig) -> Reconnecting = reconnect_ws;
                let _ = |p: std::path::PathBuf,
                         o: ConnectOptions,
                         c: ReconnectConfig|
                 -> Reconnecting { reconnect_unix(p, o, c) };
                let _ = |p: std::path::PathBuf,
                         u: &str,
                         o: ConnectOptions,
                         c: ReconnectConfig|
                 -> Reconnecting { reconnect_ws_unix(p, u, o, c) };
                // Built, never polled: checks the arguments and the output types.
                drop(async move {
                    let o = || ConnectOptions::default();
                    let _: Result<Client, ConnectError> = connect_http("").await;
                    let _: Result<Client, ConnectError> = connect_ws("").await;
                    let _: Result<Client, ConnectError> = connect_tcp("").await;
                    let _: Result<Client, ConnectError> = connect_http_with("", o()).await;
                    let _: Result<Client, ConnectError> = connect_ws_with("", o()).await;
                    let _: Result<Client, ConnectError> = connect_tcp_with("", o()).await;
                    let _: Result<WsTransport<_>, ConnectError> = ws_transport("", &o()).await;
                    let _: Result<TcpTransport, ConnectError> = tcp_transport("", Some(&tls)).await;
                    let _: Result<BoxIo, ConnectError> = connect_io("", "", Some(&tls)).await;
                    let _: Result<Client, ConnectError> = connect_unix("").await;
                    let _: Result<Client, ConnectError> = connect_unix_with("", o()).await;
                    let _: Result<Client, ConnectError> = connect_http_unix("", "").await;
                    let _: Result<Client, ConnectError> = connect_http_unix_with("", "", o()).await;
                    let _: Result<Client, ConnectError> = connect_ws_unix("", "").await;
                    let _: Result<Client, ConnectError> = connect_ws_unix_with("", "", o()).await;
                    let _: Result<WsTransport<_>, ConnectError> =
                        ws_unix_transport("", "", &o()).await;
                    let (i, o): (Stdin, Stdout) = stdio();
                    let _: () = serve_stdio(router.clone(), ServerConfig::default()).await;
                    let _: () =
                        serve_io_content_length(router, ServerConfig::default(), runtime, i, o)
                            .await;
                });
            }
        }
    };
}

same_api!(tokio_api, transport_tokio, TokioRuntime);
same_api!(async_std_api, transport_async_std, AsyncIoRuntime);

/// The module declarations and re-export lists of the two `lib.rs` files are the same text, but
/// for the runtime's name.
#[test]
fn same_export_list() {
    fn exports(lib: &str) -> String {
        let start = lib
            .find("#![forbid(unsafe_code)]")
            .expect("lib.rs has crate attributes");
        lib[start..].replace("TokioRuntime", "AsyncIoRuntime")
    }
    let tokio = exports(include_str!("../../transport-tokio/src/lib.rs"));
    let async_io = exports(include_str!("../src/lib.rs"));
    assert_eq!(
        tokio, async_io,
        "transport-tokio and transport-async-std must export the same items (lib.rs)"
    );
}
