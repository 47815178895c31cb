//! Many callers sharing one client: each call reaches the peer exactly once, in the order its
//! caller made it, and each answer reaches its own caller, while the driver holds queued calls
//! back for a turn to write them together; params of every size and shape on the way.
//! Written once for both adapters (included with `#[path]` after `tests/shared/adapter.rs`,
//! which the including file names `adapter`); the peer is a plain thread on std sockets, so it
//! needs no runtime of its own.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};

use futures::channel::oneshot;
use jsonrpc_proto::adapter::connect::ConnectOptions;
use jsonrpc_proto::peer::{Client, ClientError, Runtime};
use serde_json::{json, Value};

use crate::adapter::Under;
use crate::under_test as t;

/// What the raw peer saw: every request as (id, params).
type Seen = Arc<Mutex<Vec<(u64, Value)>>>;

/// A newline-delimited JSON-RPC peer on 127.0.0.1 (one connection, on a thread of its own)
/// that answers every request with its params and records them, in the order they came; and
/// a client of the crate under test connected to it.
async fn echo_peer(under: &Under) -> (Client, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut write = socket.try_clone().unwrap();
        for line in BufReader::new(socket).lines() {
            let Ok(line) = line else { break };
            let call: Value = serde_json::from_str(&line).unwrap();
            let id = call["id"].as_u64().unwrap();
            let params = call.get("params").cloned().unwrap_or(Value::Null);
            log.lock().unwrap().push((id, params.clone()));
            let answer = json!({"jsonrpc": "2.0", "result": params, "id": id});
            let mut out = answer.to_string().into_bytes();
            out.push(b'\n');
            if write.write_all(&out).is_err() {
                break;
            }
        }
    });
    let options = ConnectOptions::default().with_runtime(Some(under.runtime.clone()));
    let client = t::connect_tcp_with(&addr, options).await.unwrap();
    (client, seen)
}

/// Runs each of `callers` as a task of its own on the adapter's runtime (on several threads
/// where the runtime has them) and waits for all; a caller that panics fails the test.
async fn run_tasks<F>(under: &Under, callers: impl IntoIterator<Item = F>)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut done = Vec::new();
    for caller in callers {
        let (tx, rx) = oneshot::channel();
        Runtime::spawn(
            &under.runtime,
            Box::pin(async move {
                caller.await;
                let _ = tx.send(());
            }),
        );
        done.push(rx);
    }
    for rx in done {
        rx.await.expect("a caller task failed");
    }
}

pub async fn concurrent_callers_each_get_their_own_answers_in_order(under: Under) {
    const CALLERS: u64 = 32;
    const CALLS: u64 = 40;
    let (client, seen) = echo_peer(&under).await;
    let callers = (0..CALLERS).map(|caller| {
        let client = client.clone();
        async move {
            for i in 0..CALLS {
                let got: (u64, u64) = client.request("echo", (caller, i)).await.unwrap();
                assert_eq!(got, (caller, i), "an answer reached another caller");
            }
        }
    });
    run_tasks(&under, callers).await;
    // A lone call afterwards (its caller writes it itself).
    let got: Vec<u8> = client.request("echo", [7]).await.unwrap();
    assert_eq!(got, [7]);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.len() as u64,
        CALLERS * CALLS + 1,
        "each call sent once"
    );
    let ids: HashSet<u64> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), seen.len(), "no id sent twice");
    // Per caller, the calls arrived in the order they were made.
    for caller in 0..CALLERS {
        let order: Vec<u64> = seen
            .iter()
            .filter(|(_, p)| p[0] == caller && p.as_array().is_some_and(|a| a.len() == 2))
            .map(|(_, p)| p[1].as_u64().unwrap())
            .collect();
        assert_eq!(order, (0..CALLS).collect::<Vec<_>>(), "caller {caller}");
    }
    assert_eq!(client.pending(), 0);
}

pub async fn dropped_calls_among_concurrent_ones_are_forgotten(under: Under) {
    let (client, seen) = echo_peer(&under).await;
    let callers = (0..16u64).map(|caller| {
        let client = client.clone();
        async move {
            for i in 0..20u64 {
                let call = client.request::<(u64, u64), _>("echo", (caller, i));
                if i % 3 == 0 {
                    // Given up at once: its frame may still be queued or held.
                    drop(call);
                    continue;
                }
                assert_eq!(call.await.unwrap(), (caller, i));
            }
        }
    });
    run_tasks(&under, callers).await;
    assert_eq!(client.pending(), 0, "dropped calls free their slots");
    let got: [u8; 1] = client.request("echo", [1u8]).await.unwrap();
    assert_eq!(got, [1]);
    assert!(
        seen.lock().unwrap().len() >= 16 * 13,
        "every awaited call was sent"
    );
}

pub async fn params_of_every_size_and_shape(under: Under) {
    let (client, seen) = echo_peer(&under).await;
    // Around the size kept on the stack, and far beyond it.
    for n in [0usize, 1, 247, 248, 249, 250, 251, 252, 253, 1000, 100_000] {
        let text = "x".repeat(n);
        let got: Vec<String> = client.request("echo", [&text]).await.unwrap();
        assert_eq!(got, [text]);
        let got: Value = client
            .request("echo", json!({ "s": "y".repeat(n) }))
            .await
            .unwrap();
        assert_eq!(got, json!({ "s": "y".repeat(n) }));
    }
    // `()` and `null` are no params; scalars are refused before anything is sent.
    let sent = seen.lock().unwrap().len();
    let got: Value = client.request("echo", ()).await.unwrap();
    assert_eq!(got, Value::Null);
    assert_eq!(
        seen.lock().unwrap()[sent].1,
        Value::Null,
        "no params member"
    );
    for bad in [json!(1), json!("s"), json!(true)] {
        let e = client.request::<Value, _>("echo", &bad).await.unwrap_err();
        assert!(
            matches!(e, ClientError::Params(ref m) if m.contains("array or an object")),
            "{e}"
        );
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        sent + 1,
        "refused params sent nothing"
    );
    assert_eq!(client.pending(), 0);
}
