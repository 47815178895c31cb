//! The calculator JSON-RPC server (the seed's CalculatorNode) on smol, through
//! transport-async-std: the same router and flags as the tokio `calculator` example.
//!
//! ```sh
//! cargo run --release --example calculator_smol -- --help
//! curl -X POST http://localhost:8000 -H "Content-Type: application/json" \
//!   -d '{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":1}'
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use examples::calculator::{router_with_hooks, CalculatorHooks, NODE_NAME};
use transport_async_std::{AsyncIoRuntime, Server, TlsServerConfig};

const USAGE: &str = "\
calculator_smol: a JSON-RPC 2.0 calculator server on smol (HTTP POST /, WebSocket /ws, GET /health)

USAGE:
    calculator_smol [OPTIONS]

OPTIONS:
    --http ADDR              HTTP + WebSocket address [default: 127.0.0.1:8000]
    --tcp ADDR               also serve newline-delimited JSON over raw TCP on ADDR
    --tls-cert PATH          PEM certificate chain: serve https/wss (and TLS on --tcp)
    --tls-key PATH           PEM private key for --tls-cert
    --tls-ca PATH            PEM CA bundle: require client certificates signed by it (mTLS)
    --request-timeout SECS   deadline of each call, answered -32001 when over [default: 30]
    -h, --help               print this help

METHODS (params by name {\"a\":5,\"b\":3} or by position [5,3]):
    add, subtract, multiply, divide, factorial (n), echo, sleep (ms), notification log (message)
";

struct Args {
    http: String,
    tcp: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
    timeout: Duration,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        http: "127.0.0.1:8000".into(),
        tcp: None,
        cert: None,
        key: None,
        ca: None,
        timeout: Duration::from_secs(30),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value (see --help)"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--http" => args.http = value("--http")?,
            "--tcp" => args.tcp = Some(value("--tcp")?),
            "--tls-cert" => args.cert = Some(value("--tls-cert")?.into()),
            "--tls-key" => args.key = Some(value("--tls-key")?.into()),
            "--tls-ca" => args.ca = Some(value("--tls-ca")?.into()),
            "--request-timeout" => {
                let v = value("--request-timeout")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--request-timeout {v:?}: expected positive seconds"))?;
                args.timeout = Duration::from_secs_f64(secs);
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    match (&args.cert, &args.key) {
        (Some(_), None) | (None, Some(_)) => {
            return Err("--tls-cert and --tls-key go together".into())
        }
        (None, None) if args.ca.is_some() => {
            return Err("--tls-ca needs --tls-cert and --tls-key".into())
        }
        _ => {}
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match smol::block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let hooks = CalculatorHooks::new();
    let router = router_with_hooks(hooks.clone())?;
    let mut builder = Server::builder(router)
        .http(args.http)
        .runtime(AsyncIoRuntime::smol())
        .node_name(NODE_NAME)
        .request_timeout(Some(args.timeout));
    if let Some(tcp) = args.tcp {
        builder = builder.tcp(tcp);
    }
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            builder = builder.tls(TlsServerConfig::from_pem_files(
                cert,
                key,
                args.ca.as_deref(),
            )?);
            true
        }
        _ => false,
    };
    let server = builder.start().await?;
    hooks.set_server(server.handle());
    let (http, ws) = if tls {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    if let Some(addr) = server.http_addr() {
        println!("calculator listening on {http}://{addr}/ (JSON-RPC POST)");
        println!("                        {ws}://{addr}/ws (WebSocket)");
        println!("                        {http}://{addr}/health");
    }
    if let Some(addr) = server.tcp_addr() {
        let tcp = if tls { "tcp+tls" } else { "tcp" };
        println!("                        {tcp}://{addr} (newline-delimited JSON)");
    }
    // No signal handling here (smol has none built in): Ctrl-C ends the process at once.
    println!("press Ctrl-C to stop");
    server.wait().await;
    println!("stopped");
    Ok(())
}
