//! Welcome on connect, updates to a topic's subscriptions only, unsubscribe, and the end of a
//! leaver's subscriptions, over real WebSockets.
//!
//! Rewritten on subscriptions (issue 15): `subscribe` now answers a subscription id (it was
//! `{"subscribed", "new"}`), `unsubscribe` takes that id and answers true/false (it was
//! `{"unsubscribed"}`), and `update` arrives as `{"subscription": id, "result": {"topic",
//! "message"}}` on the subscription's own stream. The welcome push is unchanged.

use examples::notifications::{connect, start, NotificationApiClient, Received, Update};
use futures::StreamExt;
use jsonrpc_proto::peer::{Client, EndReason, Subscription};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

async fn next(inbox: &mut UnboundedReceiver<Received>) -> Received {
    inbox.recv().await.expect("a notification")
}

async fn welcomed(url: &str) -> (Client, UnboundedReceiver<Received>, u64) {
    let (client, mut inbox) = connect(url).await.unwrap();
    let (method, params) = next(&mut inbox).await;
    assert_eq!(method, "welcome");
    assert_eq!(params["message"], "Connected to the notification server");
    let id = params["client_id"].as_u64().unwrap();
    (client, inbox, id)
}

/// Through the client `#[rpc]` generated (the same call as
/// `client.subscribe("subscribe", [topic], "unsubscribe")`).
async fn subscribe(client: &Client, topic: &str) -> Subscription<Update> {
    client.subscribe_topic(topic.into()).await.unwrap()
}

fn update(topic: &str, message: &str) -> Update {
    Update {
        topic: topic.to_owned(),
        message: json!(message),
    }
}

#[tokio::test]
async fn pushes_reach_subscribers_only_and_leavers_are_forgotten() {
    let (server, hub) = start("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", server.http_addr().unwrap());
    let (alice, mut alice_inbox, alice_id) = welcomed(&url).await;
    let (bob, mut bob_inbox, bob_id) = welcomed(&url).await;
    assert_ne!(alice_id, bob_id);
    let mut open = hub.open_subscriptions();

    let mut alice_news = subscribe(&alice, "news").await;
    let mut bob_sports = client_sports(&bob).await;
    open.wait_for(|n| *n == 2).await.unwrap();

    // Bob publishes news: only Alice is subscribed.
    let sent: usize = bob.request("publish", ("news", "headline")).await.unwrap();
    assert_eq!(sent, 1);
    let sent: usize = alice.request("publish", ("sports", "score")).await.unwrap();
    assert_eq!(sent, 1);
    let got = alice_news.next().await.unwrap().unwrap();
    assert_eq!(got, update("news", "headline"));
    let got = bob_sports.next().await.unwrap().unwrap();
    assert_eq!(got, update("sports", "score"));

    // Unsubscribed: no more news for Alice.
    assert!(alice_news.unsubscribe().await.unwrap());
    open.wait_for(|n| *n == 1).await.unwrap();
    let sent: usize = bob.request("publish", ("news", "again")).await.unwrap();
    assert_eq!(sent, 0);
    let mut alice_news = subscribe(&alice, "news").await;
    open.wait_for(|n| *n == 2).await.unwrap();
    assert_eq!(hub.subscribers("news"), 1);

    // Alice disconnects: her subscriptions end with the connection.
    alice.close().await;
    open.wait_for(|n| *n == 1).await.unwrap();
    assert_eq!(hub.subscribers("news"), 0);
    assert!(alice_news.next().await.is_none());
    assert_eq!(alice_news.end_reason(), Some(&EndReason::ConnectionClosed));
    let sent: usize = bob.request("publish", ("news", "nobody")).await.unwrap();
    assert_eq!(sent, 0);
    assert!(
        bob_inbox.try_recv().is_err() && alice_inbox.try_recv().is_err(),
        "nothing but the welcome outside subscriptions"
    );
    bob.close().await;
    server.shutdown().await;
}

async fn client_sports(bob: &Client) -> Subscription<Update> {
    // By name works too.
    bob.subscribe("subscribe", json!({"topic": "sports"}), "unsubscribe")
        .await
        .unwrap()
}
