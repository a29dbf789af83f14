//! Mutual TLS on every gRPC port (issue 14 point 1), and who called.
//!
//! `[grpc] tls = "mutual"`: the port speaks TLS (rustls on ring) with the
//! system's TLS certificate (`grpc.tls_certificate`, `grpc.tls_private_key`,
//! issued by `egovctl pki` beside its signing certificate), and every client
//! must present a certificate of the mesh CA (`trust.ca_certificate`). A
//! connection is served only when, in this order:
//!
//! 1. the handshake succeeds with rustls's WebPKI client verifier over the
//!    mesh CA alone: a client without a certificate, or with one another CA
//!    issued, is refused inside the handshake;
//! 2. the mesh's own [`TrustStore::check`] passes on the client's
//!    certificate — issued by the mesh CA, within its validity, **not on the
//!    revocation list** — the very check every signed message gets, on the
//!    same CRL cache (`trust.crl_url`, `crl_ttl`, failing closed past
//!    `crl_max_stale`);
//! 3. the certificate is a TLS client certificate (keyUsage
//!    digitalSignature with extendedKeyUsage clientAuth): a system's signing
//!    certificate opens no connection.
//!
//! Why the revocation check runs right after the handshake rather than
//! inside a rustls `ClientCertVerifier`: a verifier is synchronous and runs
//! inside the handshake on a runtime thread, while the mesh's CRL cache
//! fetches the list over HTTP when its copy is older than `crl_ttl`. A
//! verifier would have to block a runtime thread on that fetch, or read a
//! second copy of the list kept fresh by a task of its own (with its own
//! staleness rules: two views of revocation in one process); rustls's own
//! CRL support (`with_crls`) likewise takes a fixed list, would need
//! rebuilding on every change, and by default ignores a CRL's nextUpdate.
//! Here the one `TrustStore` decides for TLS clients and for message
//! signers alike, and
//! nothing is served before it has: the accepted stream reaches tonic only
//! after the check. What the client sees of a refusal after the handshake
//! is its connection closed (in TLS 1.3 a client learns of a refused
//! certificate only after its own Finished, in-handshake or not); the
//! service logs "Refused a gRPC client." with the code (`certificate_revoked`,
//! `untrusted_certificate`, `tls_handshake_failed`, …) and the subject.
//!
//! On every request of a served connection [`RevocationGate`] looks the
//! certificate up again (validity, and the cached revocation list), so a
//! certificate revoked while its client holds a connection open is refused
//! from the next call on (UNAUTHENTICATED `certificate_revoked`).
//!
//! The client's identity reaches the handlers as the connection's
//! [`PeerIdentity`] (tonic's connect info, a request extension):
//! [`peer_identity`] reads it, `None` on a plaintext port.
//!
//! The client side: [`ClientTls`] (the CA, the client's certificate and key)
//! and [`endpoint`], which every caller of a gRPC port uses — egovctl, the
//! test kits, the scenarios. A client verifies that the server's certificate
//! names the system it means to call (the system's id is among the
//! certificate's DNS names), whatever address it dialled.

use egov_trust::{CertError, CertificateInfo, KeyPurpose, Subject, SystemId, TrustStore};
use futures_util::Stream;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::server::Connected;

/// How long a client may take over its handshake and the checks.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `grpc.tls`: what a gRPC port speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plaintext HTTP/2, no client certificate: a laptop sandbox only
    /// (deploy/config's default, said so at start-up).
    #[default]
    Off,
    /// TLS, and every client presents a certificate of the mesh CA that the
    /// revocation list does not name.
    Mutual,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Off => "off",
            TlsMode::Mutual => "mutual",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {problem}")]
    File { path: String, problem: String },
    #[error("{0}")]
    Config(String),
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        problem: e.to_string(),
    })
}

