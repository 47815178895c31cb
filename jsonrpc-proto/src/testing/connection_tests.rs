//! The connection state machine's tests, driven through the virtual-clock [`Pair`] (they live
//! here, beside the harness, so the protocol layer never imports the testing layer).

use std::time::{Duration, Instant};

use serde_json::Value;

use serde_json::value::RawValue;

use crate::protocol::connection::*;
use crate::protocol::error::*;
use crate::protocol::id::*;
use crate::protocol::message::{Invalid, InvalidKind};
use crate::testing::sim::{Pair, Side};

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).unwrap()
}

fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap()
}

fn drain_events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn drain_frames(conn: &mut Connection) -> Vec<Value> {
    std::iter::from_fn(|| conn.poll_transmit())
        .map(|b| json(&b))
        .collect()
}

fn requests(conn: &mut Connection) -> Vec<IncomingRequest> {
    drain_events(conn)
        .into_iter()
        .filter_map(|e| match e {
            Event::Request(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn single_request_is_answered_with_exact_id() {
    let now = Instant::now();
    let mut c = Connection::default();
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"m","id":"a\"b"}"#, now);
    let mut reqs = requests(&mut c);
    assert_eq!(reqs.len(), 1);
    let r = reqs.pop().unwrap();
    assert_eq!(c.in_flight(), 1);
    c.respond(r.handle, Ok(&raw("[1,2]"))).unwrap();
    assert_eq!(c.in_flight(), 0);
    assert_eq!(
        &c.poll_transmit().unwrap()[..],
        br#"{"jsonrpc":"2.0","result":[1,2],"id":"a\"b"}"#
    );
    assert!(c.poll_transmit().is_none());
}

#[test]
fn batch_answers_leave_as_one_array_after_the_last_answer() {
    let now = Instant::now();
    let mut c = Connection::default();
    c.handle_frame(
        br#"[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"n"},{"foo":"boo"},{"jsonrpc":"2.0","method":"b","id":2}]"#,
        now,
    );
    let events = drain_events(&mut c);
    assert_eq!(events.len(), 4, "{events:?}");
    let mut reqs: Vec<IncomingRequest> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Request(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reqs.len(), 2);
    // Answer in reverse order: nothing leaves until both are answered.
    let second = reqs.pop().unwrap();
    c.respond(second.handle, Ok(&raw("2"))).unwrap();
    assert!(c.poll_transmit().is_none());
    let first = reqs.pop().unwrap();
    c.respond(first.handle, Err(&ErrorObject::method_not_found()))
        .unwrap();
    let frames = drain_frames(&mut c);
    assert_eq!(frames.len(), 1);
    let arr = frames[0].as_array().unwrap();
    assert_eq!(arr.len(), 3);
    let ids: Vec<&Value> = arr.iter().map(|e| &e["id"]).collect();
    assert!(ids.contains(&&Value::from(1)));
    assert!(ids.contains(&&Value::from(2)));
    assert!(ids.contains(&&Value::Null));
}

#[test]
fn batch_of_notifications_sends_nothing() {
    let mut c = Connection::default();
    c.handle_frame(
        br#"[{"jsonrpc":"2.0","method":"a","params":[1]},{"jsonrpc":"2.0","method":"b"}]"#,
        Instant::now(),
    );
    let events = drain_events(&mut c);
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0], Event::Notification(n) if n.method == "a"));
    assert!(matches!(&events[1], Event::Notification(n) if n.method == "b"));
    assert!(c.poll_transmit().is_none());
}

#[test]
fn empty_batch_gets_one_error_object() {
    let mut c = Connection::default();
    c.handle_frame(b"[]", Instant::now());
    assert_eq!(
        drain_frames(&mut c),
        vec![json(
            br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#
        )]
    );
}

#[test]
fn parse_error_is_answered_and_reported() {
    let mut c = Connection::default();
    c.handle_frame(
        br#"{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]"#,
        Instant::now(),
    );
    assert_eq!(
        drain_frames(&mut c),
        vec![json(
            br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#
        )]
    );
    assert!(matches!(
        drain_events(&mut c).as_slice(),
        [Event::ParseError(_)]
    ));
}

#[test]
fn oversized_batch_is_refused_whole() {
    let mut c = Connection::new(Config {
        max_batch_len: 2,
        ..Config::default()
    });
    c.handle_frame(
        br#"[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"a","id":2},{"jsonrpc":"2.0","method":"a","id":3}]"#,
        Instant::now(),
    );
    let frames = drain_frames(&mut c);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["error"]["code"], -32600);
    assert_eq!(frames[0]["id"], Value::Null);
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn in_flight_limit_answers_server_busy() {
    let mut c = Connection::new(Config {
        max_in_flight: 1,
        ..Config::default()
    });
    let now = Instant::now();
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"a","id":1}"#, now);
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"a","id":2}"#, now);
    let frames = drain_frames(&mut c);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["error"]["code"], -32003);
    assert_eq!(frames[0]["id"], 2);
    assert_eq!(requests(&mut c).len(), 1);
}

