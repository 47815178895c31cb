//! Scale-out behind a real nginx: three calculator processes (`--node node-N`), nginx from
//! `tests/nginx/nginx.conf.template` balancing HTTP POST / and WebSocket /ws; calls are spread
//! over the three (nginx's `X-Upstream` header and the `/health` node names say who answered);
//! one backend is killed and calls still succeed.
//!
//! Runs where nginx is installed (Debian: `apt-get install nginx`); otherwise prints why it
//! skipped, unless `JSONRPC_NGINX_REQUIRED=1` (set by .ci/run), which makes that a failure.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const TEMPLATE: &str = include_str!("../../tests/nginx/nginx.conf.template");
/// The bound of every wait: a failure, never a timing claim.
const BOUND: Duration = Duration::from_secs(30);

fn required() -> bool {
    std::env::var_os("JSONRPC_NGINX_REQUIRED").is_some_and(|v| v == "1")
}

fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
}

/// target/<profile>/examples/calculator, built with cargo when missing.
fn calculator_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = profile_dir.join("examples").join("calculator");
    if !bin.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "examples", "--example", "calculator"]);
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "building the calculator example failed");
    }
    bin
}

/// Child processes killed when the test ends, however it ends.
struct Procs {
    children: Vec<(String, Child)>,
    /// nginx's temp prefix, removed at the end.
    prefix: Option<PathBuf>,
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            // SIGTERM first, so that nginx's master takes its worker down with it.
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(p) = &self.prefix {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Starts `calculator --http 127.0.0.1:0 --node NAME` and reads its address from stdout.
fn start_backend(bin: &Path, node: &str) -> (Child, SocketAddr) {
    let mut child = Command::new(bin)
        .args(["--http", "127.0.0.1:0", "--node", node])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the calculator");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split('/').next().unwrap_or_default().to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(BOUND)
        .expect("the calculator printed its address")
        .parse()
        .expect("an address");
    (child, addr)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.1 request with `Connection: close`: (status, headers, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(BOUND))?;
    write!(
        tcp,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    tcp.read_to_string(&mut raw)?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("incomplete response {raw:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, head.to_owned(), body.to_owned()))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Polls `f` every 20 ms until it returns Some; panics with `what` after [`BOUND`].
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The backend that answered: the last address of nginx's `$upstream_addr` ("a, b" after a
/// retry).
fn answered_by(head: &str) -> String {
    let upstream = header(head, "X-Upstream").expect("X-Upstream header");
    upstream.rsplit(", ").next().unwrap_or(upstream).to_owned()
}

/// An `add` call over HTTP through nginx; returns the backend that answered.
fn http_add(nginx: SocketAddr, i: i64) -> String {
    let body = json!({"jsonrpc": "2.0", "method": "add", "params": [i, 1], "id": i}).to_string();
    let (status, head, body) = http(nginx, "POST", "/", &body).expect("POST through nginx");
    assert_eq!(status, 200, "{head}\n{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["id"], i, "{v}");
    assert_eq!(v["result"]["sum"], i + 1, "{v}");
    answered_by(&head)
}

/// A WebSocket through nginx: connects, makes a call, returns the backend.
async fn ws_add(nginx: SocketAddr, i: i64) -> String {
    let tcp = tokio::net::TcpStream::connect(nginx)
        .await
        .expect("connect");
    let (mut ws, response) =
        tokio_tungstenite::client_async(format!("ws://localhost:{}/ws", nginx.port()), tcp)
            .await
            .expect("WebSocket through nginx");
    let upstream = response
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .expect("X-Upstream on the 101")
        .to_owned();
    let call = json!({"jsonrpc": "2.0", "method": "add", "params": [i, 2], "id": i});
    ws.send(Message::text(call.to_string()))
        .await
        .expect("send");
    let answer = loop {
        match tokio::time::timeout(BOUND, ws.next())
            .await
            .expect("an answer in time")
        {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                // The calculator greets each WebSocket client with a notification first.
                if v.get("id").is_some() {
                    break v;
                }
            }
            Some(Ok(_)) => continue,
            other => panic!("WebSocket ended: {other:?}"),
        }
    };
    assert_eq!(answer["result"]["sum"], i + 2, "{answer}");
    let _ = ws.close(None).await;
    upstream.rsplit(", ").next().unwrap_or(&upstream).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_balances_http_and_websocket_over_three_servers() {
    let Some(nginx_bin) = find_nginx() else {
        assert!(
            !required(),
            "nginx is required (JSONRPC_NGINX_REQUIRED=1) but not installed"
        );
        eprintln!("skipping: nginx is not installed (apt-get install nginx to run this test)");
        return;
    };
    let bin = calculator_binary();
    let mut procs = Procs {
        children: Vec::new(),
        prefix: None,
    };
    let mut backends = Vec::new();
    for n in 0..3 {
        let node = format!("node-{n}");
        let (child, addr) = start_backend(&bin, &node);
        procs.children.push((node.clone(), child));
        backends.push((node, addr));
    }
    // Readiness: each backend's own /health, probed directly.
    for (node, addr) in &backends {
        let body = until("a backend's /health", || {
            http(*addr, "GET", "/health", "")
                .ok()
                .filter(|r| r.0 == 200)
        })
        .2;
        let v: Value = serde_json::from_str(&body).expect("health json");
        assert_eq!(v["node"], node.as_str(), "{v}");
    }

    let prefix = std::env::temp_dir().join(format!("jsonrpc-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&prefix).expect("nginx prefix");
    procs.prefix = Some(prefix.clone());
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let servers: String = backends
        .iter()
        .map(|(_, a)| format!("server {a} max_fails=1 fail_timeout=10s;\n        "))
        .collect();
    let conf = TEMPLATE
        .replace("@PREFIX@", prefix.to_str().expect("utf-8 temp dir"))
        .replace("@LISTEN@", &listen.to_string())
        .replace("@SERVERS@", servers.trim_end());
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let nginx = Command::new(&nginx_bin)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    procs.children.push(("nginx".into(), nginx));
    until("nginx answering /health", || {
        if let Some((_, nginx)) = procs.children.last_mut() {
            if let Ok(Some(status)) = nginx.try_wait() {
                panic!("nginx exited at start ({status}); see its message above");
            }
        }
        http(listen, "GET", "/health", "")
            .ok()
            .filter(|r| r.0 == 200)
    });

    let addr_of = |a: &SocketAddr| a.to_string();
    let all: BTreeSet<String> = backends.iter().map(|(_, a)| addr_of(a)).collect();

    // HTTP: round robin spreads the POSTs over all three.
    let mut seen = BTreeSet::new();
    for i in 0..30 {
        seen.insert(http_add(listen, i));
    }
    assert_eq!(seen, all, "HTTP calls must reach every backend");
    // /health through nginx names every node in turn.
    let nodes: BTreeSet<String> = (0..9)
        .map(|_| {
            let (status, _, body) = http(listen, "GET", "/health", "").expect("health");
            assert_eq!(status, 200);
            let v: Value = serde_json::from_str(&body).expect("json");
            v["node"].as_str().expect("node").to_owned()
        })
        .collect();
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    // WebSocket: connections are spread too.
    let mut seen = BTreeSet::new();
    for i in 0..9 {
        seen.insert(ws_add(listen, i).await);
    }
    assert_eq!(seen, all, "WebSocket connections must reach every backend");

    // Kill node-0: calls keep succeeding on the other two.
    let (_, dead) = &mut procs.children[0];
    dead.kill().expect("kill node-0");
    dead.wait().expect("reap node-0");
    let dead_addr = addr_of(&backends[0].1);
    let mut seen = BTreeSet::new();
    for i in 0..30 {
        seen.insert(http_add(listen, i));
    }
    for i in 0..9 {
        seen.insert(ws_add(listen, i).await);
    }
    assert!(!seen.contains(&dead_addr), "{seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");

    // Active checks from /health: tests/nginx/health-check.sh marks node-0 down and reloads.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/nginx/health-check.sh");
    if Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok()
    {
        let run = || {
            let out = Command::new("bash")
                .arg(&script)
                .arg(&conf_path)
                .arg(&prefix)
                .env("NGINX", &nginx_bin)
                .output()
                .expect("run health-check.sh");
            assert!(out.status.success(), "health-check.sh failed: {out:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let report = run();
        assert!(report.contains(&format!("{dead_addr} down")), "{report}");
        assert_eq!(report.matches(" up").count(), 2, "{report}");
        assert!(report.contains("reloaded nginx"), "{report}");
        let conf = std::fs::read_to_string(&conf_path).expect("read nginx.conf");
        assert!(
            conf.contains(&format!(
                "server {dead_addr} max_fails=1 fail_timeout=10s down;"
            )),
            "{conf}"
        );
        assert!(!run().contains("reloaded"), "a second run changes nothing");
        // nginx took the new configuration and keeps serving on the two live servers.
        for i in 0..12 {
            let by = http_add(listen, i);
            assert_ne!(by, dead_addr);
        }
    } else {
        eprintln!("curl not installed: skipping the health-check.sh part");
    }

    // Stop nginx gracefully (master and worker), then the backends (Procs::drop).
    let _ = Command::new(&nginx_bin)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .args(["-s", "stop"])
        .status();
    if let Some((_, nginx)) = procs.children.iter_mut().find(|(n, _)| n == "nginx") {
        until("nginx to stop", || nginx.try_wait().ok().flatten());
    }
    drop(procs);
}
