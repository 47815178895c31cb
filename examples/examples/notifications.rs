//! notifications: a WebSocket server that welcomes each client, lets it subscribe to topics
//! (subscriptions with ids) and pushes `update` notifications to the subscribers of a topic
//! only; subscriptions end when a client disconnects.
//!
//! ```sh
//! cargo run --example notifications                          # a short demo with two clients
//! cargo run --example notifications -- serve 127.0.0.1:8002  # serve; publishes "clock" every second
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use examples::notifications::{connect, start, Update};
use futures::StreamExt;
use jsonrpc_proto::peer::Subscription;
use serde_json::json;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => demo().await,
        ["serve"] => serve("127.0.0.1:8002").await,
        ["serve", addr] => serve(addr).await,
        _ => {
            eprintln!("usage: notifications [serve [ADDR]]");
            return ExitCode::from(2);
        }
    };
    examples::exit_code(result)
}

async fn demo() -> Result<(), Box<dyn Error>> {
    let (server, hub) = start("127.0.0.1:0").await?;
    let url = format!("ws://{}/ws", server.http_addr().ok_or("no address")?);
    let (alice, mut alice_inbox) = connect(&url).await?;
    let (bob, mut bob_inbox) = connect(&url).await?;
    for (name, inbox) in [("alice", &mut alice_inbox), ("bob", &mut bob_inbox)] {
        if let Some((method, params)) = inbox.recv().await {
            println!("{name} <- {method} {params}");
        }
    }
    let mut news: Subscription<Update> = alice
        .subscribe("subscribe", ["news"], "unsubscribe")
        .await?;
    let mut sports: Subscription<Update> = bob
        .subscribe("subscribe", ["sports"], "unsubscribe")
        .await?;
    let mut open = hub.open_subscriptions();
    open.wait_for(|n| *n == 2).await?;
    let sent: usize = bob
        .request("publish", ("news", "rust 2024 released"))
        .await?;
    println!("published to news: {sent} subscriber(s)");
    hub.publish("sports", &json!("final score 2:1"));
    if let Some(Ok(u)) = news.next().await {
        println!("alice <- update ({}) {:?}", news.id(), u);
    }
    if let Some(Ok(u)) = sports.next().await {
        println!("bob <- update ({}) {:?}", sports.id(), u);
    }
    alice.close().await;
    open.wait_for(|n| *n == 1).await?;
    println!("alice left; open subscriptions: {}", *open.borrow());
    bob.close().await;
    server.shutdown().await;
    Ok(())
}

async fn serve(addr: &str) -> Result<(), Box<dyn Error>> {
    let (server, hub) = start(addr).await?;
    let addr = server.http_addr().ok_or("no address")?;
    println!("notification server on ws://{addr}/ws (Ctrl-C to stop)");
    println!("methods: subscribe(topic) -> id, unsubscribe([id]), publish(topic, message); items on `update`");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                n += 1;
                hub.publish("clock", &json!({ "tick": n }));
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.shutdown().await;
    Ok(())
}
