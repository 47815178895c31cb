//! Welcome on connect, pushes to subscribers only, clean-up on disconnect, over real WebSockets.

use examples::notifications::{connect, start, Received};
use jsonrpc_proto::peer::Client;
use serde_json::{json, Value};
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

#[tokio::test]
async fn pushes_reach_subscribers_only_and_leavers_are_forgotten() {
    let (server, hub) = start("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", server.http_addr().unwrap());
    let (alice, mut alice_inbox, alice_id) = welcomed(&url).await;
    let (bob, mut bob_inbox, _) = welcomed(&url).await;

    let v: Value = alice.request("subscribe", ["news"]).await.unwrap();
    assert_eq!(v, json!({"subscribed": "news", "new": true}));
    let v: Value = bob
        .request("subscribe", json!({"topic": "sports"}))
        .await
        .unwrap();
    assert_eq!(v["subscribed"], "sports");

    // Bob publishes news: only Alice is subscribed.
    let sent: usize = bob.request("publish", ("news", "headline")).await.unwrap();
    assert_eq!(sent, 1);
    // Then sports, for Bob. Pushes to one client keep their order, so if Bob had been sent the
    // news it would arrive before this.
    let sent: usize = alice.request("publish", ("sports", "score")).await.unwrap();
    assert_eq!(sent, 1);
    assert_eq!(
        next(&mut alice_inbox).await,
        (
            "update".to_owned(),
            json!({"topic": "news", "message": "headline"})
        )
    );
    assert_eq!(
        next(&mut bob_inbox).await,
        (
            "update".to_owned(),
            json!({"topic": "sports", "message": "score"})
        )
    );

    // Unsubscribed: no more news for Alice.
    let v: Value = alice.request("unsubscribe", ["news"]).await.unwrap();
    assert_eq!(v["unsubscribed"], true);
    let sent: usize = bob.request("publish", ("news", "again")).await.unwrap();
    assert_eq!(sent, 0);
    let _: Value = alice.request("subscribe", ["news"]).await.unwrap();
    assert_eq!(hub.subscribers("news").len(), 1);
    assert_eq!(hub.subscribers("news")[0].0, alice_id);

    // Alice disconnects: on_disconnect drops her subscriptions.
    let mut subscribed = hub.subscribed_clients();
    assert_eq!(*subscribed.borrow(), 2);
    alice.close().await;
    subscribed.wait_for(|n| *n == 1).await.unwrap();
    assert!(hub.subscribers("news").is_empty());
    let sent: usize = bob.request("publish", ("news", "nobody")).await.unwrap();
    assert_eq!(sent, 0);
    assert!(
        bob_inbox.try_recv().is_err(),
        "bob got nothing but his own topic"
    );
    bob.close().await;
    server.shutdown().await;
}
