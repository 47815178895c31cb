//! Every example of the "Examples" section of the JSON-RPC 2.0 specification
//! (<https://www.jsonrpc.org/specification#examples>), request text in, exact response out,
//! plus the validation edge cases the specification implies.
//!
//! Responses are compared as `serde_json::Value`; batch responses without regard to order.

use std::time::Instant;

use jsonrpc_proto::connection::{Config, Connection, Event, IncomingRequest};
use jsonrpc_proto::{
    parse, BatchWriter, Entry, ErrorObject, Id, Incoming, InvalidKind, Message, RawValue,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// The specification's example server, driven through a `Connection` (and, as a cross-check,
// directly over `parse`): subtract, sum, get_data, notify_hello, update; anything
// else (foobar, foo.get) does not exist.

fn call_method(method: &str, params: Option<&RawValue>) -> Result<Value, ErrorObject> {
    let params: Value = match params {
        Some(p) => serde_json::from_str(p.get()).map_err(ErrorObject::invalid_params)?,
        None => Value::Null,
    };
    let num = |v: &Value| {
        v.as_i64()
            .ok_or_else(|| ErrorObject::invalid_params("expected integers"))
    };
    match method {
        "subtract" => match &params {
            Value::Array(a) if a.len() == 2 => Ok(json!(num(&a[0])? - num(&a[1])?)),
            Value::Object(o) => {
                let get = |k: &str| {
                    o.get(k)
                        .ok_or_else(|| ErrorObject::invalid_params(format!("missing {k}")))
                };
                Ok(json!(num(get("minuend")?)? - num(get("subtrahend")?)?))
            }
            _ => Err(ErrorObject::invalid_params("expected two numbers")),
        },
        "sum" => match &params {
            Value::Array(a) => Ok(json!(a.iter().map(num).sum::<Result<i64, _>>()?)),
            _ => Err(ErrorObject::invalid_params("expected an array")),
        },
        "get_data" => Ok(json!(["hello", 5])),
        "notify_hello" | "notify_sum" | "update" => Ok(Value::Null),
        _ => Err(ErrorObject::method_not_found()),
    }
}

fn raw(v: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("serializable")
}

/// The answer to one entry: `None` for a notification or an invalid response.
fn answer(entry: Entry<'_>, out: &mut BatchWriter) {
    match entry {
        Ok(Message::Request(req)) => match call_method(&req.method, req.params.as_deref()) {
            Ok(v) => out.push(&req.id, Ok(&raw(&v))),
            Err(e) => out.push(&req.id, Err(&e)),
        },
        Ok(Message::Notification(n)) => {
            let _ = call_method(&n.method, n.params.as_deref());
        }
        Ok(Message::Response(_)) => {}
        Err(invalid) => {
            if let Some(resp) = invalid.to_response() {
                out.push_raw(&resp.to_vec());
            }
        }
    }
}

/// The server, the real way: a [`Connection`] answering each [`Event::Request`] by method.
/// One frame in, the frame to send back (if any) out.
fn serve(input: &[u8]) -> Option<Vec<u8>> {
    let now = Instant::now();
    let mut conn = Connection::new(Config::default());
    conn.handle_frame(input, now);
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Request(call) => {
                let IncomingRequest { request, handle } = call;
                let result = call_method(&request.method, request.params.as_deref());
                let answer = match &result {
                    Ok(v) => Ok(raw(v)),
                    Err(e) => Err(e),
                };
                conn.respond(handle, answer.as_deref().map_err(|e| *e))
                    .expect("the connection is open");
            }
            Event::Notification(n) => {
                let _ = call_method(&n.method, n.params.as_deref());
            }
            _ => {}
        }
    }
    assert_eq!(conn.in_flight(), 0, "every request was answered");
    let out = conn.poll_transmit().map(|b| b.to_vec());
    assert!(
        conn.poll_transmit().is_none(),
        "one frame answers one frame"
    );
    let direct = serve_direct(input);
    assert_eq!(
        out.as_deref().map(value_sorted),
        direct.as_deref().map(value_sorted),
        "Connection and the plain dispatcher disagree"
    );
    out
}

fn value_sorted(bytes: &[u8]) -> Value {
    sorted(serde_json::from_slice(bytes).expect("a JSON answer"))
}

