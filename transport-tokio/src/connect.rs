//! Outgoing connections: URL parsing and TCP/TLS connects shared by the clients.

use std::io;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::tls::{server_name, TlsClientConfig};

/// Any byte stream a connection can run on (TCP or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A boxed byte stream.
pub type BoxIo = Pin<Box<dyn Io>>;

/// Why a client could not connect.
#[derive(Debug, thiserror::Error)]
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
        source: io::Error,
    },
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake with {url} failed: {reason}")]
    Handshake {
        /// The URL.
        url: String,
        /// What the server answered or what broke.
        reason: String,
    },
}

/// A parsed `http`, `https`, `ws` or `wss` URL.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: String,
    pub(crate) url: String,
}

impl Endpoint {
    pub(crate) fn parse(url: &str, plain: &str, secure: &str) -> Result<Endpoint, ConnectError> {
        let bad = |reason: String| ConnectError::Url {
            url: url.to_owned(),
            reason,
        };
        let uri: http::Uri = url.parse().map_err(|e| bad(format!("{e}")))?;
        let tls = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case(plain) => false,
            Some(s) if s.eq_ignore_ascii_case(secure) => true,
            other => {
                return Err(bad(format!(
                    "scheme {other:?} is not {plain:?} or {secure:?}"
                )))
            }
        };
        let host = uri.host().ok_or_else(|| bad("no host".into()))?.to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Endpoint {
            tls,
            host,
            port,
            path,
            url: url.to_owned(),
        })
    }

    pub(crate) fn addr(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The Host header value.
    pub(crate) fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            self.addr()
        }
    }
}

/// Opens TCP to `addr`, then TLS when `tls` is given (verifying `host`).
pub(crate) async fn connect_io(
    addr: &str,
    host: &str,
    tls: Option<&TlsClientConfig>,
) -> Result<BoxIo, ConnectError> {
    let io_err = |source| ConnectError::Io {
        addr: addr.to_owned(),
        source,
    };
    let tcp = TcpStream::connect(addr).await.map_err(io_err)?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Box::pin(tcp)),
        Some(tls) => {
            let name = server_name(host)?;
            let stream = tls.connector().connect(name, tcp).await.map_err(io_err)?;
            Ok(Box::pin(stream))
        }
    }
}
