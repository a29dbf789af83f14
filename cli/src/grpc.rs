//! How egovctl reaches a system's gRPC port: plaintext, or mutual TLS with
//! the operator's client certificate when one is given (`--tls-cert` and
//! `--tls-key`, or `EGOV_TLS_CERT` and `EGOV_TLS_KEY`; the mesh CA from
//! `--tls-ca` / `EGOV_TLS_CA`, `.run/pki/ca.crt.pem` by default). The
//! server's certificate must name the system called.

use anyhow::Context as _;
use egov_runtime::tls::ClientTls;
use egov_trust::SystemId;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// The flags every command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct TlsArgs {
    /// The client's TLS certificate (PEM) for ports with grpc.tls =
    /// "mutual"; without it egovctl speaks plaintext.
    /// `egovctl pki init` issues tls/operators/egovctl.crt.pem.
    #[arg(long, global = true, env = "EGOV_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PKCS#8 PEM).
    #[arg(long, global = true, env = "EGOV_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The mesh CA's certificate, the only root a server's certificate may
    /// chain to.
    #[arg(
        long,
        global = true,
        env = "EGOV_TLS_CA",
        default_value = ".run/pki/ca.crt.pem"
    )]
    pub tls_ca: PathBuf,
}

static TLS: OnceLock<Option<ClientTls>> = OnceLock::new();

/// Reads the client's TLS material once, at start.
pub fn set_tls(args: &TlsArgs) -> anyhow::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(certificate), Some(key)) => Some(
            ClientTls::load(&args.tls_ca, certificate, key)
                .context("reading the TLS client certificate")?,
        ),
        _ => None,
    };
    let _ = TLS.set(tls);
    Ok(())
}

fn tls() -> Option<&'static ClientTls> {
    TLS.get().and_then(Option::as_ref)
}

/// The endpoint of `system` at `address`, plaintext or mutual TLS.
pub fn endpoint(address: &str, system: SystemId) -> anyhow::Result<Endpoint> {
    egov_runtime::tls::endpoint(address, system, tls())
        .with_context(|| format!("{address} is not a usable address for the {system}"))
}

/// A connected channel to `system` at `address`.
pub async fn connect(address: &str, system: SystemId) -> anyhow::Result<Channel> {
    Ok(endpoint(address, system)?
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await?)
}
