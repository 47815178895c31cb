//! The server-only section of `compare`: each server in a child process of its own (ours on
//! transport-tokio, jsonrpsee, and the floors: [`crate::floor_http`] for HTTP, the raw TCP echo
//! for WebSocket), driven from outside by wrk (HTTP) and by each library's WebSocket client in
//! this process, so a figure is about the server and the client is the same on both sides.
//! Rounds interleave ours, jsonrpsee and the floor (the order rotates each round); the table
//! gives medians and the ratios against jsonrpsee and against the floor.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::child::{ServeKind, ServerChild};
use crate::client::RpcClient;
use crate::common::{Lib, Result};
use crate::memory;
use crate::report::Better;
use crate::stats::median;
use crate::sysinfo;
use crate::workloads;
use crate::wrk;

/// How much to do.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Rounds; every figure is the median of this many samples.
    pub rounds: usize,
    /// Seconds per wrk run.
    pub wrk_secs: u32,
    /// wrk `-c` values.
    pub wrk_conns: Vec<usize>,
    /// Sequential calls per WS latency sample.
    pub lat_calls: usize,
    /// Calls per WS 64-in-flight sample.
    pub tput_calls: usize,
    /// Batches per WS batch sample.
    pub batch_reps: usize,
    /// Wall-clock cap of one WS sample.
    pub cap: Duration,
    /// Idle WS connections for the memory row.
    pub mem_conns: usize,
    /// Rounds of the memory row.
    pub mem_rounds: usize,
    /// Worker threads of the clients' tokio runtime: 1 by default (a current-thread runtime:
    /// callers and connection tasks on one thread), as wrk runs here with one thread (`-t1`).
    /// A load generator must not be what bounds a server's figure: with two workers, our
    /// client's 64 calling tasks are handed between the threads on every answer (work
    /// stealing) and its process, not the server, sets the 64-in-flight rate
    /// (`--client-workers 2` measures that).
    pub client_workers: usize,
    /// Also run wrk -c1 and the WS latency with the server and the load (wrk, or this
    /// process's clients) pinned ([`Pin`]): the unpinned figures of one call at a time are
    /// mostly where the scheduler puts the two processes.
    pub pinned_rows: bool,
}

/// Where the pinned rows put the server (every thread) and wrk or the clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin {
    /// Both on CPU 0: every hand-over is a context switch on one CPU.
    Same,
    /// Server on CPU 0, wrk (or the clients) on CPU 1: every hand-over wakes the other CPU.
    Apart,
}

impl Pin {
    /// Both placements.
    pub const BOTH: [Pin; 2] = [Pin::Same, Pin::Apart];

    /// `taskset -c` lists: (server, wrk or the clients).
    fn cpus(self) -> (&'static str, &'static str) {
        match self {
            Pin::Same => ("0", "0"),
            Pin::Apart => ("0", "1"),
        }
    }
}

impl Plan {
    /// The default: about two minutes.
    pub fn full(rounds: usize) -> Plan {
        Plan {
            rounds,
            wrk_secs: 2,
            wrk_conns: vec![1, 64, 256],
            lat_calls: 3_000,
            tput_calls: 40_000,
            batch_reps: 300,
            cap: Duration::from_millis(1_000),
            mem_conns: 1_000,
            mem_rounds: 3,
            client_workers: 1,
            pinned_rows: true,
        }
    }

    /// A smoke run of some seconds.
    pub fn quick() -> Plan {
        Plan {
            rounds: 1,
            wrk_secs: 1,
            wrk_conns: vec![64],
            lat_calls: 200,
            tput_calls: 2_000,
            batch_reps: 10,
            cap: Duration::from_millis(300),
            mem_conns: 100,
            mem_rounds: 1,
            client_workers: 1,
            pinned_rows: false,
        }
    }
}

