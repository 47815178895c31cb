//! `compare compile-time [--release] [--runs N]`: how long one crate holding a 20-method API
//! takes to build with our `#[rpc]` and with jsonrpsee's `#[rpc(server, client)]`.
//!
//! The two fixture crates (bench/compile-fixtures/{ours,jsonrpsee}) form a workspace of their
//! own, outside the main one, with their own Cargo.lock and target directory. Their
//! dependencies are built first; then each fixture crate alone is cleaned (`cargo clean -p`)
//! and built again, N times (3 by default, incremental compilation off, the two fixtures
//! taking turns so both see the same load). Reported: the medians of wall-clock time and of
//! CPU time (user + system, from bash's `time`: it moves much less than wall time when other
//! builds share the machine), with the machine, its load and the date.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use bench::stats::median;
use bench::Result;

const FIXTURES: [(&str, &str); 2] = [
    ("fixture-ours", "jsonrpc-proto #[rpc]"),
    ("fixture-jsonrpsee", "jsonrpsee 0.26 #[rpc(server, client)]"),
];

/// `cargo ARGS --manifest-path MANIFEST [--release]` without the outer build's settings.
fn cargo(manifest: &PathBuf, args: &[&str], release: bool) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if release {
        cmd.arg("--release");
    }
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!("{what} failed:\n{}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// Runs `cmd` under bash's `time`: (wall seconds, CPU seconds of it and its children).
fn timed(cmd: &Command, what: &str) -> Result<(f64, f64)> {
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg("TIMEFORMAT='cpu %3U %3S'; time \"$@\" 2>/dev/null")
        .arg("timed")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => bash.env(key, v),
            None => bash.env_remove(key),
        };
    }
    let start = Instant::now();
    let out = bash.output()?;
    let wall = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{what} failed (run it by hand to see why):\n{text}").into());
    }
    let cpu = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("cpu "))
        .and_then(|l| {
            let mut it = l.split_whitespace().map(|v| v.parse::<f64>().ok());
            Some(it.next()?? + it.next()??)
        })
        .ok_or_else(|| format!("no CPU time in bash's output: {text}"))?;
    Ok((wall, cpu))
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

/// The 1-minute load average (Linux), or "?".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn now() -> String {
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
    for (package, _) in FIXTURES {
        eprintln!("{package}: building its dependencies");
        run(
            cargo(&manifest, &["build", "-p", package], release),
            "the warm-up build",
        )?;
    }
    let started = now();
    let load_before = load_average();
    let mut times: Vec<Vec<(f64, f64)>> = vec![Vec::with_capacity(runs); FIXTURES.len()];
    for i in 0..runs {
        for ((package, _), times) in FIXTURES.iter().zip(&mut times) {
            run(
                cargo(&manifest, &["clean", "-p", package], release),
                "cargo clean -p",
            )?;
            let build = cargo(&manifest, &["build", "-p", package], release);
            let (wall, cpu) = timed(&build, "the timed build")?;
            eprintln!(
                "{package}: run {} of {runs}: {wall:.2} s wall, {cpu:.2} s CPU",
                i + 1
            );
            times.push((wall, cpu));
        }
    }
    let load_after = load_average();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "Clean build of one crate with a 20-method API (server + typed client), {} profile, \
         dependencies prebuilt, median of {runs}; {started}, {cores} cores ({}), 1-minute load \
         average {load_before} before and {load_after} after:\n",
        if release { "release" } else { "dev" },
        cpu_model()
    );
    println!("| macro | wall, median | CPU (user+sys), median | runs (wall / CPU) |");
    println!("| --- | ---: | ---: | --- |");
    let mut medians = Vec::new();
    for ((_, label), t) in FIXTURES.iter().zip(&times) {
        let wall = median(&mut t.iter().map(|x| x.0).collect::<Vec<_>>());
        let cpu = median(&mut t.iter().map(|x| x.1).collect::<Vec<_>>());
        let all: Vec<String> = t.iter().map(|(w, c)| format!("{w:.2}/{c:.2}")).collect();
        println!(
            "| {label} | {wall:.2} s | {cpu:.2} s | {} s |",
            all.join(", ")
        );
        medians.push((wall, cpu));
    }
    if let [(wall_ours, cpu_ours), (wall_theirs, cpu_theirs)] = medians.as_slice() {
        println!(
            "\nours / jsonrpsee: {:.2}x wall, {:.2}x CPU",
            wall_ours / wall_theirs.max(1e-3),
            cpu_ours / cpu_theirs.max(1e-3)
        );
    }
    Ok(())
}
