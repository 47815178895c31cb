//! `compare`: runs every workload against our server and clients, jsonrpsee's and a raw TCP
//! echo floor, interleaving the libraries round by round, and prints one table (also written to
//! bench/RESULTS.md).
//!
//! ```text
//! cargo run --release -p bench --bin compare            # full run, a few minutes
//! cargo run --release -p bench --bin compare -- --quick # smoke run, seconds; writes nothing
//! cargo run --release -p bench --bin compare -- --only server # server-only section, ~2 min
//! compare serve ours|jsonrpsee|floor-http|echo          # one server as a child process
//! compare profile ours|jsonrpsee|ours-memory WORKLOAD N          # one workload alone, for callgrind
//!                                       # (BENCH_WORKERS=N: its runtime's workers, 2 unless set;
//!                                       # BENCH_QUANTILES=1: matrix-SIZE prints its spread)
//! compare micro [SCALE [CASE]]                              # ns/op of the sans-IO core
//! compare crates [--clean-build]                        # crates compiled, ours vs jsonrpsee
//! compare compile-time [--release] [--runs N]           # one 20-method #[rpc] crate's build time
//! compare subs [--quick]                                # subscription push throughput and fan-out
//! ```

mod compile_time;
mod subscriptions;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::child::{serve_child, ServeKind};
use bench::client::RpcClient;
use bench::report::{self, Better, Row};
use bench::stats::median;
use bench::sysinfo::{jsonrpsee_version, loadavg, machine, sh};
use bench::{interop, memory, server_only, workloads, Lib, Result};

/// How much of everything to do.
struct Plan {
    quick: bool,
    /// Run only this section ("core", "matrix", "memory" or "server"); None: all.
    only: Option<String>,
    rounds: usize,
    lat_calls: usize,
    tput_calls: usize,
    http_lat_calls: usize,
    http_tput_calls: usize,
    batch_reps: usize,
    cap: Duration,
    matrix_rounds: usize,
    matrix_sizes: Vec<usize>,
    matrix_batches: Vec<usize>,
    matrix_conns: Vec<usize>,
    matrix_iters: usize,
    matrix_cap: Duration,
    mem_conns: usize,
    mem_rounds: usize,
    server: server_only::Plan,
}

impl Plan {
    fn full(rounds: usize) -> Plan {
        Plan {
            quick: false,
            only: None,
            rounds,
            lat_calls: 3_000,
            tput_calls: 40_000,
            http_lat_calls: 2_000,
            http_tput_calls: 30_000,
            batch_reps: 300,
            cap: Duration::from_millis(1_500),
            matrix_rounds: 5,
            matrix_sizes: vec![3, 9, 27, 81, 243, 729],
            matrix_batches: vec![2, 5, 10, 50, 100],
            matrix_conns: vec![16, 32, 64, 128, 256, 512, 1024],
            matrix_iters: 30,
            matrix_cap: Duration::from_millis(400),
            mem_conns: 1_000,
            mem_rounds: 3,
            server: server_only::Plan::full(rounds),
        }
    }

    fn quick() -> Plan {
        Plan {
            quick: true,
            only: None,
            rounds: 1,
            lat_calls: 200,
            tput_calls: 2_000,
            http_lat_calls: 100,
            http_tput_calls: 1_000,
            batch_reps: 10,
            cap: Duration::from_millis(300),
            matrix_rounds: 1,
            matrix_sizes: vec![3, 27],
            matrix_batches: vec![2, 100],
            matrix_conns: vec![16],
            matrix_iters: 3,
            matrix_cap: Duration::from_millis(100),
            mem_conns: 100,
            mem_rounds: 1,
            server: server_only::Plan::quick(),
        }
    }
}

/// Samples per (row key, library); the floor is stored under `Lib::Ours` of a "floor:" key.
#[derive(Default)]
struct Samples {
    by_key: HashMap<(String, &'static str), Vec<f64>>,
    errors: Vec<String>,
}

impl Samples {
    fn push(&mut self, key: &str, lib: Lib, v: f64) {
        self.by_key
            .entry((key.to_string(), lib.name()))
            .or_default()
            .push(v);
    }

