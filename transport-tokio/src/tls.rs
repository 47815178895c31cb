//! TLS through rustls on tokio (tokio-rustls). The configurations are
//! `jsonrpc_proto::adapter::tls`'s (PEM loading, mTLS, ring provider; the same types on every
//! runtime); this module adds the acceptor and connector for them.

pub use jsonrpc_proto::adapter::tls::{
    load_certs, load_key, server_name, TlsClientConfig, TlsError, TlsServerConfig,
};
pub use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The acceptor for incoming connections.
pub fn acceptor(config: &TlsServerConfig) -> TlsAcceptor {
    TlsAcceptor::from(config.rustls())
}

/// The connector for outgoing connections.
pub fn connector(config: &TlsClientConfig) -> TlsConnector {
    TlsConnector::from(config.rustls())
}
