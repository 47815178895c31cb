//! [`ServerConfig`] and [`PushOverflow`]: the settings of a server.

use std::time::Duration;

use crate::protocol::connection::Config;

/// What to do when a client's bounded outgoing push queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PushOverflow {
    /// Drop the notification (with a warning) and return [`PushError::Full`](super::PushError::Full) (default).
    #[default]
    Drop,
    /// Drop it and disconnect the client: it cannot keep up.
    Disconnect,
}

/// Settings of a [`Server`](super::Server).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Protocol limits of each connection (batch length, calls in flight, ...).
    pub connection: Config,
    /// Deadline of each handler (default 30 s): a late call is answered -32001 "Request timed
    /// out" and its handler dropped. `None`: no deadline.
    pub request_timeout: Option<Duration>,
    /// Persistent connections served at once (default 10 000); beyond, new ones are closed
    /// at once. Adapters with listeners count every socket against it
    /// ([`crate::adapter::slots::SocketSlots`]) and refuse the excess cleanly: HTTP 503, WebSocket
    /// close 1013, raw TCP one -32003 line.
    pub max_connections: usize,
    /// Notifications that may wait per connection for a slow client (default 1024).
    pub push_buffer: usize,
    /// What a full push queue means (default: drop the notification).
    pub push_overflow: PushOverflow,
    /// How long [`ServerHandle::shutdown`](super::ServerHandle::shutdown) lets calls in flight finish (default 10 s).
    pub shutdown_grace: Duration,
    /// Send `$/cancelRequest` when a handler's call back to its client is dropped.
    pub send_cancel_notifications: bool,
    /// Network connections (TCP, WebSocket; never stdio or memory) with no frame read or written
    /// for this long while no call is in flight either way are closed (default 300 s; `None`:
    /// never). Cuts off clients that connect and send nothing, trickle a frame that never
    /// ends, or stop reading their answers. Signs of life a transport counts without frames
    /// ([`TransportInfo::liveness`](super::TransportInfo::liveness): WebSocket pings and
    /// pongs) count as activity, so a WebSocket client that only listens for pushes stays
    /// while it answers the server's keep-alive pings or sends its own; over TCP or Unix such
    /// a client must send something (any call) now and then, unless pushes reach it within
    /// the timeout.
    pub idle_timeout: Option<Duration>,
    /// The largest result sent in one response, in bytes (default 10 MiB,
    /// [`crate::limits::DEFAULT_MAX_RESPONSE_SIZE`]); a larger result is replaced by a -32603
    /// "Response too large" error whose `data` gives the sizes.
    pub max_response_size: usize,
    /// Run each call's handler on a task of its own (default false). By default the handlers
    /// of one connection run concurrently on that connection's task: cheapest for the usual
    /// small calls, but one connection's handlers then share one core. Spawning lets
    /// CPU-heavy handlers of one connection (large results to serialize, say) use every core,
    /// at the price of a task per call (a spawned handler is still bounded by the limits and
    /// deadlines of its connection, and dropped when the connection drops it). Applies to
    /// persistent connections (WebSocket, TCP, stdio, memory); each HTTP body is served on
    /// its HTTP request's task either way.
    pub spawn_calls: bool,
}

crate::protocol::config_setters!(ServerConfig {
    with_connection => connection: Config,
    with_request_timeout => request_timeout: Option<Duration>,
    with_max_connections => max_connections: usize,
    with_push_buffer => push_buffer: usize,
    with_push_overflow => push_overflow: PushOverflow,
    with_shutdown_grace => shutdown_grace: Duration,
    with_send_cancel_notifications => send_cancel_notifications: bool,
    with_idle_timeout => idle_timeout: Option<Duration>,
    with_max_response_size => max_response_size: usize,
    with_spawn_calls => spawn_calls: bool,
});

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            connection: Config::default(),
            request_timeout: Some(Duration::from_secs(30)),
            max_connections: 10_000,
            push_buffer: 1024,
            push_overflow: PushOverflow::Drop,
            shutdown_grace: Duration::from_secs(10),
            send_cancel_notifications: false,
            idle_timeout: Some(Duration::from_secs(300)),
            max_response_size: crate::protocol::limits::DEFAULT_MAX_RESPONSE_SIZE,
            spawn_calls: false,
        }
    }
}