    fn push_floor(&mut self, key: &str, v: f64) {
        self.by_key
            .entry((key.to_string(), "floor"))
            .or_default()
            .push(v);
    }

    fn med(&self, key: &str, who: &'static str) -> Option<f64> {
        let mut v = self.by_key.get(&(key.to_string(), who))?.clone();
        Some(median(&mut v))
    }

    fn record<T>(&mut self, what: &str, lib: Lib, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let msg = format!("{what} [{}]: {e}", lib.name());
                eprintln!("error: {msg}");
                self.errors.push(msg);
                None
            }
        }
    }
}

fn order(round: usize, libs: &[Lib]) -> Vec<Lib> {
    let mut v = libs.to_vec();
    if round % 2 == 1 {
        v.reverse();
    }
    v
}

struct Side {
    lib: Lib,
    _server: bench::servers::Running,
    ws_url: String,
    ws: Arc<dyn RpcClient>,
    http: Arc<dyn RpcClient>,
}

async fn side(lib: Lib) -> Result<Side> {
    let server = bench::start_server(lib).await?;
    let ws = bench::connect_ws(lib, &server.ws_url).await?;
    let http = bench::connect_http(lib, &server.http_url).await?;
    Ok(Side {
        lib,
        ws_url: server.ws_url.clone(),
        _server: server,
        ws,
        http,
    })
}

const WS_LAT: &str = "WS latency, add [a,b], median";
const WS_P99: &str = "WS latency, add [a,b], p99";
const WS_TPUT: &str = "WS throughput, 1 conn, 64 in flight";
const HTTP_LAT: &str = "HTTP latency, keep-alive, median";
const HTTP_P99: &str = "HTTP latency, keep-alive, p99";
const HTTP_TPUT: &str = "HTTP throughput, 64 concurrent callers";
const WS_BATCH: &str = "WS batch of 100 add";
const MEM: &str = "server RSS per idle WS conn";
const CRATES: &str = "clean build: crates compiled (server+clients, TLS)";

async fn run_core(plan: &Plan, sides: &[Side], floor: std::net::SocketAddr, s: &mut Samples) {
    let libs: Vec<Lib> = sides.iter().map(|x| x.lib).collect();
    let get = |lib: Lib| sides.iter().find(|x| x.lib == lib).expect("side");
    for round in 0..plan.rounds {
        eprintln!(
            "round {}/{}: latency, throughput, batch",
            round + 1,
            plan.rounds
        );
        let libs = order(round, &libs);
        match workloads::floor_latency(floor, plan.lat_calls, plan.cap).await {
            Ok(l) => {
                s.push_floor(WS_LAT, l.p50);
                s.push_floor(WS_P99, l.p99);
            }
            Err(e) => s.errors.push(format!("TCP floor: {e}")),
        }
        for &lib in &libs {
            let r = workloads::latency(&*get(lib).ws, plan.lat_calls, plan.cap).await;
            if let Some(l) = s.record(WS_LAT, lib, r) {
                s.push(WS_LAT, lib, l.p50);
                s.push(WS_P99, lib, l.p99);
            }
        }
        for &lib in &libs {
            let r = workloads::throughput(get(lib).ws.clone(), 64, plan.tput_calls, plan.cap).await;
            if let Some(v) = s.record(WS_TPUT, lib, r) {
                s.push(WS_TPUT, lib, v);
            }
        }
        for &lib in &libs {
            let r = workloads::latency(&*get(lib).http, plan.http_lat_calls, plan.cap).await;
            if let Some(l) = s.record(HTTP_LAT, lib, r) {
                s.push(HTTP_LAT, lib, l.p50);
                s.push(HTTP_P99, lib, l.p99);
            }
        }
        for &lib in &libs {
            let r =
                workloads::throughput(get(lib).http.clone(), 64, plan.http_tput_calls, plan.cap)
                    .await;
            if let Some(v) = s.record(HTTP_TPUT, lib, r) {
                s.push(HTTP_TPUT, lib, v);
            }
        }
        for &lib in &libs {
            let r = workloads::batch(&*get(lib).ws, 100, plan.batch_reps, plan.cap).await;
            if let Some(v) = s.record(WS_BATCH, lib, r) {
                s.push(WS_BATCH, lib, v);
            }
        }
    }
}