/// What a row's target compares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// ours / jsonrpsee, in the row's better direction.
    VsTheirs(f64),
    /// ours / floor, in the row's better direction (for a time: at most this).
    VsFloor(f64),
    /// Our figure itself at most this.
    AtMost(f64),
}

/// One row of the server-only table.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// Unit of the figures.
    pub unit: &'static str,
    /// Direction.
    pub better: Better,
    /// Medians; None when not measured (or every sample failed).
    pub ours: Option<f64>,
    /// jsonrpsee's median.
    pub theirs: Option<f64>,
    /// The floor's median.
    pub floor: Option<f64>,
    /// Which floor.
    pub floor_name: &'static str,
    /// Issue 18's target, if the row has one.
    pub target: Option<Target>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() && b.is_finite() => Some(a / b),
        _ => None,
    }
}

impl Row {
    /// ours / jsonrpsee.
    pub fn vs_theirs(&self) -> Option<f64> {
        ratio(self.ours, self.theirs)
    }

    /// ours / floor.
    pub fn vs_floor(&self) -> Option<f64> {
        ratio(self.ours, self.floor)
    }

    /// Whether the target is met (None: no target or no figure).
    pub fn met(&self) -> Option<bool> {
        let ok = |r: f64, t: f64| match self.better {
            Better::Higher => r >= t,
            Better::Lower => r <= t,
        };
        Some(match self.target? {
            Target::VsTheirs(t) => ok(self.vs_theirs()?, t),
            Target::VsFloor(t) => ok(self.vs_floor()?, t),
            Target::AtMost(t) => self.ours? <= t,
        })
    }

    fn target_text(&self) -> String {
        let dir = match self.better {
            Better::Higher => ">=",
            Better::Lower => "<=",
        };
        match self.target {
            None => String::new(),
            Some(Target::VsTheirs(t)) => format!("vs jsonrpsee {dir} {t}x"),
            Some(Target::VsFloor(t)) => format!("vs floor {dir} {t}x"),
            Some(Target::AtMost(t)) => format!("<= {t} {}", self.unit),
        }
    }

    fn cells(&self) -> [String; 9] {
        let x = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}x"));
        [
            self.name.clone(),
            self.unit.to_string(),
            crate::report::num(self.ours),
            crate::report::num(self.theirs),
            x(self.vs_theirs()),
            if self.floor.is_some() {
                format!("{} ({})", crate::report::num(self.floor), self.floor_name)
            } else {
                "-".into()
            },
            x(self.vs_floor()),
            self.target_text(),
            match self.met() {
                Some(true) => "yes".into(),
                Some(false) => "NO".into(),
                None => String::new(),
            },
        ]
    }
}

const HEADER: [&str; 9] = [
    "workload (server in a child process)",
    "unit",
    "ours",
    "jsonrpsee",
    "ours/jsonrpsee",
    "floor",
    "ours/floor",
    "target (issue 18)",
    "met",
];

/// The table as markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    );
    for r in rows {
        let _ = writeln!(out, "| {} |", r.cells().join(" | "));
    }
    out
}

