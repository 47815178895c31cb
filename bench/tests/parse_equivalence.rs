//! Pins what `jsonrpc_proto::parse` answers for edge cases (valid and invalid UTF-8 in every
//! position), so a parser speed-up cannot change behaviour: the expected texts were recorded
//! from the parser before the speed-up.

include!("data/parse_cases.rs");

fn show(input: &[u8]) -> String {
    format!("{:?}", jsonrpc_proto::parse(input))
}

#[test]
fn parse_results_are_unchanged() {
    let expected: Vec<&str> = include_str!("data/parse_expected.txt").lines().collect();
    let got: Vec<String> = cases().iter().map(|c| show(c)).collect();
    if std::env::var_os("RECORD_PARSE_EXPECTED").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/parse_expected.txt"),
            got.join("\n") + "\n",
        )
        .unwrap();
        return;
    }
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "case {i}: {:?}", String::from_utf8_lossy(&cases()[i]));
    }
}