fn key_rt(n: usize) -> String {
    format!("matrix: WS round trip, {n} concurrent mixed calls")
}
fn key_batch(n: usize) -> String {
    format!("matrix: WS batch of {n} fast_call")
}
fn key_conns(n: usize) -> String {
    format!("matrix: {n} WS conns x 10 fast_call")
}

async fn run_matrix(plan: &Plan, sides: &[Side], s: &mut Samples) {
    let libs: Vec<Lib> = sides.iter().map(|x| x.lib).collect();
    let get = |lib: Lib| sides.iter().find(|x| x.lib == lib).expect("side");
    for round in 0..plan.matrix_rounds {
        eprintln!(
            "round {}/{}: jsonrpsee's matrix",
            round + 1,
            plan.matrix_rounds
        );
        let libs = order(round, &libs);
        for &n in &plan.matrix_sizes {
            for &lib in &libs {
                let r = workloads::matrix_round_trip(
                    &*get(lib).ws,
                    n,
                    plan.matrix_iters,
                    plan.matrix_cap,
                )
                .await;
                if let Some(v) = s.record(&key_rt(n), lib, r) {
                    s.push(&key_rt(n), lib, v);
                }
            }
        }
        for &n in &plan.matrix_batches {
            for &lib in &libs {
                let r = workloads::matrix_batch(
                    &*get(lib).ws,
                    n,
                    plan.matrix_iters * 10,
                    plan.matrix_cap,
                )
                .await;
                if let Some(v) = s.record(&key_batch(n), lib, r) {
                    s.push(&key_batch(n), lib, v);
                }
            }
        }
        for &n in &plan.matrix_conns {
            for &lib in &libs {
                let mut clients = Vec::with_capacity(n);
                let mut failed = None;
                for _ in 0..n {
                    match bench::connect_ws(lib, &get(lib).ws_url).await {
                        Ok(c) => clients.push(c),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let r = match failed {
                    Some(e) => Err(e),
                    None => workloads::matrix_connections(&clients).await,
                };
                if let Some(v) = s.record(&key_conns(n), lib, r) {
                    s.push(&key_conns(n), lib, v);
                }
                drop(clients);
                // let the server notice the closed connections before the next cell
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn run_memory(plan: &Plan, libs: &[Lib], s: &mut Samples) {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            s.errors.push(format!("memory: current_exe: {e}"));
            return;
        }
    };
    for round in 0..plan.mem_rounds {
        eprintln!(
            "round {}/{}: idle connection memory",
            round + 1,
            plan.mem_rounds
        );
        for lib in order(round, libs) {
            let r = memory::per_connection_kib(&exe, lib, plan.mem_conns).await;
            if let Some(v) = s.record(MEM, lib, r) {
                s.push(MEM, lib, v);
            }
        }
    }
}

/// How crates are counted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CountBy {
    /// Unique packages in `cargo tree -e normal,build` for this host (proc macros and build
    /// dependencies included), the root excluded. Cheap; part of every full run.
    Tree,
    /// "Compiling" lines of a clean `cargo build --release` in a fresh target dir (a crate
    /// built for both host and target counts twice). Takes minutes.
    CleanBuild,
}

/// Crates compiled for ours (transport-tokio: server and clients, TLS included) and for
/// jsonrpsee with "server" and "client" (WebSocket and HTTP clients with TLS), each as the only
/// dependency of a throwaway package in a temp dir (its own lock file and target dir).
fn crate_counts(by: CountBy) -> Result<(usize, usize)> {
    fn cargo() -> Command {
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
    }
    fn package(name: &str, dep: &str) -> Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src"))?;
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\n{dep}\n\n[workspace]\n"
            ),
        )?;
        std::fs::write(dir.join("src/lib.rs"), "")?;
        Ok(dir)
    }
    fn count(dir: &std::path::Path, by: CountBy) -> Result<usize> {
        let out = match by {
            CountBy::Tree => cargo()
                .current_dir(dir)
                .args(["tree", "-e", "normal,build", "--prefix", "none"])
                .output()?,
            CountBy::CleanBuild => cargo()
                .current_dir(dir)
                .env("CARGO_TARGET_DIR", dir.join("target"))
                .args(["build", "--release"])
                .output()?,
        };
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        let n = match by {
            CountBy::Tree => {
                let text = String::from_utf8(out.stdout)?;
                let mut names: Vec<String> = text
                    .lines()
                    .filter_map(|l| {
                        let mut it = l.split_whitespace();
                        Some(format!("{} {}", it.next()?, it.next()?))
                    })
                    .collect();
                names.sort();
                names.dedup();
                names.len()
            }
            CountBy::CleanBuild => String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| l.trim_start().starts_with("Compiling "))
                .count(),
        };
        // the throwaway root package itself is not counted
        Ok(n.saturating_sub(1))
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()?;
    let ours_dir = package(
        "ours-crate-count",
        &format!(
            "transport-tokio = {{ path = {:?} }}",
            root.join("transport-tokio")
        ),
    )?;
    let theirs_dir = package(
        "jsonrpsee-crate-count",
        &format!(
            "jsonrpsee = {{ version = \"={}\", features = [\"server\", \"client\"] }}",
            jsonrpsee_version()
        ),
    )?;
    let ours = count(&ours_dir, by);
    let theirs = count(&theirs_dir, by);
    let _ = std::fs::remove_dir_all(&ours_dir);
    let _ = std::fs::remove_dir_all(&theirs_dir);
    Ok((ours?, theirs?))
}

