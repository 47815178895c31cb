//! The socket_activation example started as systemd starts it: a listening TCP socket as fd 3
//! and a listening Unix socket as fd 4, with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES set (a
//! small `sh` wrapper moves them there: no unsafe code, no systemd needed). The example binary
//! is built by `cargo test` (examples are); when it is missing the test says so and skips.

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_the_descriptors_it_was_given() {
    let exe = std::env::current_exe().ok().and_then(|p| {
        Some(
            p.parent()?
                .parent()?
                .join("examples")
                .join("socket_activation"),
        )
    });
    let Some(exe) = exe.filter(|p| p.exists()) else {
        eprintln!("skipping: the socket_activation example is not built (cargo build --examples)");
        return;
    };
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = http.local_addr().unwrap();
    let path = std::env::temp_dir().join(format!("jrpc-activation-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
    // fd 0 -> 3 (HTTP), fd 1 -> 4 (Unix); the shell's pid is the example's after exec.
    let script = r#"export LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=http:unix
exec "$0" 3<&0 4>&1 0</dev/null 1>&2"#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&exe)
        .stdin(Stdio::from(OwnedFd::from(http)))
        .stdout(Stdio::from(OwnedFd::from(unix)))
        .spawn()
        .expect("spawn the example");
    let calls = async {
        let h = transport_tokio::connect_http(&format!("http://{addr}/"))
            .await
            .unwrap();
        let u = transport_tokio::connect_unix(&path).await.unwrap();
        let a: serde_json::Value = h.request("add", [5, 3]).await.unwrap();
        let b: serde_json::Value = u.request("add", [1, 2]).await.unwrap();
        (a, b)
    };
    let result = tokio::time::timeout(Duration::from_secs(60), calls).await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&path);
    let (a, b) = result.expect("the example answers on the passed-in sockets");
    assert!(a.to_string().contains('8'), "{a}");
    assert!(b.to_string().contains('3'), "{b}");
}
