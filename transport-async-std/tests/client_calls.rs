//! Many callers sharing one client, on smol and async-std: each call reaches the peer exactly
//! once, in the order its caller made it, and each answer reaches its own caller, while the
//! driver holds queued calls back for a turn to write them together; params of every size and
//! shape on the way. (transport-tokio/tests/client_calls.rs runs the same on tokio.)

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::io::BufReader;
use futures::{AsyncBufReadExt, AsyncWriteExt, StreamExt};
use jsonrpc_proto::peer::{Client, ClientError};
use serde_json::{json, Value};
use transport_async_std::{AsyncIoRuntime, ConnectOptions};

/// What the raw peer saw: every request as (id, params).
type Seen = Arc<Mutex<Vec<(u64, Value)>>>;

/// A newline-delimited JSON-RPC peer on 127.0.0.1 that answers every request with its params
/// (and records them), in the order they came; and a client connected to it.
async fn echo_peer(rt: AsyncIoRuntime) -> (Client, Seen) {
    let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let peer = async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut write = socket.clone();
        let mut lines = BufReader::new(socket).lines();
        while let Some(Ok(line)) = lines.next().await {
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
    };
    jsonrpc_proto::peer::Runtime::spawn(&rt, Box::pin(peer));
    let options = ConnectOptions::default().with_runtime(Some(rt));
    let client = transport_async_std::connect_tcp_with(&addr, options)
        .await
        .unwrap();
    (client, seen)
}

async fn concurrent_callers(rt: AsyncIoRuntime) {
    const CALLERS: u64 = 32;
    const CALLS: u64 = 40;
    let (client, seen) = echo_peer(rt).await;
    let callers = (0..CALLERS).map(|caller| {
        let client = &client;
        async move {
            for i in 0..CALLS {
                let got: (u64, u64) = client.request("echo", (caller, i)).await.unwrap();
                assert_eq!(got, (caller, i), "an answer reached another caller");
            }
        }
    });
    futures::future::join_all(callers).await;
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

async fn dropped_calls(rt: AsyncIoRuntime) {
    let (client, seen) = echo_peer(rt).await;
    let callers = (0..16u64).map(|caller| {
        let client = &client;
        async move {
            for i in 0..20u64 {
                let call = client.request::<(u64, u64), _>("echo", (caller, i));
                if i % 3 == 0 {
                    drop(call);
                    continue;
                }
                assert_eq!(call.await.unwrap(), (caller, i));
            }
        }
    });
    futures::future::join_all(callers).await;
    assert_eq!(client.pending(), 0, "dropped calls free their slots");
    let got: [u8; 1] = client.request("echo", [1u8]).await.unwrap();
    assert_eq!(got, [1]);
    assert!(
        seen.lock().unwrap().len() >= 16 * 13,
        "every awaited call was sent"
    );
}

async fn params_shapes(rt: AsyncIoRuntime) {
    let (client, seen) = echo_peer(rt).await;
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
}

#[test]
fn smol_concurrent_callers_each_get_their_own_answers_in_order() {
    smol::block_on(concurrent_callers(AsyncIoRuntime::smol()));
}

#[test]
fn async_std_concurrent_callers_each_get_their_own_answers_in_order() {
    async_std::task::block_on(concurrent_callers(AsyncIoRuntime::async_std()));
}

#[test]
fn smol_dropped_calls_among_concurrent_ones_are_forgotten() {
    smol::block_on(dropped_calls(AsyncIoRuntime::smol()));
}

#[test]
fn async_std_dropped_calls_among_concurrent_ones_are_forgotten() {
    async_std::task::block_on(dropped_calls(AsyncIoRuntime::async_std()));
}

#[test]
fn smol_params_of_every_size_and_shape() {
    smol::block_on(params_shapes(AsyncIoRuntime::smol()));
}

#[test]
fn async_std_params_of_every_size_and_shape() {
    async_std::task::block_on(params_shapes(AsyncIoRuntime::async_std()));
}
