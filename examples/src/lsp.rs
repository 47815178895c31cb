//! lsp_stdio: a child-process server speaking Content-Length framed JSON-RPC over stdin/stdout,
//! in the style of the Language Server Protocol, and the client that drives it.
//!
//! The server answers `initialize`, takes the `initialized` and `textDocument/didOpen`
//! notifications (logging back with a `window/logMessage` notification), answers
//! `wordCount {"uri"}` for an opened document, then `shutdown`; the `exit` notification ends the
//! process (status 0 after a `shutdown`, 1 without, as LSP asks).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use jsonrpc_proto::peer::{Client, ClientConfig, ClientError, ServerConfig};
use jsonrpc_proto::service::{Context, Router, RouterError};
use jsonrpc_proto::ErrorObject;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use transport_tokio::{StreamTransport, TokioRuntime};

/// The code answering a call before `initialize` (LSP's ServerNotInitialized).
pub const SERVER_NOT_INITIALIZED: i64 = -32002;

/// What the server remembers.
#[derive(Debug, Default)]
pub struct Session {
    initialized: AtomicBool,
    shutdown: AtomicBool,
    documents: Mutex<HashMap<String, String>>,
    exit: Notify,
}

/// `{"textDocument": {"uri", "text"}}`.
#[derive(Debug, Deserialize)]
pub struct DidOpen {
    /// The document.
    #[serde(rename = "textDocument")]
    pub text_document: TextDocument,
}

/// A document: its URI and full text.
#[derive(Debug, Deserialize)]
pub struct TextDocument {
    /// Where it lives.
    pub uri: String,
    /// Its content.
    pub text: String,
}

/// `{"uri"}`.
#[derive(Debug, Deserialize)]
pub struct UriParams {
    /// A document opened earlier.
    pub uri: String,
}

/// The server's router over `session`.
pub fn router(session: Arc<Session>) -> Result<Router, RouterError> {
    let (s1, s2, s3, s4, s5) = (
        Arc::clone(&session),
        Arc::clone(&session),
        Arc::clone(&session),
        Arc::clone(&session),
        session,
    );
    Router::builder()
        .method("initialize", move |_ctx: Context, _params: Value| {
            s1.initialized.store(true, Ordering::SeqCst);
            async move {
                Ok::<_, ErrorObject>(json!({
                    "capabilities": { "textDocumentSync": 1 },
                    "serverInfo": { "name": "wordcount-server", "version": env!("CARGO_PKG_VERSION") },
                }))
            }
        })
        .notification("initialized", |_ctx: Context, _params: Value| async {})
        .notification("textDocument/didOpen", move |ctx: Context, p: DidOpen| {
            let message = format!("opened {}", p.text_document.uri);
            s2.documents
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(p.text_document.uri, p.text_document.text);
            async move {
                let log = json!({ "type": 3, "message": message });
                if let Err(e) = ctx.notify("window/logMessage", log) {
                    tracing::warn!(error = %e, "log message not sent");
                }
            }
        })
        .method("wordCount", move |_ctx: Context, p: UriParams| {
            let answer = if !s3.initialized.load(Ordering::SeqCst) {
                Err(ErrorObject::new(SERVER_NOT_INITIALIZED, "Server not initialized"))
            } else {
                let docs = s3.documents.lock().unwrap_or_else(|e| e.into_inner());
                match docs.get(&p.uri) {
                    Some(text) => Ok(json!({ "words": text.split_whitespace().count() })),
                    None => Err(ErrorObject::invalid_params(format!("{} is not open", p.uri))),
                }
            };
            async move { answer }
        })
        .method("shutdown", move |_ctx: Context, _params: Value| {
            s4.shutdown.store(true, Ordering::SeqCst);
            async { Ok::<_, ErrorObject>(Value::Null) }
        })
        .notification("exit", move |_ctx: Context, _params: Value| {
            s5.exit.notify_one();
            async {}
        })
        .build()
}

/// Serves over this process's stdin/stdout until `exit` arrives or stdin ends; returns the exit
/// status LSP asks for (0 after `shutdown`, else 1).
pub async fn serve_stdio() -> i32 {
    let session = Arc::new(Session::default());
    let router = match router(Arc::clone(&session)) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "invalid router");
            return 2;
        }
    };
    tokio::select! {
        _ = transport_tokio::serve_stdio(router, ServerConfig::default()) => {}
        _ = session.exit.notified() => {}
    }
    if session.shutdown.load(Ordering::SeqCst) {
        0
    } else {
        1
    }
}

/// The client side over a child's stdout (`reader`) and stdin (`writer`): initialize, open a
/// document, ask for its word count, shut down and exit. Returns the lines to print.
pub async fn run_client<R, W>(reader: R, writer: W) -> Result<Vec<String>, ClientError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let transport = StreamTransport::content_length(reader, writer);
    let client = Client::new(transport, TokioRuntime::new(), ClientConfig::default());
    let mut pushed = client.notifications();
    let mut out = Vec::new();

    let init: Value = client
        .request(
            "initialize",
            json!({ "processId": std::process::id(), "capabilities": {} }),
        )
        .await?;
    out.push(format!("initialize -> {}", init["serverInfo"]["name"]));
    client.notify("initialized", json!({})).await?;
    let uri = "file:///tmp/hello.txt";
    let doc = json!({ "textDocument": { "uri": uri, "text": "hello from the other process" } });
    client.notify("textDocument/didOpen", doc).await?;
    if let Some(log) = pushed.next().await {
        let params: Value = log
            .params
            .as_deref()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        out.push(format!("{} <- {}", log.method, params["message"]));
    }
    let count: Value = client.request("wordCount", json!({ "uri": uri })).await?;
    out.push(format!("wordCount -> {}", count["words"]));
    match client
        .request::<Value, _>("wordCount", json!({ "uri": "file:///nope" }))
        .await
    {
        Err(ClientError::Rpc(e)) => out.push(format!("wordCount(unknown) -> error {}", e.code)),
        other => out.push(format!("wordCount(unknown) -> {other:?}")),
    }
    let _: Value = client.request("shutdown", ()).await?;
    out.push("shutdown -> null".to_owned());
    client.notify("exit", ()).await?;
    client.close().await;
    Ok(out)
}
