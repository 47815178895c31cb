//! lsp_stdio: a child-process server speaking Content-Length framed JSON-RPC on stdin/stdout
//! (LSP style), and a client that spawns it (this same program with `--server`) and calls it.
//!
//! ```sh
//! cargo run --example lsp_stdio              # spawn the server, run the session, print it
//! cargo run --example lsp_stdio -- --server  # be the server (speak on stdin/stdout)
//! ```

use std::process::{ExitCode, Stdio};

use examples::lsp::{run_client, serve_stdio};
use tokio::process::Command;

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--server") {
        // Exit at once: the runtime would otherwise wait for the blocking stdin reader.
        std::process::exit(serve_stdio().await);
    }
    match client().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn client() -> Result<(), Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
        (Some(i), Some(o)) => (i, o),
        _ => return Err("the child's stdio is not piped".into()),
    };
    println!("spawned server, pid {:?}", child.id());
    for line in run_client(stdout, stdin).await? {
        println!("{line}");
    }
    let status = child.wait().await?;
    println!("server exited with {status}");
    Ok(())
}