/// The same server written directly over `parse` + `BatchWriter` (no Connection): both must
/// give the same answers.
fn serve_direct(input: &[u8]) -> Option<Vec<u8>> {
    match parse(input) {
        Err(_) => {
            let mut out = Vec::new();
            jsonrpc_proto::message::write_response(
                &mut out,
                &Id::Null,
                Err(&ErrorObject::parse_error()),
            );
            Some(out)
        }
        Ok(Incoming::Single(entry)) => {
            let mut w = BatchWriter::new();
            answer(entry, &mut w);
            // A single answer is the array's only element: unwrap it.
            w.finish().map(|arr| arr[1..arr.len() - 1].to_vec())
        }
        Ok(Incoming::Batch(entries)) => {
            let mut w = BatchWriter::new();
            for e in entries {
                answer(e, &mut w);
            }
            w.finish()
        }
    }
}

// ---------------------------------------------------------------------------------------------

fn sorted(v: Value) -> Value {
    match v {
        Value::Array(mut a) => {
            a.sort_by_key(|x| x.to_string());
            Value::Array(a)
        }
        other => other,
    }
}

/// Sends `request`, expects exactly `response` (or nothing when `None`).
#[track_caller]
fn exchange(request: &str, response: Option<&str>) {
    let got = serve(request.as_bytes());
    match (got, response) {
        (None, None) => {}
        (Some(got), Some(want)) => {
            let got: Value = serde_json::from_slice(&got).unwrap_or_else(|e| {
                panic!(
                    "response is not JSON ({e}): {}",
                    String::from_utf8_lossy(&got)
                )
            });
            let want: Value = serde_json::from_str(want).expect("expected response is JSON");
            assert_eq!(
                got.is_array(),
                want.is_array(),
                "array vs object for {request}"
            );
            assert_eq!(sorted(got), sorted(want), "for request {request}");
        }
        (got, want) => panic!(
            "for {request}: expected {want:?}, got {:?}",
            got.map(|g| String::from_utf8_lossy(&g).into_owned())
        ),
    }
}

// --- The specification's examples, verbatim. ------------------------------------------------

#[test]
fn rpc_call_with_positional_parameters() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
        Some(r#"{"jsonrpc": "2.0", "result": 19, "id": 1}"#),
    );
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
        Some(r#"{"jsonrpc": "2.0", "result": -19, "id": 2}"#),
    );
}

#[test]
fn rpc_call_with_named_parameters() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
        Some(r#"{"jsonrpc": "2.0", "result": 19, "id": 3}"#),
    );
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
        Some(r#"{"jsonrpc": "2.0", "result": 19, "id": 4}"#),
    );
}

#[test]
fn a_notification() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
        None,
    );
    exchange(r#"{"jsonrpc": "2.0", "method": "foobar"}"#, None);
}

#[test]
fn rpc_call_of_non_existent_method() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
        Some(
            r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#,
        ),
    );
}

#[test]
fn rpc_call_with_invalid_json() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
        Some(
            r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
        ),
    );
}

#[test]
fn rpc_call_with_invalid_request_object() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
        Some(
            r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
        ),
    );
}

#[test]
fn rpc_call_batch_invalid_json() {
    exchange(
        r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
        Some(
            r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
        ),
    );
}

#[test]
fn rpc_call_with_an_empty_array() {
    exchange(
        r#"[]"#,
        Some(
            r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
        ),
    );
}

#[test]
fn rpc_call_with_an_invalid_batch_but_not_empty() {
    exchange(
        r#"[1]"#,
        Some(
            r#"[
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
]"#,
        ),
    );
}

#[test]
fn rpc_call_with_invalid_batch() {
    exchange(
        r#"[1,2,3]"#,
        Some(
            r#"[
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
]"#,
        ),
    );
}

#[test]
fn rpc_call_batch() {
    exchange(
        r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"} 
    ]"#,
        Some(
            r#"[
        {"jsonrpc": "2.0", "result": 7, "id": "1"},
        {"jsonrpc": "2.0", "result": 19, "id": "2"},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
    ]"#,
        ),
    );
}

#[test]
fn rpc_call_batch_all_notifications() {
    exchange(
        r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#,
        None,
    );
}

// --- Id echo exactness. -----------------------------------------------------------------------

