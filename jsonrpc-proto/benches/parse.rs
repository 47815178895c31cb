//! Parse + validate and serialization, each beside raw serde_json on the same bytes.
//!
//! ```sh
//! cargo bench -p jsonrpc-proto --bench parse -- --warm-up-time 1 --measurement-time 3
//! ```
//! After criterion's report a summary prints the ratios (ours / borrowed struct, ours / Value),
//! measured with a plain timing loop (best of several rounds).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use jsonrpc_proto::message::write_response;
use jsonrpc_proto::{parse, Id, Incoming, RawValue};
use serde::{Deserialize, Serialize};

/// The borrowed baseline: what a hand-written, unvalidated struct parse costs.
#[derive(Deserialize)]
#[allow(dead_code)]
struct R<'a> {
    jsonrpc: &'a str,
    method: &'a str,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
}

/// The baseline the brief names: the same, with the id read as a `serde_json::Value`
/// (ours produces an owned, typed `Id`, which is closer to this).
#[derive(Deserialize)]
#[allow(dead_code)]
struct RV<'a> {
    jsonrpc: &'a str,
    method: &'a str,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(default)]
    id: serde_json::Value,
}

/// The serialization baseline: a derived `Serialize` response.
#[derive(Serialize)]
struct Resp<'a> {
    jsonrpc: &'static str,
    result: &'a RawValue,
    id: &'a Id,
}

const SMALL: &[u8] = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
const RESULT: &str = r#"{"sum":19,"items":[1,2,3],"name":"calculator","ok":true}"#;

/// A batch of a little over 1 MiB of varied requests and notifications.
fn big_batch() -> Vec<u8> {
    let mut out = b"[".to_vec();
    let mut i = 0u64;
    while out.len() < (1 << 20) {
        if i > 0 {
            out.push(b',');
        }
        let entry = match i % 4 {
            0 => format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[{i},23],"id":{i}}}"#),
            1 => format!(
                r#"{{"jsonrpc":"2.0","method":"update","params":{{"name":"item-{i}","tags":["a","b"],"value":{i}.5}}}}"#
            ),
            2 => format!(
                r#"{{"jsonrpc":"2.0","method":"get_data","params":{{"user":{{"id":{i},"email":"user{i}@example.com"}}}},"id":"req-{i}"}}"#
            ),
            _ => {
                format!(r#"{{"jsonrpc":"2.0","method":"sum","params":[1,2,3,4,5,6,7,8],"id":{i}}}"#)
            }
        };
        out.extend_from_slice(entry.as_bytes());
        i += 1;
    }
    out.push(b']');
    out
}

fn ours(input: &[u8]) -> usize {
    match parse(input) {
        Ok(Incoming::Single(e)) => usize::from(e.is_ok()),
        Ok(Incoming::Batch(v)) => v.iter().filter(|e| e.is_ok()).count(),
        Err(_) => 0,
    }
}

fn borrowed_single(input: &[u8]) -> usize {
    serde_json::from_slice::<R<'_>>(input).map_or(0, |r| r.method.len())
}

fn borrowed_batch(input: &[u8]) -> usize {
    serde_json::from_slice::<Vec<R<'_>>>(input).map_or(0, |v| v.len())
}

fn borrowed_value_id_single(input: &[u8]) -> usize {
    serde_json::from_slice::<RV<'_>>(input).map_or(0, |r| r.method.len())
}

fn borrowed_value_id_batch(input: &[u8]) -> usize {
    serde_json::from_slice::<Vec<RV<'_>>>(input).map_or(0, |v| v.len())
}

fn value(input: &[u8]) -> usize {
    serde_json::from_slice::<serde_json::Value>(input).map_or(0, |v| v.is_object() as usize)
}

fn write_ours(out: &mut Vec<u8>, id: &Id, result: &RawValue) -> usize {
    out.clear();
    write_response(out, id, Ok(result));
    out.len()
}

fn write_serde(out: &mut Vec<u8>, id: &Id, result: &RawValue) -> usize {
    out.clear();
    let _ = serde_json::to_writer(
        &mut *out,
        &Resp {
            jsonrpc: "2.0",
            result,
            id,
        },
    );
    out.len()
}

