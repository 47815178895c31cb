//! greet: a server written against the lower-level API (the trio-jsonrpc scenario).
//!
//! No [`Router`](jsonrpc_proto::service::Router) here: [`serve_connection`] splits a transport,
//! feeds each frame to a [`Connection`], iterates the requests it yields, answers each with a
//! result or "Method not found", and writes what the connection has to send. The same loop runs
//! over an in-memory pair ([`serve_memory`]) and over WebSocket ([`start_ws`]); the client side
//! is the ordinary async [`Client`].

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use futures::{SinkExt, StreamExt};
use jsonrpc_proto::connection::IncomingRequest;
use jsonrpc_proto::peer::{
    Client, ClientConfig, ClientError, Transport, TransportError, TransportInfo, TransportKind,
};
use jsonrpc_proto::{Config, Connection, ErrorObject, Event, RawValue, Request};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use transport_tokio::ws::{ws_config, DEFAULT_MAX_MESSAGE};
use transport_tokio::{TokioRuntime, WsTransport};

/// `["Alice"]` or `{"name":"Alice"}`.
#[derive(Debug, Deserialize)]
pub struct GreetParams {
    /// Who to greet.
    pub name: String,
}

/// The one method this server knows.
pub async fn greet(name: &str) -> Value {
    json!({ "greeting": format!("Hello, {name}!") })
}

/// Answers one request: `greet`, or -32601 for anything else.
async fn dispatch(request: &Request<'_>) -> Result<Box<RawValue>, ErrorObject> {
    match &*request.method {
        "greet" => {
            let raw = request.params.as_deref().map_or("null", RawValue::get);
            let params: GreetParams =
                serde_json::from_str(raw).map_err(ErrorObject::invalid_params)?;
            serde_json::value::to_raw_value(&greet(&params.name).await)
                .map_err(|_| ErrorObject::internal_error())
        }
        _ => Err(ErrorObject::method_not_found()),
    }
}

/// Serves one connection by hand until the peer closes it; returns how many requests were
/// answered. Requests are handled one at a time, in arrival order.
pub async fn serve_connection<T: Transport>(transport: T) -> Result<u64, TransportError> {
    let (mut sink, mut frames) = transport.split();
    let mut conn = Connection::new(Config::default());
    let mut answered = 0;
    while let Some(frame) = frames.next().await {
        conn.handle_frame(&frame?, Instant::now());
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Request(IncomingRequest { request, handle }) => {
                    let reply = dispatch(&request).await;
                    let sent = match &reply {
                        Ok(result) => conn.respond(handle, Ok(result)),
                        Err(error) => conn.respond(handle, Err(error)),
                    };
                    if let Err(e) = sent {
                        tracing::warn!(error = %e, "answer dropped");
                    }
                    answered += 1;
                }
                Event::Notification(n) => {
                    tracing::debug!(method = %n.method, "notification ignored")
                }
                // Invalid input was already answered by the connection; nothing else to do.
                other => tracing::debug!(?other, "event ignored"),
            }
        }
        while let Some(out) = conn.poll_transmit() {
            sink.send(out).await?;
        }
    }
    sink.close().await?;
    Ok(answered)
}

/// Serves the loop on one end of an in-memory pair (in a tokio task) and returns a client on the
/// other end.
pub fn serve_memory() -> Client {
    let (server_end, client_end) = transport_memory::pair();
    tokio::spawn(async move {
        if let Err(e) = serve_connection(server_end).await {
            tracing::warn!(error = %e, "memory connection failed");
        }
    });
    Client::new(client_end, TokioRuntime::new(), ClientConfig::default())
}

/// A WebSocket server running [`serve_connection`] for each connection; stops when dropped.
#[derive(Debug)]
pub struct WsServer {
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl WsServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Listens on `addr` (e.g. "127.0.0.1:0") and serves WebSocket connections with the hand-driven
/// loop: accept, complete the handshake, wrap it as a transport, serve.
pub async fn start_ws(addr: &str) -> io::Result<WsServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            tokio::spawn(async move {
                let config = Some(ws_config(DEFAULT_MAX_MESSAGE));
                let ws = match tokio_tungstenite::accept_async_with_config(stream, config).await {
                    Ok(ws) => ws,
                    Err(e) => return tracing::debug!(%peer, error = %e, "handshake failed"),
                };
                let mut info = TransportInfo::new(TransportKind::WebSocket);
                info.peer_addr = Some(peer);
                match serve_connection(WsTransport::new(ws, info)).await {
                    Ok(n) => tracing::debug!(%peer, answered = n, "connection closed"),
                    Err(e) => tracing::debug!(%peer, error = %e, "connection failed"),
                }
            });
        }
    });
    Ok(WsServer { addr, accept })
}

/// The client side of the scenario: greets Alice, then calls a method the server does not have.
/// Returns the lines to print.
pub async fn run_client(client: &Client) -> Result<Vec<String>, ClientError> {
    let mut lines = Vec::new();
    let reply: Value = client.request("greet", ["Alice"]).await?;
    lines.push(format!("greet(\"Alice\") -> {reply}"));
    match client.request::<Value, _>("farewell", ["Alice"]).await {
        Ok(v) => lines.push(format!("farewell(\"Alice\") -> {v}")),
        Err(ClientError::Rpc(e)) => lines.push(format!(
            "farewell(\"Alice\") -> error {}: {}",
            e.code, e.message
        )),
        Err(e) => return Err(e),
    }
    Ok(lines)
}
