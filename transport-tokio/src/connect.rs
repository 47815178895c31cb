//! Outgoing connections: TCP and TLS (tokio-rustls) connects shared by the clients. URLs are
//! parsed by the shared [`jsonrpc_proto::http_service::Endpoint`].

use std::io;
use std::pin::Pin;

use jsonrpc_proto::http_service::UrlError;
use jsonrpc_proto::tls::{server_name, TlsClientConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

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

impl From<UrlError> for ConnectError {
    fn from(e: UrlError) -> Self {
        ConnectError::Url {
            url: e.url,
            reason: e.reason,
        }
    }
}

/// Opens TCP to `addr`, then TLS when `tls` is given (verifying `host`): the byte stream
/// under every client, for building transports by hand.
pub async fn connect_io(
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
            let stream = TlsConnector::from(tls.rustls())
                .connect(name, tcp)
                .await
                .map_err(io_err)?;
            Ok(Box::pin(stream))
        }
    }
}
