//! The HTTP floor: a keep-alive HTTP/1.1 server that only finds where each request ends (the
//! blank line after the head, then `Content-Length` bytes of body) and writes one fixed, correct
//! JSON-RPC answer to `add` `[1,2]` with id 1 per request. No routing, no header map, no JSON:
//! what a server of this shape (2 tokio workers, one task per connection) costs at least.
//! Pipelined requests are answered in one write.

use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::Result;

/// The JSON-RPC answer to `{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}`.
pub const ANSWER_BODY: &str = r#"{"jsonrpc":"2.0","id":1,"result":3}"#;

/// The whole HTTP response written for every request.
pub fn response() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER_BODY}",
        ANSWER_BODY.len()
    )
    .into_bytes()
}

/// The longest head accepted; a longer one closes the connection.
const MAX_HEAD: usize = 64 * 1024;

/// Where the request at the start of `buf` ends, if it is complete: `Ok(Some(len))`;
/// `Ok(None)` when more bytes are needed; `Err` for a head that is too long or a
/// `Content-Length` that is not a number.
pub fn request_end(buf: &[u8]) -> Result<Option<usize>> {
    let Some(head_end) = head_end(buf) else {
        if buf.len() > MAX_HEAD {
            return Err("request head too long".into());
        }
        return Ok(None);
    };
    let head = &buf[..head_end];
    let mut body = 0usize;
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if line[..colon].eq_ignore_ascii_case(b"content-length") {
            body = std::str::from_utf8(&line[colon + 1..])?.trim().parse()?;
        }
    }
    let total = head_end + 4 + body;
    Ok((buf.len() >= total).then_some(total))
}

/// The offset of the blank line's `\r\n\r\n` (one pass over the bytes looking for `\n`).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 3;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if &buf[i - 3..i] == b"\r\n\r" {
                return Some(i - 3);
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

/// Starts the floor on 127.0.0.1, port 0; answers the address.
pub async fn start() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    Ok(addr)
}

async fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let answer = response();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut out = Vec::with_capacity(8 * 1024);
    loop {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        loop {
            match request_end(&buf) {
                Ok(Some(n)) => {
                    let _ = buf.split_to(n);
                    out.extend_from_slice(&answer);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(8 * 1024);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_agrees_with_a_plain_search() {
        let texts: [&[u8]; 6] = [
            b"\r\n\r\n",
            b"a\r\nb\r\n\r\nbody",
            b"\n\r\n\r\n",
            b"a\nb\r\n\r",
            b"\r\n\r\r\n\r\n",
            b"",
        ];
        for t in texts {
            let want = t.windows(4).position(|w| w == b"\r\n\r\n");
            assert_eq!(head_end(t), want, "{:?}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn finds_the_end_of_each_request() {
        let one = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(request_end(one).unwrap(), Some(one.len()));
        assert_eq!(request_end(&one[..one.len() - 1]).unwrap(), None);
        assert_eq!(request_end(&one[..20]).unwrap(), None);
        let mut two = one.to_vec();
        two.extend_from_slice(b"GET / HTTP/1.1\r\ncontent-length:0\r\n\r\n");
        assert_eq!(request_end(&two).unwrap(), Some(one.len()));
        assert_eq!(
            request_end(&two[one.len()..]).unwrap(),
            Some(two.len() - one.len())
        );
        assert!(request_end(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n").is_err());
        let answer = String::from_utf8(response()).unwrap();
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["result"], 3);
        assert_eq!(v["id"], 1);
        assert!(answer.contains(&format!("content-length: {}\r\n", body.len())));
    }
}
