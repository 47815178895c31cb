//! The [`Adapter`] of the adapter crate under test, for the shared suites of
//! `jsonrpc_proto::testing::adapter` (included with `#[path]` by both adapters' tests). The
//! including file names its crate first, `use transport_tokio as under_test;` (or
//! `transport_async_std`), so this impl is written once for both.
#![allow(dead_code)]

use std::path::Path;

use futures::future::BoxFuture;
use jsonrpc_proto::adapter::builder::Listen;
use jsonrpc_proto::adapter::connect::ConnectOptions;
use jsonrpc_proto::adapter::http::ConnectError;
use jsonrpc_proto::adapter::reconnect::{ReconnectConfig, Reconnecting};
use jsonrpc_proto::peer::Client;
use jsonrpc_proto::testing::adapter::Adapter;

use crate::under_test as t;

/// The runtime of the crate under test.
pub type Rt = <t::Server as Listen>::Runtime;

/// The crate under test on one runtime.
pub struct Under {
    pub runtime: Rt,
    /// For socket file names: "tokio", "smol", "async-std".
    pub name: &'static str,
}

impl Adapter for Under {
    type Listen = t::Server;
    type Runtime = Rt;

    fn name(&self) -> &'static str {
        self.name
    }

    fn runtime(&self) -> Rt {
        self.runtime.clone()
    }

    fn connect_ws(
        &self,
        url: &str,
        options: ConnectOptions<Rt>,
    ) -> BoxFuture<'static, Result<Client, ConnectError>> {
        let url = url.to_owned();
        Box::pin(async move { t::connect_ws_with(&url, options).await })
    }

    fn reconnect_tcp(
        &self,
        addr: &str,
        options: ConnectOptions<Rt>,
        config: ReconnectConfig,
    ) -> Reconnecting {
        t::reconnect_tcp(addr, options, config)
    }

    fn reconnect_ws(
        &self,
        url: &str,
        options: ConnectOptions<Rt>,
        config: ReconnectConfig,
    ) -> Reconnecting {
        t::reconnect_ws(url, options, config)
    }

    fn reconnect_unix(
        &self,
        path: &Path,
        options: ConnectOptions<Rt>,
        config: ReconnectConfig,
    ) -> Reconnecting {
        t::reconnect_unix(path, options, config)
    }

    fn reconnect_ws_unix(
        &self,
        socket: &Path,
        url: &str,
        options: ConnectOptions<Rt>,
        config: ReconnectConfig,
    ) -> Reconnecting {
        t::reconnect_ws_unix(socket, url, options, config)
    }
}
