//! math_service: the kn-sock scenario. JSON-RPC over raw TCP, one JSON text per line, with math
//! functions and a user service; the client prints one line per call.
//!
//! ```sh
//! cargo run --example math_service                           # server and client in one process
//! cargo run --example math_service -- server 127.0.0.1:8080  # server only
//! cargo run --example math_service -- client 127.0.0.1:8080  # client only
//! printf '%s\n' '{"jsonrpc":"2.0","method":"add","params":[10,20],"id":1}' | nc 127.0.0.1 8080
//! ```

use std::error::Error;
use std::process::ExitCode;

use examples::math_service::{run_demo, start, METHODS};

type AnyError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => demo().await,
        ["server"] => serve("127.0.0.1:8080").await,
        ["server", addr] => serve(addr).await,
        ["client"] => client("127.0.0.1:8080").await,
        ["client", addr] => client(addr).await,
        _ => {
            eprintln!("usage: math_service [server [ADDR] | client [ADDR]]");
            return ExitCode::from(2);
        }
    };
    examples::exit_code(result)
}

async fn demo() -> Result<(), AnyError> {
    let server = start("127.0.0.1:0").await?;
    let addr = server.tcp_addr().ok_or("no TCP address")?;
    println!("RPC server on tcp://{addr}");
    client(&addr.to_string()).await?;
    server.shutdown().await;
    Ok(())
}

async fn serve(addr: &str) -> Result<(), AnyError> {
    let server = start(addr).await?;
    let addr = server.tcp_addr().ok_or("no TCP address")?;
    println!("RPC server on tcp://{addr} (newline-delimited JSON); methods:");
    for m in METHODS {
        println!("  - {m}");
    }
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

async fn client(addr: &str) -> Result<(), AnyError> {
    let client = transport_tokio::connect_tcp(addr).await.map_err(|e| {
        format!("could not connect to the RPC server at {addr} ({e}); is it running?")
    })?;
    println!("Connected to RPC server");
    for line in run_demo(&client).await? {
        println!("{line}");
    }
    client.close().await;
    println!("Client connection closed");
    Ok(())
}
