//! The HTTP/1.1 codec against hyper on the same raw requests (see `http1_diff`), and the
//! codec's own behaviour under shutdown, on tokio.

mod http1_diff;

use jsonrpc_proto::testing::conformance;
use transport_tokio::{RunningServer, Server};

async fn start(codec: bool) -> RunningServer {
    Server::builder(conformance::router())
        .http("127.0.0.1:0")
        .config(conformance::server_config())
        .max_body(1024)
        .http1_codec(codec)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codec_answers_every_request_as_hyper_does() {
    let codec = start(true).await;
    let hyper = start(false).await;
    let (a, b) = (codec.http_addr().unwrap(), hyper.http_addr().unwrap());
    tokio::task::spawn_blocking(move || http1_diff::compare(a, b))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_keep_alive_connections_and_answers_the_one_under_way() {
    let server = start(true).await;
    let addr = server.http_addr().unwrap();
    let (idle, busy) = tokio::task::spawn_blocking(move || {
        let idle = http1_diff::open_idle(addr);
        let busy = http1_diff::start_slow(addr);
        (idle, busy)
    })
    .await
    .unwrap();
    // The slow call is under way (it takes 200 ms): shut down now.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let stop = tokio::spawn(server.shutdown());
    let (idle, busy) =
        tokio::task::spawn_blocking(move || (http1_diff::finish(idle), http1_diff::finish(busy)))
            .await
            .unwrap();
    stop.await.unwrap();
    assert!(idle.closed && idle.answers.is_empty(), "idle: {idle:?}");
    assert!(busy.closed, "busy: {busy:?}");
    assert_eq!(busy.answers.len(), 1, "busy: {busy:?}");
    let answer = &busy.answers[0];
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, br#"{"jsonrpc":"2.0","result":7,"id":7}"#);
    assert!(answer
        .headers
        .contains(&("connection".to_owned(), "close".to_owned())));
}

/// Reads one response off a keep-alive connection: status and body (Content-Length framed).
async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> (u16, String) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut len = 0;
    loop {
        line.clear();
        r.read_line(&mut line).await.unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.unwrap();
    (status, String::from_utf8(body).unwrap())
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncWriteExt, BufReader};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let get = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(get.as_bytes()).await.unwrap();
    let (status, body) = read_response(&mut BufReader::new(s)).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_the_codec_counts_its_calls_and_connections() {
    use jsonrpc_proto::service::{Context, Router};
    use tokio::io::{AsyncWriteExt, BufReader};
    let router = Router::builder()
        .method("add", |_c: Context, (a, b): (i64, i64)| async move {
            Ok::<_, jsonrpc_proto::ErrorObject>(a + b)
        })
        .build()
        .unwrap();
    let server = Server::builder(router)
        .http("127.0.0.1:0")
        .metrics(true)
        .start()
        .await
        .unwrap();
    let addr = server.http_addr().unwrap();
    let mut kept = BufReader::new(tokio::net::TcpStream::connect(addr).await.unwrap());
    for (a, b) in [(1, 2), (3, 4)] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{a},"method":"add","params":[{a},{b}]}}"#);
        let post = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        kept.get_mut().write_all(post.as_bytes()).await.unwrap();
        let (status, answer) = read_response(&mut kept).await;
        assert_eq!(status, 200);
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let want = serde_json::json!({"jsonrpc": "2.0", "id": a, "result": a + b});
        assert_eq!(answer, want);
    }
    // The kept connection and the scraping one.
    let text = scrape(addr).await;
    assert!(
        text.contains("jsonrpc_requests_total{method=\"add\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("jsonrpc_active_connections{transport=\"http\"} 2"),
        "{text}"
    );
    drop(kept);
    let mut text = String::new();
    for _ in 0..200 {
        text = scrape(addr).await;
        if text.contains("jsonrpc_active_connections{transport=\"http\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        text.contains("jsonrpc_active_connections{transport=\"http\"} 1"),
        "{text}"
    );
    server.shutdown().await;
}