fn pem_der(path: &Path, label: &str) -> Result<Vec<u8>, TlsError> {
    egov_trust::signing::pem_block(&read(path)?, label).map_err(|problem| TlsError::File {
        path: path.display().to_string(),
        problem,
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Who is calling: the client certificate of the connection, checked as the
/// module says. Tonic gives it to every request of the connection as an
/// extension; read it with [`peer_identity`].
#[derive(Debug, Clone)]
pub struct PeerIdentity {
    certificate: Arc<CertificateInfo>,
    remote_address: Option<SocketAddr>,
    local_address: Option<SocketAddr>,
}

impl PeerIdentity {
    /// An identity as the acceptor makes it (a handler's test gives one to
    /// its request with `request.extensions_mut().insert(..)`).
    pub fn new(certificate: Arc<CertificateInfo>, remote_address: Option<SocketAddr>) -> Self {
        PeerIdentity {
            certificate,
            remote_address,
            local_address: None,
        }
    }

    /// Whom the certificate names: a system, an operator, an employee, a
    /// citizen.
    pub fn subject(&self) -> &Subject {
        &self.certificate.subject
    }

    /// The calling system, when a system calls.
    pub fn system(&self) -> Option<SystemId> {
        self.certificate.system()
    }

    /// The calling operator's name, when an operator calls.
    pub fn operator(&self) -> Option<&str> {
        match &self.certificate.subject {
            Subject::Operator { name } => Some(name),
            _ => None,
        }
    }

    /// The whole certificate (serial, validity, fingerprint).
    pub fn certificate(&self) -> &CertificateInfo {
        &self.certificate
    }

    pub fn remote_address(&self) -> Option<SocketAddr> {
        self.remote_address
    }
}

/// Whom a certificate names, as a log line may say it: a person's IIN
/// masked ([`crate::telemetry::mask_iin`]) and their name left out.
pub fn subject_for_logs(subject: &Subject) -> String {
    match subject {
        Subject::System(id) => format!("system {id}"),
        Subject::Operator { name } => format!("operator {name}"),
        Subject::Citizen { iin, .. } => {
            format!(
                "citizen IIN {}",
                crate::telemetry::mask_iin(&iin.to_string())
            )
        }
        Subject::Employee { iin, bin, .. } => format!(
            "employee IIN {} of BIN {bin}",
            crate::telemetry::mask_iin(&iin.to_string())
        ),
    }
}

/// For logs: the subject (a person's IIN masked) and the serial.
impl std::fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (certificate {})",
            subject_for_logs(&self.certificate.subject),
            self.certificate.serial_hex()
        )
    }
}

/// Who called, on a port with `grpc.tls = "mutual"`; `None` on a plaintext
/// port (nobody is authenticated there).
pub fn peer_identity<T>(request: &tonic::Request<T>) -> Option<&PeerIdentity> {
    request.extensions().get::<PeerIdentity>()
}

/// The server side: the port's certificate and key, the mesh CA as the only
/// root for client certificates, and the trust store that checks them.
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
    trust: Arc<TrustStore>,
}

impl ServerTls {
    /// Reads the port's certificate and PKCS#8 key (PEM); the client roots
    /// are the trust store's CA.
    pub fn load(
        certificate: &Path,
        private_key: &Path,
        trust: Arc<TrustStore>,
    ) -> Result<ServerTls, TlsError> {
        let certificate_der = pem_der(certificate, "CERTIFICATE")?;
        let key_der = pem_der(private_key, "PRIVATE KEY")?;
        let info = CertificateInfo::parse(&certificate_der).map_err(|e| TlsError::File {
            path: certificate.display().to_string(),
            problem: e.to_string(),
        })?;
        trust
            .check_issued_by_ca(&certificate_der, &Arc::new(info))
            .map_err(|e| TlsError::File {
                path: certificate.display().to_string(),
                problem: e.to_string(),
            })?;
        ServerTls::new(certificate_der, key_der, trust)
    }

    pub fn new(
        certificate_der: Vec<u8>,
        key_der: Vec<u8>,
        trust: Arc<TrustStore>,
    ) -> Result<ServerTls, TlsError> {
        let config = |e: rustls::Error| TlsError::Config(e.to_string());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(trust.ca_der().to_vec()))
            .map_err(config)?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(config)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(certificate_der)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
            )
            .map_err(config)?;
        server.alpn_protocols = vec![b"h2".to_vec()];
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
            trust,
        })
    }

    /// The trust store that checks the clients' certificates.
    pub fn trust(&self) -> &Arc<TrustStore> {
        &self.trust
    }

    /// The handshake and the checks of the module, bounded by
    /// [`HANDSHAKE_TIMEOUT`].
    pub async fn accept(&self, tcp: TcpStream) -> Result<MeshTlsStream, Refusal> {
        let remote_address = tcp.peer_addr().ok();
        let local_address = tcp.local_addr().ok();
        tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            self.accept_checked(tcp, remote_address, local_address),
        )
        .await
        .unwrap_or(Err(Refusal::Timeout))
    }

    async fn accept_checked(
        &self,
        tcp: TcpStream,
        remote_address: Option<SocketAddr>,
        local_address: Option<SocketAddr>,
    ) -> Result<MeshTlsStream, Refusal> {
        let stream = self
            .acceptor
            .accept(tcp)
            .await
            .map_err(Refusal::from_handshake)?;
        let der = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|der| der.to_vec())
            .ok_or(Refusal::NoCertificate)?;
        let certificate = self.trust.parse(&der).map_err(Refusal::Certificate)?;
        self.trust
            .check(&der, &certificate, chrono::Utc::now())
            .await
            .map_err(Refusal::Certificate)?;
        if !certificate.allows(KeyPurpose::Authentication) {
            return Err(Refusal::NotForTls(subject_for_logs(&certificate.subject)));
        }
        Ok(MeshTlsStream {
            inner: stream,
            peer: PeerIdentity {
                certificate,
                remote_address,
                local_address,
            },
        })
    }
}

