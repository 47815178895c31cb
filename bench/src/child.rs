//! Servers in child processes: `compare serve KIND` (this same binary) starts one server, prints
//! one "ready" line with the URLs it listens on (port 0: the kernel picks, the child reports)
//! and serves until its standard input closes. The parent reads that line, measures the child
//! from outside (load generators, RSS from /proc) and stops it by closing stdin.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{Lib, Result};

/// What a child process serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServeKind {
    /// One library's server (WebSocket and HTTP, `add` and the matrix methods).
    Lib(Lib),
    /// The HTTP floor: keep-alive HTTP/1.1 that only finds each request's end and writes a fixed
    /// answer ([`crate::floor_http`]).
    FloorHttp,
    /// The raw TCP echo floor: newline-framed lines echoed back ([`crate::servers`]).
    Echo,
}

impl ServeKind {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ServeKind::Lib(l) => l.name(),
            ServeKind::FloorHttp => "floor-http",
            ServeKind::Echo => "echo",
        }
    }

    /// Parses [`ServeKind::name`].
    pub fn from_name(s: &str) -> Option<ServeKind> {
        match s {
            "floor-http" => Some(ServeKind::FloorHttp),
            "echo" => Some(ServeKind::Echo),
            other => Lib::from_name(other).map(ServeKind::Lib),
        }
    }
}

/// The addresses a child reported: `ready ws=URL http=URL tcp=ADDR` (missing ones empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// `ws://127.0.0.1:PORT/...` or empty.
    pub ws_url: String,
    /// `http://127.0.0.1:PORT/` or empty.
    pub http_url: String,
    /// `127.0.0.1:PORT` of a raw TCP server, or empty.
    pub tcp_addr: String,
}

impl Ready {
    /// The line the child prints.
    pub fn line(&self) -> String {
        format!(
            "ready ws={} http={} tcp={}",
            self.ws_url, self.http_url, self.tcp_addr
        )
    }

    /// Parses [`Ready::line`]; anything else is an error quoting the line.
    pub fn parse(line: &str) -> Result<Ready> {
        let mut words = line.split_whitespace();
        if words.next() != Some("ready") {
            return Err(format!("server child printed {line:?}, not a ready line").into());
        }
        let mut r = Ready::default();
        for w in words {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| format!("bad field {w:?}"))?;
            match k {
                "ws" => r.ws_url = v.to_string(),
                "http" => r.http_url = v.to_string(),
                "tcp" => r.tcp_addr = v.to_string(),
                _ => return Err(format!("unknown field {k:?} in {line:?}").into()),
            }
        }
        if r.ws_url.is_empty() && r.http_url.is_empty() && r.tcp_addr.is_empty() {
            return Err(format!("server child reported no address: {line:?}").into());
        }
        Ok(r)
    }
}

/// Runs in the child: starts the server, prints the ready line, serves until stdin closes.
/// Two tokio worker threads for every kind (the machine has two cores).
pub fn serve_child(kind: ServeKind) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (ready, guard): (Ready, Box<dyn std::any::Any>) = rt.block_on(async {
        Ok::<_, crate::common::Error>(match kind {
            ServeKind::Lib(lib) => {
                let running = crate::sides::start_server(lib).await?;
                let ready = Ready {
                    ws_url: running.ws_url.clone(),
                    http_url: running.http_url.clone(),
                    tcp_addr: String::new(),
                };
                (ready, Box::new(running) as Box<dyn std::any::Any>)
            }
            ServeKind::FloorHttp => {
                let addr = crate::floor_http::start().await?;
                let ready = Ready {
                    http_url: format!("http://{addr}/"),
                    ..Ready::default()
                };
                (ready, Box::new(()) as Box<dyn std::any::Any>)
            }
            ServeKind::Echo => {
                let addr = crate::servers::start_tcp_echo().await?;
                let ready = Ready {
                    tcp_addr: addr.to_string(),
                    ..Ready::default()
                };
                (ready, Box::new(()) as Box<dyn std::any::Any>)
            }
        })
    })?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", ready.line())?;
        out.flush()?;
    }
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink)? > 0 {
        sink.clear();
    }
    drop(guard);
    rt.shutdown_timeout(Duration::from_millis(200));
    Ok(())
}

/// A running server child; dropping it stops the child (stdin closed, then kill).
pub struct ServerChild {
    child: Child,
    /// What it reported.
    pub ready: Ready,
}

impl ServerChild {
    /// Spawns `exe serve KIND`. `BENCH_SERVE_WRAPPER` (e.g. "valgrind --tool=massif" or
    /// "strace -c -f -o FILE") runs the child under that program; figures are then the
    /// profiler's, not the benchmark's.
    pub async fn spawn(exe: &std::path::Path, kind: ServeKind) -> Result<ServerChild> {
        let wrapper = std::env::var("BENCH_SERVE_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut cmd = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let mut child = cmd
            .arg("serve")
            .arg(kind.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // the guard exists before the first await, so an error below still stops the child
        let mut guard = ServerChild {
            child,
            ready: Ready::default(),
        };
        let line = tokio::task::spawn_blocking(move || -> Result<String> {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line)?;
            Ok(line.trim().to_string())
        })
        .await??;
        guard.ready = Ready::parse(&line)?;
        Ok(guard)
    }

    /// The child's process id (a wrapper's, if one is used).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        // Closing stdin asks the child to stop; kill is the fallback.
        drop(self.child.stdin.take());
        for _ in 0..40 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_round_trips_and_rejects_other_output() {
        let r = Ready {
            ws_url: "ws://127.0.0.1:4000/ws".into(),
            http_url: "http://127.0.0.1:4000/".into(),
            tcp_addr: String::new(),
        };
        assert_eq!(Ready::parse(&r.line()).unwrap(), r);
        assert!(Ready::parse("ws://127.0.0.1:1/").is_err());
        assert!(Ready::parse("ready ws= http= tcp=").is_err());
        assert!(Ready::parse("ready port=1").is_err());
        assert_eq!(
            ServeKind::from_name("floor-http"),
            Some(ServeKind::FloorHttp)
        );
        assert_eq!(
            ServeKind::from_name("ours"),
            Some(ServeKind::Lib(Lib::Ours))
        );
        assert_eq!(ServeKind::from_name("nginx"), None);
    }
}