/// The table as aligned plain text.
pub fn text(rows: &[Row]) -> String {
    let all: Vec<[String; 9]> = std::iter::once(HEADER.map(String::from))
        .chain(rows.iter().map(Row::cells))
        .collect();
    let mut w = [0usize; 9];
    for r in &all {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &all {
        for (i, c) in r.iter().enumerate() {
            let pad = " ".repeat(w[i] - c.chars().count());
            if !(2..7).contains(&i) {
                let _ = write!(out, "{c}{pad}  ");
            } else {
                let _ = write!(out, "{pad}{c}  ");
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out
}

/// Samples per (row, who), who = "ours" | "jsonrpsee" | "floor".
#[derive(Default)]
struct Samples {
    by_key: HashMap<(String, &'static str), Vec<f64>>,
    errors: Vec<String>,
}

impl Samples {
    fn record(&mut self, key: &str, who: &'static str, r: Result<f64>) {
        match r {
            Ok(v) => self
                .by_key
                .entry((key.to_string(), who))
                .or_default()
                .push(v),
            Err(e) => {
                let msg = format!("{key} [{who}]: {e}");
                eprintln!("error: {msg}");
                self.errors.push(msg);
            }
        }
    }

    fn med(&self, key: &str, who: &'static str) -> Option<f64> {
        let mut v = self.by_key.get(&(key.to_string(), who))?.clone();
        Some(median(&mut v))
    }
}

/// The three servers of a workload, in the order of round `round` (rotated each round).
fn order(round: usize) -> [&'static str; 3] {
    let base = ["ours", "jsonrpsee", "floor"];
    [0, 1, 2].map(|i| base[(i + round) % 3])
}

fn key_wrk(c: usize) -> String {
    format!("HTTP wrk -t1 -c{c}, add")
}
fn key_wrk_pinned(pin: Pin) -> String {
    match pin {
        Pin::Same => "HTTP wrk -t1 -c1, add, server and wrk pinned to CPU 0".into(),
        Pin::Apart => "HTTP wrk -t1 -c1, add, server pinned to CPU 0, wrk to CPU 1".into(),
    }
}
fn key_lat(client: Lib) -> String {
    format!("WS latency median, {} client", client.name())
}
fn key_lat_pinned(client: Lib, pin: Pin) -> String {
    let c = client.name();
    match pin {
        Pin::Same => format!("WS latency median, {c} client, server and client pinned to CPU 0"),
        Pin::Apart => {
            format!("WS latency median, {c} client, server pinned to CPU 0, client to CPU 1")
        }
    }
}
fn key_tput(client: Lib) -> String {
    format!("WS 64 in flight, 1 conn, {} client", client.name())
}
fn key_batch(client: Lib) -> String {
    format!("WS batch of 100 add, {} client", client.name())
}
const KEY_MEM: &str = "idle WS conn, server RSS";

/// What the batch rows allow at best: a batch is one request frame and one answer frame, one
/// at a time, so the server's CPU time per batch is on the path of every batch. Were our
/// server to cost only what the echo floor's does per call (no JSON at all), the calls per
/// second of our server would be `1 / (1/ours - (cpu_ours - cpu_echo))`: the ratio against
/// jsonrpsee that a server with the same client could reach at most on this machine.
pub fn bounds(rows: &[Row]) -> Vec<String> {
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    let mut out = Vec::new();
    for client in Lib::BOTH {
        let key = key_batch(client);
        let (Some(rate), Some(cpu)) = (find(&key), find(&cpu_key(&key))) else {
            continue;
        };
        let (Some(ours), Some(theirs), Some(cpu_ours), Some(cpu_echo)) =
            (rate.ours, rate.theirs, cpu.ours, cpu.floor)
        else {
            continue;
        };
        let us_ours = 1e6 / ours;
        let best = us_ours - (cpu_ours - cpu_echo).max(0.0);
        if best <= 0.0 {
            continue;
        }
        let at_most = (1e6 / best) / theirs;
        out.push(format!(
            "Bound of the row \"{key}\": {us_ours:.2} µs per call, {cpu_ours:.2} of them our \
             server's CPU against the echo's {cpu_echo:.2}; a server with no JSON work at all \
             (the echo's cost) would take {best:.2} µs per call with this client: at most \
             {at_most:.2}x jsonrpsee's server in this run."
        ));
    }
    out
}

/// The finished section.
pub struct Section {
    /// date, machine, versions, command, load averages.
    pub header: String,
    /// The table.
    pub rows: Vec<Row>,
    /// What the run's figures bound ([`bounds`]).
    pub notes: Vec<String>,
    /// Failures (a row without figures says why here).
    pub errors: Vec<String>,
}

impl Section {
    /// The block written into RESULTS.md (markers included), under `heading`.
    pub fn markdown(&self, heading: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", crate::report::BLOCK_BEGIN);
        let _ = writeln!(out, "{heading}\n");
        let _ = writeln!(out, "```text\n{}\n```\n", self.header);
        out.push_str(&markdown(&self.rows));
        for n in &self.notes {
            let _ = writeln!(out, "\n{n}");
        }
        out.push_str(
            "\nours/jsonrpsee and ours/floor are ratios of the medians (rates: higher is better, \
             times and memory: lower is better). Floors: `floor-http` is a keep-alive HTTP/1.1 \
             server that only finds each request's end and writes a fixed correct answer \
             (`bench/src/floor_http.rs`); `echo` is the raw TCP echo of the same request bytes, \
             newline-framed (64 in flight: pipelined on one connection; batch: the batch's bytes \
             as one line). The \"server CPU per call\" rows: user + system CPU time of the \
             server's process during the sample (/proc/PID/task/*/schedstat) over the calls it answered, \
             the server's own cost whatever the load generator and the machine's other load \
             do. Every server is its own child process with 2 tokio workers; wrk \
             answers were checked on a sample (`bench/wrk/add_check.lua`), every WS answer is \
             checked. Instruction counts of one server under the same load: \
             `bench/profile/server-http.sh` and `server-ws.sh` (callgrind). \
             The pinned rows (wrk -c1, WS latency) set the CPU affinity of every thread of the \
             server's process and of wrk (or of the clients' process) for the sample only \
             (`taskset`): with one call at a time, every request and every answer hands the \
             turn to the other process, and where the scheduler puts \
             the two sets the figure more than either server does (on one CPU each hand-over \
             is a context switch; across CPUs it wakes the other one, an IPI, costly in a VM). \
             Run alone (not part of the default run): \
             `cargo run --release -p bench --bin compare -- --only server` (needs `wrk`; \
             `--quick` for a smoke run). In a WS row both servers are driven by the client the \
             row names, over one connection each. The figures are the servers' on this \
             machine: compare ratios, not figures across runs.\n",
        );
        for e in &self.errors {
            let _ = writeln!(out, "\nerror: {e}");
        }
        let _ = writeln!(out, "{}", crate::report::BLOCK_END);
        out
    }
}

/// The on-CPU time in nanoseconds of the first field of a /proc/PID/task/TID/schedstat text.
pub fn schedstat_ns(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// Reads a server child's CPU time (user + system, every thread, nanosecond resolution from
/// /proc/PID/task/*/schedstat) before and after a sample.
struct Cpu;

impl Cpu {
    fn new() -> Cpu {
        Cpu
    }

    /// Seconds on CPU so far of the live threads of `pid`.
    fn now(&self, pid: u32) -> Option<f64> {
        let mut ns = 0u64;
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
            let path = task.ok()?.path().join("schedstat");
            // a thread that just ended has no file any more: its time is lost, not an error
            if let Ok(text) = std::fs::read_to_string(path) {
                ns += schedstat_ns(&text)?;
            }
        }
        Some(ns as f64 / 1e9)
    }
}

/// Runs one sample against the server process `pid`; records the rate under `key` and the
/// server's CPU microseconds per call under `cpu_key(key)` (calls = rate x elapsed).
async fn sample<F>(s: &mut Samples, cpu: &Cpu, pid: u32, key: &str, who: &'static str, f: F)
where
    F: std::future::Future<Output = Result<f64>>,
{
    let c0 = cpu.now(pid);
    let t = Instant::now();
    let r = f.await;
    let elapsed = t.elapsed().as_secs_f64();
    let c1 = cpu.now(pid);
    if let (Ok(rate), Some(c0), Some(c1)) = (&r, c0, c1) {
        let calls = rate * elapsed;
        if calls > 0.0 {
            s.record(&cpu_key(key), who, Ok((c1 - c0) * 1e6 / calls));
        }
    }
    s.record(key, who, r);
}

fn cpu_key(key: &str) -> String {
    format!("{key}: server CPU per call")
}

struct Children {
    ours: ServerChild,
    theirs: ServerChild,
    floor_http: ServerChild,
    echo: ServerChild,
}

impl Children {
    fn server(&self, who: &str) -> &ServerChild {
        match who {
            "ours" => &self.ours,
            "jsonrpsee" => &self.theirs,
            _ => &self.floor_http,
        }
    }

    /// The server process of a WebSocket workload (the floor: the TCP echo).
    fn ws_server(&self, who: &str) -> &ServerChild {
        match who {
            "floor" => &self.echo,
            other => self.server(other),
        }
    }
}

async fn wrk_run(
    script: &Path,
    url: &str,
    conns: usize,
    secs: u32,
    cpus: Option<&'static str>,
) -> Result<wrk::Report> {
    let script = script.to_path_buf();
    let url = url.to_string();
    tokio::task::spawn_blocking(move || wrk::run(&script, &url, conns, secs, cpus)).await?
}

/// Runs `work` with every thread of process `pid` pinned to `cpus`; the process gets the
/// affinity it had before again afterwards, whatever `work` gave. (Not "every CPU" by count:
/// the count this process sees while it is pinned itself is its pinned set, which left it,
/// and the wrk processes it started, on CPU 0 for the rest of the run.)
async fn pinned_to<T>(
    pid: u32,
    cpus: &str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let before = wrk::process_affinity(pid)?;
    wrk::pin_process(pid, cpus)?;
    let r = work.await;
    let restored = wrk::restore_affinity(pid, &before);
    let r = r?;
    restored?;
    Ok(r)
}

/// One wrk -c1 sample with the server child `pid` and wrk pinned as `pin` says.
async fn pinned_c1(script: &Path, url: &str, pid: u32, pin: Pin, secs: u32) -> Result<f64> {
    let (server_cpus, wrk_cpus) = pin.cpus();
    let r = pinned_to(
        pid,
        server_cpus,
        wrk_run(script, url, 1, secs, Some(wrk_cpus)),
    )
    .await?;
    r.ensure_clean()?;
    Ok(r.per_sec)
}

/// Runs `work` with the server child `pid` and this process (the clients) pinned as `pin`
/// says (the clients in wrk's place).
async fn pinned<T>(
    pid: u32,
    pin: Pin,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let (server_cpus, client_cpus) = pin.cpus();
    let clients = pinned_to(std::process::id(), client_cpus, work);
    pinned_to(pid, server_cpus, clients).await
}

async fn run_async(exe: &Path, plan: &Plan, s: &mut Samples) -> Result<()> {
    let kids = Children {
        ours: ServerChild::spawn(exe, ServeKind::Lib(Lib::Ours)).await?,
        theirs: ServerChild::spawn(exe, ServeKind::Lib(Lib::Jsonrpsee)).await?,
        floor_http: ServerChild::spawn(exe, ServeKind::FloorHttp).await?,
        echo: ServerChild::spawn(exe, ServeKind::Echo).await?,
    };
    let echo: std::net::SocketAddr = kids.echo.ready.tcp_addr.parse()?;
    let cpu = Cpu::new();
    let have_wrk = wrk::available();
    let scripts = wrk::Scripts::write()?;
    let can_pin = wrk::taskset_available() && sysinfo::cores() >= 2;
    let pin_rows = have_wrk && plan.pinned_rows && can_pin;
    let pin_lat = plan.pinned_rows && can_pin;
    if plan.pinned_rows && !can_pin {
        s.errors
            .push("taskset or a second CPU missing: pinned rows skipped".into());
    }
    if !have_wrk {
        s.errors
            .push("wrk not found (apt-get install wrk): HTTP rows skipped".into());
    } else {
        // every HTTP server's answers checked on a sample before the timed runs
        for who in ["ours", "jsonrpsee", "floor"] {
            let url = &kids.server(who).ready.http_url;
            let r = wrk_run(&scripts.check, url, 4, 1, None).await;
            match r.and_then(|r| r.ensure_clean().map(|_| r)) {
                Ok(r) => eprintln!("wrk sample of {who}: {:?} answers right", r.checked),
                Err(e) => s.errors.push(format!("wrk check of {who}: {e}")),
            }
        }
    }
    // one WebSocket connection per (client library, server library), reused by every round
    let mut clients: HashMap<(&'static str, &'static str), Arc<dyn RpcClient>> = HashMap::new();
    for client in Lib::BOTH {
        for server in ["ours", "jsonrpsee"] {
            let url = &kids.server(server).ready.ws_url;
            clients.insert(
                (client.name(), server),
                crate::sides::connect_ws(client, url).await?,
            );
        }
    }
    for round in 0..plan.rounds {
        eprintln!("server-only round {}/{}", round + 1, plan.rounds);
        let who3 = order(round);
        if have_wrk {
            for &c in &plan.wrk_conns {
                for who in who3 {
                    let child = kids.server(who);
                    let url = &child.ready.http_url;
                    let run = async {
                        let r = wrk_run(&scripts.add, url, c, plan.wrk_secs, None).await?;
                        r.ensure_clean()?;
                        Ok(r.per_sec)
                    };
                    sample(s, &cpu, child.pid(), &key_wrk(c), who, run).await;
                }
            }
            if pin_rows {
                for pin in Pin::BOTH {
                    for who in who3 {
                        let child = kids.server(who);
                        let (url, pid) = (&child.ready.http_url, child.pid());
                        let run = pinned_c1(&scripts.add, url, pid, pin, plan.wrk_secs);
                        sample(s, &cpu, pid, &key_wrk_pinned(pin), who, run).await;
                    }
                }
            }
        }
        for client in Lib::BOTH {
            for who in who3 {
                let r = if who == "floor" {
                    workloads::floor_latency(echo, plan.lat_calls, plan.cap).await
                } else {
                    let c = &clients[&(client.name(), who)];
                    workloads::latency(&**c, plan.lat_calls, plan.cap).await
                };
                s.record(&key_lat(client), who, r.map(|l| l.p50));
            }
            if pin_lat {
                for pin in Pin::BOTH {
                    for who in who3 {
                        let pid = kids.ws_server(who).pid();
                        let r = pinned(pid, pin, async {
                            if who == "floor" {
                                workloads::floor_latency(echo, plan.lat_calls, plan.cap).await
                            } else {
                                let c = &clients[&(client.name(), who)];
                                workloads::latency(&**c, plan.lat_calls, plan.cap).await
                            }
                        })
                        .await;
                        s.record(&key_lat_pinned(client, pin), who, r.map(|l| l.p50));
                    }
                }
            }
            for who in who3 {
                let pid = kids.ws_server(who).pid();
                let run = async {
                    if who == "floor" {
                        workloads::floor_throughput(echo, 64, plan.tput_calls, plan.cap).await
                    } else {
                        let c = clients[&(client.name(), who)].clone();
                        workloads::throughput(c, 64, plan.tput_calls, plan.cap).await
                    }
                };
                sample(s, &cpu, pid, &key_tput(client), who, run).await;
            }
            for who in who3 {
                let pid = kids.ws_server(who).pid();
                let run = async {
                    if who == "floor" {
                        workloads::floor_batch(echo, 100, plan.batch_reps, plan.cap).await
                    } else {
                        let c = &clients[&(client.name(), who)];
                        workloads::batch(&**c, 100, plan.batch_reps, plan.cap).await
                    }
                };
                sample(s, &cpu, pid, &key_batch(client), who, run).await;
            }
        }
    }
    drop(clients);
    drop(kids);
    for round in 0..plan.mem_rounds {
        eprintln!("server-only memory round {}/{}", round + 1, plan.mem_rounds);
        let libs = if round % 2 == 0 {
            [Lib::Ours, Lib::Jsonrpsee]
        } else {
            [Lib::Jsonrpsee, Lib::Ours]
        };
        for lib in libs {
            let r = memory::per_connection_kib(exe, lib, plan.mem_conns).await;
            s.record(KEY_MEM, lib.name(), r);
        }
    }
    Ok(())
}

fn rows(plan: &Plan, s: &Samples) -> Vec<Row> {
    let row = |name: String, unit, better, floor_name, target| Row {
        ours: s.med(&name, "ours"),
        theirs: s.med(&name, "jsonrpsee"),
        floor: s.med(&name, "floor"),
        name,
        unit,
        better,
        floor_name,
        target,
    };
    let cpu_row =
        |key: &str, floor_name| row(cpu_key(key), "µs CPU", Better::Lower, floor_name, None);
    let rate = Better::Higher;
    let mut rows = Vec::new();
    for &c in &plan.wrk_conns {
        let target = (c == 64).then_some(Target::VsTheirs(1.3));
        rows.push(row(key_wrk(c), "calls/s", rate, "floor-http", target));
        rows.push(cpu_row(&key_wrk(c), "floor-http"));
    }
    if plan.pinned_rows {
        for pin in Pin::BOTH {
            rows.push(row(
                key_wrk_pinned(pin),
                "calls/s",
                rate,
                "floor-http",
                None,
            ));
            rows.push(cpu_row(&key_wrk_pinned(pin), "floor-http"));
        }
    }
    for client in Lib::BOTH {
        let target = (client == Lib::Ours).then_some(Target::VsFloor(1.1));
        rows.push(row(key_lat(client), "µs", Better::Lower, "echo", target));
        if plan.pinned_rows {
            for pin in Pin::BOTH {
                let key = key_lat_pinned(client, pin);
                rows.push(row(key, "µs", Better::Lower, "echo", None));
            }
        }
    }
    for client in Lib::BOTH {
        let target = (client == Lib::Ours).then_some(Target::VsTheirs(3.0));
        rows.push(row(key_tput(client), "calls/s", rate, "echo", target));
        rows.push(cpu_row(&key_tput(client), "echo"));
    }
    for client in Lib::BOTH {
        let target = (client == Lib::Ours).then_some(Target::VsTheirs(2.5));
        rows.push(row(key_batch(client), "calls/s", rate, "echo", target));
        rows.push(cpu_row(&key_batch(client), "echo"));
    }
    let mut mem = row(
        format!("{KEY_MEM} / conn ({} conns)", plan.mem_conns),
        "KiB",
        Better::Lower,
        "",
        Some(Target::AtMost(4.0)),
    );
    mem.ours = s.med(KEY_MEM, "ours");
    mem.theirs = s.med(KEY_MEM, "jsonrpsee");
    rows.push(mem);
    rows
}

/// The clients' runtime: with one worker, a current-thread runtime, so that a caller and its
/// connection's task run on one thread as the echo floor's client does (a multi-thread runtime
/// of one worker ran the callers on the thread of `block_on` and the connection tasks on the
/// worker: a futex wake-up each way per round trip, `strace -c` of our client under
/// `compare profile ours ws-latency 5000`: 11,330 futex calls for 5,000 calls).
pub fn client_runtime(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
}

/// Runs the section (its own runtime of [`Plan::client_workers`] for the clients in this
/// process); `exe` is this binary (the children run `exe serve KIND`), `command` the line that
/// reproduces the run.
pub fn run(exe: &Path, plan: &Plan, command: &str) -> Result<Section> {
    let started = Instant::now();
    let date = sysinfo::date();
    let load_before = sysinfo::loadavg();
    let rt = client_runtime(plan.client_workers)?;
    let mut s = Samples::default();
    if let Err(e) = rt.block_on(run_async(exe, plan, &mut s)) {
        s.errors.push(format!("server-only section: {e}"));
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    let wrk_version = sysinfo::sh("sh", &["-c", "wrk --version 2>&1 | head -1"]);
    let header = format!(
        "date: {date}\nmachine: {}\ncommand: {command}\njsonrpsee {}; {}\n\
         servers in child processes (2 tokio workers each), clients and wrk in other processes, 127.0.0.1; \
         WS clients on {}, wrk -t1\n\
         rounds: {} (memory {}), ours/jsonrpsee/floor interleaved (order rotates per round), figures are medians; \
         wrk -d{}s per sample; ran {:.0} s; load average before {load_before}, after {}",
        sysinfo::machine(),
        sysinfo::jsonrpsee_version(),
        wrk_version.split(" Copyright").next().unwrap_or(&wrk_version).trim(),
        match plan.client_workers {
            0 | 1 => "one thread (a current-thread tokio runtime)".to_owned(),
            n => format!("a {n}-worker tokio runtime"),
        },
        plan.rounds,
        plan.mem_rounds,
        plan.wrk_secs,
        started.elapsed().as_secs_f64(),
        sysinfo::loadavg(),
    );
    let rows = rows(plan, &s);
    Ok(Section {
        header,
        notes: bounds(&rows),
        rows,
        errors: s.errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_rotate_and_targets_read_the_right_ratio() {
        assert_eq!(order(0), ["ours", "jsonrpsee", "floor"]);
        assert_eq!(order(1), ["jsonrpsee", "floor", "ours"]);
        assert_eq!(order(3), order(0));
        let mut r = Row {
            name: "x".into(),
            unit: "µs",
            better: Better::Lower,
            ours: Some(55.0),
            theirs: Some(60.0),
            floor: Some(50.0),
            floor_name: "echo",
            target: Some(Target::VsFloor(1.1)),
        };
        assert_eq!(r.met(), Some(true));
        r.ours = Some(56.0);
        assert_eq!(r.met(), Some(false));
        r.target = Some(Target::VsTheirs(1.0));
        assert_eq!(r.met(), Some(true));
        r.better = Better::Higher;
        assert_eq!(r.met(), Some(false));
        r.target = Some(Target::AtMost(4.0));
        r.unit = "KiB";
        r.ours = Some(3.5);
        assert_eq!(r.met(), Some(true));
        r.ours = None;
        assert_eq!(r.met(), None);
        assert!(markdown(&[r]).contains("| - |"));
    }

    #[test]
    fn the_batch_bound_takes_out_our_servers_cpu_above_the_echo() {
        let key = key_batch(Lib::Ours);
        let row = |name: String, unit, ours, theirs, floor| Row {
            name,
            unit,
            better: Better::Higher,
            ours: Some(ours),
            theirs: Some(theirs),
            floor: Some(floor),
            floor_name: "echo",
            target: None,
        };
        // ours 2 µs per call with 0.7 of server CPU, the echo 0.2: 1.5 µs at best, and
        // jsonrpsee's 4 µs per call makes that 2.67x
        let rows = [
            row(key.clone(), "calls/s", 500_000.0, 250_000.0, 1_000_000.0),
            row(cpu_key(&key), "µs CPU", 0.7, 1.8, 0.2),
        ];
        let notes = bounds(&rows);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("would take 1.50 µs per call"),
            "{}",
            notes[0]
        );
        assert!(notes[0].contains("at most 2.67x"), "{}", notes[0]);
        assert!(bounds(&rows[..1]).is_empty());
    }

    #[test]
    fn schedstat_gives_nanoseconds_on_cpu() {
        assert_eq!(schedstat_ns("123456789 5000 42\n"), Some(123_456_789));
        assert_eq!(schedstat_ns(""), None);
        assert_eq!(schedstat_ns("x 1 2"), None);
    }
}
