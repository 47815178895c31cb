//! The OpenRPC documents `#[rpc]` services serve at `rpc.discover`, checked against the
//! OpenRPC 1.3 document schema (tests/openrpc/openrpc-1.3.schema.json) with Python's
//! `jsonschema` (tests/openrpc/validate.py).
//!
//! Needs python3 with `jsonschema`. `.ci/run` installs it and sets
//! `JSONRPC_INTEROP_REQUIRED=1`, which turns a missing tool into a failure; elsewhere a missing
//! tool makes the test print why it did nothing.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use jsonrpc_proto::service::openrpc::Info;
use serde_json::{json, Value};

fn required() -> bool {
    std::env::var_os("JSONRPC_INTEROP_REQUIRED").is_some_and(|v| v == "1")
}

/// True when python3 with jsonschema is there (else skips, or fails when required).
fn have_validator() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .status();
    if matches!(probe, Ok(s) if s.success()) {
        return true;
    }
    if required() {
        panic!(
            "python3 with jsonschema is required (JSONRPC_INTEROP_REQUIRED=1) but not available"
        );
    }
    eprintln!("skipping: python3 with jsonschema is not available");
    false
}

/// Runs validate.py on `doc`: its verdict and output.
fn validate(doc: &Value) -> (bool, String) {
    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "openrpc",
        "validate.py",
    ]
    .iter()
    .collect();
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calculators_rpc_discover_is_a_valid_openrpc_document() {
    if !have_validator() {
        return;
    }
    let server = examples::calculator::start_tokio("127.0.0.1:0", "127.0.0.1:0")
        .await
        .unwrap();
    let client = transport_tokio::connect_http(&format!("http://{}/", server.http_addr().unwrap()))
        .await
        .unwrap();
    let doc: Value = client.request("rpc.discover", ()).await.unwrap();
    server.shutdown().await;
    let (ok, out) = validate(&doc);
    assert!(ok, "{out}\n{doc:#}");
    assert!(out.contains("valid (8 methods)"), "{out}");
    let add = &doc["methods"][0];
    assert_eq!(add["summary"], "Adds two numbers.");
    assert_eq!(add["params"][1]["name"], "b");
    assert_eq!(
        add["result"]["schema"]["properties"]["sum"]["description"],
        "a + b."
    );
}

#[test]
fn the_math_services_merged_document_is_valid_too() {
    if !have_validator() {
        return;
    }
    use examples::math_service::{MathApi, MathFunctions, UserApi, Users};
    let builder = MathFunctions
        .into_router()
        .merge(Users::default().into_router());
    let doc = serde_json::to_value(builder.openrpc(Info::new("math", "1.0.0"))).unwrap();
    let (ok, out) = validate(&doc);
    assert!(ok, "{out}\n{doc:#}");
    assert!(out.contains("valid (11 methods)"), "{out}");
    // `User`'s schema is inline (no dangling `$ref`), so each descriptor stands alone.
    let user_get = &doc["methods"][8];
    assert_eq!(user_get["name"], "user_get");
    assert!(
        !user_get["result"].to_string().contains("$ref"),
        "{user_get}"
    );
}

#[test]
fn the_validator_rejects_broken_documents() {
    if !have_validator() {
        return;
    }
    let broken = [
        json!({"openrpc": "1.3.2", "methods": []}),
        json!({"openrpc": "2.0.0", "info": {"title": "t", "version": "1"}, "methods": []}),
        json!({"openrpc": "1.3.2", "info": {"title": "t", "version": "1"},
               "methods": [{"name": "a", "params": [{"name": "x", "schema": {"type": 5}}]}]}),
        json!({"openrpc": "1.3.2", "info": {"title": "t", "version": "1"},
               "methods": [{"name": "a", "params": []}, {"name": "a", "params": []}]}),
        json!({"openrpc": "1.3.2", "info": {"title": "t", "version": "1"},
               "methods": [{"name": "a", "params": [], "paramStructure": "any"}]}),
    ];
    for doc in broken {
        let (ok, out) = validate(&doc);
        assert!(!ok, "accepted: {doc}\n{out}");
    }
}
