//! Starting a [`Client`]: its connection's driver, spawned on the runtime, optionally serving
//! a [`Dispatch`] for calls from the other side.

use std::sync::Arc;
use std::time::Duration;

use crate::protocol::connection::Connection;

use super::client::{Client, ClientConfig};
use super::context::{ConnCtx, Context};
use super::dispatch::Dispatch;
use super::driver::{Driver, Serving};
use super::info::{ClientId, ClientInfo};
use super::rt::Rt;
use super::shared::PeerShared;
use super::transport::{Runtime, Transport};

impl Client {
    /// Connects over `transport`: spawns the connection's driver on `runtime`.
    pub fn new<T: Transport, R: Runtime>(transport: T, runtime: R, config: ClientConfig) -> Client {
        Client::start(transport, runtime, config, None)
    }

    /// Like [`Client::new`], and also serves `router` (any [`Dispatch`], a `Router` usually) on the same connection: the other side
    /// can call this side (bidirectional RPC, e.g. a server calling back its client).
    pub fn with_router<T: Transport, R: Runtime>(
        transport: T,
        runtime: R,
        config: ClientConfig,
        router: impl Dispatch,
    ) -> Client {
        Client::start(transport, runtime, config, Some(Arc::new(router)))
    }

    fn start<T: Transport, R: Runtime>(
        transport: T,
        runtime: R,
        config: ClientConfig,
        router: Option<Arc<dyn Dispatch>>,
    ) -> Client {
        let rt: Rt = Arc::new(runtime);
        let info = transport.info();
        let shared = Arc::new(PeerShared::new(
            Connection::new(config.connection.clone()),
            Arc::clone(&rt),
            config.send_cancel_notifications,
            config.push_buffer,
            config.notification_buffer,
            true,
        ));
        let serving = router.map(|router| Serving {
            ctx: Context::new(ConnCtx {
                client: Arc::new(ClientInfo {
                    id: ClientId(0),
                    transport: info,
                }),
                state: router.state().clone(),
                peer: Some(Arc::clone(&shared)),
                server: None,
                rt: Arc::clone(&rt),
            }),
            dispatch: router,
            timeout: config.handler_timeout,
            server: None,
            shutdown_grace: Duration::ZERO,
            spawn_calls: false,
        });
        shared
            .lock()
            .subs
            .client
            .set_default_lag(config.subscription_lag);
        let client = Client::from_shared(Arc::clone(&shared));
        let (sink, stream) = transport.split();
        let driver = Driver::new(Arc::clone(&shared), sink, stream, serving);
        let _ = shared.direct.set(driver.sink_handle());
        rt.spawn(Box::pin(driver));
        client
    }
}
