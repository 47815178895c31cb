//! `compare subs`: server push throughput over WebSocket, ours vs jsonrpsee 0.26, each with
//! its own server and client on 127.0.0.1:
//! - one subscriber: the server produces `N` items as fast as the subscription takes them
//!   (ours: `SubscriptionSink::send`, which waits for room; jsonrpsee: `SubscriptionSink::send`);
//!   items/s from the subscribe call to the last item read;
//! - fan-out: 1,000 subscribers (10 connections x 100) to one topic, `M` items each
//!   serialized once (ours: `SubscriptionTopic::send`; jsonrpsee: a tokio broadcast channel
//!   feeding each subscription's sink, the pattern its examples use); deliveries/s from the
//!   broadcast call to the last item read by the last subscriber.
//!
//! Medians over the rounds; the libraries alternate round by round.

use std::time::{Duration, Instant};

use futures::StreamExt;
use jsonrpc_proto::service::{Context, PendingSubscription, Router, SubscriptionTopic};
use jsonrpc_proto::ErrorObject;
use jsonrpsee::core::client::SubscriptionClientT;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::rpc_params;
use jsonrpsee::server::{Server as JServer, ServerConfig as JConfig, SubscriptionMessage};
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use jsonrpsee::RpcModule;
use serde_json::value::RawValue;

use bench::{Lib, Result};

/// Connections and subscriptions per connection of the fan-out.
const CONNS: usize = 10;
const PER_CONN: usize = 100;

struct Ours {
    url: String,
    _server: transport_tokio::RunningServer,
}

async fn start_ours() -> Result<Ours> {
    let topic = SubscriptionTopic::new();
    let (t1, t2, t3) = (topic.clone(), topic.clone(), topic);
    let router = Router::builder()
        .subscription(
            "bench_subscribe",
            "bench_unsubscribe",
            "bench_item",
            |_ctx: Context, (n,): (u64,), pending: PendingSubscription| async move {
                let Ok(sink) = pending.accept() else { return };
                for i in 0..n {
                    if sink.send(i).await.is_err() {
                        return;
                    }
                }
            },
        )
        .subscription(
            "topic_subscribe",
            "topic_unsubscribe",
            "topic_item",
            move |_ctx: Context, (): (), pending: PendingSubscription| {
                let topic = t1.clone();
                async move {
                    let Ok(sink) = pending.accept() else { return };
                    topic.add(&sink);
                    sink.closed().await;
                }
            },
        )
        .method("topic_len", move |_ctx: Context, (): ()| {
            let n = t2.len();
            async move { Ok::<_, ErrorObject>(n) }
        })
        .method("topic_send", move |_ctx: Context, (m,): (u64,)| {
            let topic = t3.clone();
            async move {
                let mut delivered = 0;
                for i in 0..m {
                    delivered += topic.send(i).await.unwrap_or(0);
                }
                Ok::<_, ErrorObject>(delivered)
            }
        })
        .build()?;
    let server = transport_tokio::Server::builder(router)
        .http("127.0.0.1:0")
        .start()
        .await?;
    let addr = server.http_addr().ok_or("no address")?;
    Ok(Ours {
        url: format!("ws://{addr}/ws"),
        _server: server,
    })
}

struct Theirs {
    url: String,
    _handle: jsonrpsee::server::ServerHandle,
}

async fn start_jsonrpsee() -> Result<Theirs> {
    let config = JConfig::builder()
        .max_connections(10 * 1024)
        .max_subscriptions_per_connection(1024)
        .build();
    let server = JServer::builder()
        .set_config(config)
        .build("127.0.0.1:0")
        .await?;
    let (tx, _) = tokio::sync::broadcast::channel::<SubscriptionMessage>(1024);
    let mut module = RpcModule::new(tx);
    module.register_subscription(
        "bench_subscribe",
        "bench_item",
        "bench_unsubscribe",
        |params, pending, _ctx, _ext| async move {
            let (n,): (u64,) = params.parse()?;
            let sink = pending.accept().await?;
            for i in 0..n {
                let msg = SubscriptionMessage::from(serde_json::value::to_raw_value(&i)?);
                sink.send(msg).await?;
            }
            SubscriptionResult::Ok(())
        },
    )?;
    module.register_subscription(
        "topic_subscribe",
        "topic_item",
        "topic_unsubscribe",
        |_params, pending, ctx, _ext| async move {
            let mut rx = ctx.subscribe();
            let sink = pending.accept().await?;
            loop {
                tokio::select! {
                    msg = rx.recv() => match msg {
                        Ok(msg) => sink.send(msg).await?,
                        Err(_) => break,
                    },
                    _ = sink.closed() => break,
                }
            }
            SubscriptionResult::Ok(())
        },
    )?;
    module.register_method("topic_len", |_, ctx, _| ctx.receiver_count())?;
    module.register_method("topic_send", |params, ctx, _| {
        let (m,): (u64,) = params.parse()?;
        let mut delivered = 0;
        for i in 0..m {
            // Serialized once; each subscriber's sink takes a clone.
            let raw: Box<RawValue> = serde_json::value::to_raw_value(&i).map_err(|e| {
                jsonrpsee::types::ErrorObject::owned(-32603, e.to_string(), None::<()>)
            })?;
            delivered += ctx.send(SubscriptionMessage::from(raw)).unwrap_or(0);
        }
        Ok::<usize, jsonrpsee::types::ErrorObjectOwned>(delivered)
    })?;
    let addr = server.local_addr()?;
    let handle = server.start(module);
    Ok(Theirs {
        url: format!("ws://{addr}/"),
        _handle: handle,
    })
}

