//! `compare compile-time [--release] [--runs N]`: how long one crate holding a 20-method API
//! takes to build with our `#[rpc]` and with jsonrpsee's `#[rpc(server, client)]`.
//!
//! The two fixture crates (bench/compile-fixtures/{ours,jsonrpsee}) form a workspace of their
//! own, outside the main one, with their own Cargo.lock and target directory. Their
//! dependencies are built first; then each fixture crate alone is cleaned (`cargo clean -p`)
//! and built again, N times (3 by default, incremental compilation off), and the median is
//! reported with the machine and the date.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bench::stats::median;
use bench::Result;

const FIXTURES: [(&str, &str); 2] = [
    ("fixture-ours", "jsonrpc-proto #[rpc]"),
    ("fixture-jsonrpsee", "jsonrpsee 0.26 #[rpc(server, client)]"),
];

fn cargo(manifest: &PathBuf, args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_INCREMENTAL", "0")
        // Runs from `cargo run -p bench`: the outer build's settings stay out.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!("{what} failed:\n{}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// The CPU model line of `lscpu`, if there is one.
fn cpu_model() -> String {
    Command::new("lscpu")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.starts_with("Model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Runs the comparison with `args` (after `compile-time`) and prints a Markdown table.
pub fn compare(args: &[String]) -> Result<()> {
    let mut release = false;
    let mut runs = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--release" => release = true,
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--runs takes a positive number")?;
            }
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    let manifest: PathBuf = [env!("CARGO_MANIFEST_DIR"), "compile-fixtures", "Cargo.toml"]
        .iter()
        .collect();
    let profile: &[&str] = if release { &["--release"] } else { &[] };
    let mut rows = Vec::new();
    for (package, label) in FIXTURES {
        eprintln!("{package}: building its dependencies");
        let mut warm = cargo(&manifest, &["build", "-p", package]);
        warm.args(profile);
        run(warm, "the warm-up build")?;
        let mut times = Vec::with_capacity(runs);
        for i in 0..runs {
            let mut clean = cargo(&manifest, &["clean", "-p", package]);
            clean.args(profile);
            run(clean, "cargo clean -p")?;
            let mut build = cargo(&manifest, &["build", "-p", package]);
            build.args(profile);
            let start = Instant::now();
            run(build, "the timed build")?;
            let took = start.elapsed();
            eprintln!(
                "{package}: run {} of {runs}: {:.2} s",
                i + 1,
                took.as_secs_f64()
            );
            times.push(took.as_secs_f64());
        }
        rows.push((label, median(&mut times.clone()), times));
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "Clean build of one crate with a 20-method API (server + typed client), {} profile, \
         dependencies prebuilt, median of {runs}; {}, {cores} cores ({}):\n",
        if release { "release" } else { "dev" },
        today(),
        cpu_model()
    );
    println!("| macro | median | runs |");
    println!("| --- | ---: | --- |");
    for (label, med, times) in &rows {
        let all: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
        println!("| {label} | {med:.2} s | {} s |", all.join(", "));
    }
    if let [(_, ours, _), (_, theirs, _)] = rows.as_slice() {
        println!(
            "\nours / jsonrpsee: {:.2}x",
            ours / theirs.max(Duration::from_millis(1).as_secs_f64())
        );
    }
    Ok(())
}
