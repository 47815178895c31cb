//! notifications: server pushes over WebSocket (the RpcNode notification scenario).
//!
//! Each WebSocket client gets a `welcome` notification when it connects (`on_connect`), can
//! `subscribe` / `unsubscribe` to topics, and receives `update` notifications for the topics it
//! subscribed to, and only those. When it disconnects, `on_disconnect` drops its subscriptions.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonrpc_proto::peer::{ClientId, ClientInfo, ServerHandle};
use jsonrpc_proto::service::{Context, Hooks, RawCall, Router, RouterError};
use jsonrpc_proto::ErrorObject;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use transport_tokio::{ConnectError, ConnectOptions, RunningServer, Server};

/// Who is subscribed to what; also the server's hooks.
#[derive(Debug)]
pub struct Hub {
    server: OnceLock<ServerHandle>,
    topics: Mutex<HashMap<ClientId, BTreeSet<String>>>,
    /// How many clients hold at least one subscription.
    subscribed: watch::Sender<usize>,
}

impl Hub {
    /// An empty hub; give it the server with [`Hub::set_server`].
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            server: OnceLock::new(),
            topics: Mutex::default(),
            subscribed: watch::Sender::new(0),
        })
    }

    /// The server pushes go through.
    pub fn set_server(&self, server: ServerHandle) {
        let _ = self.server.set(server);
    }

    fn edit<T>(&self, f: impl FnOnce(&mut HashMap<ClientId, BTreeSet<String>>) -> T) -> T {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let out = f(&mut topics);
        topics.retain(|_, set| !set.is_empty());
        self.subscribed.send_replace(topics.len());
        out
    }

    /// Subscribes `client` to `topic`; false when it already was.
    pub fn subscribe(&self, client: ClientId, topic: &str) -> bool {
        self.edit(|t| t.entry(client).or_default().insert(topic.to_owned()))
    }

    /// Unsubscribes `client` from `topic`; false when it was not subscribed.
    pub fn unsubscribe(&self, client: ClientId, topic: &str) -> bool {
        self.edit(|t| t.get_mut(&client).is_some_and(|s| s.remove(topic)))
    }

    /// The clients subscribed to `topic`.
    pub fn subscribers(&self, topic: &str) -> Vec<ClientId> {
        self.edit(|t| {
            let mut ids: Vec<ClientId> = t
                .iter()
                .filter(|(_, s)| s.contains(topic))
                .map(|(id, _)| *id)
                .collect();
            ids.sort_unstable();
            ids
        })
    }

    /// Watches how many clients hold at least one subscription.
    pub fn subscribed_clients(&self) -> watch::Receiver<usize> {
        self.subscribed.subscribe()
    }

    /// Pushes `update {"topic", "message"}` to the subscribers of `topic`; returns how many
    /// were sent (a client whose queue is full or that just left is skipped).
    pub fn publish(&self, topic: &str, message: &Value) -> usize {
        let Some(server) = self.server.get() else {
            return 0;
        };
        let update = json!({ "topic": topic, "message": message });
        self.subscribers(topic)
            .into_iter()
            .filter(|id| server.notify_client(*id, "update", &update).is_ok())
            .count()
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
        self.edit(|t| t.remove(&client.id));
        tracing::debug!(client = %client.id, "client left; subscriptions dropped");
    }
}

/// `["news"]` or `{"topic":"news"}`.
#[derive(Debug, Deserialize)]
pub struct TopicParams {
    /// The topic name.
    pub topic: String,
}

/// `["news", "hello"]` or `{"topic":"news","message":"hello"}`.
#[derive(Debug, Deserialize)]
pub struct PublishParams {
    /// The topic name.
    pub topic: String,
    /// Any JSON value.
    pub message: Value,
}

/// The router: `subscribe`, `unsubscribe`, `publish`, with `hub` as its hooks.
pub fn router(hub: Arc<Hub>) -> Result<Router, RouterError> {
    let (h1, h2, h3) = (Arc::clone(&hub), Arc::clone(&hub), Arc::clone(&hub));
    Router::builder()
        .hooks_arc(hub)
        .method("subscribe", move |ctx: Context, p: TopicParams| {
            let fresh = h1.subscribe(ctx.client_id(), &p.topic);
            async move { Ok::<_, ErrorObject>(json!({ "subscribed": p.topic, "new": fresh })) }
        })
        .method("unsubscribe", move |ctx: Context, p: TopicParams| {
            let was = h2.unsubscribe(ctx.client_id(), &p.topic);
            async move { Ok::<_, ErrorObject>(json!({ "unsubscribed": was })) }
        })
        .method("publish", move |_ctx: Context, p: PublishParams| {
            let sent = h3.publish(&p.topic, &p.message);
            async move { Ok::<_, ErrorObject>(sent) }
        })
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

/// Connects to `url` over WebSocket. Every notification the server pushes arrives on the
/// returned channel, in order, from the first one (`welcome`) on: the client serves a catch-all
/// route, set up before the connection starts, so nothing is missed.
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
    let options = ConnectOptions {
        router: Some(inbox),
        ..ConnectOptions::default()
    };
    let client = transport_tokio::connect_ws_with(url, options).await?;
    Ok((client, rx))
}
