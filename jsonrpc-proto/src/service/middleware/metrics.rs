//! [`Metrics`]: Prometheus metrics of every call (feature `metrics`), kept in a
//! `prometheus-client` registry of their own (no global registry) and rendered in the text
//! exposition format.
//!
//! | name | type | labels | what |
//! | --- | --- | --- | --- |
//! | `jsonrpc_requests_total` | counter | `method` | requests answered (rate: request rate) |
//! | `jsonrpc_notifications_total` | counter | `method` | notifications handled |
//! | `jsonrpc_errors_total` | counter | `method`, `code` | requests answered with an error |
//! | `jsonrpc_request_duration_seconds` | histogram | `method` | time to answer (p50/p95/p99) |
//! | `jsonrpc_requests_in_flight` | gauge | | requests being handled now |
//! | `jsonrpc_active_connections` | gauge | `transport` | open connections per transport |
//! | `jsonrpc_push_queue_depth` | gauge | | server pushes waiting in outgoing queues |
//!
//! `method` is the method name for names given to [`Metrics::for_methods`] (the server
//! builder gives the router's), `other` for the rest, so a client cannot grow the label set.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::peer::{CallResult, ClientInfo, Context, Reply, TransportKind};
use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;

use super::{Middleware, Next, RpcRequest};

/// The label for methods outside the known set.
pub const OTHER_METHOD: &str = "other";

/// The most distinct method labels [`Metrics::new`] creates before using [`OTHER_METHOD`].
pub const MAX_METHOD_LABELS: usize = 256;

