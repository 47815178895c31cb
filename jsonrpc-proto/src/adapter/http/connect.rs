//! What the clients' connectors share: [`ConnectError`] and the
//! [`HttpConnect`] trait an adapter implements to open connections ([`Connected`], with the
//! ALPN outcome for HTTP/2).

use futures::future::BoxFuture;

use super::post::Attempt;
use super::url::{Endpoint, UrlError};

/// Why a client could not connect (shared by the runtime adapters' `connect_*` functions).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL or address is not usable.
    #[error("invalid endpoint {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TCP connection or TLS handshake failed.
    #[error("cannot connect to {addr}: {source}")]
    Io {
        /// host:port.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS set-up failed.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::adapter::tls::TlsError),
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake with {url} failed: {reason}")]
    Handshake {
        /// The URL.
        url: String,
        /// What the server answered or what broke.
        reason: String,
    },
}

impl ConnectError {
    /// The WebSocket handshake with `url` failed because of `reason`.
    pub fn handshake(url: &str, reason: impl std::fmt::Display) -> Self {
        ConnectError::Handshake {
            url: url.to_owned(),
            reason: reason.to_string(),
        }
    }
}

impl From<UrlError> for ConnectError {
    fn from(e: UrlError) -> Self {
        ConnectError::Url {
            url: e.url,
            reason: e.reason,
        }
    }
}

/// One connection opened by an [`HttpConnect`], before any HTTP is spoken on it.
pub struct Connected<Io> {
    /// The connection, as hyper reads and writes it.
    pub io: Io,
    /// True when TLS's ALPN chose `h2`: the connection must speak HTTP/2 (only when the
    /// connector offered it, see [`HTTP2_ALPN`]).
    pub alpn_h2: bool,
}

/// The ALPN protocols an HTTP client with HTTP/2 on offers, in order of preference: `h2`,
/// then `http/1.1` (a server that does not choose `h2` is spoken HTTP/1.1 to).
pub const HTTP2_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Opens one connection for the HTTP client: the adapter's TCP (and TLS) or Unix socket
/// connect, as hyper IO. A connector for an HTTP/2 client (`HttpClientConfig::http2`) offers
/// [`HTTP2_ALPN`] in its TLS handshakes and reports the choice in [`Connected::alpn_h2`].
pub trait HttpConnect: Send + Sync + 'static {
    /// The connection, as hyper reads and writes it.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;
    /// Connects to `endpoint` ([`Attempt::Retry`] when nothing can have been sent).
    fn connect<'a>(
        &'a self,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<Connected<Self::Io>, Attempt>>;
}
