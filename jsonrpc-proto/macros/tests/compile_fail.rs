//! The mistakes `#[rpc]` explains at compile time (expected messages in tests/ui/*.stderr).

#[test]
fn common_mistakes_give_clear_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
