//! The quick mode's interop checks: results asserted, timings never.

#[test]
fn clients_and_servers_of_both_libraries_interoperate() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let checked = rt.block_on(bench::interop::run_all()).expect("interop");
    for c in &checked {
        eprintln!("{} {}", if c.ran { "ok  " } else { "skip" }, c.pairing);
    }
    let ran = checked.iter().filter(|c| c.ran).count();
    if bench::ours::AVAILABLE {
        assert_eq!(
            ran,
            checked.len(),
            "every pairing must run once our side is wired in"
        );
    } else {
        assert!(ran >= 2, "at least jsonrpsee against itself");
    }
}
