//! The `tracing` span of each call, with OpenTelemetry's semantic conventions for JSON-RPC.
//!
//! Span name `rpc.call` at INFO, fields: `otel.name` (the method), `otel.kind` = "server",
//! `rpc.system` = "jsonrpc", `rpc.method`, `rpc.jsonrpc.version` = "2.0",
//! `rpc.jsonrpc.request_id` (absent for notifications), `rpc.jsonrpc.error_code` and
//! `rpc.jsonrpc.error_message` (recorded when the call fails), `otel.status_code` = "ERROR" on
//! failure, `jsonrpc.client_id`, `rpc.transport` (memory, tcp, stdio, http, websocket) and
//! `network.transport` ("tcp" or "pipe"). With no subscriber interested the span is disabled
//! and costs one cached check.

use futures::future::FutureExt;
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::peer::{CallResult, Context, Reply, TransportKind};
use crate::protocol::id::Id;

fn network_transport(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Memory | TransportKind::Stdio => "pipe",
        _ => "tcp",
    }
}

/// The span of one call on `ctx`'s connection.
pub(crate) fn call_span(ctx: &Context, method: &str, id: Option<&Id>) -> Span {
    let kind = ctx.transport().kind;
    let span = tracing::info_span!(
        "rpc.call",
        otel.name = method,
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system = "jsonrpc",
        rpc.method = method,
        rpc.jsonrpc.version = "2.0",
        rpc.jsonrpc.request_id = Empty,
        rpc.jsonrpc.error_code = Empty,
        rpc.jsonrpc.error_message = Empty,
        jsonrpc.client_id = ctx.client_id().0,
        rpc.transport = %kind,
        network.transport = network_transport(kind),
    );
    if let Some(id) = id {
        if !span.is_disabled() {
            span.record("rpc.jsonrpc.request_id", tracing::field::display(id));
        }
    }
    span
}

/// Records a call's outcome on its span.
pub(crate) fn record(span: &Span, result: &CallResult) {
    if let Err(e) = result {
        span.record("rpc.jsonrpc.error_code", e.code.code());
        span.record("rpc.jsonrpc.error_message", &*e.message);
        span.record("otel.status_code", "ERROR");
    }
}

/// `reply` run inside `span`, its outcome recorded. Unchanged when the span is disabled.
pub(crate) fn instrument(span: Span, reply: Reply) -> Reply {
    if span.is_disabled() {
        return reply;
    }
    match reply {
        Reply::Ready(r) => {
            record(&span, &r);
            Reply::Ready(r)
        }
        Reply::Pending(fut) => {
            let inner = span.clone();
            Reply::Pending(
                fut.instrument(inner)
                    .map(move |r| {
                        record(&span, &r);
                        r
                    })
                    .boxed(),
            )
        }
    }
}
