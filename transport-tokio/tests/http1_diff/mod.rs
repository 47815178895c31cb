//! The differential test of the HTTP/1.1 codec against hyper, shared by both runtimes
//! (transport-async-std includes this file): the same raw requests are sent over loopback
//! sockets to a server with the codec and to one with `http1_codec(false)` (hyper), and the
//! answers must match: the status of every response, its body, its headers (names and
//! values; see below) and whether the connection stayed open.
//!
//! Deliberate differences, left out of the comparison:
//! - the `date` header's value (the clock moves) and the order of header lines;
//! - interim `100 Continue` responses: hyper sends one whenever a request with
//!   `Expect: 100-continue` has its body read, the codec only when the body has not arrived yet
//!   (RFC 9110 §10.1.1 lets a server omit it). [`expect_then_body`] checks that both send it
//!   to a client that waits for it.
//!
//! Two cases differ on purpose and are checked for what they share:
//! - `Content-Length` with `Transfer-Encoding: chunked`: hyper drops the length and reads the
//!   chunks (200), the codec refuses the request (400, RFC 9112 §6.1 lets a server); both
//!   close after the answer, so a request smuggled behind it is never read.
//! - a chunked body over the limit: both answer 413; hyper keeps the connection and goes on
//!   reading inside the rest of the refused body (the request behind got a -32700 answer in
//!   our runs), the codec closes the connection instead.
//! - a full request, then the client's write side shut (half-close): the codec always answers
//!   (as the spec suite's half-close rules ask); hyper answers when the answer is ready before
//!   it reads the end of input, which on async-io it often is not. Its answer, when it gives
//!   one, must be the codec's.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// One response: status, headers (lower-case names, sorted, `date` left out), body.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a connection gave back: the final responses in order (1xx left out), how many 1xx
/// came, and whether the server closed the connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Exchange {
    pub answers: Vec<Answer>,
    pub interim: usize,
    /// Bytes after the last complete response (a response cut short).
    pub trailing: Vec<u8>,
    pub closed: bool,
}

/// A request that closes the connection once answered: sent after each case, its answer
/// shows the connection was still open.
pub const PROBE: &str = "POST / HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 52\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[4,5],\"id\":9}";

const ADD: &str = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;

