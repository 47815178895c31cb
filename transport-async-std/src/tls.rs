//! TLS through rustls on futures-io (futures-rustls): the configurations are
//! `jsonrpc_proto::adapter::tls`'s (shared with every runtime); this module adds the acceptor and
//! connector.

pub use futures_rustls::{TlsAcceptor, TlsConnector};
pub use jsonrpc_proto::adapter::tls::{
    load_certs, load_key, server_name, TlsClientConfig, TlsError, TlsServerConfig,
};

/// The acceptor for incoming connections.
pub fn acceptor(config: &TlsServerConfig) -> TlsAcceptor {
    TlsAcceptor::from(config.rustls())
}

/// The connector for outgoing connections.
pub fn connector(config: &TlsClientConfig) -> TlsConnector {
    TlsConnector::from(config.rustls())
}