/// jsonrpsee's client closes a subscription whose buffer fills (its consumer lags), so the
/// one-subscriber run gives it room for every item (ours keeps 1024 and pauses reading).
async fn jclient(url: &str, buffer: usize) -> Result<WsClient> {
    Ok(WsClientBuilder::default()
        .max_request_size(u32::MAX)
        .max_response_size(u32::MAX)
        .max_buffer_capacity_per_subscription(buffer)
        .build(url)
        .await?)
}

/// One subscriber, `n` items: items/s.
async fn one(lib: Lib, url: &str, n: u64) -> Result<f64> {
    let start;
    match lib {
        Lib::Ours => {
            let client = transport_tokio::connect_ws(url).await?;
            start = Instant::now();
            let mut sub = client
                .subscribe::<u64, _>("bench_subscribe", [n], "bench_unsubscribe")
                .await?;
            for want in 0..n {
                let got = sub.next().await.ok_or("ended early")??;
                if got != want {
                    return Err(format!("ours: item {got}, expected {want}").into());
                }
            }
            client.close().await;
        }
        Lib::Jsonrpsee => {
            let client = jclient(url, n as usize + 16).await?;
            start = Instant::now();
            let mut sub = client
                .subscribe::<u64, _>("bench_subscribe", rpc_params![n], "bench_unsubscribe")
                .await?;
            for want in 0..n {
                let got = sub.next().await.ok_or("ended early")??;
                if got != want {
                    return Err(format!("jsonrpsee: item {got}, expected {want}").into());
                }
            }
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// 1,000 subscribers, `m` items each: deliveries/s.
async fn fan_out(lib: Lib, url: &str, m: u64) -> Result<f64> {
    let subs_total = CONNS * PER_CONN;
    let elapsed = match lib {
        Lib::Ours => {
            let mut clients = Vec::new();
            let mut subs = Vec::new();
            for _ in 0..CONNS {
                let client = transport_tokio::connect_ws(url).await?;
                for _ in 0..PER_CONN {
                    subs.push(
                        client
                            .subscribe::<u64, _>("topic_subscribe", (), "topic_unsubscribe")
                            .await?,
                    );
                }
                clients.push(client);
            }
            while clients[0].request::<usize, _>("topic_len", ()).await? < subs_total {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let start = Instant::now();
            let send = clients[0].request::<usize, _>("topic_send", [m]);
            let readers = futures::future::join_all(subs.iter_mut().map(|s| async move {
                for _ in 0..m {
                    let _ = s.next().await;
                }
            }));
            let (delivered, _) = futures::join!(send, readers);
            let elapsed = start.elapsed();
            if delivered? != subs_total * m as usize {
                return Err("ours: not every subscriber took every item".into());
            }
            drop(subs);
            for c in clients {
                c.close().await;
            }
            elapsed
        }
        Lib::Jsonrpsee => {
            let mut clients = Vec::new();
            let mut subs = Vec::new();
            for _ in 0..CONNS {
                let client = jclient(url, 1024).await?;
                for _ in 0..PER_CONN {
                    subs.push(
                        client
                            .subscribe::<u64, _>(
                                "topic_subscribe",
                                rpc_params![],
                                "topic_unsubscribe",
                            )
                            .await?,
                    );
                }
                clients.push(client);
            }
            use jsonrpsee::core::client::ClientT;
            while clients[0]
                .request::<usize, _>("topic_len", rpc_params![])
                .await?
                < subs_total
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let start = Instant::now();
            let send = clients[0].request::<usize, _>("topic_send", rpc_params![m]);
            let readers = futures::future::join_all(subs.iter_mut().map(|s| async move {
                for _ in 0..m {
                    let _ = s.next().await;
                }
            }));
            let (delivered, _) = futures::join!(send, readers);
            let elapsed = start.elapsed();
            if delivered? != subs_total * m as usize {
                return Err("jsonrpsee: not every subscriber took every item".into());
            }
            elapsed
        }
    };
    Ok((subs_total as f64 * m as f64) / elapsed.as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs both workloads for both libraries, `rounds` times, and prints a table.
pub fn run(rounds: usize, quick: bool) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ours = start_ours().await?;
        let theirs = start_jsonrpsee().await?;
        let (n, m) = if quick { (10_000, 10) } else { (200_000, 100) };
        let mut one_r: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut fan_r: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..rounds.max(1) {
            let order = if round % 2 == 0 {
                Lib::BOTH
            } else {
                [Lib::Jsonrpsee, Lib::Ours]
            };
            for lib in order {
                let (url, i) = match lib {
                    Lib::Ours => (ours.url.as_str(), 0),
                    Lib::Jsonrpsee => (theirs.url.as_str(), 1),
                };
                let r = one(lib, url, n).await;
                one_r[i].push(r.map_err(|e| format!("{lib:?} one subscriber: {e}"))?);
                let r = fan_out(lib, url, m).await;
                fan_r[i].push(r.map_err(|e| format!("{lib:?} fan-out: {e}"))?);
            }
        }
        println!("| workload (WebSocket, 127.0.0.1) | ours | jsonrpsee 0.26 | ours/jsonrpsee |");
        println!("|---|---:|---:|---:|");
        let row = |name: String, r: &[Vec<f64>; 2]| {
            let (a, b) = (median(r[0].clone()), median(r[1].clone()));
            println!("| {name} | {a:.0}/s | {b:.0}/s | {:.2} |", a / b);
        };
        row(format!("push to 1 subscriber, {n} items"), &one_r);
        row(
            format!(
                "fan-out to {} subscribers ({CONNS} conns), {m} items: deliveries",
                CONNS * PER_CONN
            ),
            &fan_r,
        );
        println!("(medians of {} rounds)", rounds.max(1));
        Ok(true)
    })
}
