//! WebSocket transport: the shared [`jsonrpc_proto::adapter::ws`] one, over tokio-tungstenite's
//! `WebSocketStream` (one JSON text per text frame; binary frames refused with close 1003).

pub use jsonrpc_proto::adapter::ws::*;
