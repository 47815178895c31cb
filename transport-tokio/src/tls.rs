//! TLS through rustls on tokio (tokio-rustls): the configurations are `jsonrpc_proto::adapter::tls`'s
//! (PEM loading, mTLS, ring provider; shared with every runtime); this module adds the
//! acceptor and connector.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use jsonrpc_proto::adapter::tls as shared;
pub use jsonrpc_proto::adapter::tls::{load_certs, load_key, server_name, TlsError};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
pub use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The server side of TLS ([`shared::TlsServerConfig`]) with a tokio acceptor.
#[derive(Clone, Debug)]
pub struct TlsServerConfig(pub shared::TlsServerConfig);

impl TlsServerConfig {
    /// See [`shared::TlsServerConfig::from_pem_files`].
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        shared::TlsServerConfig::from_pem_files(cert, key, client_ca).map(Self)
    }

    /// See [`shared::TlsServerConfig::from_der`].
    pub fn from_der(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        client_ca: Option<Vec<CertificateDer<'static>>>,
    ) -> Result<Self, TlsError> {
        shared::TlsServerConfig::from_der(certs, key, client_ca).map(Self)
    }

    /// Wraps a rustls config built elsewhere.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> Self {
        Self(shared::TlsServerConfig::from_rustls(config))
    }

    /// The acceptor for incoming connections.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.0.rustls())
    }
}

/// The client side of TLS ([`shared::TlsClientConfig`]) with a tokio connector.
#[derive(Clone, Debug)]
pub struct TlsClientConfig(pub shared::TlsClientConfig);

impl TlsClientConfig {
    /// See [`shared::TlsClientConfig::with_ca_file`].
    pub fn with_ca_file(ca: impl AsRef<Path>) -> Result<Self, TlsError> {
        shared::TlsClientConfig::with_ca_file(ca).map(Self)
    }

    /// See [`shared::TlsClientConfig::with_client_cert_files`].
    pub fn with_client_cert_files(
        ca: impl AsRef<Path>,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        shared::TlsClientConfig::with_client_cert_files(ca, cert, key).map(Self)
    }

    /// See [`shared::TlsClientConfig::from_der`].
    pub fn from_der(
        roots: Vec<CertificateDer<'static>>,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, TlsError> {
        shared::TlsClientConfig::from_der(roots, identity).map(Self)
    }

    /// Wraps a rustls config built elsewhere.
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        Self(shared::TlsClientConfig::from_rustls(config))
    }

    /// The connector for outgoing connections.
    pub fn connector(&self) -> TlsConnector {
        TlsConnector::from(self.0.rustls())
    }
}

macro_rules! wrap {
    ($tokio:ident) => {
        impl Deref for $tokio {
            type Target = shared::$tokio;
            fn deref(&self) -> &shared::$tokio {
                &self.0
            }
        }

        impl From<shared::$tokio> for $tokio {
            fn from(c: shared::$tokio) -> Self {
                Self(c)
            }
        }

        impl From<$tokio> for shared::$tokio {
            fn from(c: $tokio) -> Self {
                c.0
            }
        }
    };
}
wrap!(TlsServerConfig);
wrap!(TlsClientConfig);
