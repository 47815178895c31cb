//! Starting either library's server and connecting either library's clients, by [`Lib`]: the
//! one place that names both sides ([`crate::ours`] and [`crate::servers`]/[`crate::client`]).

use std::sync::Arc;

use crate::client::RpcClient;
use crate::common::{Lib, Result};
use crate::servers::Running;

/// Starts `lib`'s server (WebSocket and HTTP) with `add` and the matrix methods.
pub async fn start_server(lib: Lib) -> Result<Running> {
    match lib {
        Lib::Ours => crate::ours::start_server().await,
        Lib::Jsonrpsee => crate::servers::start_jsonrpsee().await,
    }
}

/// Connects `lib`'s WebSocket client to `url`.
pub async fn connect_ws(lib: Lib, url: &str) -> Result<Arc<dyn RpcClient>> {
    match lib {
        Lib::Ours => crate::ours::connect_ws(url).await,
        Lib::Jsonrpsee => crate::client::jsonrpsee_ws(url).await,
    }
}

/// Builds `lib`'s HTTP client for `url` (keep-alive).
pub async fn connect_http(lib: Lib, url: &str) -> Result<Arc<dyn RpcClient>> {
    match lib {
        Lib::Ours => crate::ours::connect_http(url).await,
        Lib::Jsonrpsee => crate::client::jsonrpsee_http(url),
    }
}
