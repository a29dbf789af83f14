//! `egovctl pki`: the mesh's certification authority (a stand-in for НУЦ РК)
//! kept in a directory — create it, issue certificates to systems, citizens
//! and employees, issue a citizen's EDS as NCALayer holds it (two key pairs),
//! revoke them, and serve the revocation list over HTTP.

use crate::output;
use anyhow::Context as _;
use chrono::{Duration, Utc};
use egov_trust::ca::SubjectSpec;
use egov_trust::ca_dir::{CaDirectory, CitizenEdsPaths};
use egov_trust::{Bin, CertificateInfo, CitizenEds, Iin, Subject, SystemId, TlsSubject};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `make run` keeps its CA.
pub const DEFAULT_DIR: &str = ".run/pki";

#[derive(clap::Args)]
pub struct Args {
    /// The CA's directory.
    #[arg(long, global = true, default_value = DEFAULT_DIR)]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create the CA, a signing certificate and a TLS certificate for every
    /// system of the mesh, and egovctl's TLS client certificate
    /// (tls/operators/egovctl.crt.pem).
    Init {
        #[arg(long, default_value = "egov-mesh CA")]
        name: String,
        /// Validity of the CA certificate, in days.
        #[arg(long, default_value_t = 3650)]
        days: i64,
        /// Replace an existing CA (every certificate it issued stops being trusted).
        #[arg(long)]
        force: bool,
    },
    /// Issue a certificate.
    Issue {
        #[command(subcommand)]
        subject: IssueSubject,
        /// Validity in days, from now.
        #[arg(long, global = true, default_value_t = 365)]
        days: i64,
    },
    /// Issue a citizen's EDS as NCA RK does: an authentication key pair
    /// (AUTH: digitalSignature, clientAuth) and a signing one (SIGN:
    /// digitalSignature, nonRepudiation), each with its certificate, in
    /// citizens/<iin>/{auth,sign}.{crt,key}.pem.
    Citizen {
        /// The citizen's IIN (12 digits with a valid check digit).
        iin: String,
        #[arg(long)]
        surname: String,
        #[arg(long)]
        given_name: String,
        /// Validity in days, from now.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Revoke a certificate (by serial in hex, or by its PEM file).
    Revoke {
        certificate: String,
        /// unspecified, key_compromise, affiliation_changed, superseded,
        /// cessation_of_operation, certificate_hold
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Print what a certificate names, its validity and whether it is revoked.
    Show { certificate: PathBuf },
    /// Issue the workstation's employees their EDS certificates, as listed in
    /// its settings (`workstation.staff`), where they have none yet.
    Staff {
        /// Directory holding workstation.toml and intake.toml.
        #[arg(long, default_value = "deploy/config")]
        config: PathBuf,
    },
    /// Serve the CRL (`/crl`) and the CA certificate (`/ca.crt`) over HTTP.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7000")]
        listen: std::net::SocketAddr,
    },
}

#[derive(clap::Subcommand)]
enum IssueSubject {
    /// An information system of the mesh.
    System { id: SystemId },
    /// A citizen (IIN in SERIALNUMBER=IIN…).
    Citizen {
        #[arg(long)]
        iin: String,
        #[arg(long)]
        surname: String,
        #[arg(long)]
        given_name: String,
    },
    /// A system's TLS certificate for its gRPC port (serverAuth and
    /// clientAuth; its id, localhost and the loopback addresses as names),
    /// in tls/<system>.crt.pem.
    Tls { id: SystemId },
    /// An operator's TLS client certificate (clientAuth; the name in
    /// urn:egov-mesh:operator:<name>), in tls/operators/<name>.crt.pem: for
    /// egovctl's --tls-cert, grpcurl's -cert.
    Operator { name: String },
    /// An employee of a legal entity (IIN, and the employer's BIN in OU=BIN…).
    Employee {
        #[arg(long)]
        iin: String,
        #[arg(long)]
        bin: String,
        #[arg(long)]
        surname: String,
        #[arg(long)]
        given_name: String,
        #[arg(long)]
        organisation: String,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Init { name, days, force } => {
            let dir = init(&args.dir, &name, days, force)?;
            let systems: serde_json::Map<String, serde_json::Value> = SystemId::ALL
                .into_iter()
                .map(|system| {
                    let (cert, _) = dir.paths_for(&SubjectSpec::System(system));
                    (system.to_string(), cert.display().to_string().into())
                })
                .collect();
            let tls: serde_json::Map<String, serde_json::Value> = SystemId::ALL
                .into_iter()
                .map(|system| {
                    let (cert, _) = dir.tls_paths(&TlsSubject::System(system));
                    (system.to_string(), cert.display().to_string().into())
                })
                .collect();
            let (operator, _) = dir.tls_paths(&TlsSubject::operator(EGOVCTL_OPERATOR)?);
            output::say(
                serde_json::json!({
                    "ca": dir.root().display().to_string(),
                    "systems": systems,
                    "tls": tls,
                    "egovctl_tls": operator.display().to_string(),
                }),
                || {
                    println!("CA created in {}", dir.root().display());
                    for (system, cert) in &systems {
                        println!("  {system:<12} {}", cert.as_str().unwrap_or_default());
                    }
                    println!("TLS certificates (grpc.tls = \"mutual\")");
                    for (system, cert) in &tls {
                        println!("  {system:<12} {}", cert.as_str().unwrap_or_default());
                    }
                    println!("  {:<12} {}", EGOVCTL_OPERATOR, operator.display());
                },
            );
            Ok(())
        }
        Command::Issue { subject, days } => {
            let dir = CaDirectory::open(&args.dir)?;
            let tls = match &subject {
                IssueSubject::Tls { id } => Some(TlsSubject::System(*id)),
                IssueSubject::Operator { name } => Some(TlsSubject::operator(name)?),
                _ => None,
            };
            if let Some(tls) = tls {
                let now = Utc::now();
                let (issued, cert, key) = dir.issue_tls(&tls, now, now + Duration::days(days))?;
                return say_issued(&issued, &cert, &key);
            }
            let spec = match subject {
                IssueSubject::Tls { .. } | IssueSubject::Operator { .. } => {
                    unreachable!("issued above")
                }
                IssueSubject::System { id } => SubjectSpec::System(id),
                IssueSubject::Citizen {
                    iin,
                    surname,
                    given_name,
                } => SubjectSpec::Citizen {
                    iin: Iin::parse(&iin).with_context(|| format!("--iin {iin}"))?,
                    surname,
                    given_name,
                },
                IssueSubject::Employee {
                    iin,
                    bin,
                    surname,
                    given_name,
                    organisation,
                } => SubjectSpec::Employee {
                    iin: Iin::parse(&iin).with_context(|| format!("--iin {iin}"))?,
                    bin: Bin::parse(&bin).with_context(|| format!("--bin {bin}"))?,
                    surname,
                    given_name,
                    organisation,
                },
            };
            let now = Utc::now();
            let (issued, cert, key) = dir.issue(&spec, now, now + Duration::days(days))?;
            say_issued(&issued, &cert, &key)
        }
        Command::Citizen {
            iin,
            surname,
            given_name,
            days,
        } => {
            let dir = CaDirectory::open(&args.dir)?;
            let (eds, paths) = issue_citizen(&dir, &iin, &surname, &given_name, days)?;
            if output::json() {
                output::print_json(&serde_json::json!({
                    "subject": eds.signing.info.subject.to_string(),
                    "authentication": {
                        "serial": eds.authentication.info.serial_hex(),
                        "certificate": paths.authentication_certificate.display().to_string(),
                        "private_key": paths.authentication_key.display().to_string(),
                    },
                    "signing": {
                        "serial": eds.signing.info.serial_hex(),
                        "certificate": paths.signing_certificate.display().to_string(),
                        "private_key": paths.signing_key.display().to_string(),
                    },
                }));
                return Ok(());
            }
            println!("issued {}'s EDS", eds.signing.info.subject);
            println!(
                "  authentication serial {}\n    certificate {}\n    private key {}",
                eds.authentication.info.serial_hex(),
                paths.authentication_certificate.display(),
                paths.authentication_key.display()
            );
            println!(
                "  signing        serial {}\n    certificate {}\n    private key {}",
                eds.signing.info.serial_hex(),
                paths.signing_certificate.display(),
                paths.signing_key.display()
            );
            Ok(())
        }
        Command::Revoke {
            certificate,
            reason,
        } => {
            let dir = CaDirectory::open(&args.dir)?;
            let serial = if Path::new(&certificate).is_file() {
                read_certificate(Path::new(&certificate))?.serial_hex()
            } else {
                certificate.to_ascii_lowercase()
            };
            let revocation = dir.revoke(&serial, &reason)?;
            output::say(
                serde_json::json!({
                    "serial": revocation.serial,
                    "revoked_at": revocation.revoked_at.to_rfc3339(),
                    "reason": revocation.reason,
                }),
                || {
                    println!(
                        "revoked serial {} at {} ({}); the CRL served from {} lists it now",
                        revocation.serial,
                        revocation.revoked_at,
                        revocation.reason,
                        dir.root().display()
                    )
                },
            );
            Ok(())
        }
        Command::Show { certificate } => {
            let info = read_certificate(&certificate)?;
            if output::json() {
                let revoked = CaDirectory::open(&args.dir)
                    .ok()
                    .and_then(|dir| dir.revocations().ok())
                    .and_then(|all| all.into_iter().find(|r| r.serial == info.serial_hex()));
                output::print_json(&serde_json::json!({
                    "subject": info.subject.to_string(),
                    "serial": info.serial_hex(),
                    "not_before": info.not_before.to_rfc3339(),
                    "not_after": info.not_after.to_rfc3339(),
                    "revoked_at": revoked.as_ref().map(|r| r.revoked_at.to_rfc3339()),
                    "revocation_reason": revoked.map(|r| r.reason),
                }));
                return Ok(());
            }
            println!("subject   {}", info.subject);
            if let Subject::Employee { bin, .. } = &info.subject {
                println!("employer  BIN {bin}");
            }
            println!("serial    {}", info.serial_hex());
            println!("valid     {} .. {}", info.not_before, info.not_after);
            if let Ok(dir) = CaDirectory::open(&args.dir) {
                let revoked = dir
                    .revocations()?
                    .into_iter()
                    .find(|r| r.serial == info.serial_hex());
                match revoked {
                    Some(r) => println!("revoked   {} ({})", r.revoked_at, r.reason),
                    None => println!("revoked   no (per {})", dir.root().display()),
                }
            }
            Ok(())
        }
        Command::Staff { config } => {
            let dir = CaDirectory::open(&args.dir)?;
            let file = config.join("workstation.toml");
            let settings: egov_workstation::Settings = egov_runtime::settings::load(
                "workstation",
                &egov_runtime::settings::SettingsSource::from_process(Some(file)),
            )?;
            issue_staff_certificates(&dir, &settings.workstation)?;
            // And the State Corporation's operators (intake.toml).
            let file = config.join("intake.toml");
            let settings: egov_intake::Settings = egov_runtime::settings::load(
                "intake",
                &egov_runtime::settings::SettingsSource::from_process(Some(file)),
            )?;
            issue_operator_certificates(&dir, &settings.intake)
        }
        Command::Serve { listen } => {
            let dir = CaDirectory::open(&args.dir)?;
            let listener = tokio::net::TcpListener::bind(listen).await?;
            // The bound address: with port 0 the system chose one.
            let bound = listener.local_addr()?;
            output::say(
                serde_json::json!({
                    "crl": format!("http://{bound}/crl"),
                    "ca_certificate": format!("http://{bound}/ca.crt"),
                }),
                || {
                    println!(
                        "serving http://{bound}/crl and http://{bound}/ca.crt from {}",
                        dir.root().display()
                    )
                },
            );
            serve(dir, listener, egov_runtime::shutdown::signal()).await
        }
    }
}

fn say_issued(issued: &egov_trust::Issued, cert: &Path, key: &Path) -> anyhow::Result<()> {
    output::say(
        serde_json::json!({
            "serial": issued.info.serial_hex(),
            "subject": issued.info.subject.to_string(),
            "certificate": cert.display().to_string(),
            "private_key": key.display().to_string(),
        }),
        || {
            println!(
                "issued serial {} to {}",
                issued.info.serial_hex(),
                issued.info.subject
            );
            println!(
                "  certificate {}\n  private key {}",
                cert.display(),
                key.display()
            );
        },
    );
    Ok(())
}

/// egovctl's own operator name: `pki init` issues it a TLS client
/// certificate (tls/operators/egovctl.crt.pem).
pub const EGOVCTL_OPERATOR: &str = "egovctl";

/// Creates the CA (unless it exists and `force` is false), a signing and a
/// TLS certificate for every system that has none yet, and egovctl's TLS
/// client certificate.
pub fn init(root: &Path, name: &str, days: i64, force: bool) -> anyhow::Result<CaDirectory> {
    let dir = match CaDirectory::open(root) {
        Ok(existing) if !force => existing,
        _ => CaDirectory::init(root, name, Duration::days(days), force)?,
    };
    let now = Utc::now();
    for system in SystemId::ALL {
        let spec = SubjectSpec::System(system);
        let (cert, _) = dir.paths_for(&spec);
        if force || !cert.exists() {
            dir.issue(&spec, now - Duration::minutes(5), now + Duration::days(825))?;
        }
        let tls = TlsSubject::System(system);
        let (cert, _) = dir.tls_paths(&tls);
        if force || !cert.exists() {
            dir.issue_tls(&tls, now - Duration::minutes(5), now + Duration::days(825))?;
        }
    }
    let operator = TlsSubject::operator(EGOVCTL_OPERATOR)?;
    let (cert, _) = dir.tls_paths(&operator);
    if force || !cert.exists() {
        dir.issue_tls(
            &operator,
            now - Duration::minutes(5),
            now + Duration::days(825),
        )?;
    }
    Ok(dir)
}

/// Serves the distribution point of the CA in `dir` until `shutdown`.
pub async fn serve(
    dir: CaDirectory,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pem = std::fs::read_to_string(dir.ca_certificate_path())?;
    let source: Arc<dyn egov_trust::CrlSource> = Arc::new(dir);
    egov_trust::crl::serve_crl(listener, source, pem, shutdown).await?;
    Ok(())
}

/// Issues a citizen's two key pairs from the CA in `dir`, valid from now for
/// `days`; refuses an invalid IIN or an empty name before issuing anything.
pub fn issue_citizen(
    dir: &CaDirectory,
    iin: &str,
    surname: &str,
    given_name: &str,
    days: i64,
) -> anyhow::Result<(CitizenEds, CitizenEdsPaths)> {
    let iin = Iin::parse(iin).with_context(|| format!("{iin:?} is not a valid IIN"))?;
    anyhow::ensure!(
        !surname.trim().is_empty() && !given_name.trim().is_empty(),
        "a citizen's certificate names them: give --surname and --given-name"
    );
    anyhow::ensure!(days > 0, "--days must be at least 1");
    let now = Utc::now();
    Ok(dir.issue_citizen_eds(
        iin,
        surname.trim(),
        given_name.trim(),
        now,
        now + Duration::days(days),
    )?)
}

fn read_certificate(path: &Path) -> anyhow::Result<CertificateInfo> {
    let pem = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let der = egov_trust::signing::pem_block(&pem, "CERTIFICATE").map_err(anyhow::Error::msg)?;
    Ok(CertificateInfo::parse(&der)?)
}

/// Issues the workstation's employees their EDS certificates on first run:
/// the staff entries that name the holder and whose certificate file is
/// missing (as `egovctl pki issue employee` would).
/// Issues the State Corporation operators' EDS certificates named in the
/// intake's settings (those with an IIN and a name) that do not exist yet.
pub fn issue_operator_certificates(
    ca: &CaDirectory,
    tuning: &egov_intake::settings::Tuning,
) -> anyhow::Result<()> {
    for (entry, subject) in tuning.operator_subjects().map_err(anyhow::Error::msg)? {
        if entry.certificate.exists() {
            continue;
        }
        let now = chrono::Utc::now();
        let (_, certificate, key) = ca.issue(&subject, now, now + chrono::Duration::days(365))?;
        anyhow::ensure!(
            certificate == entry.certificate && key == entry.private_key,
            "intake.operators {}: the CA writes {} and {}; point certificate and private_key there",
            entry.login,
            certificate.display(),
            key.display()
        );
        println!(
            "issued {}'s EDS certificate: {}",
            entry.login,
            certificate.display()
        );
    }
    Ok(())
}

pub fn issue_staff_certificates(
    ca: &CaDirectory,
    tuning: &egov_workstation::settings::Tuning,
) -> anyhow::Result<()> {
    for (entry, subject) in tuning.staff_subjects().map_err(anyhow::Error::msg)? {
        if entry.certificate.exists() {
            continue;
        }
        let now = chrono::Utc::now();
        let (_, certificate, key) = ca.issue(&subject, now, now + chrono::Duration::days(365))?;
        anyhow::ensure!(
            certificate == entry.certificate
                && entry.private_key.as_ref().is_none_or(|k| *k == key),
            "workstation.staff {}: the CA writes {} and {}; point certificate (and private_key) there",
            entry.login,
            certificate.display(),
            key.display()
        );
        println!(
            "issued {}'s EDS certificate: {}",
            entry.login,
            certificate.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_trust::KeyPurpose;

    fn temp_ca(test: &str) -> CaDirectory {
        let root = std::env::temp_dir().join(format!("egovctl-pki-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        CaDirectory::init(&root, "test CA", Duration::days(30), false).unwrap()
    }

    #[test]
    fn an_invalid_iin_is_refused_and_nothing_is_written() {
        let dir = temp_ca("invalid-iin");
        for bad in [
            "900101300018",
            "90010130001",
            "90010130001x",
            "901301300017",
        ] {
            let error = issue_citizen(&dir, bad, "Абаев", "Серік", 365).unwrap_err();
            assert!(
                error.to_string().contains("is not a valid IIN"),
                "{bad}: {error:#}"
            );
        }
        assert!(!dir.root().join("citizens").exists());
        std::fs::remove_dir_all(dir.root()).unwrap();
    }

    #[test]
    fn a_citizen_without_a_name_is_refused() {
        let dir = temp_ca("no-name");
        assert!(issue_citizen(&dir, "900101300017", " ", "Серік", 365).is_err());
        assert!(!dir.root().join("citizens").exists());
        std::fs::remove_dir_all(dir.root()).unwrap();
    }

    #[test]
    fn a_citizen_gets_two_key_pairs_on_disk() {
        let dir = temp_ca("citizen");
        let (eds, paths) = issue_citizen(&dir, "900101300017", "Абаев", "Серік", 365).unwrap();
        let citizen_dir = dir.root().join("citizens").join("900101300017");
        assert_eq!(
            paths.authentication_certificate,
            citizen_dir.join("auth.crt.pem")
        );
        assert_eq!(paths.signing_key, citizen_dir.join("sign.key.pem"));
        let auth = read_certificate(&paths.authentication_certificate).unwrap();
        assert!(auth.allows(KeyPurpose::Authentication) && !auth.allows(KeyPurpose::Signing));
        let sign = read_certificate(&paths.signing_certificate).unwrap();
        assert!(sign.allows(KeyPurpose::Signing) && !sign.allows(KeyPurpose::Authentication));
        assert_eq!(sign.serial, eds.signing.info.serial);
        assert!(paths.authentication_key.is_file() && paths.signing_key.is_file());
        std::fs::remove_dir_all(dir.root()).unwrap();
    }
}
