//! TLS for the members' HTTP, with rustls (on ring; no OpenSSL).
//!
//! A member given a certificate and its key ([`ServerTls`]) serves https
//! only ([`serve_tls`]); its clients and the other members trust the
//! cluster's certificate authority ([`ca_certificates`],
//! `http::HttpNetwork::with_tls`), not the
//! system's. Members' addresses stay `host:port`: a cluster is all https
//! or all http, and a certificate must name the host the others connect
//! to (an IP address or a DNS name in its subject alternative names).
//!
//! Handshakes happen as connections are accepted, one at a time, each
//! bounded by [`HANDSHAKE_TIMEOUT`]; a failed or slow one drops that
//! connection only.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::auth::Peer;

/// How long an accepted connection may take to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A member's certificate chain and private key, ready to serve.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls(..)")
    }
}

impl ServerTls {
    /// The certificate chain in the PEM file `cert` (the member's first,
    /// then any intermediates) and the private key in the PEM file `key`
    /// (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    /// [`graph_core::Error::Io`] for a file that cannot be read;
    /// [`graph_core::Error::InvalidArgument`] for one that holds no
    /// certificate or key, or a key that does not match the certificate.
    pub fn from_pem_files(cert: &Path, key: &Path) -> graph_core::Result<ServerTls> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| pem_error(cert, "certificate", &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| pem_error(cert, "certificate", &e))?;
        if chain.is_empty() {
            return Err(graph_core::Error::invalid(format!(
                "{} holds no PEM certificate",
                cert.display()
            )));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, "key", &e))?;
        // ring, as reqwest's client side: no CMake or OpenSSL to build.
        // (rustls deprecates ring's default provider for lacking a
        // post-quantum key exchange; aws-lc-rs, which has one, needs CMake.)
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| graph_core::Error::invalid(format!("TLS configuration: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .map_err(|e| {
                graph_core::Error::invalid(format!(
                    "the key {} does not fit the certificate {}: {e}",
                    key.display(),
                    cert.display()
                ))
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// A PEM file's error as one of ours.
fn pem_error(path: &Path, what: &str, e: &rustls_pki_types::pem::Error) -> graph_core::Error {
    match e {
        rustls_pki_types::pem::Error::Io(io) => graph_core::Error::Io {
            message: format!("cannot read the {what} file {}: {io}", path.display()),
        },
        rustls_pki_types::pem::Error::NoItemsFound => {
            graph_core::Error::invalid(format!("{} holds no PEM {what}", path.display()))
        }
        other => graph_core::Error::invalid(format!(
            "{} is not a PEM {what} file: {other:?}",
            path.display()
        )),
    }
}

/// `builder` for https only, trusting the certificates `ca` and nothing
/// else (not the system's authorities): how members and clients reach a
/// cluster serving TLS.
pub fn trusting_only(
    builder: reqwest::ClientBuilder,
    ca: Vec<reqwest::Certificate>,
) -> reqwest::ClientBuilder {
    ca.into_iter().fold(
        builder
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .https_only(true),
        reqwest::ClientBuilder::add_root_certificate,
    )
}

/// The certificates of the authority in the PEM file `path`, for clients
/// and members to trust.
///
/// # Errors
/// [`graph_core::Error::Io`] for a file that cannot be read;
/// [`graph_core::Error::InvalidArgument`] for one without a certificate.
pub fn ca_certificates(path: &Path) -> graph_core::Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path).map_err(|e| graph_core::Error::Io {
        message: format!("cannot read the CA file {}: {e}", path.display()),
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        graph_core::Error::invalid(format!(
            "{} is not a PEM certificate file: {e}",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(graph_core::Error::invalid(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// A TCP listener that hands out connections after their TLS handshake.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors and the like: wait, go on.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Only latency is at stake if this fails.
            let _ = tcp.set_nodelay(true);
            if let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await
            {
                return (stream, addr);
            }
            // A failed or slow handshake: that connection is dropped.
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// `http::serve` over TLS: serves `app` on `listener` with
/// `tls` until `shutdown` completes. Each request carries its peer's
/// address as [`ConnectInfo<Peer>`](axum::extract::ConnectInfo).
///
/// # Errors
/// As `http::serve`.
pub async fn serve_tls(
    listener: TcpListener,
    app: axum::Router,
    tls: &ServerTls,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TlsListener {
        tcp: listener,
        acceptor: tls.acceptor.clone(),
    };
    axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
        .with_graceful_shutdown(shutdown)
        .await
}