/// Why a connection was not served.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("the handshake and checks took longer than {HANDSHAKE_TIMEOUT:?}")]
    Timeout,
    #[error("the client presented no certificate")]
    NoCertificate,
    #[error(transparent)]
    Certificate(CertError),
    #[error("{0}'s certificate is not a TLS client certificate (extendedKeyUsage clientAuth)")]
    NotForTls(String),
}

impl Refusal {
    /// Names what rustls refused in the handshake where the mesh has a code
    /// for it.
    fn from_handshake(error: std::io::Error) -> Refusal {
        use rustls::{CertificateError, Error};
        match error.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
            Some(Error::NoCertificatesPresented) => Refusal::NoCertificate,
            Some(Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            )) => Refusal::Certificate(CertError::NotFromCa),
            _ => Refusal::Handshake(error),
        }
    }

    /// A stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Handshake(_) => "tls_handshake_failed",
            Refusal::Timeout => "tls_handshake_timeout",
            Refusal::NoCertificate => "client_certificate_required",
            Refusal::Certificate(error) => error.code(),
            Refusal::NotForTls(_) => "not_a_tls_certificate",
        }
    }
}

/// A served connection: the TLS stream and who is on its other end.
pub struct MeshTlsStream {
    inner: tokio_rustls::server::TlsStream<TcpStream>,
    peer: PeerIdentity,
}

impl MeshTlsStream {
    pub fn peer(&self) -> &PeerIdentity {
        &self.peer
    }
}

impl Connected for MeshTlsStream {
    type ConnectInfo = PeerIdentity;

    fn connect_info(&self) -> PeerIdentity {
        self.peer.clone()
    }
}

impl AsyncRead for MeshTlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for MeshTlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The connections of `listener` that passed [`ServerTls::accept`], for
/// tonic's `serve_with_incoming_shutdown`. Each handshake runs in a task of
/// its own, so a slow or silent client holds up nobody; refusals are
/// logged. The accept loop ends when the stream is dropped (the server
/// stopped).
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ServerTls>,
    service: &'static str,
) -> impl Stream<Item = Result<MeshTlsStream, std::io::Error>> + Send + 'static {
    let (accepted, receiver) = tokio::sync::mpsc::channel::<MeshTlsStream>(64);
    tokio::spawn(async move {
        loop {
            let (tcp, remote) = tokio::select! {
                _ = accepted.closed() => return,
                next = listener.accept() => match next {
                    Ok(next) => next,
                    Err(error) => {
                        // Out of file descriptors and the like: the
                        // listener itself is fine; try again shortly.
                        tracing::warn!(%error, "{service}: accepting a gRPC connection failed.");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let tls = tls.clone();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                match tls.accept(tcp).await {
                    Ok(stream) => {
                        tracing::debug!(peer = %stream.peer(), %remote, "{service}: a gRPC client connected over mutual TLS.");
                        let _ = accepted.send(stream).await;
                    }
                    Err(refusal) => {
                        tracing::warn!(code = refusal.code(), %remote, reason = %refusal, "{service}: refused a gRPC client.");
                    }
                }
            });
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|stream| (Ok(stream), receiver))
    })
}

/// Checks the caller's certificate again on every request of a mutual-TLS
/// connection: within its validity, and not revoked since the connection
/// was made (an HTTP/2 connection lasts as long as its client keeps it). The
/// revocation list is the trust store's cached one (`trust.crl_ttl`), so a
/// request costs a look-up, not a fetch. A request refused here is answered
/// UNAUTHENTICATED `certificate_revoked` / `certificate_expired`, or
/// UNAVAILABLE `revocation_status_unavailable` past `crl_max_stale`, with
/// ErrorInfo in the port's domain. A request without a [`PeerIdentity`]
/// (a plaintext port) passes.
///
/// It also gives each request of a TLS connection tonic's
/// `TcpConnectInfo`, so `request.remote_addr()` answers as on a plaintext
/// port (the login limits key on it).
#[derive(Clone)]
pub struct RevocationGate<S> {
    inner: S,
    trust: Option<Arc<TrustStore>>,
    domain: Arc<str>,
}

