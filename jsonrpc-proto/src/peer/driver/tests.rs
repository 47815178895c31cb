//! The driver's order of work on a burst of input.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskCx, Poll};

use bytes::Bytes;
use futures::executor::block_on;
use futures::future::BoxFuture;
use futures::{Sink, Stream};

use super::SERVE_READ_BUDGET;
use crate::peer::{
    Answer, BoxTransport, Context, Dispatch, Extensions, Reply, Server, ServerConfig,
    TransportError, TransportInfo, TransportKind,
};
use crate::protocol::error::ErrorObject;
use crate::protocol::message::{Notification, Request};

use crate::peer::rt::Threads;

/// Every frame ready at once (one burst of input, as from one read of a socket), then the
/// end of input; counts the frames taken.
struct Burst {
    frames: Vec<Bytes>,
    taken: Arc<AtomicUsize>,
}

impl Stream for Burst {
    type Item = Result<Bytes, TransportError>;
    fn poll_next(self: Pin<&mut Self>, _cx: &mut TaskCx<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let i = this.taken.load(Ordering::SeqCst);
        if i == this.frames.len() {
            return Poll::Ready(None);
        }
        this.taken.store(i + 1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(this.frames[i].clone())))
    }
}

/// Takes every frame at once; at each flush records (frames of input taken so far, answers
/// written so far).
struct Recorder {
    taken: Arc<AtomicUsize>,
    written: Vec<Bytes>,
    flushes: Arc<Mutex<Vec<(usize, usize)>>>,
    answers: Arc<Mutex<Vec<Bytes>>>,
}

impl Sink<Bytes> for Recorder {
    type Error = TransportError;
    fn poll_ready(self: Pin<&mut Self>, _cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        self.get_mut().written.push(frame);
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let mut answers = this.answers.lock().unwrap();
        answers.append(&mut this.written);
        let flushes = &mut this.flushes.lock().unwrap();
        if flushes.last().is_none_or(|&(_, n)| n != answers.len()) {
            flushes.push((this.taken.load(Ordering::SeqCst), answers.len()));
        }
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }
}

#[test]
fn a_burst_of_pipelined_calls_is_answered_in_parts_while_it_is_read() {
    let n = 64;
    let frames: Vec<Bytes> = (0..n)
        .map(|i| {
            Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","method":"add","params":[{i},1],"id":{i}}}"#
            ))
        })
        .collect();
    let taken = Arc::new(AtomicUsize::new(0));
    let flushes = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let transport = BoxTransport::new(
        TransportInfo::new(TransportKind::Memory),
        Recorder {
            taken: taken.clone(),
            written: Vec::new(),
            flushes: flushes.clone(),
            answers: answers.clone(),
        },
        Burst {
            frames,
            taken: taken.clone(),
        },
    );
    let server = Server::new(calc(false), Threads, ServerConfig::default());
    block_on(server.serve(transport));

    // every call answered, in the order read, nothing else written
    let answers = answers.lock().unwrap();
    let want: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"jsonrpc":"2.0","result":{},"id":{i}}}"#, i + 1))
        .collect();
    let got: Vec<String> = answers
        .iter()
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    assert_eq!(got, want);
    // the first answers left before the rest of the burst was read, in parts of at most
    // SERVE_READ_BUDGET calls
    let flushes = flushes.lock().unwrap();
    assert!(
        flushes[0].0 < n,
        "answered only after the whole burst: {flushes:?}"
    );
    assert_eq!(
        flushes[0],
        (SERVE_READ_BUDGET, SERVE_READ_BUDGET),
        "{flushes:?}"
    );
    assert_eq!(flushes.len(), n / SERVE_READ_BUDGET, "{flushes:?}");
    for w in flushes.windows(2) {
        assert!(w[1].1 - w[0].1 <= SERVE_READ_BUDGET, "{flushes:?}");
        assert!(w[0].0 < n, "{flushes:?}");
    }
}

