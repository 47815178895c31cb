//! Many callers sharing one client: each call reaches the peer exactly once, in the order its
//! caller made it, and each answer reaches its own caller, while the driver holds queued calls
//! back for a turn to write them together; params of every size and shape on the way.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What the raw peer saw: every request as (id, params).
type Seen = Arc<Mutex<Vec<(u64, Value)>>>;

/// A newline-delimited JSON-RPC peer on 127.0.0.1 that answers every request with its params
/// (and records them), in the order they came.
async fn echo_peer() -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let call: Value = serde_json::from_str(&line).unwrap();
            let id = call["id"].as_u64().unwrap();
            let params = call.get("params").cloned().unwrap_or(Value::Null);
            log.lock().unwrap().push((id, params.clone()));
            let answer = json!({"jsonrpc": "2.0", "result": params, "id": id});
            let mut out = answer.to_string().into_bytes();
            out.push(b'\n');
            if write.write_all(&out).await.is_err() {
                break;
            }
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_each_get_their_own_answers_in_order() {
    const CALLERS: u64 = 32;
    const CALLS: u64 = 40;
    let (addr, seen) = echo_peer().await;
    let client = transport_tokio::connect_tcp(&addr).await.unwrap();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..CALLS {
                    let got: (u64, u64) = client.request("echo", (caller, i)).await.unwrap();
                    assert_eq!(got, (caller, i), "an answer reached another caller");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_calls_among_concurrent_ones_are_forgotten() {
    let (addr, seen) = echo_peer().await;
    let client = transport_tokio::connect_tcp(&addr).await.unwrap();
    let tasks: Vec<_> = (0..16u64)
        .map(|caller| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..20u64 {
                    let call = client.request::<(u64, u64), _>("echo", (caller, i));
                    if i % 3 == 0 {
                        // Given up at once: its frame may still be queued or held.
                        drop(call);
                        continue;
                    }
                    assert_eq!(call.await.unwrap(), (caller, i));
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(client.pending(), 0, "dropped calls free their slots");
    let got: u8 = client
        .request("echo", [1u8])
        .await
        .map(|v: [u8; 1]| v[0])
        .unwrap();
    assert_eq!(got, 1);
    assert!(
        seen.lock().unwrap().len() >= 16 * 13,
        "every awaited call was sent"
    );
}

#[tokio::test]
async fn params_of_every_size_and_shape() {
    let (addr, seen) = echo_peer().await;
    let client = transport_tokio::connect_tcp(&addr).await.unwrap();
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
            matches!(e, jsonrpc_proto::peer::ClientError::Params(ref m) if m.contains("array or an object")),
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
