//! Subscription registration, ids and the HTTP refusal (the transports run the full suite,
//! `testing::subscriptions`).

use std::collections::HashSet;
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use serde_json::Value;

use super::id::IdGen;
use super::*;
use crate::peer::{Runtime, Server, ServerConfig, TransportInfo, TransportKind};
use crate::service::{Context, Router, RouterError};

#[derive(Clone)]
struct Inline;
impl Runtime for Inline {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        std::thread::spawn(move || futures::executor::block_on(task));
    }
    fn sleep_until(&self, _at: Instant) -> BoxFuture<'static, ()> {
        Box::pin(futures::future::pending())
    }
}

fn router() -> Router {
    Router::builder()
        .subscription(
            "sub",
            "unsub",
            "item",
            |_ctx: Context, (): (), pending: PendingSubscription| async move {
                let _ = pending.accept();
            },
        )
        .build()
        .expect("builds")
}

#[test]
fn ids_are_128_bit_hex_and_unique() {
    let ids = IdGen::default();
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let id = ids.next();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(seen.insert(id));
    }
    // Another router draws other keys.
    assert!(!seen.contains(&IdGen::default().next()));
}

#[test]
fn the_pair_is_registered_and_checked_like_methods() {
    let r = router();
    assert!(r.has_method("sub") && r.has_method("unsub"));
    assert_eq!(r.subscription_count(), 0);
    let dup = Router::builder()
        .method("sub", |_c: Context, (): ()| async {
            Ok::<_, crate::ErrorObject>(())
        })
        .subscription(
            "sub",
            "unsub",
            "item",
            |_c: Context, (): (), _p: PendingSubscription| async {},
        )
        .build();
    assert_eq!(dup.unwrap_err(), RouterError::Duplicate("sub".into()));
    let reserved = Router::builder()
        .subscription(
            "rpc.sub",
            "unsub",
            "item",
            |_c: Context, (): (), _p: PendingSubscription| async {},
        )
        .build();
    assert!(matches!(reserved, Err(RouterError::Reserved(_))));
}

#[test]
fn http_cannot_subscribe_and_unsubscribe_answers_false() {
    let server = Server::new(router(), Inline, ServerConfig::default());
    let post = |body: &str| -> Value {
        let out = futures::executor::block_on(server.handle_http(
            Bytes::from(body.to_owned()),
            TransportInfo::new(TransportKind::Http),
        ));
        serde_json::from_slice(&out.expect("an answer")).expect("json")
    };
    let v = post(r#"{"jsonrpc":"2.0","method":"sub","id":1}"#);
    assert_eq!(v["error"]["code"], -32000, "{v}");
    let v = post(r#"{"jsonrpc":"2.0","method":"unsub","params":["ab"],"id":2}"#);
    assert_eq!(v["result"], false, "{v}");
    let v = post(r#"{"jsonrpc":"2.0","method":"unsub","params":{"subscription":"ab"},"id":3}"#);
    assert_eq!(v["result"], false, "{v}");
    let v = post(r#"{"jsonrpc":"2.0","method":"unsub","params":[],"id":4}"#);
    assert_eq!(v["error"]["code"], -32602, "{v}");
}

#[test]
fn config_builders_clamp() {
    let c = SubscriptionConfig::default()
        .buffer(0)
        .max_per_connection(3)
        .overflow(OverflowPolicy::DropNewest);
    assert_eq!((c.buffer, c.max_per_connection), (1, 3));
    assert_eq!(c.overflow, OverflowPolicy::DropNewest);
    assert_eq!(SubscriptionConfig::default().max_per_connection, 1024);
}

#[test]
fn raw_registration_leaves_params_to_the_handler() {
    let r = Router::builder()
        .subscription_raw(
            "raw_sub",
            "raw_unsub",
            "raw_item",
            |_ctx: Context,
             params: Option<Box<serde_json::value::RawValue>>,
             pending: PendingSubscription| async move {
                match params {
                    Some(_) => drop(pending.accept()),
                    None => pending.reject(crate::ErrorObject::invalid_params("expected params")),
                }
            },
        )
        .build()
        .expect("builds");
    assert!(r.has_method("raw_sub") && r.has_method("raw_unsub"));
    let server = Server::new(r, Inline, ServerConfig::default());
    let out = futures::executor::block_on(server.handle_http(
        Bytes::from_static(br#"{"jsonrpc":"2.0","method":"raw_sub","id":1}"#),
        TransportInfo::new(TransportKind::Http),
    ));
    let v: Value = serde_json::from_slice(&out.expect("an answer")).expect("json");
    assert_eq!(
        v["error"]["code"], -32000,
        "HTTP is refused before the handler runs: {v}"
    );
}