/// What a server with `dispatch` writes for `frames` read in one burst, each frame's text.
fn served<D: Dispatch>(dispatch: D, config: ServerConfig, frames: &[&str]) -> Vec<String> {
    let taken = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let transport = BoxTransport::new(
        TransportInfo::new(TransportKind::Memory),
        Recorder {
            taken: taken.clone(),
            written: Vec::new(),
            flushes: Arc::new(Mutex::new(Vec::new())),
            answers: answers.clone(),
        },
        Burst {
            frames: frames.iter().map(|f| Bytes::from(f.to_string())).collect(),
            taken,
        },
    );
    let server = Server::new(dispatch, Threads, config);
    block_on(server.serve(transport));
    let answers = answers.lock().unwrap();
    answers
        .iter()
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect()
}

/// `add`, `id_of`, `big` answered at once (`answers_at_once` says so when `at_once`), and
/// `later` answered by a future; as a router's synchronous methods would be.
struct Calc {
    at_once: bool,
    state: Extensions,
}

fn calc(at_once: bool) -> Calc {
    Calc {
        at_once,
        state: Extensions::default(),
    }
}

impl Dispatch for Calc {
    fn request(&self, _ctx: &Context, request: Request<'_>) -> Reply {
        let params = request.params.as_deref().map(|p| p.get()).unwrap_or("[]");
        let bad = |_| ErrorObject::invalid_params("bad params");
        let result = match &*request.method {
            "add" => serde_json::from_str::<(i64, i64)>(params)
                .map_err(bad)
                .and_then(|(a, b)| {
                    Answer::serialized(&(a + b)).map_err(|_| ErrorObject::internal_error())
                }),
            "id_of" => Answer::serialized(&request.id).map_err(|_| ErrorObject::internal_error()),
            "big" => serde_json::from_str::<(usize,)>(params)
                .map_err(bad)
                .map(|(n,)| Answer::text("x".repeat(n))),
            "later" => {
                return Reply::Pending(Box::pin(async {
                    Answer::serialized(&0).map_err(|_| ErrorObject::internal_error())
                }))
            }
            _ => Err(ErrorObject::method_not_found()),
        };
        Reply::Ready(result)
    }
    fn notification(
        &self,
        _ctx: &Context,
        notification: Notification<'static>,
    ) -> Result<Option<BoxFuture<'static, ()>>, Notification<'static>> {
        Err(notification)
    }
    fn has_method(&self, method: &str) -> bool {
        matches!(method, "add" | "id_of" | "big" | "later")
    }
    fn answers_at_once(&self, method: &str) -> bool {
        self.at_once && matches!(method, "add" | "id_of" | "big")
    }
    fn state(&self) -> &Extensions {
        &self.state
    }
}

