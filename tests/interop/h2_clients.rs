//! Third-party HTTP/2 clients driven from the adapters' tests (included with `#[path]` by
//! transport-tokio/tests/http2.rs and transport-async-std/tests/http2.rs): curl and Python's
//! httpx with h2. Blocking: run them off the runtime's threads. A missing tool skips (prints
//! why) unless `JSONRPC_INTEROP_REQUIRED=1` (set by `.ci/run`), which makes it a failure.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

pub const CALL: &str = r#"{"jsonrpc":"2.0","method":"add","params":[5,3],"id":1}"#;

fn required() -> bool {
    std::env::var_os("JSONRPC_INTEROP_REQUIRED").is_some_and(|v| v == "1")
}

/// True (after saying so) when `what` is missing and the test should skip.
pub fn missing(what: &str, present: bool) -> bool {
    if present {
        return false;
    }
    if required() {
        panic!("{what} is required (JSONRPC_INTEROP_REQUIRED=1) but not available");
    }
    eprintln!("skipping: {what} is not available");
    true
}

pub fn have_curl() -> bool {
    matches!(Command::new("curl").arg("--version").output(), Ok(o) if o.status.success())
}

pub fn have_httpx() -> bool {
    matches!(
        Command::new("python3").args(["-c", "import httpx, h2"]).status(),
        Ok(s) if s.success()
    )
}

/// POSTs [`CALL`] to `url` with curl and the extra `args`; returns (body, HTTP version).
pub fn curl_post(url: &str, args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-X", "POST"])
        .args(["-H", "Content-Type: application/json", "-d", CALL])
        .args(["-w", "\n%{http_version}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl {args:?} {url}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, version) = text.rsplit_once('\n').expect("the -w line");
    println!("curl {} {url} -> HTTP/{version} {body}", args.join(" "));
    (body.to_owned(), version.to_owned())
}

/// Runs tests/interop/python_h2.py against `plain` (h2c) and `tls` (h2 over TLS, trusting
/// `ca`); returns its output after checking that every check passed.
pub fn python_h2(plain: &str, tls: &str, ca: &Path, max_streams: u32) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/python_h2.py");
    let out = Command::new("python3")
        .arg(script)
        .args([plain, tls])
        .arg(ca)
        .arg(max_streams.to_string())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "python h2 interop failed:\n{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    stdout
}

/// GETs `url` with curl and the extra `args`; returns (status, body, HTTP version).
pub fn curl_get(url: &str, args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(["-w", "\n%{http_code} %{http_version}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl {args:?} {url}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, tail) = text.rsplit_once('\n').expect("the -w line");
    let (code, version) = tail.split_once(' ').expect("code and version");
    println!(
        "curl GET {} {url} -> {code} HTTP/{version} {body}",
        args.join(" ")
    );
    (
        code.parse().expect("status"),
        body.to_owned(),
        version.to_owned(),
    )
}
