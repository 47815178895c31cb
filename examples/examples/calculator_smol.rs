//! The calculator JSON-RPC server (the seed's CalculatorNode) on smol, through
//! transport-async-std: the same router and flags as the tokio `calculator` example.
//!
//! ```sh
//! cargo run --release --example calculator_smol -- --help
//! ```

use std::process::ExitCode;

use examples::calculator::{router_with_hooks, CalculatorHooks};
use examples::calculator_cli::{options_or_exit, print_banner, print_unix_banner, Options};
use examples::exit_code;
use transport_async_std::{AsyncIoRuntime, Server, TlsServerConfig};

fn main() -> ExitCode {
    match options_or_exit("calculator_smol") {
        Ok(opts) => exit_code(smol::block_on(run(opts))),
        Err(code) => code,
    }
}

async fn run(opts: Options) -> Result<(), Box<dyn std::error::Error>> {
    let hooks = CalculatorHooks::new();
    let mut builder = Server::builder(router_with_hooks(hooks.clone())?)
        .http(opts.http.clone())
        .runtime(AsyncIoRuntime::smol())
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
    // No signal handling here (smol has none built in): Ctrl-C ends the process at once.
    print_unix_banner(server.unix_path());
    print_banner(server.http_addr(), server.tcp_addr(), opts.tls().is_some());
    server.wait().await;
    println!("stopped");
    Ok(())
}
