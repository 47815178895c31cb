//! Spawns a Content-Length stdio server as a child process and runs an LSP-style session.
//!
//! A test without the libtest harness: run with `--server`, this binary is the server (libtest
//! would otherwise print on the stdout the protocol uses); run plainly, it spawns itself with
//! `--server` and drives it.

use std::process::{ExitCode, Stdio};

use examples::lsp::{run_client, serve_stdio};
use tokio::process::Command;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::args().any(|a| a == "--server") {
        std::process::exit(runtime.block_on(serve_stdio()));
    }
    // libtest-style flags (--list, filters, --nocapture) need no special handling here.
    if std::env::args().any(|a| a == "--list") {
        println!("lsp_stdio_session: test");
        return ExitCode::SUCCESS;
    }
    runtime.block_on(session());
    println!("test lsp_stdio_session ... ok");
    ExitCode::SUCCESS
}

async fn session() {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .arg("--server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server");
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let lines = run_client(stdout, stdin).await.expect("session");
    assert_eq!(
        lines,
        [
            r#"initialize -> "wordcount-server""#,
            r#"window/logMessage <- "opened file:///tmp/hello.txt""#,
            "wordCount -> 5",
            "wordCount(unknown) -> error -32602",
            "shutdown -> null",
        ]
    );
    let status = child.wait().await.expect("the server exits");
    assert_eq!(status.code(), Some(0), "exit after shutdown is status 0");
}
