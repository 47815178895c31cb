#![no_main]
//! See `jsonrpc_proto::fuzzing::parse_target` for the invariants checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| jsonrpc_proto::fuzzing::parse_target(data));