fn add_row(rows: &mut Vec<Row>, r: Row) {
    rows.push(r);
}

fn build_rows(plan: &Plan, s: &Samples, crates: Option<(usize, usize)>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mk = |name: &str, unit, better, floor: bool, target: Option<f64>| {
        let mut r = Row::new(name, unit, better);
        r.ours = s.med(name, "ours");
        r.theirs = s.med(name, "jsonrpsee");
        if floor {
            r.floor = s.med(name, "floor");
        }
        r.target = target;
        r
    };
    let mut add = |name: &str, unit, better, floor: bool, target: Option<f64>| {
        rows.push(mk(name, unit, better, floor, target))
    };
    add(WS_LAT, "µs", Better::Lower, true, Some(0.6));
    add(WS_P99, "µs", Better::Lower, true, None);
    add(WS_TPUT, "calls/s", Better::Higher, false, Some(2.0));
    add(HTTP_LAT, "µs", Better::Lower, false, None);
    add(HTTP_P99, "µs", Better::Lower, false, None);
    add(HTTP_TPUT, "calls/s", Better::Higher, false, Some(1.3));
    add(WS_BATCH, "calls/s", Better::Higher, false, Some(2.0));
    let mem_name = format!("{MEM} ({} conns)", plan.mem_conns);
    let mut r = Row::new(mem_name, "KiB", Better::Lower);
    r.ours = s.med(MEM, "ours");
    r.theirs = s.med(MEM, "jsonrpsee");
    r.target = Some(0.5);
    add_row(&mut rows, r);
    let mut add = |name: &str, unit, better, floor: bool, target: Option<f64>| {
        rows.push(mk(name, unit, better, floor, target))
    };
    for &n in &plan.matrix_sizes {
        add(&key_rt(n), "ms/iter", Better::Lower, false, None);
    }
    for &n in &plan.matrix_batches {
        add(&key_batch(n), "µs/batch", Better::Lower, false, None);
    }
    for &n in &plan.matrix_conns {
        add(&key_conns(n), "ms", Better::Lower, false, None);
    }
    if let Some((ours, theirs)) = crates {
        let mut r = Row::new(CRATES, "crates", Better::Lower);
        r.ours = Some(ours as f64);
        r.theirs = Some(theirs as f64);
        r.target = Some(0.99);
        rows.push(r);
    }
    rows
}

/// The command that reproduces a run of `plan`.
fn command(plan: &Plan) -> String {
    let mut args = Vec::new();
    if plan.quick {
        args.push("--quick".to_string());
    } else if plan.rounds != 5 {
        args.push(format!("--rounds {}", plan.rounds));
    }
    if let Some(o) = &plan.only {
        args.push(format!("--only {o}"));
    }
    if plan.server.client_workers != 1 {
        args.push(format!("--client-workers {}", plan.server.client_workers));
    }
    if args.is_empty() {
        "cargo run --release -p bench --bin compare".into()
    } else {
        format!(
            "cargo run --release -p bench --bin compare -- {}",
            args.join(" ")
        )
    }
}

