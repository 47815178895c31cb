//! Outgoing connections: TCP (async-net) and TLS (futures-rustls) connects shared by the
//! clients. URLs, errors and the HTTP client's pooling are `jsonrpc_proto::adapter::http`'s.

use futures::future::BoxFuture;
use std::pin::Pin;

use async_net::TcpStream;
use futures::io::{AsyncRead, AsyncWrite};
pub use jsonrpc_proto::adapter::http::ConnectError;
use jsonrpc_proto::adapter::http::{Attempt, Endpoint, HttpConnect};

use crate::io::FuturesIo;
use crate::tls::{connector, server_name, TlsClientConfig};

/// Any byte stream a connection can run on (TCP or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A boxed byte stream.
pub type BoxIo = Pin<Box<dyn Io>>;

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
            let stream = connector(tls).connect(name, tcp).await.map_err(io_err)?;
            Ok(Box::pin(stream))
        }
    }
}

/// The HTTP client's connector: [`connect_io`] as hyper IO.
pub(crate) struct AsyncIoConnect(pub(crate) Option<TlsClientConfig>);

impl HttpConnect for AsyncIoConnect {
    type Io = FuturesIo<BoxIo>;

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Self::Io, Attempt>> {
        Box::pin(async move {
            match connect_io(&endpoint.addr(), &endpoint.host, self.0.as_ref()).await {
                Ok(io) => Ok(FuturesIo::new(io)),
                Err(e @ ConnectError::Io { .. }) => Err(Attempt::Retry(e.to_string())),
                Err(e) => Err(Attempt::Fail(e.to_string())),
            }
        })
    }
}
