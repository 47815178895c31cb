//! The calculator JSON-RPC server (the seed's CalculatorNode).
//!
//! ```sh
//! cargo run --release --example calculator -- --help
//! curl -X POST http://localhost:8000 -H "Content-Type: application/json" \
//!   -d '{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":1}'
//! ```

use std::process::ExitCode;

use examples::calculator::{router_with_hooks, CalculatorHooks};
use examples::calculator_cli::{options_or_exit, print_banner, print_unix_banner, Options};
use examples::exit_code;
use transport_tokio::{Server, TlsServerConfig};

#[tokio::main]
async fn main() -> ExitCode {
    match options_or_exit("calculator") {
        Ok(opts) => exit_code(run(opts).await),
        Err(code) => code,
    }
}

async fn run(opts: Options) -> Result<(), Box<dyn std::error::Error>> {
    let hooks = CalculatorHooks::new();
    let mut builder = Server::builder(router_with_hooks(hooks.clone())?)
        .http(opts.http.clone())
        .node_name(opts.node.clone())
        .request_timeout(Some(opts.timeout));
    if let Some(tcp) = &opts.tcp {
        builder = builder.tcp(tcp.clone());
    }
    if let Some(path) = &opts.unix {
        builder = builder.unix(path.clone()).unix_mode(0o660);
    }
    if let Some((cert, key)) = opts.tls() {
        builder = builder.tls(TlsServerConfig::from_pem_files(
            cert,
            key,
            opts.ca.as_deref(),
        )?);
    }
    builder = opts.apply_http(builder);
    let server = builder.start().await?;
    hooks.set_server(server.handle());
    print_unix_banner(server.unix_path());
    print_banner(server.http_addr(), server.tcp_addr(), opts.tls().is_some());
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("shutting down: finishing calls in flight...");
            stop.shutdown();
        }
    });
    server.wait().await;
    println!("stopped");
    Ok(())
}
