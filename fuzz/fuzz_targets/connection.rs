#![no_main]
//! See `jsonrpc_proto::fuzzing::connection_target` for the invariants checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| jsonrpc_proto::fuzzing::connection_target(data));
