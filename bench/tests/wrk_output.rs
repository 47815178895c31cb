//! Parsing of wrk's report (the HTTP rows of the server-only section read it): figures and
//! error counts from real wrk 4.1 output; no timing is asserted.

use bench::wrk::Report;

const CLEAN: &str = "Running 1s test @ http://127.0.0.1:33759/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.12ms    1.21ms   9.06ms   86.42%
    Req/Sec    70.19k    12.04k   93.92k    70.00%
  69776 requests in 1.00s, 9.52MB read
Requests/sec:  69714.93
Transfer/sec:      9.51MB
CHECK good=69776 bad=0
";

const FAILING: &str = "Running 1s test @ http://127.0.0.1:4000/
  1 threads and 256 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.00ms  20.00ms   90.00%
    Req/Sec   100.00k     5.00k  110.00k    80.00%
  101531 requests in 1.05s, 10.26MB read
  Socket errors: connect 3, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  96729.35
Transfer/sec:      9.78MB
CHECK good=101524 bad=7
FIRST_BAD 500 oops
";

#[test]
fn a_clean_report_parses_and_passes() {
    let r = Report::parse(CLEAN).unwrap();
    assert_eq!(r.requests, 69776);
    assert_eq!(r.per_sec, 69714.93);
    assert_eq!(r.non_2xx, 0);
    assert_eq!(r.socket_errors, 0);
    assert_eq!(r.checked, Some((69776, 0)));
    assert_eq!(r.first_bad, None);
    r.ensure_clean().unwrap();
    // without the checking script there is no CHECK line, and that is fine too
    let plain = CLEAN.replace("CHECK good=69776 bad=0\n", "");
    let r = Report::parse(&plain).unwrap();
    assert_eq!(r.checked, None);
    r.ensure_clean().unwrap();
}

#[test]
fn errors_and_wrong_answers_fail_the_run() {
    let r = Report::parse(FAILING).unwrap();
    assert_eq!(r.requests, 101531);
    assert_eq!(r.socket_errors, 6);
    assert_eq!(r.non_2xx, 7);
    assert_eq!(r.checked, Some((101524, 7)));
    assert_eq!(r.first_bad.as_deref(), Some("500 oops"));
    assert!(r.ensure_clean().is_err());
    let only_bad_answers = FAILING
        .replace(
            "  Socket errors: connect 3, read 2, write 0, timeout 1\n",
            "",
        )
        .replace("  Non-2xx or 3xx responses: 7\n", "");
    let err = Report::parse(&only_bad_answers)
        .unwrap()
        .ensure_clean()
        .unwrap_err();
    assert!(err.to_string().contains("500 oops"), "{err}");
}

#[test]
fn output_without_a_rate_is_an_error() {
    assert!(Report::parse("unable to connect to 127.0.0.1:1 Connection refused\n").is_err());
    assert!(Report::parse("Requests/sec: lots\n").is_err());
}
