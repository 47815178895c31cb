//! Replays every file of the fuzz corpus (`fuzz/corpus/<target>/`) through the same target
//! functions the cargo-fuzz targets call, so CI checks them on the stable toolchain.

use std::path::PathBuf;

use jsonrpc_proto::fuzzing;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    for file in files {
        let data = std::fs::read(&file).expect("readable corpus file");
        let result = std::panic::catch_unwind(|| f(&data));
        assert!(result.is_ok(), "{target}: {} fails", file.display());
    }
}

#[test]
fn parse_corpus() {
    replay("parse", fuzzing::parse_target);
}

#[test]
fn codec_line_corpus() {
    replay("codec_line", fuzzing::codec_line_target);
}

#[test]
fn codec_content_length_corpus() {
    replay("codec_content_length", fuzzing::codec_content_length_target);
}

#[test]
fn connection_corpus() {
    replay("connection", fuzzing::connection_target);
}
