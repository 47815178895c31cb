//! notifications: server pushes over WebSocket (the RpcNode notification scenario), on
//! subscriptions.
//!
//! Each WebSocket client gets a `welcome` notification when it connects (`on_connect`). It
//! subscribes to a topic with `subscribe(topic)` (answered with a subscription id), receives
//! `update` notifications (`{"subscription": id, "result": {"topic", "message"}}`) for that
//! subscription only, and ends it with `unsubscribe([id])`. Nothing is kept per client by hand:
//! a client's subscriptions end when it disconnects, and each topic forgets them by itself.
//! The API is one `#[rpc]` trait ([`NotificationApi`]): its `#[subscription]` method gives the
//! server's subscribe/unsubscribe pair and a typed client method
//! (`client.subscribe_topic("news".into())` yields a `Subscription<Update>`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonrpc_proto::peer::{ClientInfo, ServerHandle};
use jsonrpc_proto::rpc;
use jsonrpc_proto::service::{
    Context, Hooks, PendingSubscription, RawCall, Router, RouterError, SubscriptionTopic,
};
use jsonrpc_proto::ErrorObject;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use transport_tokio::{ConnectError, ConnectOptions, RunningServer, Server};

/// The topics, each a set of subscriptions; also the server's hooks (the welcome).
#[derive(Debug)]
pub struct Hub {
    server: OnceLock<ServerHandle>,
    topics: Mutex<HashMap<String, SubscriptionTopic>>,
    /// How many subscriptions are open, over every topic and client.
    open: watch::Sender<usize>,
}

/// One `update`: the topic and the message published to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The topic name.
    pub topic: String,
    /// Any JSON value.
    pub message: Value,
}

impl Hub {
    /// An empty hub; give it the server with [`Hub::set_server`].
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            server: OnceLock::new(),
            topics: Mutex::default(),
            open: watch::Sender::new(0),
        })
    }

    /// The server the welcome goes through.
    pub fn set_server(&self, server: ServerHandle) {
        let _ = self.server.set(server);
    }

    fn topic(&self, name: &str) -> SubscriptionTopic {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.entry(name.to_owned()).or_default().clone()
    }

    /// The subscriptions open on `topic` now.
    pub fn subscribers(&self, topic: &str) -> usize {
        self.topic(topic).len()
    }

    /// Watches how many subscriptions are open (over every topic and client).
    pub fn open_subscriptions(&self) -> watch::Receiver<usize> {
        self.open.subscribe()
    }

    /// Sends `update {"topic", "message"}` to the subscribers of `topic` (serialized once);
    /// returns how many took it (a subscriber whose buffer is full misses it).
    pub fn publish(&self, topic: &str, message: &Value) -> usize {
        let update = Update {
            topic: topic.to_owned(),
            message: message.clone(),
        };
        self.topic(topic)
            .broadcast(&update)
            .map_or(0, |report| report.delivered)
    }

    /// One subscription, from accept to its end (client unsubscribed or left).
    async fn serve(&self, topic: String, pending: PendingSubscription) {
        let Ok(sink) = pending.accept() else { return };
        self.topic(&topic).add(&sink);
        self.open.send_modify(|n| *n += 1);
        sink.closed().await;
        drop(sink);
        self.open.send_modify(|n| *n -= 1);
        tracing::debug!(%topic, "subscription ended");
    }
}

impl Hooks for Hub {
    fn on_connect(&self, client: &ClientInfo) {
        let Some(server) = self.server.get() else {
            return;
        };
        let welcome = json!({
            "message": "Connected to the notification server",
            "client_id": client.id.0,
        });
        if let Err(e) = server.notify_client(client.id, "welcome", welcome) {
            tracing::warn!(client = %client.id, error = %e, "welcome not sent");
        }
    }

    fn on_disconnect(&self, client: &ClientInfo) {
        // Its subscriptions end by themselves; nothing to clean.
        tracing::debug!(client = %client.id, "client left");
    }

    /// Only connections are watched: calls skip the hook step.
    fn observes_calls(&self) -> bool {
        false
    }
}

/// The notification server's API. Params come by position or by name (`["news"]` or
/// `{"topic":"news"}`); extra named members are ignored.
#[rpc(unknown_params = "ignore")]
pub trait NotificationApi {
    /// Subscribes to `topic`: answered with a subscription id, then one `update` per message
    /// published to it, until `unsubscribe([id])` or the client leaves.
    #[subscription(
        name = "subscribe",
        unsubscribe = "unsubscribe",
        notification = "update",
        item = Update
    )]
    async fn subscribe_topic(&self, pending: PendingSubscription, topic: String);

    /// Sends `message` to the subscribers of `topic`; answers how many took it.
    async fn publish(&self, topic: String, message: Value) -> usize;
}

/// The hub serving [`NotificationApi`].
struct HubApi(Arc<Hub>);

impl NotificationApi for HubApi {
    async fn subscribe_topic(&self, pending: PendingSubscription, topic: String) {
        self.0.serve(topic, pending).await
    }

    async fn publish(&self, topic: String, message: Value) -> usize {
        self.0.publish(&topic, &message)
    }
}

/// The router: the `subscribe` / `unsubscribe` pair (items on `update`) and `publish`, with
/// `hub` as its hooks.
pub fn router(hub: Arc<Hub>) -> Result<Router, RouterError> {
    HubApi(Arc::clone(&hub))
        .into_router()
        .hooks_arc(hub)
        .build()
}

/// Starts the server on `addr` (WebSocket at `ws://ADDR/ws`, also HTTP POST without pushes).
pub async fn start(addr: &str) -> Result<(RunningServer, Arc<Hub>), Box<dyn std::error::Error>> {
    let hub = Hub::new();
    let server = Server::builder(router(Arc::clone(&hub))?)
        .http(addr)
        .node_name("notifications")
        .start()
        .await?;
    hub.set_server(server.handle());
    Ok((server, hub))
}

/// A notification a client received: method and params.
pub type Received = (String, Value);

/// Connects to `url` over WebSocket. Every notification the server pushes outside a
/// subscription arrives on the returned channel, in order, from the first one (`welcome`) on:
/// the client serves a catch-all route, set up before the connection starts, so nothing is
/// missed. Subscribe with the generated `client.subscribe_topic(topic)` ([`NotificationApiClient`];
/// or `client.subscribe::<Update, _>("subscribe", [topic], "unsubscribe")`): a subscription's
/// items go to its own stream, not to this channel.
pub async fn connect(
    url: &str,
) -> Result<
    (
        jsonrpc_proto::peer::Client,
        mpsc::UnboundedReceiver<Received>,
    ),
    ConnectError,
> {
    let (tx, rx) = mpsc::unbounded_channel();
    let inbox = Router::builder()
        .prefix_raw("", move |_ctx: Context, call: RawCall| {
            let tx = tx.clone();
            async move {
                if !call.is_notification() {
                    return Err(ErrorObject::method_not_found());
                }
                let params = match &call.params {
                    Some(p) => serde_json::from_str(p.get()).unwrap_or(Value::Null),
                    None => Value::Null,
                };
                let _ = tx.send((call.method, params));
                Ok(())
            }
        })
        .build()
        .expect("one catch-all route is a valid router");
    let options = ConnectOptions::default().with_router(Some(inbox));
    let client = transport_tokio::connect_ws_with(url, options).await?;
    Ok((client, rx))
}