type MethodLabel = [(&'static str, String); 1];
type ErrorLabels = [(&'static str, String); 2];

/// The handles of one method's metrics, shared.
pub(crate) type PerMethod = Arc<MethodMetrics>;

pub(crate) struct MethodMetrics {
    label: String,
    requests: Counter,
    notifications: Counter,
    duration: Histogram,
}

struct Inner {
    registry: Mutex<Registry>,
    requests: Family<MethodLabel, Counter>,
    notifications: Family<MethodLabel, Counter>,
    errors: Family<ErrorLabels, Counter>,
    duration: Family<MethodLabel, Histogram>,
    in_flight: Gauge,
    connections: Family<MethodLabel, Gauge>,
    push_queue: Gauge,
    methods: RwLock<HashMap<Box<str>, PerMethod, BuildHasherDefault<Fnv>>>,
    /// `Some`: only these names get their own label.
    known: Option<HashSet<Box<str>>>,
}

/// Prometheus metrics of a router's calls, as a [`Middleware`]. Cheap to clone (clones share
/// the values). Put it outermost so it sees every rejection too (the server builder's
/// `.metrics(true)` does that and serves [`Metrics::render`] at `GET /metrics`).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn duration_histogram() -> Histogram {
    // 50 µs .. ~26 s, doubling.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

impl Metrics {
    /// Metrics labelling up to [`MAX_METHOD_LABELS`] method names as they come.
    pub fn new() -> Self {
        Metrics::build(None)
    }

    /// Metrics labelling only `methods` (others: [`OTHER_METHOD`]).
    pub fn for_methods<'a>(methods: impl IntoIterator<Item = &'a str>) -> Self {
        Metrics::build(Some(methods.into_iter().map(Into::into).collect()))
    }

    fn build(known: Option<HashSet<Box<str>>>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<MethodLabel, Counter>::default();
        let notifications = Family::<MethodLabel, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let duration = Family::<MethodLabel, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let in_flight = Gauge::default();
        let connections = Family::<MethodLabel, Gauge>::default();
        let push_queue = Gauge::default();
        registry.register(
            "jsonrpc_requests",
            "JSON-RPC requests answered",
            requests.clone(),
        );
        registry.register(
            "jsonrpc_notifications",
            "JSON-RPC notifications handled",
            notifications.clone(),
        );
        registry.register(
            "jsonrpc_errors",
            "JSON-RPC requests answered with an error, by error code",
            errors.clone(),
        );
        registry.register(
            "jsonrpc_request_duration_seconds",
            "Time to answer a JSON-RPC request",
            duration.clone(),
        );
        registry.register(
            "jsonrpc_requests_in_flight",
            "JSON-RPC requests being handled now",
            in_flight.clone(),
        );
        registry.register(
            "jsonrpc_active_connections",
            "Open connections per transport",
            connections.clone(),
        );
        registry.register(
            "jsonrpc_push_queue_depth",
            "Server pushes waiting in the outgoing queues of all connections",
            push_queue.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                requests,
                notifications,
                errors,
                duration,
                in_flight,
                connections,
                push_queue,
                methods: RwLock::default(),
                known,
            }),
        }
    }

    /// Runs `f` on the registry, to register metrics of your own next to these.
    pub fn with_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        f(&mut self
            .inner
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner()))
    }

    /// The metrics in the Prometheus / OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self
            .inner
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if encode(&mut out, &registry).is_err() {
            tracing::warn!("encoding the metrics failed");
        }
        out
    }

    /// The content type of [`Metrics::render`]'s output.
    pub const CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// Sets the push queue depth gauge (the HTTP glue does it before each scrape).
    pub fn set_push_queue_depth(&self, depth: usize) {
        self.inner
            .push_queue
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Adds `delta` to the open-connection gauge of `transport` (the HTTP glue counts HTTP
    /// connections; persistent connections are counted as they connect and disconnect).
    pub fn add_connections(&self, transport: TransportKind, delta: i64) {
        self.inner
            .connections
            .get_or_create(&[("transport", transport.to_string())])
            .inc_by(delta);
    }

    pub(crate) fn per_method(&self, method: &str) -> PerMethod {
        if let Some(m) = self
            .inner
            .methods
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(method)
        {
            return Arc::clone(m);
        }
        let mut methods = self
            .inner
            .methods
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let own_label = match &self.inner.known {
            Some(known) => known.contains(method),
            None => methods.len() < MAX_METHOD_LABELS,
        };
        let key: &str = if own_label { method } else { OTHER_METHOD };
        if let Some(m) = methods.get(key) {
            return Arc::clone(m);
        }
        let label = [("method", key.to_owned())];
        let m = Arc::new(MethodMetrics {
            label: key.to_owned(),
            requests: self.inner.requests.get_or_create(&label).clone(),
            notifications: self.inner.notifications.get_or_create(&label).clone(),
            duration: self.inner.duration.get_or_create(&label).clone(),
        });
        methods.insert(key.into(), Arc::clone(&m));
        m
    }

    fn answered(&self, m: &PerMethod, result: Result<(), &ErrorObject>, elapsed: Duration) {
        m.requests.inc();
        m.duration.observe(elapsed.as_secs_f64());
        if let Err(e) = result {
            self.inner
                .errors
                .get_or_create(&[
                    ("method", m.label.clone()),
                    ("code", e.code.code().to_string()),
                ])
                .inc();
        }
    }
}

/// FNV-1a for the short method names of the label cache.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl Metrics {
    /// Counts a notification of `method` (the router's inline path).
    pub(crate) fn notification(&self, method: &str) {
        self.per_method(method).notifications.inc();
    }

    /// `reply`, a request of `m`'s method started at `start`, counted and timed when it ends
    /// (the router's inline path: no copy of the request, one box).
    pub(crate) fn observe(&self, m: PerMethod, start: Instant, reply: Reply) -> Reply {
        match reply {
            Reply::Ready(r) => {
                self.answered(&m, r.as_ref().map(drop), start.elapsed());
                Reply::Ready(r)
            }
            Reply::Pending(fut) => {
                self.inner.in_flight.inc();
                // One handle for the gauge and the answer (one reference count per call).
                let guard = Pending(self.clone());
                Reply::Pending(Box::pin(async move {
                    let result = fut.await;
                    guard
                        .0
                        .answered(&m, result.as_ref().map(drop), start.elapsed());
                    result
                }))
            }
            #[allow(unreachable_patterns)]
            other => other,
        }
    }
}

/// Takes a request of the inline path out of the in-flight gauge however it ends.
struct Pending(Metrics);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.inner.in_flight.dec();
    }
}

/// Takes a request out of the in-flight gauge however it ends.
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Middleware for Metrics {
    fn call(&self, req: RpcRequest, next: Next) -> BoxFuture<'static, CallResult> {
        let m = self.per_method(&req.method);
        if req.id.is_none() {
            m.notifications.inc();
            return next.run(req);
        }
        let start = Instant::now();
        self.inner.in_flight.inc();
        let guard = InFlight(self.inner.in_flight.clone());
        let this = self.clone();
        let call = next.run(req);
        Box::pin(async move {
            let _guard = guard;
            let result = call.await;
            this.answered(&m, result.as_ref().map(drop), start.elapsed());
            result
        })
    }

    fn observes_aborts(&self) -> bool {
        true
    }

    fn aborted(
        &self,
        _ctx: &Context,
        method: &str,
        _id: Option<&Id>,
        error: &ErrorObject,
        elapsed: Duration,
    ) {
        let m = self.per_method(method);
        self.answered(&m, Err(error), elapsed);
    }

    fn connected(&self, client: &ClientInfo) {
        self.inner
            .connections
            .get_or_create(&[("transport", client.transport.kind.to_string())])
            .inc();
    }

    fn disconnected(&self, client: &ClientInfo) {
        self.inner
            .connections
            .get_or_create(&[("transport", client.transport.kind.to_string())])
            .dec();
    }
}