#[test]
fn handles_cannot_answer_twice_or_after_close() {
    let mut c = Connection::default();
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"a","id":1}"#, Instant::now());
    let r = requests(&mut c).pop().unwrap();
    // A handle for another key is refused.
    assert_eq!(
        c.respond(ResponseHandle::forged(99), Ok(&raw("1"))),
        Err(RespondError::UnknownHandle)
    );
    c.close();
    assert_eq!(
        c.respond(r.handle, Ok(&raw("1"))),
        Err(RespondError::Closed)
    );
}

#[test]
fn a_reused_in_flight_slot_answers_only_its_own_request() {
    let mut c = Connection::default();
    let now = Instant::now();
    c.handle_frame(
        br#"[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"a","id":"x"},{"jsonrpc":"2.0","method":"a","id":3}]"#,
        now,
    );
    let mut batch = requests(&mut c);
    assert_eq!(c.in_flight(), 3);
    // Answered out of order: the array leaves with the last answer, each under its own id.
    let third = batch.pop().unwrap();
    let first = batch.remove(0);
    let second = batch.pop().unwrap();
    c.respond(third.handle, Ok(&raw("30"))).unwrap();
    c.respond(first.handle, Ok(&raw("10"))).unwrap();
    assert!(c.poll_transmit().is_none());
    c.respond(second.handle, Ok(&raw("20"))).unwrap();
    let frames = drain_frames(&mut c);
    assert_eq!(frames.len(), 1);
    let answers: Vec<(Value, Value)> = frames[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].clone(), a["result"].clone()))
        .collect();
    assert_eq!(
        answers,
        [
            (Value::from(3), Value::from(30)),
            (Value::from(1), Value::from(10)),
            (Value::from("x"), Value::from(20)),
        ]
    );
    assert_eq!(c.in_flight(), 0);
    // The next request takes a freed slot; a handle of the first request's serial and slot
    // (answered already) is refused and leaves the new request in flight.
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"a","id":4}"#, now);
    let r = requests(&mut c).pop().unwrap();
    for stale in 0..3 {
        assert_eq!(
            c.respond(ResponseHandle::forged(stale), Ok(&raw("0"))),
            Err(RespondError::UnknownHandle)
        );
    }
    assert_eq!(c.in_flight(), 1);
    assert_eq!(c.request_id(&r.handle), Some(&Id::from(4u64)));
    c.respond(r.handle, Ok(&raw("40"))).unwrap();
    let frames = drain_frames(&mut c);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["id"], 4);
    assert_eq!(frames[0]["result"], 40);
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn invalid_response_is_reported_not_answered() {
    let mut c = Connection::default();
    c.handle_frame(
        br#"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":5}"#,
        Instant::now(),
    );
    assert!(c.poll_transmit().is_none());
    assert!(matches!(
        drain_events(&mut c).as_slice(),
        [Event::Invalid(Invalid {
            kind: InvalidKind::Response,
            ..
        })]
    ));
}

