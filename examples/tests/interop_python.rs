//! Third-party clients against the calculator server: Python's `requests`, `websockets` and
//! `jsonrpcclient` (tests/interop/python_client.py) and curl.
//!
//! These need python3 with those packages, and curl. `.ci/run` installs them and sets
//! `JSONRPC_INTEROP_REQUIRED=1`, which turns a missing tool into a failure; elsewhere a missing
//! tool makes the test print why it did nothing.

use std::path::PathBuf;
use std::process::Command;

use transport_tokio::RunningServer;

async fn start() -> RunningServer {
    examples::calculator::start_tokio("127.0.0.1:0", "127.0.0.1:0")
        .await
        .unwrap()
}

fn required() -> bool {
    std::env::var_os("JSONRPC_INTEROP_REQUIRED").is_some_and(|v| v == "1")
}

fn tool_missing(what: &str) -> bool {
    if required() {
        panic!("{what} is required (JSONRPC_INTEROP_REQUIRED=1) but not available");
    }
    eprintln!("skipping: {what} is not available");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clients() {
    let probe = Command::new("python3")
        .args(["-c", "import requests, websockets, jsonrpcclient"])
        .status();
    if !matches!(probe, Ok(s) if s.success())
        && tool_missing("python3 with requests, websockets and jsonrpcclient")
    {
        return;
    }
    let server = start().await;
    let http = server.http_addr().unwrap();
    let tcp = server.tcp_addr().unwrap();
    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "interop",
        "python_client.py",
    ]
    .iter()
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(format!("http://{http}/"))
            .arg(format!("ws://{http}/ws"))
            .arg(tcp.to_string())
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "python interop failed:\n{stdout}");
    assert!(stdout.contains("23 passed, 0 failed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_as_in_the_readme() {
    if !matches!(Command::new("curl").arg("--version").output(), Ok(o) if o.status.success())
        && tool_missing("curl")
    {
        return;
    }
    let server = start().await;
    let url = format!("http://{}", server.http_addr().unwrap());
    let curl = move |body: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let out = Command::new("curl")
                .args(["-s", "-w", "\n%{http_code}", "-X", "POST", &url])
                .args(["-H", "Content-Type: application/json", "-d", body])
                .output()
                .expect("curl runs");
            String::from_utf8(out.stdout).unwrap()
        })
    };
    assert_eq!(
        curl(r#"{"jsonrpc":"2.0","method":"add","params":{"a":5,"b":3},"id":1}"#)
            .await
            .unwrap(),
        "{\"jsonrpc\":\"2.0\",\"result\":{\"sum\":8},\"id\":1}\n200"
    );
    assert_eq!(
        curl(r#"{"jsonrpc":"2.0","method":"log","params":{"message":"hello"}}"#)
            .await
            .unwrap(),
        "\n204"
    );
    let batch = curl(
        r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"multiply","params":{"a":4,"b":5},"id":2}]"#,
    )
    .await
    .unwrap();
    let (body, status) = batch.rsplit_once('\n').unwrap();
    assert_eq!(status, "200");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2));
}