fn bench(c: &mut Criterion) {
    let batch = big_batch();
    let result = RawValue::from_string(RESULT.to_owned()).expect("valid JSON");
    let id = Id::from(12345u64);

    let mut g = c.benchmark_group("small_request");
    g.throughput(Throughput::Bytes(SMALL.len() as u64));
    g.bench_function("ours_parse_validate", |b| b.iter(|| ours(black_box(SMALL))));
    g.bench_function("serde_borrowed_struct", |b| {
        b.iter(|| borrowed_single(black_box(SMALL)))
    });
    g.bench_function("serde_borrowed_struct_value_id", |b| {
        b.iter(|| borrowed_value_id_single(black_box(SMALL)))
    });
    g.bench_function("serde_value", |b| b.iter(|| value(black_box(SMALL))));
    g.finish();

    let mut g = c.benchmark_group("batch_1mib");
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.sample_size(20);
    g.bench_function("ours_parse_validate", |b| {
        b.iter(|| ours(black_box(&batch)))
    });
    g.bench_function("serde_borrowed_struct", |b| {
        b.iter(|| borrowed_batch(black_box(&batch)))
    });
    g.bench_function("serde_borrowed_struct_value_id", |b| {
        b.iter(|| borrowed_value_id_batch(black_box(&batch)))
    });
    g.bench_function("serde_value", |b| b.iter(|| value(black_box(&batch))));
    g.finish();

    let mut g = c.benchmark_group("write_response");
    let mut out = Vec::with_capacity(256);
    g.bench_function("ours_write_response", |b| {
        b.iter(|| write_ours(&mut out, black_box(&id), black_box(&result)))
    });
    g.bench_function("serde_to_writer_derived", |b| {
        b.iter(|| write_serde(&mut out, black_box(&id), black_box(&result)))
    });
    g.finish();
}

criterion_group!(benches, bench);

/// Nanoseconds per call: the best of 7 rounds of about 150 ms each.
fn time(mut f: impl FnMut() -> usize) -> f64 {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        if start.elapsed() > Duration::from_millis(20) {
            break;
        }
        iters *= 2;
    }
    iters = iters.saturating_mul(8);
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn summary() {
    let batch = big_batch();
    let result = RawValue::from_string(RESULT.to_owned()).expect("valid JSON");
    let id = Id::from(12345u64);
    let mut out = Vec::with_capacity(256);

    println!("\n=== summary (best of 7 rounds; ratio < 1 means ours is faster) ===");
    println!("borrowed = struct {{jsonrpc: &str, method: &str, params: Option<&RawValue>, id: Option<&RawValue>}}");
    println!("borrowed(id: Value) = the same with id: serde_json::Value (the brief's baseline)");
    let row = |name: &str, ours: f64, borrowed: f64, borrowed_v: f64, value: f64| {
        println!(
            "{name:<14} ours {ours:>11.1} ns | borrowed {borrowed:>11.1} ns | borrowed(id: Value) {borrowed_v:>11.1} ns | Value {value:>11.1} ns"
        );
        println!(
            "{:<14} ours/borrowed {:.2} | ours/borrowed(id: Value) {:.2} | ours/Value {:.2}",
            "",
            ours / borrowed,
            ours / borrowed_v,
            ours / value
        );
    };
    row(
        "small request",
        time(|| ours(black_box(SMALL))),
        time(|| borrowed_single(black_box(SMALL))),
        time(|| borrowed_value_id_single(black_box(SMALL))),
        time(|| value(black_box(SMALL))),
    );
    row(
        "1 MiB batch",
        time(|| ours(black_box(&batch))),
        time(|| borrowed_batch(black_box(&batch))),
        time(|| borrowed_value_id_batch(black_box(&batch))),
        time(|| value(black_box(&batch))),
    );
    let o = time(|| write_ours(&mut out, black_box(&id), black_box(&result)));
    let s = time(|| write_serde(&mut out, black_box(&id), black_box(&result)));
    println!(
        "write_response ours {o:>12.1} ns | serde derived {s:>12.1} ns | ours/serde {:.2}",
        o / s
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs this binary in test mode: skip the slow summary there.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        summary();
    }
}