#[test]
fn a_batch_answered_whole_is_what_the_usual_path_sends() {
    // Every member a request to a method answered at once: answered whole. Errors from
    // params, a result over the size limit, ids of every kind and repeated ids included.
    let whole = concat!(
        r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},"#,
        r#"{"jsonrpc":"2.0","method":"add","params":["x",2],"id":"s"},"#,
        r#"{"jsonrpc":"2.0","method":"id_of","id":-7},"#,
        r#"{"jsonrpc":"2.0","method":"big","params":[10],"id":null},"#,
        r#"{"jsonrpc":"2.0","method":"big","params":[5000],"id":1.5},"#,
        r#"{"jsonrpc":"2.0","method":"add","params":[1],"id":18446744073709551615},"#,
        r#"{"jsonrpc":"2.0","method":"add","params":[3,4],"id":1}]"#,
    );
    // The usual way, whatever the dispatcher: a notification, an async method, an unknown
    // one, an invalid member, a response, a single call, the general reading's input.
    let usual = [
        r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"add","params":[1,2]}]"#,
        r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"later","params":[5],"id":2}]"#,
        r#"[{"jsonrpc":"2.0","method":"nope","id":1},{"jsonrpc":"2.0","method":"add","params":[1,2],"id":2}]"#,
        r#"[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"1.0","method":"add","id":2},7]"#,
        r#"[{"jsonrpc":"2.0","result":1,"id":99},{"jsonrpc":"2.0","method":"add","params":[1,2],"id":2}]"#,
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
        r#"[ {"jsonrpc":"2.0","method":"add","params":[1,2],"id":1} ]"#,
        "[]",
    ];
    let config = || ServerConfig::default().with_max_response_size(1000);
    let mut frames = vec![whole];
    frames.extend(usual);
    let got = served(calc(true), config(), &frames);
    let want = served(calc(false), config(), &frames);
    // The same frames, byte for byte. Not in the same order: the usual path writes the
    // error answers to malformed input (`[]`) as it reads them, ahead of the answers it
    // collects for the burst's calls; the batch answered whole goes out when it is done.
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(got.clone()), sorted(want));
    // and what that is, for the batch answered whole (the first frame read, the first out)
    let first: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    let entries = first.as_array().expect("an array");
    assert_eq!(entries.len(), 7);
    assert_eq!(
        entries[0],
        serde_json::json!({"jsonrpc":"2.0","result":3,"id":1})
    );
    assert_eq!(entries[1]["error"]["code"], -32602);
    assert_eq!(entries[5]["error"]["code"], -32602);
    assert_eq!(entries[2]["result"], -7);
    assert_eq!(entries[3]["result"], "xxxxxxxxxx");
    assert_eq!(entries[4]["error"]["message"], "Response too large");
    assert_eq!(entries[4]["id"], 1.5);
    assert_eq!(
        entries[6],
        serde_json::json!({"jsonrpc":"2.0","result":7,"id":1})
    );
}

#[test]
fn a_batch_over_the_limits_is_refused_as_the_usual_path_refuses_it() {
    let batch = |n: usize| {
        let calls: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"jsonrpc":"2.0","method":"add","params":[{i},1],"id":{i}}}"#))
            .collect();
        format!("[{}]", calls.join(","))
    };
    let (three, five) = (batch(3), batch(5));
    let frames = [three.as_str(), five.as_str()];
    let config = || {
        let c = crate::protocol::connection::Config::default()
            .with_max_in_flight(2)
            .with_max_batch_len(4);
        ServerConfig::default().with_connection(c)
    };
    let got = served(calc(true), config(), &frames);
    assert_eq!(got, served(calc(false), config(), &frames));
    // 3 calls with room for 2 in flight: the third is refused as busy; 5 over a limit of 4
    assert!(got[0].contains("-32003"), "{got:?}");
    assert!(got[0].contains(r#""result":1,"id":0"#), "{got:?}");
    assert!(got[1].contains("exceeds the limit of 4"), "{got:?}");
}

/// Says it answers `add` at once, then gives a future.
struct Liar(Extensions);

impl Dispatch for Liar {
    fn request(&self, _ctx: &Context, _request: Request<'_>) -> Reply {
        Reply::Pending(Box::pin(async {
            Answer::serialized(&1).map_err(|_| ErrorObject::internal_error())
        }))
    }
    fn notification(
        &self,
        _ctx: &Context,
        notification: Notification<'static>,
    ) -> Result<Option<BoxFuture<'static, ()>>, Notification<'static>> {
        Err(notification)
    }
    fn has_method(&self, method: &str) -> bool {
        method == "add"
    }
    fn answers_at_once(&self, method: &str) -> bool {
        method == "add"
    }
    fn state(&self) -> &Extensions {
        &self.0
    }
}

#[test]
fn a_dispatcher_that_breaks_its_word_gets_internal_errors_not_a_lost_call() {
    let frame =
        r#"[{"jsonrpc":"2.0","method":"add","id":1},{"jsonrpc":"2.0","method":"add","id":2}]"#;
    let got = served(
        Liar(Extensions::default()),
        ServerConfig::default(),
        &[frame],
    );
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    let entries = v.as_array().expect("an array");
    assert_eq!(entries.len(), 2);
    for (e, id) in entries.iter().zip([1, 2]) {
        assert_eq!(e["error"]["code"], -32603);
        assert_eq!(e["id"], id);
    }
}
