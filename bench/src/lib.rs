//! Side-by-side benchmark of this toolkit against jsonrpsee, with a raw TCP echo as the floor.
//!
//! The `compare` binary runs every workload of the benchmark issue in one process (servers and
//! clients on 127.0.0.1, one tokio runtime), interleaving the two libraries round by round and
//! reporting medians; its server-only section ([`server_only`]) runs each server in a child
//! process of its own and drives it with wrk and each library's client. `compare --quick` is a
//! smoke run; `cargo test -p bench` runs the interop
//! checks only (results asserted, timings never).

pub mod child;
pub mod client;
pub mod common;
pub mod floor_http;
pub mod interop;
pub mod memory;
pub mod memory_side;
pub mod micro;
pub mod ours;
pub mod ours_stack;
pub mod report;
pub mod server_only;
pub mod servers;
pub mod sides;
pub mod stats;
pub mod sysinfo;
pub mod workloads;
pub mod wrk;

pub use common::*;
pub use sides::{connect_http, connect_ws, start_server};
