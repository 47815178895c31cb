//! Routing calls to async handlers (feature `async`): [`Router`] with typed or raw params,
//! the per-call [`Context`], [`middleware`] that wraps every call (tower layers too), and
//! [`Hooks`] that see every call.
//!
//! ```
//! use jsonrpc_proto::service::{Context, Router};
//! use jsonrpc_proto::ErrorObject;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct AddParams { a: i64, b: i64 }
//!
//! let router = Router::builder()
//!     // `[5,3]` and `{"a":5,"b":3}` both read as AddParams.
//!     .method("add", |_ctx: Context, p: AddParams| async move {
//!         Ok::<_, ErrorObject>(p.a + p.b)
//!     })
//!     .notification("log", |_ctx: Context, line: (String,)| async move {
//!         let _ = line;
//!     })
//!     .build()
//!     .unwrap();
//! assert!(router.has_method("add"));
//! ```
//!
//! Error mapping done for every handler:
//! - params that do not deserialize: -32602 "Invalid params: {serde's message}";
//! - an unknown method: -32601 "Method not found";
//! - a handler that panics: -32603 "Internal error" (logged; the connection lives on);
//! - an [`ErrorObject`](crate::ErrorObject) returned by a handler goes out exactly (code,
//!   message, data).

mod hooks;
pub mod middleware;
mod params;
mod router;
#[cfg(feature = "macros")]
mod rpc_support;

pub mod openrpc;
#[doc(hidden)]
#[cfg(feature = "macros")]
pub use rpc_support::__private;
#[cfg(feature = "macros")]
pub use rpc_support::{BatchSlot, ParamReader};
mod subscription;

pub mod proxy;
pub use proxy::{Proxy, ProxyConfig};

pub use crate::peer::{CallInfo, Context, Extensions, PushError};
pub use hooks::{Hooks, NoHooks};
pub use params::{parse_params, Params};
pub use router::RawCall;
pub use router::{Router, RouterBuilder, RouterError};
pub use subscription::{
    AcceptError, BroadcastReport, OverflowPolicy, PendingSubscription, SendError,
    SubscriptionConfig, SubscriptionSink, SubscriptionTopic, TrySendError,
};

pub use crate::peer::{EndReason, LagPolicy, Subscription, SubscriptionError};

pub use crate::peer::{ClientId, ClientInfo};

#[cfg(test)]
mod tests;
