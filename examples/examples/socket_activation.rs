//! The calculator under systemd socket activation: serves on the listeners systemd passed
//! (fds 3, 4, …: HTTP and WebSocket, newline JSON over TCP, newline JSON on a Unix socket)
//! instead of binding any. Try it without systemd:
//!
//! ```sh
//! cargo build --release --example socket_activation
//! systemd-socket-activate -l 127.0.0.1:8000 -l /tmp/calc.sock target/release/examples/socket_activation
//! curl -X POST http://localhost:8000 -H "Content-Type: application/json" \
//!   -d '{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":1}'
//! ```
//!
//! Under systemd, a socket unit and a service unit of the same name:
//!
//! ```ini
//! # calc.socket
//! [Socket]
//! ListenStream=127.0.0.1:8000
//! ListenStream=/run/calc.sock
//! SocketMode=0660
//! [Install]
//! WantedBy=sockets.target
//!
//! # calc.service
//! [Service]
//! ExecStart=/usr/local/bin/socket_activation
//! ```

use std::process::ExitCode;

use examples::socket_activation;
use transport_tokio::Server;

#[tokio::main]
async fn main() -> ExitCode {
    let activated = socket_activation::from_env();
    for line in &activated.ignored {
        eprintln!("ignoring {line}");
    }
    if activated.is_empty() {
        eprintln!(
            "socket_activation: no listeners passed in (LISTEN_FDS/LISTEN_PID); run it under \
             systemd or systemd-socket-activate (see the source's header)"
        );
        return ExitCode::from(2);
    }
    examples::exit_code(run(activated).await)
}

async fn run(activated: socket_activation::Activated) -> Result<(), Box<dyn std::error::Error>> {
    let router = examples::calculator::router()?;
    let server = activated.apply(Server::builder(router)).start().await?;
    if let Some(a) = server.http_addr() {
        println!("serving HTTP and WebSocket on http://{a}/ (passed in)");
    }
    if let Some(a) = server.tcp_addr() {
        println!("serving newline-delimited JSON on tcp://{a} (passed in)");
    }
    if let Some(p) = server.unix_path() {
        println!(
            "serving newline-delimited JSON on unix:{} (passed in)",
            p.display()
        );
    }
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.shutdown();
        }
    });
    server.wait().await;
    Ok(())
}