/// Sends a `get_data` request with `id_text` as its id and returns the response's id text.
fn echoed_id(id_text: &str) -> String {
    let request = format!(r#"{{"jsonrpc":"2.0","method":"get_data","id":{id_text}}}"#);
    let response = serve(request.as_bytes()).expect("a response");
    let text = String::from_utf8(response).expect("utf-8");
    let tail = text
        .rsplit_once(",\"id\":")
        .expect("the id is the last member")
        .1;
    tail.strip_suffix('}').expect("object end").to_owned()
}

#[test]
fn ids_are_echoed_exactly() {
    for id in [
        "0",
        "1",
        "18446744073709551615",
        "-9223372036854775808",
        "-1",
        "1.5",
        "-0.25",
        "null",
        r#""""#,
        r#""abc""#,
        r#""a\"b\\c\n\t""#,
        r#""\u0000\u001f""#,
        "\"\u{e9}\u{1F600}\u{4e2d}\"",
    ] {
        let got = echoed_id(id);
        assert_eq!(
            serde_json::from_str::<Value>(&got).expect("JSON id"),
            serde_json::from_str::<Value>(id).expect("JSON id"),
            "id {id} echoed as {got}"
        );
    }
    // Integers and plain strings come back byte for byte.
    for id in [
        "18446744073709551615",
        "-9223372036854775808",
        "1.5",
        r#""a\"b\\c\n""#,
    ] {
        assert_eq!(echoed_id(id), id);
    }
    // Escaped unicode comes back as the same characters.
    assert_eq!(echoed_id(r#""\u00e9\ud83d\ude00""#), "\"\u{e9}\u{1F600}\"");
    // A string id stays a string, a number stays a number.
    assert_eq!(echoed_id(r#""1""#), r#""1""#);
    assert_eq!(echoed_id("1"), "1");
}

// --- Validation edge cases. -------------------------------------------------------------------

const INVALID_REQUEST: &str = r#"{"code": -32600, "message": "Invalid Request"}"#;

#[track_caller]
fn invalid_request(request: &str, id: &str) {
    exchange(
        request,
        Some(&format!(
            r#"{{"jsonrpc": "2.0", "error": {INVALID_REQUEST}, "id": {id}}}"#
        )),
    );
}

#[test]
fn jsonrpc_version_must_be_exactly_2_0() {
    invalid_request(r#"{"jsonrpc":"1.0","method":"get_data","id":1}"#, "1");
    invalid_request(r#"{"method":"get_data","id":1}"#, "1");
    invalid_request(r#"{"jsonrpc":2.0,"method":"get_data","id":1}"#, "1");
    invalid_request(r#"{"jsonrpc":"2.0 ","method":"get_data","id":1}"#, "1");
    invalid_request(r#"{"jsonrpc":null,"method":"get_data","id":"x"}"#, r#""x""#);
    // An escaped spelling of the same string is the same string.
    exchange(
        r#"{"jsonrpc":"\u0032.0","method":"get_data","id":1}"#,
        Some(r#"{"jsonrpc":"2.0","result":["hello",5],"id":1}"#),
    );
}

#[test]
fn params_must_be_structured() {
    invalid_request(
        r#"{"jsonrpc":"2.0","method":"sum","params":"bar","id":1}"#,
        "1",
    );
    invalid_request(r#"{"jsonrpc":"2.0","method":"sum","params":3,"id":1}"#, "1");
    invalid_request(
        r#"{"jsonrpc":"2.0","method":"sum","params":null,"id":1}"#,
        "1",
    );
    invalid_request(
        r#"{"jsonrpc":"2.0","method":"sum","params":true,"id":1}"#,
        "1",
    );
    // An invalid notification is still answered, with id null.
    invalid_request(r#"{"jsonrpc":"2.0","method":"sum","params":"bar"}"#, "null");
}

#[test]
fn method_and_id_types() {
    invalid_request(r#"{"jsonrpc":"2.0","method":null,"id":1}"#, "1");
    invalid_request(r#"{"jsonrpc":"2.0","id":1}"#, "1");
    invalid_request(r#"{"jsonrpc":"2.0","method":"get_data","id":true}"#, "null");
    invalid_request(r#"{"jsonrpc":"2.0","method":"get_data","id":[1]}"#, "null");
    invalid_request(r#"{"jsonrpc":"2.0","method":"get_data","id":{}}"#, "null");
    invalid_request(r#""just a string""#, "null");
    invalid_request(r#"42"#, "null");
    invalid_request(r#"null"#, "null");
    invalid_request(r#"{}"#, "null");
}

#[test]
fn responses_are_validated_but_never_answered() {
    for text in [
        // Both result and error.
        r#"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":1}"#,
        // An error code that is not an integer.
        r#"{"jsonrpc":"2.0","error":{"code":1.5,"message":"x"},"id":1}"#,
        r#"{"jsonrpc":"2.0","error":{"code":"1","message":"x"},"id":1}"#,
        // No message, or a message that is not a string.
        r#"{"jsonrpc":"2.0","error":{"code":1},"id":1}"#,
        r#"{"jsonrpc":"2.0","error":{"code":1,"message":7},"id":1}"#,
        r#"{"jsonrpc":"2.0","error":"bad","id":1}"#,
        // No id.
        r#"{"jsonrpc":"2.0","result":1}"#,
        // Wrong version.
        r#"{"jsonrpc":"1.0","result":1,"id":1}"#,
    ] {
        match parse(text.as_bytes()) {
            Ok(Incoming::Single(Err(invalid))) => {
                assert_eq!(invalid.kind, InvalidKind::Response, "{text}");
                assert!(invalid.to_response().is_none());
            }
            other => panic!("{text}: expected an invalid response, got {other:?}"),
        }
        // Answering a malformed response could make two peers loop: nothing is sent.
        exchange(text, None);
    }
    // A valid response is not answered either.
    exchange(r#"{"jsonrpc":"2.0","result":1,"id":1}"#, None);
    let Ok(Incoming::Single(Ok(Message::Response(resp)))) =
        parse(br#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"m","data":[1]},"id":1}"#)
    else {
        panic!("a valid error response")
    };
    let err = resp.result.expect_err("an error");
    assert_eq!(err.code.code(), -32000);
    assert_eq!(err.data.expect("data").get(), "[1]");
}

#[test]
fn unknown_members_are_ignored() {
    exchange(
        r#"{"jsonrpc":"2.0","method":"subtract","params":[5,3],"id":1,"extra":{"deep":[1,{"x":null}]},"x":1}"#,
        Some(r#"{"jsonrpc":"2.0","result":2,"id":1}"#),
    );
    let Ok(Incoming::Single(Ok(Message::Response(_)))) =
        parse(br#"{"jsonrpc":"2.0","result":1,"id":1,"meta":"x"}"#)
    else {
        panic!("a response with an unknown member is still a response")
    };
}

#[test]
fn duplicate_members_are_invalid() {
    invalid_request(
        r#"{"jsonrpc":"2.0","method":"get_data","method":"sum","id":1}"#,
        "1",
    );
    invalid_request(
        r#"{"jsonrpc":"2.0","jsonrpc":"2.0","method":"get_data","id":1}"#,
        "1",
    );
    invalid_request(
        r#"{"jsonrpc":"2.0","method":"sum","params":[1],"params":[2],"id":1}"#,
        "1",
    );
    // Two ids: the object is invalid (which id to echo is a guess).
    let Ok(Incoming::Single(Err(invalid))) =
        parse(br#"{"jsonrpc":"2.0","method":"get_data","id":1,"id":2}"#)
    else {
        panic!("a duplicate id is invalid")
    };
    assert_eq!(invalid.kind, InvalidKind::Request);
}

#[test]
fn batch_members_are_answered_independently() {
    exchange(
        r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1},
            {"jsonrpc":"1.0","method":"sum","params":[1,2],"id":2},
            {"jsonrpc":"2.0","method":"sum","params":"x","id":3},
            [],
            {"jsonrpc":"2.0","result":1,"id":4},
            {"jsonrpc":"2.0","method":"update"}]"#,
        Some(
            r#"[{"jsonrpc":"2.0","result":3,"id":1},
                {"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":2},
                {"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":3},
                {"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]"#,
        ),
    );
    // A batch holding only responses produces nothing.
    exchange(r#"[{"jsonrpc":"2.0","result":1,"id":4}]"#, None);
}

#[test]
fn reserved_method_names_parse_as_requests() {
    assert!(jsonrpc_proto::is_reserved_method("rpc.discover"));
    assert!(!jsonrpc_proto::is_reserved_method("rpcx"));
    exchange(
        r#"{"jsonrpc":"2.0","method":"rpc.discover","id":1}"#,
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}"#),
    );
}

#[test]
fn lone_surrogate_escapes_are_valid_json_but_invalid_strings() {
    // Valid JSON text (RFC 8259 grammar), but no Unicode string: -32600, not -32700.
    invalid_request(r#"{"jsonrpc":"2.0","method":"\ud800","id":1}"#, "1");
    invalid_request(r#"{"jsonrpc":"\ud800","method":"get_data","id":2}"#, "2");
    invalid_request(
        r#"{"jsonrpc":"2.0","method":"get_data","id":"\udc00"}"#,
        "null",
    );
    // Inside params it is passed through untouched: the handler decides.
    let Ok(Incoming::Single(Ok(Message::Request(req)))) =
        parse(br#"{"jsonrpc":"2.0","method":"get_data","params":["\ud800"],"id":3}"#)
    else {
        panic!("a valid request")
    };
    assert_eq!(req.params.expect("params").get(), r#"["\ud800"]"#);
    // Where no request could stand (the top level, a batch member, a member name): -32600
    // too, and the batch's other members are answered as usual.
    invalid_request(r#""\ud800""#, "null");
    invalid_request(r#"  "a\udc00b"  "#, "null");
    invalid_request(
        r#"{"\ud800":1,"jsonrpc":"2.0","method":"subtract","id":4}"#,
        "null",
    );
    exchange(
        r#"["\ud800"]"#,
        Some(&format!(
            r#"[{{"jsonrpc": "2.0", "error": {INVALID_REQUEST}, "id": null}}]"#
        )),
    );
    exchange(
        r#"[{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":5},"\ud800",
            {"\udbff":0},["\udc00"],{"jsonrpc":"2.0","method":"subtract","params":[1,1],"id":6}]"#,
        Some(&format!(
            r#"[{{"jsonrpc": "2.0", "result": 19, "id": 5}},
                {{"jsonrpc": "2.0", "error": {INVALID_REQUEST}, "id": null}},
                {{"jsonrpc": "2.0", "error": {INVALID_REQUEST}, "id": null}},
                {{"jsonrpc": "2.0", "error": {INVALID_REQUEST}, "id": null}},
                {{"jsonrpc": "2.0", "result": 0, "id": 6}}]"#
        )),
    );
    // Still -32700 when the text is no JSON at all.
    for input in [
        r#""\ud800"#,
        r#"["\ud800",]"#,
        r#"{"\ud800"}"#,
        r#""\uZZZZ""#,
    ] {
        let answer = serve(input.as_bytes()).expect("an answer");
        let answer: Value = serde_json::from_slice(&answer).expect("JSON");
        assert_eq!(answer["error"]["code"], -32700, "{input}");
    }
}

#[test]
fn invalid_utf8_inside_a_structured_method_is_a_parse_error() {
    // Found by fuzzing: the fast path skipped the object without checking its UTF-8.
    for input in [
        &b"{\"jsonrpc\": {\"code\"\t\t:\"\xfc\"}, \"d\":\r\"4~\"}"[..],
        b"{\"jsonrpc\":\"2.0\",\"method\":[\"\xfc\"],\"id\":1}",
    ] {
        assert!(parse(input).is_err(), "{}", String::from_utf8_lossy(input));
        let answer = serve(input).expect("an answer");
        let answer: Value = serde_json::from_slice(&answer).expect("JSON");
        assert_eq!(answer["error"]["code"], -32700);
        assert_eq!(answer["id"], Value::Null);
    }
    // Structured values without bad bytes are invalid requests, as before.
    invalid_request(r#"{"jsonrpc":"2.0","method":["m"],"id":1}"#, "1");
    invalid_request(r#"{"jsonrpc":{"v":"2.0"},"method":"m","id":1}"#, "1");
}

#[test]
fn invalid_utf8_anywhere_is_a_parse_error() {
    for frame in [
        &b"{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"x\":\"\xfc\",\"id\":1}"[..],
        b"{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[\"\xff\"],\"id\":1}",
        b"[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1},{\"\xc3\":1}]",
    ] {
        assert!(jsonrpc_proto::parse(frame).is_err(), "{frame:?}");
    }
}
