//! gateway: a local JSON-RPC server whose `calc.*` methods are forwarded to a remote calculator
//! over HTTP or WebSocket (the RemoteRpcProxyNode scenario), with a per-call timeout and retries
//! with backoff. `ping` and `gateway.info` answer locally.
//!
//! ```sh
//! cargo run --example gateway                      # demo: a calculator, a gateway, a few calls
//! cargo run --example calculator &                 # a remote calculator on 127.0.0.1:8000
//! cargo run --example gateway -- --listen 127.0.0.1:8004 \
//!     --upstream ws://127.0.0.1:8000/ws --timeout 5 --retries 3
//! curl -X POST http://127.0.0.1:8004 -H "Content-Type: application/json" \
//!   -d '{"jsonrpc":"2.0","method":"calc.add","params":{"a":5,"b":3},"id":1}'
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use examples::gateway::{start, GatewayConfig};
use jsonrpc_proto::peer::Client;
use serde_json::{json, Value};

const USAGE: &str = "\
gateway: forwards calc.* to a remote JSON-RPC calculator

USAGE:
    gateway                       run a self-contained demo and exit
    gateway --upstream URL [OPTIONS]

OPTIONS:
    --listen ADDR        where the gateway listens [default: 127.0.0.1:8004]
    --upstream URL       http://host:port/ or ws://host:port/ws
    --transport T        http or ws [default: from the URL]
    --timeout SECS       deadline of each forwarded call [default: 30]
    --retries N          retries of calls that could not be sent [default: 3]
";

struct Args {
    listen: String,
    config: GatewayConfig,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut it = std::env::args().skip(1);
    let (mut listen, mut upstream) = ("127.0.0.1:8004".to_owned(), None);
    let (mut transport, mut timeout, mut retries) = (None, None, None);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Err(USAGE.to_owned()),
            "--listen" => listen = value()?,
            "--upstream" => upstream = Some(value()?),
            "--transport" => transport = Some(value()?.parse()?),
            "--timeout" => {
                let secs: f64 = value()?.parse().map_err(|e| format!("--timeout: {e}"))?;
                if !(secs.is_finite() && secs > 0.0) {
                    return Err("--timeout must be positive".into());
                }
                timeout = Some(Duration::from_secs_f64(secs));
            }
            "--retries" => retries = Some(value()?.parse().map_err(|e| format!("--retries: {e}"))?),
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    let Some(upstream) = upstream else {
        return Ok(None);
    };
    let mut config = GatewayConfig::new(&upstream);
    config.transport = transport.unwrap_or(config.transport);
    config.timeout = timeout.unwrap_or(config.timeout);
    config.retries = retries.unwrap_or(config.retries);
    Ok(Some(Args { listen, config }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match parse_args() {
        Ok(Some(args)) => serve(args).await,
        Ok(None) => demo().await,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    examples::exit_code(result)
}

async fn serve(args: Args) -> Result<(), Box<dyn Error>> {
    let server = start(&args.listen, &args.config).await?;
    let addr = server.http_addr().ok_or("no address")?;
    println!(
        "gateway on http://{addr}/ forwarding calc.* to {} ({})",
        args.config.endpoint, args.config.transport
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

async fn call(client: &Client, method: &str, params: Value) {
    match client.request::<Value, _>(method, params.clone()).await {
        Ok(v) => println!("{method}({params}) -> {v}"),
        Err(e) => println!("{method}({params}) -> {e}"),
    }
}

async fn demo() -> Result<(), Box<dyn Error>> {
    let remote = transport_tokio::Server::builder(examples::calculator::router()?)
        .http("127.0.0.1:0")
        .start()
        .await?;
    let remote_addr = remote.http_addr().ok_or("no address")?;
    for upstream in [
        format!("http://{remote_addr}/"),
        format!("ws://{remote_addr}/ws"),
    ] {
        let config = GatewayConfig::new(&upstream);
        let gateway = start("127.0.0.1:0", &config).await?;
        let url = format!("http://{}/", gateway.http_addr().ok_or("no address")?);
        println!("gateway {url} -> calculator {upstream}");
        let client = transport_tokio::connect_http(&url).await?;
        call(&client, "ping", Value::Null).await;
        call(&client, "calc.add", json!({"a": 5, "b": 3})).await;
        call(&client, "calc.multiply", json!([6, 7])).await;
        call(&client, "calc.divide", json!({"a": 1, "b": 0})).await;
        call(&client, "calc.nope", json!([])).await;
        gateway.shutdown().await;
    }
    remote.shutdown().await;
    Ok(())
}
