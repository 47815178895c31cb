//! wrk, the third-party HTTP load generator (Debian package `wrk`), driving a server in another
//! process with `bench/wrk/add.lua`, and the parsing of its report.

use std::path::PathBuf;
use std::process::Command;

use crate::common::Result;

/// `bench/wrk/add.lua`: POSTs `add` `[1,2]`, id 1.
pub const ADD_LUA: &str = include_str!("../wrk/add.lua");
/// `bench/wrk/add_check.lua`: the same, checking every answer.
pub const ADD_CHECK_LUA: &str = include_str!("../wrk/add_check.lua");

/// What one wrk run reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// "N requests in ..."
    pub requests: u64,
    /// "Requests/sec: X"
    pub per_sec: f64,
    /// "Non-2xx or 3xx responses: N" (0 when absent).
    pub non_2xx: u64,
    /// connect + read + write + timeout of "Socket errors: ..." (0 when absent).
    pub socket_errors: u64,
    /// "CHECK good=N bad=M" of add_check.lua, when it ran.
    pub checked: Option<(u64, u64)>,
    /// "FIRST_BAD ..." of add_check.lua: the first wrong answer.
    pub first_bad: Option<String>,
}

impl Report {
    /// Parses wrk's standard output.
    pub fn parse(out: &str) -> Result<Report> {
        let mut r = Report::default();
        let mut saw_rate = false;
        for line in out.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("Requests/sec:") {
                r.per_sec = rest.trim().parse()?;
                saw_rate = true;
            } else if let Some(rest) = t.strip_prefix("Non-2xx or 3xx responses:") {
                r.non_2xx = rest.trim().parse()?;
            } else if let Some(rest) = t.strip_prefix("Socket errors:") {
                for part in rest.split(',') {
                    let n = part
                        .split_whitespace()
                        .last()
                        .ok_or("empty socket errors")?;
                    r.socket_errors += n.parse::<u64>()?;
                }
            } else if let Some(rest) = t.strip_prefix("CHECK ") {
                let mut good = None;
                let mut bad = None;
                for kv in rest.split_whitespace() {
                    match kv.split_once('=') {
                        Some(("good", v)) => good = Some(v.parse()?),
                        Some(("bad", v)) => bad = Some(v.parse()?),
                        _ => return Err(format!("bad CHECK line {t:?}").into()),
                    }
                }
                r.checked = Some((
                    good.ok_or("CHECK without good")?,
                    bad.ok_or("CHECK without bad")?,
                ));
            } else if let Some(rest) = t.strip_prefix("FIRST_BAD ") {
                r.first_bad = Some(rest.to_string());
            } else if let Some((n, rest)) = t.split_once(" requests in ") {
                if rest.contains(" read") {
                    r.requests = n.trim().parse()?;
                }
            }
        }
        if !saw_rate {
            return Err(format!("no Requests/sec line in wrk's output: {out:?}").into());
        }
        Ok(r)
    }

    /// An error unless every request got a 2xx answer without socket errors (and, when the
    /// answers were checked, each was right).
    pub fn ensure_clean(&self) -> Result<()> {
        if self.requests == 0 {
            return Err("wrk completed no request".into());
        }
        if self.non_2xx > 0 || self.socket_errors > 0 {
            return Err(format!(
                "wrk: {} non-2xx answers, {} socket errors in {} requests",
                self.non_2xx, self.socket_errors, self.requests
            )
            .into());
        }
        if let Some((good, bad)) = self.checked {
            if bad > 0 || good == 0 {
                return Err(format!(
                    "wrong answers: {bad} bad, {good} good; first bad: {}",
                    self.first_bad.as_deref().unwrap_or("?")
                )
                .into());
            }
        }
        Ok(())
    }
}

/// The scripts written to a temp dir once (wrk reads its script from a file).
pub struct Scripts {
    dir: PathBuf,
    /// add.lua
    pub add: PathBuf,
    /// add_check.lua
    pub check: PathBuf,
}

impl Scripts {
    /// Writes both scripts.
    pub fn write() -> Result<Scripts> {
        let dir = std::env::temp_dir().join(format!("bench-wrk-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let add = dir.join("add.lua");
        let check = dir.join("add_check.lua");
        std::fs::write(&add, ADD_LUA)?;
        std::fs::write(&check, ADD_CHECK_LUA)?;
        Ok(Scripts { dir, add, check })
    }
}

impl Drop for Scripts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `wrk` can be run.
pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Whether `taskset` (util-linux) is on PATH, for the pinned rows.
pub fn taskset_available() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Sets the CPU affinity of every thread of process `pid` (`taskset -a -p -c CPUS PID`).
pub fn pin_process(pid: u32, cpus: &str) -> Result<()> {
    taskset(&["-a", "-p", "-c", cpus, &pid.to_string()]).map(drop)
}

/// The CPU affinity mask of process `pid` (its main thread's), as `taskset -p PID` prints it
/// (hexadecimal, `3` for CPUs 0 and 1).
pub fn process_affinity(pid: u32) -> Result<String> {
    let out = taskset(&["-p", &pid.to_string()])?;
    // "pid 123's current affinity mask: 3"
    match out.trim().rsplit_once(": ") {
        Some((_, mask)) if !mask.is_empty() => Ok(mask.to_string()),
        _ => Err(format!("taskset -p {pid}: unexpected output {out:?}").into()),
    }
}

/// Gives every thread of process `pid` the affinity mask `mask` ([`process_affinity`]).
pub fn restore_affinity(pid: u32, mask: &str) -> Result<()> {
    taskset(&["-a", "-p", mask, &pid.to_string()]).map(drop)
}

fn taskset(args: &[&str]) -> Result<String> {
    let out = Command::new("taskset").args(args).output()?;
    if !out.status.success() {
        return Err(format!(
            "taskset {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `wrk -t1 -cCONNS -dSECSs -s SCRIPT URL`, blocking; the parsed report. With `cpus`
/// (a `taskset -c` list such as `"1"`), wrk runs pinned to those CPUs.
pub fn run(
    script: &std::path::Path,
    url: &str,
    conns: usize,
    secs: u32,
    cpus: Option<&str>,
) -> Result<Report> {
    let mut cmd = match cpus {
        Some(list) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(list).arg("wrk");
            c
        }
        None => Command::new("wrk"),
    };
    let out = cmd
        .arg("-t1")
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(script)
        .arg(url)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {stdout} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Report::parse(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_process_gets_its_own_affinity_back() {
        if !taskset_available() || crate::sysinfo::cores() < 2 {
            eprintln!("skipped: needs taskset and two CPUs");
            return;
        }
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
        let pid = child.id();
        let before = process_affinity(pid).expect("affinity");
        pin_process(pid, "0").expect("pin");
        assert_eq!(process_affinity(pid).expect("affinity"), "1");
        restore_affinity(pid, &before).expect("restore");
        assert_eq!(process_affinity(pid).expect("affinity"), before);
        let _ = child.kill();
        let _ = child.wait();
    }
}