fn post(version: &str, headers: &str, body: &str) -> String {
    format!(
        "POST / HTTP/{version}\r\nHost: a\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn chunked(headers: &str, chunks: &str) -> String {
    format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n{headers}Transfer-Encoding: chunked\r\n\r\n{chunks}")
}

/// How a case is sent.
pub enum Send {
    /// These bytes, then [`PROBE`], then read to the end.
    ThenProbe(Vec<u8>),
    /// These bytes, then the write side is shut: read to the end.
    HalfClose(Vec<u8>),
}

/// Every case: a name and how it is sent.
pub fn cases() -> Vec<(&'static str, Send)> {
    use Send::*;
    let (head, tail) = ADD.split_at(10);
    let add_chunks = format!(
        "{:x}\r\n{head}\r\n{:x};ext=1\r\n{tail}\r\n0\r\n\r\n",
        head.len(),
        tail.len()
    );
    let add_chunks = add_chunks.as_str();
    let big_head = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(600 * 1024)
    );
    let many_headers = format!(
        "POST / HTTP/1.1\r\nHost: a\r\n{}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}",
        (0..120).map(|i| format!("X-{i}: v\r\n")).collect::<String>()
    );
    let big_body = "x".repeat(2048);
    let s = |v: String| v.into_bytes();
    vec![
        ("valid", ThenProbe(s(post("1.1", "", ADD)))),
        (
            "notification: 204",
            ThenProbe(s(post(
                "1.1",
                "",
                r#"{"jsonrpc":"2.0","method":"add","params":[1,2]}"#,
            ))),
        ),
        (
            "batch",
            ThenProbe(s(post("1.1", "", &format!("[{ADD},{ADD}]")))),
        ),
        ("parse error", ThenProbe(s(post("1.1", "", "{nope")))),
        (
            "pipelined",
            ThenProbe(s(format!(
                "{}{}{}",
                post("1.1", "", ADD),
                post("1.1", "", ADD),
                post("1.1", "", ADD)
            ))),
        ),
        ("chunked", ThenProbe(s(chunked("", add_chunks)))),
        (
            "chunked with trailers",
            ThenProbe(s(chunked(
                "",
                &add_chunks.replace("0\r\n\r\n", "0\r\nX-T: 1\r\n\r\n"),
            ))),
        ),
        ("HTTP/1.0", ThenProbe(s(post("1.0", "", ADD)))),
        (
            "HTTP/1.0 keep-alive",
            ThenProbe(s(post("1.0", "Connection: keep-alive\r\n", ADD))),
        ),
        (
            "Connection: close",
            ThenProbe(s(post("1.1", "Connection: close\r\n", ADD))),
        ),
        (
            "absolute-form",
            ThenProbe(s(post("1.1", "", ADD).replacen(
                "POST / ",
                "POST http://a/ ",
                1,
            ))),
        ),
        (
            "query string",
            ThenProbe(s(post("1.1", "", ADD).replacen(
                "POST / ",
                "POST /?x=1 ",
                1,
            ))),
        ),
        (
            "Expect with the body",
            ThenProbe(s(post("1.1", "Expect: 100-continue\r\n", ADD))),
        ),
        ("oversized head", ThenProbe(s(big_head))),
        ("too many headers", ThenProbe(s(many_headers))),
        (
            "oversized body by length",
            ThenProbe(s(post("1.1", "", &big_body))),
        ),
        (
            "oversized chunked body",
            ThenProbe(s(chunked("", &format!("800\r\n{big_body}\r\n0\r\n\r\n")))),
        ),
        (
            "Content-Length and chunked",
            ThenProbe(s(chunked("Content-Length: 5\r\n", add_chunks))),
        ),
        (
            "duplicate Content-Length",
            ThenProbe(s(post(
                "1.1",
                &format!("Content-Length: {}\r\n", ADD.len()),
                ADD,
            ))),
        ),
        (
            "duplicate differing Content-Length",
            ThenProbe(s(post("1.1", "Content-Length: 3\r\n", ADD))),
        ),
        (
            "invalid Content-Length",
            ThenProbe(s(post("1.1", "", ADD).replace(
                &format!("Content-Length: {}", ADD.len()),
                "Content-Length: 5x",
            ))),
        ),
        (
            "gzip last",
            ThenProbe(s(
                chunked("", add_chunks).replace("chunked", "chunked, gzip")
            )),
        ),
        (
            "gzip then chunked",
            ThenProbe(s(
                chunked("", add_chunks).replace("chunked", "gzip, chunked")
            )),
        ),
        (
            "chunked in HTTP/1.0",
            ThenProbe(s(
                chunked("", add_chunks).replacen("HTTP/1.1", "HTTP/1.0", 1)
            )),
        ),
        (
            "obs-fold",
            ThenProbe(s(post("1.1", "X-Fold: a\r\n  b\r\n", ADD))),
        ),
        (
            "bad chunk size",
            ThenProbe(s(chunked("", "zz\r\nabc\r\n0\r\n\r\n"))),
        ),
        (
            "bad chunk end",
            ThenProbe(s(chunked("", "3\r\nabcX\r\n0\r\n\r\n"))),
        ),
        (
            "no Host",
            ThenProbe(s(post("1.1", "", ADD).replace("Host: a\r\n", ""))),
        ),
        ("two Host", ThenProbe(s(post("1.1", "Host: b\r\n", ADD)))),
        (
            "bad Host",
            ThenProbe(s(post("1.1", "", ADD).replace("Host: a", "Host: a b"))),
        ),
        (
            "authority-form",
            ThenProbe(s(post("1.1", "", ADD).replacen("POST / ", "POST a:80 ", 1))),
        ),
        (
            "GET /",
            ThenProbe(s("GET / HTTP/1.1\r\nHost: a\r\n\r\n".into())),
        ),
        (
            "PUT / with a body",
            ThenProbe(s(post("1.1", "", ADD).replacen("POST", "PUT", 1))),
        ),
        (
            "text/plain",
            ThenProbe(s(
                post("1.1", "", ADD).replace("application/json", "text/plain")
            )),
        ),
        (
            "no Content-Type",
            ThenProbe(s(
                post("1.1", "", ADD).replace("Content-Type: application/json\r\n", "")
            )),
        ),
        (
            "handed to hyper: /health",
            ThenProbe(s("GET /health HTTP/1.1\r\nHost: a\r\n\r\n".into())),
        ),
        (
            "handed to hyper after a POST",
            ThenProbe(s(format!(
                "{}GET /nope HTTP/1.1\r\nHost: a\r\n\r\n{}",
                post("1.1", "", ADD),
                post("1.1", "", ADD)
            ))),
        ),
        (
            // curl --http2 on http://: the body came with the head and goes to hyper with it.
            "handed to hyper: a POST asking for h2c, with its body",
            ThenProbe(s(post(
                "1.1",
                "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
                ADD,
            ))),
        ),
        (
            "handed to hyper: a POST with Upgrade and its body, then another POST",
            ThenProbe(s(format!(
                "{}{}",
                post("1.1", "Connection: Upgrade\r\nUpgrade: foo\r\n", ADD),
                post("1.1", "", ADD)
            ))),
        ),
        (
            "handed to hyper: /ws without upgrade",
            ThenProbe(s("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n".into())),
        ),
        (
            "unknown method (case-sensitive)",
            ThenProbe(s(post("1.1", "", ADD).replacen("POST", "post", 1))),
        ),
        (
            "malformed request line",
            ThenProbe(s("POST  / HTTP/1.1\r\nHost: a\r\n\r\n".into())),
        ),
        ("garbage", ThenProbe(s("\x01\x02\x03\r\n\r\n".into()))),
        (
            "empty lines first",
            ThenProbe(s(format!("\r\n{}", post("1.1", "", ADD)))),
        ),
        (
            "half-sent head, then closed",
            HalfClose(s(post("1.1", "", ADD)[..30].to_owned())),
        ),
        (
            "half-sent body, then closed",
            HalfClose(s(
                post("1.1", "", ADD)[..post("1.1", "", ADD).len() - 10].to_owned()
            )),
        ),
        (
            "half-sent chunked body, then closed",
            HalfClose(s(chunked("", "a\r\n{\"jsonrpc\"\r\n"))),
        ),
        (
            "a full request, then closed",
            HalfClose(s(post("1.1", "", ADD))),
        ),
        ("nothing, then closed", HalfClose(Vec::new())),
    ]
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Reads until the server closes (or 10 s pass: then `closed` is false).
fn read_to_end(stream: &mut TcpStream, mut got: Vec<u8>) -> (Vec<u8>, bool) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A reset after the server closed with unread input is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

/// Sends one case to `addr` and reads what comes back.
pub fn exchange(addr: SocketAddr, send: &Send) -> Exchange {
    let mut stream = connect(addr);
    let (got, closed) = match send {
        Send::ThenProbe(bytes) => {
            // The server may close (and reset) before reading all of a large request.
            let _ = stream.write_all(bytes);
            let _ = stream.write_all(PROBE.as_bytes());
            read_to_end(&mut stream, Vec::new())
        }
        Send::HalfClose(bytes) => {
            let _ = stream.write_all(bytes);
            let _ = stream.shutdown(Shutdown::Write);
            read_to_end(&mut stream, Vec::new())
        }
    };
    parse(&got, closed)
}

/// A client that waits for `100 Continue` before it sends the body: both servers must send
/// it. Returns the exchange after the body (and the probe) went.
pub fn expect_then_body(addr: SocketAddr) -> Exchange {
    let request = post("1.1", "Expect: 100-continue\r\n", ADD);
    let split = request.len() - ADD.len();
    let mut stream = connect(addr);
    stream.write_all(&request.as_bytes()[..split]).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(
        got.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "100 Continue: {}",
        String::from_utf8_lossy(&got)
    );
    stream.write_all(ADD.as_bytes()).unwrap();
    stream.write_all(PROBE.as_bytes()).unwrap();
    let (got, closed) = read_to_end(&mut stream, got);
    parse(&got, closed)
}

fn parse(mut input: &[u8], closed: bool) -> Exchange {
    let mut answers = Vec::new();
    let mut interim = 0;
    while let Some(end) = input.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&input[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .filter(|(n, _)| n != "date")
            .collect();
        headers.sort();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let rest = &input[end + 4..];
        if rest.len() < len {
            break;
        }
        input = &rest[len..];
        if (100..200).contains(&status) {
            interim += 1;
            continue;
        }
        answers.push(Answer {
            status,
            headers,
            body: rest[..len].to_vec(),
        });
    }
    Exchange {
        answers,
        interim,
        trailing: input.to_vec(),
        closed,
    }
}

/// Runs every case against both servers and fails with every difference found.
pub fn compare(codec: SocketAddr, hyper: SocketAddr) {
    let mut differences = Vec::new();
    for (name, send) in cases() {
        let ours = exchange(codec, &send);
        let theirs = exchange(hyper, &send);
        let same = match name {
            "Content-Length and chunked" => {
                ours.answers.len() == 1
                    && theirs.answers.len() == 1
                    && ours.answers[0].status == 400
                    && theirs.answers[0].status == 200
                    && theirs.closed
            }
            "oversized chunked body" => {
                ours.answers.len() == 1
                    && ours.answers[0].status == 413
                    && theirs.answers.first().map(|a| a.status) == Some(413)
            }
            "a full request, then closed" => {
                ours.answers.len() == 1
                    && ours.answers[0].status == 200
                    && (theirs.answers.is_empty() || theirs.answers == ours.answers)
            }
            _ => {
                ours.answers == theirs.answers
                    && ours.closed == theirs.closed
                    && ours.trailing == theirs.trailing
            }
        };
        if !same {
            differences.push(format!("{name}:\n  codec: {ours:?}\n  hyper: {theirs:?}"));
        }
        assert!(
            ours.closed,
            "{name}: every case ends with the connection closed"
        );
    }
    let ours = expect_then_body(codec);
    let theirs = expect_then_body(hyper);
    if ours != theirs {
        differences.push(format!(
            "Expect, body after 100:\n  codec: {ours:?}\n  hyper: {theirs:?}"
        ));
    }
    assert!(
        differences.is_empty(),
        "{} difference(s):\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// A keep-alive connection that was answered once and is now idle.
pub fn open_idle(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    stream.write_all(post("1.1", "", ADD).as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while parse(&got, false).answers.is_empty() {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "answered before closing");
        got.extend_from_slice(&buf[..n]);
    }
    stream
}

/// A connection with a call under way (`slow`: 200 ms), keep-alive.
pub fn start_slow(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    let call = r#"{"jsonrpc":"2.0","method":"slow","params":[7],"id":7}"#;
    stream.write_all(post("1.1", "", call).as_bytes()).unwrap();
    stream
}

/// Reads what is left until the server closes.
pub fn finish(mut stream: TcpStream) -> Exchange {
    let (got, closed) = read_to_end(&mut stream, Vec::new());
    parse(&got, closed)
}