/// Runs the server-only section, prints it, and (with `out`) writes its block into `out`
/// (RESULTS.md) and README.md's Benchmarks section, keeping everything else of both files.
fn server_section(plan: &Plan, out: Option<&std::path::Path>) -> Result<bool> {
    let exe = std::env::current_exe()?;
    let section = server_only::run(&exe, &plan.server, &command(plan))?;
    println!("server-only section\n{}\n", section.header);
    println!("{}", server_only::text(&section.rows));
    for n in &section.notes {
        println!("{n}\n");
    }
    for e in &section.errors {
        println!("error: {e}");
    }
    if let Some(path) = out {
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let block = section.markdown("## Server-only: each server in its own process");
        std::fs::write(path, report::splice_block(&doc, &block, None))?;
        eprintln!("wrote the server-only block of {}", path.display());
        let readme = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let doc = std::fs::read_to_string(&readme)?;
        let block = section.markdown("### Server-only: each server in its own process");
        std::fs::write(
            &readme,
            report::splice_block(&doc, &block, Some("## Benchmarks")),
        )?;
        eprintln!("wrote the server-only block of {}", readme.display());
    }
    Ok(section.errors.is_empty())
}

fn compare(plan: Plan, out: Option<PathBuf>) -> Result<bool> {
    if plan.only.as_deref() == Some("server") {
        return server_section(&plan, out.as_deref());
    }
    let started = Instant::now();
    let date = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let load_before = loadavg();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut s = Samples::default();
    let (checked, libs) = rt.block_on(async {
        eprintln!("interop checks");
        let checked = interop::run_all().await?;
        let libs: Vec<Lib> = if bench::ours::AVAILABLE {
            Lib::BOTH.to_vec()
        } else {
            vec![Lib::Jsonrpsee]
        };
        let mut sides = Vec::new();
        for &lib in &libs {
            sides.push(side(lib).await?);
        }
        let floor = bench::servers::start_tcp_echo().await?;
        // the server-only section runs alone (`--only server`): it takes two minutes of its own
        let want = |section: &str| plan.only.as_deref().is_none_or(|o| o == section);
        if want("core") {
            run_core(&plan, &sides, floor, &mut s).await;
        }
        if want("matrix") {
            run_matrix(&plan, &sides, &mut s).await;
        }
        drop(sides);
        if want("memory") {
            run_memory(&plan, &libs, &mut s).await;
        }
        Ok::<_, bench::Error>((checked, libs))
    })?;
    rt.shutdown_timeout(Duration::from_secs(1));
    let crates = if plan.quick || plan.only.is_some() {
        None
    } else {
        eprintln!("counting crates");
        match crate_counts(CountBy::Tree) {
            Ok(c) => Some(c),
            Err(e) => {
                s.errors.push(format!("crate count: {e}"));
                None
            }
        }
    };
    let rows = build_rows(&plan, &s, crates);
    let elapsed = started.elapsed().as_secs_f64();
    let cmd = command(&plan);
    let interop_ok = checked.iter().filter(|c| c.ran).count();
    let header = format!(
        "date: {date}\nmachine: {}\ncommand: {cmd}\njsonrpsee {} (servers and clients in one process, one 2-worker tokio runtime, 127.0.0.1)\n\
         rounds: {} (matrix {}, memory {}), libraries interleaved, figures are medians of the rounds; ran {elapsed:.0} s; load average before {load_before}, after {}\n\
         interop: {interop_ok}/{} pairings passed{}",
        machine(),
        jsonrpsee_version(),
        plan.rounds,
        plan.matrix_rounds,
        plan.mem_rounds,
        loadavg(),
        checked.len(),
        if libs.contains(&Lib::Ours) { "" } else { " (our side not merged yet: jsonrpsee only)" },
    );
    println!("{header}\n");
    println!("{}", report::text(&rows));
    println!("ratio = ours / jsonrpsee; 'TCP floor' = the same request bytes echoed over raw TCP");
    for e in &s.errors {
        println!("error: {e}");
    }
    if let Some(path) = &out {
        let md = format!(
            "# Benchmark results: ours vs jsonrpsee\n\n```text\n{header}\n```\n\n{}\n\
             ratio = ours / jsonrpsee (target column: the goal of issue 9); TCP floor = the same request \
             bytes echoed over raw TCP, newline-framed, the floor no library can beat.\n",
            report::markdown(&rows)
        );
        // the server-only block of the previous run stays until the section below replaces it
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let md = match report::extract_block(&old) {
            Some(block) => report::splice_block(&md, block, None),
            None => md,
        };
        std::fs::write(path, md)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(s.errors.is_empty())
}

fn profile(lib: Option<Lib>, workload: &str, n: usize) -> Result<()> {
    // BENCH_WORKERS=1: a current-thread runtime, as the server-only section's clients run.
    let rt = bench::server_only::client_runtime(
        std::env::var("BENCH_WORKERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(2),
    )?;
    rt.block_on(async {
        let side = match lib {
            // BENCH_WS_URL / BENCH_HTTP_URL: call a server running elsewhere (for example
            // `compare serve LIB` in another process) instead of starting one in this process
            Some(lib) if std::env::var_os("BENCH_WS_URL").is_some() => {
                let ws_url = std::env::var("BENCH_WS_URL")?;
                let http_url = std::env::var("BENCH_HTTP_URL").unwrap_or_default();
                let ws = bench::connect_ws(lib, &ws_url).await?;
                let http = bench::connect_http(lib, &http_url).await?;
                Side {
                    lib,
                    _server: bench::servers::Running {
                        ws_url: ws_url.clone(),
                        http_url,
                        guard: Box::new(()),
                    },
                    ws_url,
                    ws,
                    http,
                }
            }
            Some(lib) => side(lib).await?,
            None => {
                // ours over in-process channels: the protocol stack without sockets
                let c = bench::memory_side::client()?;
                let none = bench::servers::Running {
                    ws_url: String::new(),
                    http_url: String::new(),
                    guard: Box::new(()),
                };
                Side {
                    lib: Lib::Ours,
                    _server: none,
                    ws_url: String::new(),
                    ws: c.clone(),
                    http: c,
                }
            }
        };
        let cap = Duration::from_secs(600);
        let t = Instant::now();
        match workload {
            "ws-latency" => drop(workloads::latency(&*side.ws, n, cap).await?),
            "ws-throughput" => drop(workloads::throughput(side.ws.clone(), 64, n, cap).await?),
            "http-latency" => drop(workloads::latency(&*side.http, n, cap).await?),
            "http-throughput" => drop(workloads::throughput(side.http.clone(), 64, n, cap).await?),
            "batch" => drop(workloads::batch(&*side.ws, 100, n, cap).await?),
            w if w.starts_with("matrix-batch-") => {
                // as in the matrix: the connection first carries the round trips' 1 MiB answers
                let size = w["matrix-batch-".len()..]
                    .parse()
                    .map_err(|_| "matrix-batch-SIZE")?;
                let _ = workloads::matrix_round_trip(&*side.ws, 3, 1, cap).await?;
                let _ = workloads::matrix_batch(&*side.ws, size, n, cap).await?;
            }
            w if w.starts_with("matrix-") => {
                let size = w["matrix-".len()..].parse().map_err(|_| "matrix-SIZE")?;
                let median = workloads::matrix_round_trip(&*side.ws, size, n, cap).await?;
                eprintln!("matrix-{size}: median {median:.2} ms per iteration");
            }
            // the TCP echo floor's round trips (`compare serve echo` prints its tcp= address)
            "floor-latency" => {
                let addr = std::env::var("BENCH_TCP_ADDR")
                    .map_err(|_| "floor-latency needs BENCH_TCP_ADDR (compare serve echo)")?;
                let l = workloads::floor_latency(addr.parse()?, n, cap).await?;
                eprintln!("floor-latency: median {:.1} µs", l.p50);
            }
            "memory-intense" => {
                for _ in 0..n {
                    let s = side.ws.call_str("memory_intense").await?;
                    if s.len() != bench::MIB {
                        return Err("memory_intense answered wrongly".into());
                    }
                }
            }
            // one `slow_call` (1 ms server sleep) at a time: the timer's share of the matrix
            "slow-call" => {
                let mut ms = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    let s = side.ws.call_str("slow_call").await?;
                    ms.push(t.elapsed().as_secs_f64() * 1e3);
                    if s != bench::common::SLOW_ANSWER {
                        return Err("slow_call answered wrongly".into());
                    }
                }
                eprintln!("slow-call: median {:.2} ms", bench::stats::median(&mut ms));
            }
            other => return Err(format!("unknown workload {other}").into()),
        }
        eprintln!(
            "{workload} x {n} on {}: {:?}",
            lib.map_or("ours-memory", Lib::name),
            t.elapsed()
        );
        Ok(())
    })
}

fn usage() -> ! {
    eprintln!(
        "usage: compare [--quick] [--rounds N] [--only core|matrix|memory|server] [--client-workers N] [--out FILE | --no-write]\n       compare serve ours|jsonrpsee|floor-http|echo\n       \
         compare micro [SCALE]\n       compare crates [--clean-build]\n       \
         compare profile ours|jsonrpsee|ours-memory ws-latency|ws-throughput|http-latency|http-throughput|batch|matrix-SIZE|matrix-batch-SIZE|memory-intense|slow-call N"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let lib_arg = |i: usize| {
        args.get(i)
            .and_then(|s| Lib::from_name(s))
            .unwrap_or_else(|| usage())
    };
    let result = match args.first().map(String::as_str) {
        Some("subs") => {
            let quick = args.iter().any(|a| a == "--quick");
            subscriptions::run(if quick { 1 } else { 5 }, quick)
        }
        Some("serve") => match args.get(1).and_then(|s| ServeKind::from_name(s)) {
            Some(kind) => serve_child(kind).map(|_| true),
            None => usage(),
        },
        Some("micro") => {
            let scale = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
            for (name, ns) in bench::micro::run(scale, args.get(2).map(String::as_str)) {
                println!("{name:<45} {ns:>10.0} ns");
            }
            Ok(true)
        }
        Some("compile-time") => compile_time::compare(&args[1..]).map(|_| true),
        Some("crates") => {
            let by = if args.get(1).map(String::as_str) == Some("--clean-build") {
                CountBy::CleanBuild
            } else {
                CountBy::Tree
            };
            crate_counts(by).map(|(ours, theirs)| {
                println!("crates compiled: ours (transport-tokio, TLS) {ours}, jsonrpsee {} (server+client, TLS) {theirs}", jsonrpsee_version());
                true
            })
        }
        Some("profile") => {
            let n = args
                .get(3)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage());
            let lib = if args.get(1).map(String::as_str) == Some("ours-memory") {
                None
            } else {
                Some(lib_arg(1))
            };
            profile(lib, args.get(2).map(String::as_str).unwrap_or(""), n).map(|_| true)
        }
        _ => {
            let mut quick = false;
            let mut rounds = 5;
            let mut out = None;
            let mut write = true;
            let mut only = None;
            let mut client_workers = None;
            let mut it = args.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--quick" => quick = true,
                    "--rounds" => {
                        rounds = it
                            .next()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or_else(|| usage())
                    }
                    "--out" => out = Some(PathBuf::from(it.next().unwrap_or_else(|| usage()))),
                    "--no-write" => write = false,
                    "--client-workers" => {
                        client_workers = Some(
                            it.next()
                                .and_then(|s| s.parse::<usize>().ok())
                                .filter(|&n| n > 0)
                                .unwrap_or_else(|| usage()),
                        )
                    }
                    "--only" => {
                        let section = it.next().cloned().unwrap_or_else(|| usage());
                        // the server-only section has a block of its own in RESULTS.md
                        write &= section == "server";
                        only = Some(section);
                    }
                    _ => usage(),
                }
            }
            let mut plan = if quick {
                Plan::quick()
            } else {
                Plan::full(rounds.max(1))
            };
            plan.only = only;
            if let Some(n) = client_workers {
                plan.server.client_workers = n;
            }
            if out.is_none() && write && !quick {
                out = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md"));
            }
            compare(plan, out)
        }
    };
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}