impl<S> RevocationGate<S> {
    /// `trust` None: every request passes (plaintext).
    pub fn new(inner: S, trust: Option<Arc<TrustStore>>, domain: impl Into<Arc<str>>) -> Self {
        RevocationGate {
            inner,
            trust,
            domain: domain.into(),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> tonic::codegen::Service<tonic::codegen::http::Request<B>> for RevocationGate<S>
where
    S: tonic::codegen::Service<
            tonic::codegen::http::Request<B>,
            Response = tonic::codegen::http::Response<tonic::body::Body>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: tonic::codegen::http::Request<B>) -> Self::Future {
        let peer = match &self.trust {
            Some(_) => request.extensions().get::<PeerIdentity>().cloned(),
            None => None,
        };
        let Some(peer) = peer else {
            return Box::pin(self.inner.call(request));
        };
        request
            .extensions_mut()
            .insert(tonic::transport::server::TcpConnectInfo {
                local_addr: peer.local_address,
                remote_addr: peer.remote_address,
            });
        // The service made ready is this one; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let trust = self.trust.clone().expect("a peer only with TLS");
        let domain = self.domain.clone();
        Box::pin(async move {
            let certificate = peer.certificate();
            let refused = match certificate.check_validity(chrono::Utc::now()) {
                Err(error) => Some(error),
                Ok(()) => match trust.revocation().revoked_at(&certificate.serial).await {
                    Ok(None) => None,
                    Ok(Some(at)) => Some(CertError::Revoked {
                        serial: certificate.serial_hex(),
                        at,
                    }),
                    Err(error) => Some(error),
                },
            };
            match refused {
                None => inner.call(request).await,
                Some(error) => {
                    tracing::warn!(code = error.code(), peer = %peer, reason = %error, "Refused a gRPC call on a mutual-TLS connection.");
                    let grpc = match error {
                        CertError::RevocationUnknown(_) => tonic::Code::Unavailable,
                        _ => tonic::Code::Unauthenticated,
                    };
                    Ok(crate::refusal::status(
                        grpc,
                        error.code(),
                        &domain,
                        None,
                        &format!("the client's TLS certificate: {error}"),
                    )
                    .into_http())
                }
            }
        })
    }
}

/// What a client of a mesh port presents and trusts when the port speaks
/// mutual TLS: the mesh CA's certificate, the client's TLS certificate and
/// its key (PEM).
#[derive(Clone)]
pub struct ClientTls {
    ca_certificate_pem: String,
    certificate_pem: String,
    private_key_pem: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    pub fn from_pem(
        ca_certificate_pem: String,
        certificate_pem: String,
        private_key_pem: String,
    ) -> ClientTls {
        ClientTls {
            ca_certificate_pem,
            certificate_pem,
            private_key_pem,
        }
    }

    /// Reads the three PEM files.
    pub fn load(
        ca_certificate: &Path,
        certificate: &Path,
        private_key: &Path,
    ) -> Result<ClientTls, TlsError> {
        Ok(ClientTls::from_pem(
            read(ca_certificate)?,
            read(certificate)?,
            read(private_key)?,
        ))
    }

    /// Tonic's configuration for calling `system`: the mesh CA the only
    /// root, the server's certificate required to name the system, the
    /// client's certificate presented.
    pub fn config(&self, system: SystemId) -> tonic::transport::ClientTlsConfig {
        tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(
                &self.ca_certificate_pem,
            ))
            .identity(tonic::transport::Identity::from_pem(
                &self.certificate_pem,
                &self.private_key_pem,
            ))
            .domain_name(system.as_str())
    }
}

/// An endpoint for `system`'s port at `address` (`host:port`, `http://…`
/// or `https://…`): plaintext without `tls`, else TLS (the scheme made
/// `https`) with [`ClientTls::config`].
pub fn endpoint(
    address: &str,
    system: SystemId,
    tls: Option<&ClientTls>,
) -> Result<tonic::transport::Endpoint, tonic::transport::Error> {
    let authority = address
        .strip_prefix("http://")
        .or_else(|| address.strip_prefix("https://"))
        .unwrap_or(address);
    match tls {
        None => tonic::transport::Endpoint::from_shared(format!("http://{authority}")),
        Some(tls) => tonic::transport::Endpoint::from_shared(format!("https://{authority}"))?
            .tls_config(tls.config(system)),
    }
}

#[cfg(test)]
mod tests;
