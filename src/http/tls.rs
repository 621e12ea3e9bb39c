//! HTTPS for the server (feature `rustls`): a certificate chain and key in
//! PEM, and the handshake on each accepted connection. The clients' side
//! is a builder setting (`root_certificate_pem`) over reqwest's rustls.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ServerConfig};

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate PEM holds no `CERTIFICATE` block, or one that does
    /// not parse.
    #[error("the certificate file has no PEM CERTIFICATE block that parses: {0}")]
    Certificate(String),
    /// The key PEM holds no private key (PKCS#8, PKCS#1 or SEC1) that parses.
    #[error("the key file has no PEM private key that parses (PKCS#8, RSA or EC): {0}")]
    Key(String),
    /// rustls refused the pair (e.g. the key is not the certificate's).
    #[error("the certificate and key cannot be used together: {0}")]
    Config(#[source] rustls::Error),
}

/// A server certificate and its key: what [`serve_tls`](super::serve_tls)
/// presents. TLS 1.2 and 1.3, rustls's safe defaults, HTTP/1.1 over ALPN.
///
/// ```
/// use superapp_openapi::http::TlsConfig;
/// let err = TlsConfig::from_pem(b"not a certificate", b"not a key").unwrap_err();
/// assert!(err.to_string().starts_with("the certificate file has no PEM CERTIFICATE block"));
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
}

impl TlsConfig {
    /// The chain (leaf first) and key, both PEM.
    ///
    /// # Errors
    ///
    /// [`TlsError`] naming what is wrong: no certificate, no key, or a pair
    /// rustls cannot use.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfig, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        if chain.is_empty() {
            return Err(TlsError::Certificate("none found".into()));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig { key: [redacted], .. }")
    }
}
