//! Memory-pair benchmarks: round-trip latency of sequential calls, and throughput with 64
//! calls in flight, on a tokio current-thread runtime.
//!
//! `cargo bench -p transport-memory --bench memory -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jsonrpc_proto::peer::{Client, Server, ServerConfig};
use jsonrpc_proto::service::{Context, Router};
use jsonrpc_proto::ErrorObject;
use serde::Deserialize;

#[path = "../tests/common/mod.rs"]
mod common;
use common::Tokio;

#[derive(Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

fn setup(rt: &tokio::runtime::Runtime) -> Client {
    let router = Router::builder()
        .method("add", |_ctx: Context, p: Add| async move {
            Ok::<_, ErrorObject>(p.a + p.b)
        })
        .build()
        .expect("router");
    rt.block_on(async {
        let server = Server::new(router, Tokio, ServerConfig::default());
        transport_memory::serve_memory(&server, Tokio)
    })
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = setup(&rt);

    let mut g = c.benchmark_group("memory");
    g.throughput(Throughput::Elements(1));
    g.bench_function("roundtrip", |b| {
        b.to_async(&rt).iter(|| async {
            let s: i64 = client.request("add", [5, 3]).await.expect("answer");
            assert_eq!(s, 8);
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("in_flight_64", |b| {
        b.to_async(&rt).iter(|| async {
            let calls = (0..64).map(|i| client.request::<i64, _>("add", [i, 1]));
            for r in futures::future::join_all(calls).await {
                r.expect("answer");
            }
        })
    });
    g.finish();

    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = setup(&mt);
    let mut g = c.benchmark_group("memory_mt");
    g.throughput(Throughput::Elements(1));
    g.bench_function("roundtrip", |b| {
        b.to_async(&mt).iter(|| async {
            let s: i64 = client.request("add", [5, 3]).await.expect("answer");
            assert_eq!(s, 8);
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("in_flight_64", |b| {
        b.to_async(&mt).iter(|| async {
            let calls = (0..64).map(|i| client.request::<i64, _>("add", [i, 1]));
            for r in futures::future::join_all(calls).await {
                r.expect("answer");
            }
        })
    });
    g.finish();
}

criterion_group!(memory, benches);
criterion_main!(memory);
