//! TLS configuration through rustls (feature `tls`; ring provider; TLS 1.2 and 1.3 only), shared
//! by every runtime adapter: server configs from PEM files, with an optional client-CA bundle
//! that makes client certificates mandatory (mTLS), and client configs trusting custom CA roots.
//! No IO here: the adapters wrap [`TlsServerConfig::rustls`] / [`TlsClientConfig::rustls`] in
//! their runtime's acceptor and connector (tokio-rustls, futures-rustls).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Why a TLS configuration could not be built. Each variant names the file and what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("cannot load {what} from {path}: {reason}")]
    Pem {
        /// What the file should hold ("certificate chain", "private key", "CA bundle").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong (missing file, bad PEM).
        reason: String,
    },
    /// The file was readable PEM but held no item of the expected kind.
    #[error("{path} holds no {what} (expected PEM blocks such as -----BEGIN {label}-----)")]
    Empty {
        /// What the file should hold.
        what: &'static str,
        /// The expected PEM label.
        label: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the material (key not matching the certificate, bad CA certificate, ...).
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built from the CA bundle.
    #[error("cannot build the client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// A host name for server verification is not a valid DNS name or IP address.
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
}

fn pem_err(what: &'static str, path: &Path, e: pem::Error) -> TlsError {
    TlsError::Pem {
        what,
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Reads every certificate in a PEM file (a chain, leaf first, or a CA bundle).
pub fn load_certs(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err("certificates", path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err("certificates", path, e))?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what: "certificate",
            label: "CERTIFICATE",
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn load_key(path: impl AsRef<Path>) -> Result<PrivateKeyDer<'static>, TlsError> {
    let path = path.as_ref();
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::Empty {
            what: "private key",
            label: "PRIVATE KEY",
            path: path.to_owned(),
        },
        e => pem_err("private key", path, e),
    })
}

fn root_store(certs: Vec<CertificateDer<'static>>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert)?;
    }
    Ok(roots)
}

/// The server side of TLS: a certificate chain and key, optionally a CA bundle that client
/// certificates must chain to.
#[derive(Clone, Debug)]
pub struct TlsServerConfig {
    config: Arc<ServerConfig>,
}

impl TlsServerConfig {
    /// Loads `cert` (PEM chain) and `key` (PEM key); with `client_ca`, clients must present a
    /// certificate signed by one of its CAs. Bad paths and bad PEM are errors naming the file.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let certs = load_certs(cert)?;
        let key = load_key(key)?;
        let cas = client_ca.map(load_certs).transpose()?;
        Self::from_der(certs, key, cas)
    }

    /// Builds from DER material already in memory.
    pub fn from_der(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        client_ca: Option<Vec<CertificateDer<'static>>>,
    ) -> Result<Self, TlsError> {
        let builder =
            ServerConfig::builder_with_provider(provider()).with_protocol_versions(VERSIONS)?;
        let builder = match client_ca {
            Some(cas) => {
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(root_store(cas)?),
                    provider(),
                )
                .build()?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key)?;
        // HTTP/2 first, HTTP/1.1 for the clients (and WebSocket handshakes) that ask for it.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsServerConfig {
            config: Arc::new(config),
        })
    }

    /// Wraps a rustls config built elsewhere.
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        TlsServerConfig { config }
    }

    /// The rustls configuration, for the runtime's acceptor.
    pub fn rustls(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }
}

/// The client side of TLS: trusted CA roots and an optional client certificate (for mTLS).
///
/// No system roots are loaded by default: give the CAs that sign the servers you talk to, or
/// (feature `webpki-roots`) trust the roots browsers trust with
/// `TlsClientConfig::with_webpki_roots`.
#[derive(Clone, Debug)]
pub struct TlsClientConfig {
    config: Arc<ClientConfig>,
}

impl TlsClientConfig {
    /// Trusts the CAs in a PEM bundle.
    pub fn with_ca_file(ca: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::from_der(load_certs(ca)?, None)
    }

    /// Trusts the CAs in a PEM bundle and presents a client certificate (mTLS).
    pub fn with_client_cert_files(
        ca: impl AsRef<Path>,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        Self::from_der(load_certs(ca)?, Some((load_certs(cert)?, load_key(key)?)))
    }

    /// Builds from DER material in memory: trusted roots and an optional client identity.
    pub fn from_der(
        roots: Vec<CertificateDer<'static>>,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, TlsError> {
        Self::with_root_store(root_store(roots)?, identity)
    }

    /// Trusts the Mozilla root CAs that browsers trust (built in, from the `webpki-root-certs`
    /// crate: no system files, no OpenSSL), for https/wss to public endpoints, and `extra` CAs
    /// besides (e.g. your own); presents `identity` when given (mTLS). Feature `webpki-roots`.
    ///
    /// ```
    /// let tls = jsonrpc_proto::adapter::tls::TlsClientConfig::with_webpki_roots(Vec::new(), None)
    ///     .unwrap();
    /// ```
    #[cfg(feature = "webpki-roots")]
    pub fn with_webpki_roots(
        extra: Vec<CertificateDer<'static>>,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        for cert in extra {
            roots.add(cert)?;
        }
        Self::with_root_store(roots, identity)
    }

    fn with_root_store(
        roots: RootCertStore,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)?
            .with_root_certificates(roots);
        let config = match identity {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key)?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsClientConfig {
            config: Arc::new(config),
        })
    }

    /// Wraps a rustls config built elsewhere.
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        TlsClientConfig { config }
    }

    /// The rustls configuration, for the runtime's connector.
    pub fn rustls(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// The same configuration offering `protocols` in ALPN, in order of preference (e.g.
    /// `adapter::http::HTTP2_ALPN`: what an HTTP client with HTTP/2 on offers).
    pub fn with_alpn(&self, protocols: &[&[u8]]) -> Self {
        let mut config = (*self.config).clone();
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        TlsClientConfig {
            config: Arc::new(config),
        }
    }
}

/// The name to verify the server certificate against, from a host (DNS name or IP literal).
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::ServerName(host.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_alpn_offers_the_protocols_and_leaves_the_original_alone() {
        let plain = TlsClientConfig::from_der(Vec::new(), None).unwrap();
        let h2 = plain.with_alpn(&[b"h2", b"http/1.1"]);
        assert_eq!(
            h2.rustls().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(plain.rustls().alpn_protocols.is_empty());
    }
}
