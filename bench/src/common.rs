//! What every module of the bench crate shares: which library a figure is about, the error type,
//! and the constants of the workloads. It imports no other module of the crate, so the modules
//! above it never need to import each other (or the crate root) for these.

/// Which implementation a measurement is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    /// This workspace: `jsonrpc-proto` + `transport-tokio`.
    Ours,
    /// jsonrpsee from crates.io.
    Jsonrpsee,
}

impl Lib {
    /// Both libraries, ours first.
    pub const BOTH: [Lib; 2] = [Lib::Ours, Lib::Jsonrpsee];

    /// Short name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Lib::Ours => "ours",
            Lib::Jsonrpsee => "jsonrpsee",
        }
    }

    /// Parses [`Lib::name`].
    pub fn from_name(s: &str) -> Option<Lib> {
        match s {
            "ours" => Some(Lib::Ours),
            "jsonrpsee" => Some(Lib::Jsonrpsee),
            _ => None,
        }
    }
}

/// The error type of the benchmark harness (it only reports, it never recovers).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One mebibyte: the size of the `memory_intense` answer of jsonrpsee's benchmark.
pub const MIB: usize = 1024 * 1024;
/// The three methods of jsonrpsee's round-trip matrix: fast, 1 MiB answer, 1 ms sleep.
pub const MATRIX_METHODS: [&str; 3] = ["fast_call", "memory_intense", "slow_call"];
/// What `slow_call` answers after sleeping 1 ms.
pub const SLOW_ANSWER: &str = "slow call";
/// What `fast_call` answers.
pub const FAST_ANSWER: &str = "lo";

/// The expected answer of one matrix method (checked by the interop tests, and cheaply in the
/// benchmark so that a wrong answer can never pass as a fast one).
pub fn expected_len(method: &str) -> usize {
    match method {
        "fast_call" => FAST_ANSWER.len(),
        "memory_intense" => MIB,
        _ => SLOW_ANSWER.len(),
    }
}