#[test]
fn client_ids_are_unique_and_answers_matched() {
    let mut pair = Pair::default();
    let now = pair.now;
    let ids: Vec<Id> = (0..100)
        .map(|_| pair.client.request("m", None, now).unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 100);
    pair.drive();
    let reqs = requests(&mut pair.server);
    assert_eq!(reqs.len(), 100);
    // Answer each with its own id as the result, in reverse.
    for r in reqs.into_iter().rev() {
        let echo = raw(&r.request.id.to_string());
        pair.server.respond(r.handle, Ok(&echo)).unwrap();
    }
    pair.drive();
    let mut seen = 0;
    for e in drain_events(&mut pair.client) {
        match e {
            Event::Response { id, result: Ok(v) } => {
                assert_eq!(v.get(), id.to_string());
                seen += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, 100);
    assert_eq!(pair.client.pending(), 0);
}

#[test]
fn unknown_and_duplicate_responses_are_events() {
    let now = Instant::now();
    let mut c = Connection::default();
    let id = c.request("m", None, now).unwrap();
    let frame = format!(r#"{{"jsonrpc":"2.0","result":1,"id":{id}}}"#);
    c.handle_frame(frame.as_bytes(), now);
    c.handle_frame(frame.as_bytes(), now);
    c.handle_frame(br#"{"jsonrpc":"2.0","result":1,"id":"zzz"}"#, now);
    c.handle_frame(
        br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#,
        now,
    );
    let events = drain_events(&mut c);
    assert!(matches!(&events[0], Event::Response { result: Ok(_), .. }));
    assert!(matches!(&events[1], Event::UnmatchedResponse(r) if r.id == id));
    assert!(matches!(&events[2], Event::UnmatchedResponse(r) if r.id == Id::from("zzz")));
    assert!(matches!(&events[3], Event::UnmatchedResponse(r) if r.id == Id::Null));
    assert_eq!(events.len(), 4);
}

#[test]
fn timeouts_fail_pending_requests_and_late_answers_are_unmatched() {
    let cfg = Config {
        request_timeout: Some(Duration::from_secs(5)),
        ..Config::default()
    };
    let mut pair = Pair::new(cfg, Config::default());
    let id = pair.client.request("slow", None, pair.now).unwrap();
    pair.drive();
    let call = requests(&mut pair.server).pop().unwrap();
    assert_eq!(
        pair.client.poll_timeout(),
        Some(pair.now + Duration::from_secs(5))
    );
    pair.advance(Duration::from_millis(4999));
    assert!(pair.client.poll_event().is_none());
    pair.advance(Duration::from_millis(1));
    match pair.client.poll_event() {
        Some(Event::Response {
            id: got,
            result: Err(CallError::TimedOut),
        }) => assert_eq!(got, id),
        other => panic!("{other:?}"),
    }
    assert_eq!(CallError::TimedOut.to_error_object().code.0, -32001);
    pair.server.respond(call.handle, Ok(&raw("1"))).unwrap();
    pair.drive();
    assert!(matches!(
        pair.client.poll_event(),
        Some(Event::UnmatchedResponse(_))
    ));
    assert!(pair.client.poll_event().is_none());
}

#[test]
fn lost_frames_end_in_timeouts() {
    let cfg = Config {
        request_timeout: Some(Duration::from_secs(1)),
        ..Config::default()
    };
    let mut pair = Pair::new(cfg, Config::default());
    pair.drop_next(Side::Client, 1);
    let lost = pair.client.request("a", None, pair.now).unwrap();
    let kept = pair.client.request("b", None, pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.dropped(Side::Client), 1);
    let call = requests(&mut pair.server).pop().unwrap();
    assert_eq!(call.request.id, kept);
    pair.server.respond(call.handle, Ok(&raw("true"))).unwrap();
    pair.advance(Duration::from_secs(2));
    let events = drain_events(&mut pair.client);
    assert!(matches!(&events[0], Event::Response { id, result: Ok(_) } if *id == kept));
    assert!(
        matches!(&events[1], Event::Response { id, result: Err(CallError::TimedOut) } if *id == lost)
    );
}

#[test]
fn latency_races_a_deadline() {
    let cfg = Config {
        request_timeout: Some(Duration::from_millis(100)),
        ..Config::default()
    };
    let mut pair = Pair::new(cfg, Config::default());
    pair.set_latency(Side::Server, Duration::from_millis(150));
    let id = pair.client.request("a", None, pair.now).unwrap();
    pair.drive();
    let call = requests(&mut pair.server).pop().unwrap();
    pair.server.respond(call.handle, Ok(&raw("1"))).unwrap();
    pair.drive();
    while pair.run_next() {}
    let events = drain_events(&mut pair.client);
    assert!(
        matches!(&events[0], Event::Response { id: got, result: Err(CallError::TimedOut) } if *got == id)
    );
    assert!(matches!(&events[1], Event::UnmatchedResponse(_)));
}

#[test]
fn close_fails_every_pending_call_once_and_refuses_sends() {
    let now = Instant::now();
    let mut c = Connection::default();
    let a = c.request("a", None, now).unwrap();
    let b = c.request_with_timeout("b", None, now, None).unwrap();
    c.close();
    c.close();
    let events = drain_events(&mut c);
    assert_eq!(events.len(), 2);
    assert!(
        matches!(&events[0], Event::Response { id, result: Err(CallError::Closed) } if *id == a)
    );
    assert!(
        matches!(&events[1], Event::Response { id, result: Err(CallError::Closed) } if *id == b)
    );
    assert_eq!(c.request("c", None, now), Err(SendError::Closed));
    assert_eq!(c.notify("c", None), Err(SendError::Closed));
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"a","id":1}"#, now);
    assert!(c.poll_event().is_none());
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn cancelled_calls_drop_late_answers_quietly() {
    let mut pair = Pair::default();
    let id = pair.client.request("a", None, pair.now).unwrap();
    pair.drive();
    assert!(pair.client.cancel(&id));
    assert!(!pair.client.cancel(&id));
    let call = requests(&mut pair.server).pop().unwrap();
    pair.server.respond(call.handle, Ok(&raw("1"))).unwrap();
    pair.drive();
    assert!(pair.client.poll_event().is_none());
    assert_eq!(pair.client.pending(), 0);
}

#[test]
fn pending_limit_is_enforced() {
    let now = Instant::now();
    let mut c = Connection::new(Config {
        max_pending: 2,
        ..Config::default()
    });
    c.request("a", None, now).unwrap();
    c.request("a", None, now).unwrap();
    assert_eq!(
        c.request("a", None, now),
        Err(SendError::TooManyPending { limit: 2 })
    );
    c.notify("n", None).unwrap();
}

#[test]
fn outgoing_batch_is_one_array_and_results_match() {
    let mut pair = Pair::default();
    let now = pair.now;
    let (a, b) = {
        let mut batch = pair.client.batch();
        let a = batch
            .request("sum", Some(&raw("[1,2]")), now, None)
            .unwrap();
        batch.notify("log", Some(&raw(r#"{"m":"x"}"#))).unwrap();
        let b = batch
            .request("sum", Some(&raw("[3,4]")), now, None)
            .unwrap();
        assert_eq!(batch.len(), 3);
        batch.finish();
        (a, b)
    };
    assert_eq!(pair.client.transmit_len(), 1);
    pair.drive();
    let events = drain_events(&mut pair.server);
    assert_eq!(events.len(), 3);
    for e in events {
        if let Event::Request(r) = e {
            let p: Vec<i64> =
                serde_json::from_str(r.request.params.as_ref().unwrap().get()).unwrap();
            let sum = raw(&(p[0] + p[1]).to_string());
            pair.server.respond(r.handle, Ok(&sum)).unwrap();
        }
    }
    assert_eq!(pair.server.transmit_len(), 1);
    pair.drive();
    let mut results = std::collections::HashMap::new();
    for e in drain_events(&mut pair.client) {
        if let Event::Response { id, result: Ok(v) } = e {
            results.insert(id, v.get().to_owned());
        }
    }
    assert_eq!(results[&a], "3");
    assert_eq!(results[&b], "7");
}

#[test]
fn both_sides_call_each_other_on_one_connection() {
    let mut pair = Pair::default();
    let up = pair.client.request("up", None, pair.now).unwrap();
    pair.drive();
    let call = requests(&mut pair.server).pop().unwrap();
    // While answering, the server calls back into the client.
    let down = pair.server.request("down", None, pair.now).unwrap();
    pair.drive();
    let back = requests(&mut pair.client).pop().unwrap();
    assert_eq!(back.request.method, "down");
    pair.client
        .respond(back.handle, Ok(&raw("\"from client\"")))
        .unwrap();
    pair.drive();
    assert!(
        matches!(pair.server.poll_event(), Some(Event::Response { id, result: Ok(_) }) if id == down)
    );
    pair.server
        .respond(call.handle, Ok(&raw("\"from server\"")))
        .unwrap();
    pair.drive();
    assert!(
        matches!(pair.client.poll_event(), Some(Event::Response { id, result: Ok(_) }) if id == up)
    );
}

#[test]
fn timer_heap_stays_proportional_to_pending_calls() {
    let now = Instant::now();
    let mut c = Connection::default();
    for _ in 0..10_000 {
        let id = c.request("a", None, now).unwrap();
        let frame = format!(r#"{{"jsonrpc":"2.0","result":0,"id":{id}}}"#);
        c.handle_frame(frame.as_bytes(), now);
        let _ = c.poll_event();
        let _ = c.poll_transmit();
    }
    assert_eq!(c.pending(), 0);
    assert!(c.timer_count() <= 64 + 1, "timers: {}", c.timer_count());
}

#[test]
fn arbitrary_garbage_never_stops_the_connection() {
    let now = Instant::now();
    let mut c = Connection::default();
    for junk in [
        &b"\xff\xfe"[..],
        b"",
        b"[",
        b"{}",
        b"[{}]",
        b"null",
        b"[[[]]]",
        b"\"x\"",
    ] {
        c.handle_frame(junk, now);
    }
    drain_events(&mut c);
    drain_frames(&mut c);
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"ok","id":1}"#, now);
    assert_eq!(requests(&mut c).len(), 1);
}

#[test]
fn nesting_limit_is_the_same_for_compact_and_spaced_frames() {
    for (depth, too_deep) in [(128, false), (129, true)] {
        // The batch array and its object are two levels; params make up the rest.
        let params = format!("{}{}", "[".repeat(depth - 2), "]".repeat(depth - 2));
        let compact = format!(r#"[{{"jsonrpc":"2.0","method":"m","params":{params},"id":1}}]"#);
        let spaced = format!(r#"[ {{"jsonrpc": "2.0","method":"m","params":{params},"id":1}}]"#);
        for frame in [compact, spaced] {
            let mut c = Connection::default();
            c.handle_frame(frame.as_bytes(), Instant::now());
            let event = c.poll_event();
            assert_eq!(
                matches!(event, Some(Event::ParseError(_))),
                too_deep,
                "depth {depth}: {event:?}"
            );
            if !too_deep {
                assert!(matches!(event, Some(Event::Request(_))), "{event:?}");
            }
        }
    }
}

#[test]
fn number_ids_of_any_size_are_echoed_exactly() {
    let now = Instant::now();
    for id in [
        "18446744073709551617",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "1.5e400",
        "-0",
        "1.0",
        "1E+2",
        "0.30000000000000000000000001",
    ] {
        let mut c = Connection::default();
        let frame = format!(r#"{{"jsonrpc":"2.0","method":"m","id":{id}}}"#);
        c.handle_frame(frame.as_bytes(), now);
        let r = requests(&mut c).pop().expect("a request");
        assert_eq!(r.request.id.to_string(), id);
        c.respond(r.handle, Ok(&raw("true"))).unwrap();
        let out = c.poll_transmit().unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            format!(r#"{{"jsonrpc":"2.0","result":true,"id":{id}}}"#)
        );
        // Invalid requests echo the id too, and so do batch members (spaced, slow path).
        let frame = format!(r#"[ {{"jsonrpc":"1.0","method":"m","id":{id}}} ]"#);
        c.handle_frame(frame.as_bytes(), now);
        let out = c.poll_transmit().unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains(&format!(r#""id":{id}}}"#)), "{text}");
    }
}

#[test]
fn answers_match_calls_by_the_value_of_their_id() {
    let now = Instant::now();
    let mut c = Connection::default();
    let a = c.request("m", None, now).unwrap();
    let b = c.request("m", None, now).unwrap();
    let n = b.as_u64().unwrap();
    // The same number spelled differently still matches its call.
    let frame = format!(r#"{{"jsonrpc":"2.0","result":1,"id":{}.0}}"#, a);
    c.handle_frame(frame.as_bytes(), now);
    let frame = format!(r#"{{"jsonrpc":"2.0","result":2,"id":{n}0e-1}}"#);
    c.handle_frame(frame.as_bytes(), now);
    // Big ids never match (this side allocates u64 ids) and are reported, kept exactly.
    c.handle_frame(
        br#"{"jsonrpc":"2.0","result":3,"id":18446744073709551617}"#,
        now,
    );
    c.handle_frame(br#"{"jsonrpc":"2.0","result":3,"id":1e400}"#, now);
    let events = drain_events(&mut c);
    assert!(matches!(&events[0], Event::Response { id, result: Ok(_) } if *id == a));
    assert!(matches!(&events[1], Event::Response { id, result: Ok(_) } if *id == b));
    assert!(
        matches!(&events[2], Event::UnmatchedResponse(r) if r.id.to_string() == "18446744073709551617")
    );
    assert!(matches!(&events[3], Event::UnmatchedResponse(r) if r.id.to_string() == "1e400"));
    assert_eq!(events.len(), 4);
    assert_eq!(c.pending(), 0);
}

#[test]
fn a_quiet_connection_gives_back_its_room_and_keeps_working() {
    let now = Instant::now();
    let mut c = Connection::default();
    for round in 0..3u64 {
        let frame = format!(r#"{{"jsonrpc":"2.0","method":"m","id":{round}}}"#);
        c.handle_frame(frame.as_bytes(), now);
        let reqs = requests(&mut c);
        assert_eq!(reqs.len(), 1);
        assert!(c.incoming_capacity() > 0);
        // nothing is released while a call is in flight
        c.release_idle_memory();
        assert_eq!(c.in_flight(), 1);
        let handle = reqs.into_iter().next().unwrap().handle;
        c.respond(handle, Ok(&raw("7"))).unwrap();
        assert_eq!(
            drain_frames(&mut c),
            vec![json(
                format!(r#"{{"jsonrpc":"2.0","result":7,"id":{round}}}"#).as_bytes()
            )]
        );
        c.release_idle_memory();
        assert_eq!(c.incoming_capacity(), 0);
        // an outgoing call still pending keeps its place
        let id = c.request("out", None, now).unwrap();
        let _ = c.poll_transmit();
        c.release_idle_memory();
        assert!(c.is_pending(&id));
        let answer = format!(r#"{{"jsonrpc":"2.0","result":1,"id":{id}}}"#);
        c.handle_frame(answer.as_bytes(), now);
        assert!(matches!(
            c.poll_event(),
            Some(Event::Response { result: Ok(_), .. })
        ));
    }
}

#[test]
fn outgoing_tables_exist_only_while_this_side_has_calls() {
    let now = Instant::now();
    let mut c = Connection::default();
    // A served connection that only answers never allocates them.
    c.handle_frame(br#"{"jsonrpc":"2.0","method":"m","id":1}"#, now);
    let handle = requests(&mut c).into_iter().next().unwrap().handle;
    c.respond(handle, Ok(&raw("7"))).unwrap();
    let _ = drain_frames(&mut c);
    assert!(!c.has_outgoing());
    assert_eq!(c.poll_timeout(), None);
    // An answer to no call of this side is reported as before.
    c.handle_frame(br#"{"jsonrpc":"2.0","result":1,"id":5}"#, now);
    assert!(matches!(c.poll_event(), Some(Event::UnmatchedResponse(_))));
    // A call allocates them; a quiet connection gives them back; ids keep counting up.
    let first = c.request("out", None, now).unwrap();
    assert!(c.has_outgoing());
    let _ = c.poll_transmit();
    c.handle_frame(
        format!(r#"{{"jsonrpc":"2.0","result":1,"id":{first}}}"#).as_bytes(),
        now,
    );
    assert!(matches!(
        c.poll_event(),
        Some(Event::Response { result: Ok(_), .. })
    ));
    c.release_idle_memory();
    assert!(!c.has_outgoing());
    let second = c.request("out", None, now).unwrap();
    assert_eq!(second.as_u64(), first.as_u64().map(|n| n + 1));
    // A cancelled call's late answer stays quiet across a release.
    assert!(c.cancel(&second));
    c.release_idle_memory();
    assert!(c.has_outgoing());
    let _ = c.poll_transmit();
    c.handle_frame(
        format!(r#"{{"jsonrpc":"2.0","result":1,"id":{second}}}"#).as_bytes(),
        now,
    );
    assert!(c.poll_event().is_none());
}

/// The client's fast path for frames of answers (`Connection::handle_answers`) ends the same
/// calls with the same results as `handle_frame`, and leaves the same events for the rest:
/// unknown ids unmatched, a cancelled call's late answer dropped, a second answer to the same
/// call unmatched; frames it does not read (an error object among the answers, a request)
/// are refused untouched.
#[test]
fn the_answers_fast_path_ends_calls_as_handle_frame_does() {
    let now = Instant::now();
    let frame = br#"[{"jsonrpc":"2.0","result":3,"id":1},{"jsonrpc":"2.0","id":2,"result":"two"},{"jsonrpc":"2.0","result":[1,{"a":null}],"id":99},{"jsonrpc":"2.0","result":4,"id":3},{"jsonrpc":"2.0","result":5,"id":1}]"#;
    let setup = || {
        let mut c = Connection::new(Config::default());
        for _ in 0..3 {
            c.request("m", None, now).unwrap();
        }
        assert!(c.cancel(&Id::from(3u64)));
        drop(drain_frames(&mut c));
        c
    };
    let mut slow = setup();
    slow.handle_frame(frame, now);
    let mut fast = setup();
    let mut answers = Vec::new();
    assert!(fast.handle_answers(frame, &mut answers));
    let fast_results: Vec<(u64, String)> = answers
        .iter()
        .map(|&(n, s, e)| (n, String::from_utf8(frame[s..e].to_vec()).unwrap()))
        .collect();
    let mut slow_results = Vec::new();
    let mut slow_rest = Vec::new();
    for ev in drain_events(&mut slow) {
        match ev {
            Event::Response { id, result } => {
                slow_results.push((id.as_u64().unwrap(), result.unwrap().get().to_owned()))
            }
            other => slow_rest.push(format!("{other:?}")),
        }
    }
    assert_eq!(fast_results, slow_results);
    assert_eq!(
        fast_results,
        vec![(1, "3".to_owned()), (2, "\"two\"".to_owned())]
    );
    let fast_rest: Vec<String> = drain_events(&mut fast)
        .iter()
        .map(|e| format!("{e:?}"))
        .collect();
    assert_eq!(fast_rest, slow_rest);
    assert_eq!(
        fast_rest.len(),
        2,
        "ids 99 and the second answer to 1: {fast_rest:?}"
    );
    assert_eq!(fast.pending(), 0);
    assert_eq!(slow.pending(), 0);
    assert!(drain_frames(&mut fast).is_empty());
    assert!(drain_frames(&mut slow).is_empty());
    assert_eq!(fast.poll_timeout().is_some(), slow.poll_timeout().is_some());
    // no call pending: no deadline kept either way
    assert_eq!((fast.timer_count(), slow.timer_count()), (0, 0));

    // not read by the fast path: nothing happens, the full path is the caller's
    let mut c = setup();
    for other in [
        &br#"[{"jsonrpc":"2.0","result":3,"id":1},{"jsonrpc":"2.0","error":{"code":1,"message":"m"},"id":2}]"#[..],
        br#"{"jsonrpc":"2.0","method":"m","id":1}"#,
        br#"{"jsonrpc":"2.0","result":3,"id":"1"}"#,
        br#"{"jsonrpc":"2.0", "result":3,"id":1}"#,
    ] {
        assert!(!c.handle_answers(other, &mut answers));
        assert!(answers.is_empty());
        assert_eq!(c.pending(), 2);
        assert!(drain_events(&mut c).is_empty());
        assert!(drain_frames(&mut c).is_empty());
    }
    // closed: input is ignored, as by handle_frame
    c.close();
    drop(drain_events(&mut c));
    assert!(c.handle_answers(br#"{"jsonrpc":"2.0","result":3,"id":1}"#, &mut answers));
    assert!(answers.is_empty() && drain_events(&mut c).is_empty());
}

/// A batch written from each call's text up to its id (`OutgoingBatch::request_head`, what
/// `BatchBuilder` does) is byte for byte the batch `request_text` writes, ids included, and
/// registers the same calls.
#[test]
fn batch_calls_written_from_their_heads_are_the_usual_frame() {
    use crate::protocol::message::write_call_head;
    let now = Instant::now();
    let timeout = Some(Duration::from_secs(5));
    let calls: [(&str, Option<&[u8]>, bool); 5] = [
        ("add", Some(b"[1,2]"), true),
        ("say \"hi\"\n", Some(b"{\"a\":1}"), true),
        ("bump", None, false),
        ("caf\u{e9}", None, true),
        ("n", Some(b"[]"), false),
    ];
    let mut usual = Connection::new(Config::default());
    let mut from_heads = Connection::new(Config::default());
    for _ in 0..8 {
        // ids of more digits
        usual.request("warm", None, now).unwrap();
        from_heads.request("warm", None, now).unwrap();
    }
    drop(drain_frames(&mut usual));
    drop(drain_frames(&mut from_heads));
    let mut a = usual.batch();
    let mut b = from_heads.batch();
    for (method, params, is_request) in calls {
        let mut head = Vec::new();
        write_call_head(&mut head, method);
        if let Some(p) = params {
            head.extend_from_slice(b",\"params\":");
            head.extend_from_slice(p);
        }
        if is_request {
            let id = a.request_text(method, params, now, timeout).unwrap();
            assert_eq!(
                b.request_head(&head, now, timeout).unwrap(),
                id.as_u64().unwrap()
            );
        } else {
            a.notify_text(method, params).unwrap();
            b.notify_head(&head).unwrap();
        }
    }
    a.finish();
    b.finish();
    let (fa, fb) = (
        usual.poll_transmit().unwrap(),
        from_heads.poll_transmit().unwrap(),
    );
    assert_eq!(fa, fb);
    assert_eq!(json(&fa)[1]["method"], "say \"hi\"\n");
    assert_eq!(usual.pending(), from_heads.pending());
    assert_eq!(usual.poll_timeout(), from_heads.poll_timeout());
}

/// An outgoing batch's requests with one deadline and contiguous ids are one pending entry
/// with one timer, and each still ends exactly once on its own: answered by id in any order
/// (a duplicate or unknown id is unmatched), cancelled, timed out in id order with the other
/// calls of that deadline, or closed. A request with another deadline is registered alone.
#[test]
fn a_batch_is_one_pending_entry_whose_calls_end_one_by_one() {
    let t = Duration::from_secs(5);
    let now = Instant::now();
    let mut c = Connection::new(Config::default().with_request_timeout(Some(t)));
    let alone = c.request("x", None, now).unwrap();
    let ids: Vec<Id> = {
        let mut batch = c.batch();
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(batch.request("x", None, now, Some(t)).unwrap());
        }
        // another deadline: registered on its own, as is the next one (ids not contiguous)
        ids.push(batch.request("x", None, now, None).unwrap());
        ids.push(batch.request("x", None, now, Some(t)).unwrap());
        batch.finish();
        ids
    };
    let n: Vec<u64> = ids.iter().map(|id| id.as_u64().unwrap()).collect();
    assert_eq!(n, (2..8).collect::<Vec<u64>>());
    let sent = drain_frames(&mut c);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].as_array().unwrap().len(), 6);
    assert_eq!(c.pending(), 7);
    assert!(ids.iter().all(|id| c.is_pending(id)));
    assert!(!c.is_pending(&Id::from(8)));
    // the lone call, the batch's run and its last request
    assert_eq!(c.timer_count(), 3);
    let answer = |n: u64| format!(r#"{{"jsonrpc":"2.0","result":{n},"id":{n}}}"#);
    let frame = format!("[{},{},{}]", answer(n[1]), answer(n[1]), answer(999));
    c.handle_frame(frame.as_bytes(), now);
    let events = drain_events(&mut c);
    assert!(matches!(&events[..], [
        Event::Response { id, result: Ok(v) },
        Event::UnmatchedResponse(dup),
        Event::UnmatchedResponse(unknown),
    ] if *id == ids[1] && v.get() == "3" && dup.id == ids[1] && unknown.id == Id::from(999)));
    assert!(!c.is_pending(&ids[1]));
    assert!(c.cancel(&ids[2]));
    assert!(!c.cancel(&ids[2]));
    c.handle_frame(answer(n[2]).as_bytes(), now);
    assert!(
        drain_events(&mut c).is_empty(),
        "late answer to a cancelled call"
    );
    assert_eq!(c.pending(), 5);
    c.handle_timeout(now + t);
    let timed_out: Vec<Id> = drain_events(&mut c)
        .into_iter()
        .map(|e| match e {
            Event::Response {
                id,
                result: Err(CallError::TimedOut),
            } => id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        timed_out,
        [alone, ids[0].clone(), ids[3].clone(), ids[5].clone()]
    );
    assert_eq!(c.pending(), 1);
    c.close();
    assert!(matches!(
        &drain_events(&mut c)[..],
        [Event::Response { id, result: Err(CallError::Closed) }] if *id == ids[4]
    ));
}

/// The answers fast path ends a batch's calls in any order; the batch's entry and timer go
/// with its last answer and the quiet connection gives its tables back.
#[test]
fn a_batch_answered_in_any_order_leaves_nothing_pending() {
    let now = Instant::now();
    let mut c = Connection::default();
    let ids: Vec<u64> = {
        let mut batch = c.batch();
        let ids = (0..5)
            .map(|_| batch.request("x", None, now, Some(Duration::from_secs(1))))
            .map(|id| id.unwrap().as_u64().unwrap())
            .collect();
        batch.finish();
        ids
    };
    let _ = drain_frames(&mut c);
    let answers: Vec<String> = [3, 0, 4, 2]
        .iter()
        .map(|&k| format!(r#"{{"jsonrpc":"2.0","result":{k},"id":{}}}"#, ids[k]))
        .collect();
    let frame = format!("[{}]", answers.join(","));
    let mut got = Vec::new();
    assert!(c.handle_answers(frame.as_bytes(), &mut got));
    let matched: Vec<u64> = got.iter().map(|a| a.0).collect();
    assert_eq!(matched, [ids[3], ids[0], ids[4], ids[2]]);
    assert_eq!(c.pending(), 1);
    assert!(c.is_pending(&Id::from(ids[1])));
    assert_eq!(c.timer_count(), 1);
    let last = format!(r#"{{"jsonrpc":"2.0","result":1,"id":{}}}"#, ids[1]);
    assert!(c.handle_answers(last.as_bytes(), &mut got));
    assert_eq!(got.len(), 1);
    assert_eq!(c.pending(), 0);
    assert_eq!(c.timer_count(), 0);
    assert!(drain_events(&mut c).is_empty());
    c.release_idle_memory();
    assert!(!c.has_outgoing());
    // the same answer again: unmatched
    assert!(c.handle_answers(last.as_bytes(), &mut got));
    assert!(got.is_empty());
    assert!(matches!(
        &drain_events(&mut c)[..],
        [Event::UnmatchedResponse(_)]
    ));
}

/// A batch's calls added at once from their heads: the usual frame, ids one after the other,
/// refused whole when they would exceed `max_pending`; ids that would wrap around are taken
/// call by call (0 skipped) and still end one by one.
#[test]
fn batch_calls_from_heads_are_all_or_nothing_and_survive_wrapping_ids() {
    let now = Instant::now();
    let t = Some(Duration::from_secs(5));
    let heads: Vec<(&[u8], bool)> = vec![
        (br#"{"jsonrpc":"2.0","method":"a","params":[1]"#, true),
        (br#"{"jsonrpc":"2.0","method":"n""#, false),
        (br#"{"jsonrpc":"2.0","method":"b""#, true),
        (br#"{"jsonrpc":"2.0","method":"c","params":{}"#, true),
    ];
    let expected = |ids: [u64; 3]| {
        format!(
            r#"[{{"jsonrpc":"2.0","method":"a","params":[1],"id":{}}},{{"jsonrpc":"2.0","method":"n"}},{{"jsonrpc":"2.0","method":"b","id":{}}},{{"jsonrpc":"2.0","method":"c","params":{{}},"id":{}}}]"#,
            ids[0], ids[1], ids[2]
        )
    };
    let mut c = Connection::new(Config::default().with_max_pending(4));
    c.request("x", None, now).unwrap();
    let _ = drain_frames(&mut c);
    {
        let mut b = c.batch();
        let refused = b.calls_from_heads(heads.iter().copied().cycle().take(8), 6, now, t);
        assert!(matches!(
            refused,
            Err(SendError::TooManyPending { limit: 4 })
        ));
        assert!(b.is_empty());
    }
    assert!(c.poll_transmit().is_none());
    assert_eq!(c.pending(), 1);
    {
        let mut b = c.batch();
        let ids = b
            .calls_from_heads(heads.iter().copied(), 3, now, t)
            .unwrap();
        assert_eq!(ids, Some((2, 4)));
        b.finish();
    }
    assert_eq!(
        &c.poll_transmit().unwrap()[..],
        expected([2, 3, 4]).as_bytes()
    );
    assert_eq!(c.pending(), 4);
    assert_eq!(c.timer_count(), 2);
    // wrapping ids: u64::MAX, then 1 and 2
    let mut w = Connection::new(Config::default());
    w.set_next_id(u64::MAX);
    {
        let mut b = w.batch();
        let ids = b
            .calls_from_heads(heads.iter().copied(), 3, now, t)
            .unwrap();
        assert_eq!(ids, Some((u64::MAX, 2)));
        b.finish();
    }
    assert_eq!(
        &w.poll_transmit().unwrap()[..],
        expected([u64::MAX, 1, 2]).as_bytes()
    );
    assert_eq!(w.pending(), 3);
    let answer = format!(r#"{{"jsonrpc":"2.0","result":0,"id":{}}}"#, u64::MAX);
    w.handle_frame(answer.as_bytes(), now);
    assert!(matches!(
        &drain_events(&mut w)[..],
        [Event::Response { id, result: Ok(_) }] if *id == Id::from(u64::MAX)
    ));
    w.handle_timeout(now + Duration::from_secs(5));
    let timed_out: Vec<Event> = drain_events(&mut w);
    assert!(matches!(&timed_out[..], [
        Event::Response { id: a, result: Err(CallError::TimedOut) },
        Event::Response { id: b, result: Err(CallError::TimedOut) },
    ] if *a == Id::from(1) && *b == Id::from(2)));
    assert_eq!(w.pending(), 0);
}

/// The ends of contiguous ids counted up in decimal are those written from each number,
/// across every carry and the last id there is.
#[test]
fn id_ends_counted_up_are_the_ids_written_out() {
    let written = |n: u64| format!(",\"id\":{n}}}").into_bytes();
    let starts = [
        1,
        7,
        9,
        95,
        999,
        123_456_789,
        9_999_999_999,
        10_000_000_000_000_000_000 - 3,
        u64::MAX - 5,
    ];
    for start in starts {
        let mut ends = IdEnds::new(start);
        let mut n = start;
        loop {
            assert_eq!(ends.get(), &written(n)[..], "id {n}");
            if n == u64::MAX || n - start == 12 {
                break;
            }
            ends.advance();
            n += 1;
        }
    }
}
