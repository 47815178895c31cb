//! Serving over stdin/stdout or any byte stream pair with Content-Length framing (LSP style).
//! tokio's standard streams are already async: [`stdio`] hands them out.

use jsonrpc_proto::peer::{Server as ProtoServer, ServerConfig};
use jsonrpc_proto::service::Router;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::io::StreamTransport;
use crate::runtime::TokioRuntime;

/// The reading half of [`stdio`] (tokio's).
pub use tokio::io::Stdin;
/// The writing half of [`stdio`] (tokio's).
pub use tokio::io::Stdout;

/// stdin and stdout as tokio streams. Must be called inside a tokio runtime.
pub fn stdio() -> (Stdin, Stdout) {
    (tokio::io::stdin(), tokio::io::stdout())
}

/// Serves `router` over any byte stream pair with Content-Length framing (LSP style) until
/// the reader ends.
pub async fn serve_io_content_length<R, W>(
    router: Router,
    config: ServerConfig,
    runtime: TokioRuntime,
    reader: R,
    writer: W,
) where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let proto = ProtoServer::new(router, runtime, config);
    proto
        .serve(StreamTransport::content_length(reader, writer))
        .await;
}

/// Serves `router` over stdin/stdout with Content-Length framing (LSP style) until stdin ends,
/// on the current tokio runtime.
pub async fn serve_stdio(router: Router, config: ServerConfig) {
    let (reader, writer) = stdio();
    serve_io_content_length(router, config, TokioRuntime::new(), reader, writer).await;
}
