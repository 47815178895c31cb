//! greet: the trio-jsonrpc scenario. A server loop over the lower-level `Connection` API (no
//! Router) answers `greet` and "Method not found", over an in-memory pair and over WebSocket.
//!
//! ```sh
//! cargo run --example greet                          # both demos, then exit
//! cargo run --example greet -- --serve 127.0.0.1:8001  # serve ws://127.0.0.1:8001/ until Ctrl-C
//! ```

use std::process::ExitCode;

use examples::greet::{run_client, serve_memory, start_ws};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => demo().await,
        ["--serve", addr] => serve(addr).await,
        _ => {
            eprintln!("usage: greet [--serve ADDR]");
            return ExitCode::from(2);
        }
    };
    examples::exit_code(result)
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    println!("over an in-memory pair:");
    let client = serve_memory();
    for line in run_client(&client).await? {
        println!("  {line}");
    }
    client.close().await;

    let server = start_ws("127.0.0.1:0").await?;
    println!("over WebSocket ({}):", server.url());
    let client = transport_tokio::connect_ws(&server.url()).await?;
    for line in run_client(&client).await? {
        println!("  {line}");
    }
    client.close().await;
    Ok(())
}

async fn serve(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let server = start_ws(addr).await?;
    println!("greet server on {} (Ctrl-C to stop)", server.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
