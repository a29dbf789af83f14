//! `egovctl run`: the whole mesh on this machine for a newcomer (`make
//! run`): every system its own process (`egovctl serve <system>`), each with
//! its own settings and telemetry, its output shown with its name in front.
//! One launcher, so one Ctrl-C stops all; a system that stops stops the rest.
//!
//! On first run it creates the CA (`.run/pki`) with a certificate for every
//! system, and the database named in the settings. Each system reads
//! `<config>/<system>.toml`, then `EGOV__…` and `EGOV_<SYSTEM>__…` variables.

use crate::commands::pki;
use anyhow::Context as _;
use egov_runtime::settings::{SettingsSource, load};
use egov_trust::SystemId;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct Args {
    /// Directory holding each system's settings file, `<system>.toml`.
    #[arg(long, default_value = "deploy/config")]
    config: PathBuf,
    /// The CA directory (created on first run).
    #[arg(long, default_value = pki::DEFAULT_DIR)]
    pki: PathBuf,
    /// Where the CA's revocation list is served (the systems' trust.crl_url).
    #[arg(long, default_value = "127.0.0.1:7000")]
    crl_listen: std::net::SocketAddr,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let _telemetry = egov_runtime::telemetry::init("egov-mesh", &Default::default())?;
    let ca = pki::init(&args.pki, "egov-mesh CA", 3650, false).context("preparing the mesh CA")?;
    let workstation: egov_workstation::Settings =
        load("workstation", &source(&args.config, SystemId::Workstation))?;
    pki::issue_staff_certificates(&ca, &workstation.workstation)
        .context("issuing the workstation's staff certificates")?;
    let intake: egov_intake::Settings = load("intake", &source(&args.config, SystemId::Intake))?;
    pki::issue_operator_certificates(&ca, &intake.intake)
        .context("issuing the State Corporation operators' certificates")?;
    let shutdown = CancellationToken::new();

    let crl = tokio::net::TcpListener::bind(args.crl_listen)
        .await
        .with_context(|| format!("binding the CRL distribution point to {}", args.crl_listen))?;
    let crl_task = tokio::spawn(pki::serve(
        ca.clone(),
        crl,
        shutdown.clone().cancelled_owned(),
    ));

    let gateway: egov_gateway::Settings =
        load("gateway", &source(&args.config, SystemId::Gateway))?;
    egov_runtime::database::ensure_database(secrecy::ExposeSecret::expose_secret(
        &gateway.database.url,
    ))
    .await
    .context("creating the mesh's database")?;

    // Each system its own process (`egovctl serve <system>`), with its own
    // telemetry resource: the gateway first, then the other five at once.
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let mut systems = Vec::new();
    let first = System::start(SystemId::Gateway, &args.config, ended_tx.clone())?;
    systems.push(first);
    let gateway_address = systems[0].address(&mut ended).await?;
    for system in [
        SystemId::Individuals,
        SystemId::Notary,
        SystemId::Workstation,
        SystemId::Portal,
        SystemId::Intake,
    ] {
        systems.push(System::start(system, &args.config, ended_tx.clone())?);
    }
    let mut addresses = vec![gateway_address];
    for system in &mut systems[1..] {
        addresses.push(system.address(&mut ended).await?);
    }
    let [
        gateway_address,
        individuals_address,
        notary_address,
        workstation_address,
        portal_address,
        intake_address,
    ] = addresses[..]
    else {
        unreachable!("six systems")
    };

    println!();
    println!("egov-mesh is running, each system its own process (Ctrl-C stops it)");
    println!("  CRL distribution point  http://{}/crl", args.crl_listen);
    println!("  gateway (ЭҮШ) gRPC      {gateway_address}");
    println!("  individuals (ЖТ МДБ)    {individuals_address}  (admin API: egovctl fault)");
    println!("  notary (БНАЖ)           {notary_address}  (admin API: egovctl fault)");
    println!(
        "  workstation (ЭҮАШ АЖО)  {workstation_address}  (employees' API; staff in deploy/config/workstation.toml)"
    );
    println!("  portal (ЭҮП)            {portal_address}  (citizens' API: egovctl portal)");
    println!(
        "  intake (МК ЫАЖ)         {intake_address}  (operators' API: egovctl intake; operators in deploy/config/intake.toml)"
    );
    println!("  CA and certificates     {}", args.pki.display());
    let (gateway_user, workstation_user) = (
        broker_user(&gateway.bus.url),
        broker_user(&workstation.bus.url),
    );
    if gateway_user == workstation_user {
        println!(
            "  broker                  ONE USER ({gateway_user}) for every system: a laptop sandbox; per-system users: README, \"Least privilege on the broker\""
        );
    } else {
        println!("  broker                  each system its own user (egovctl broker definitions)");
    }
    match gateway.grpc.tls {
        egov_runtime::tls::TlsMode::Off => println!(
            "  gRPC                    PLAINTEXT (grpc.tls = \"off\"): a laptop sandbox; EGOV__GRPC__TLS=mutual make run for mutual TLS"
        ),
        egov_runtime::tls::TlsMode::Mutual => {
            let (certificate, key) = ca.tls_paths(
                &egov_trust::TlsSubject::operator(pki::EGOVCTL_OPERATOR)
                    .expect("egovctl's operator name is valid"),
            );
            println!(
                "  gRPC                    mutual TLS: egovctl --tls-cert {} --tls-key {} (or EGOV_TLS_CERT, EGOV_TLS_KEY)",
                certificate.display(),
                key.display()
            );
        }
    }
    println!(
        "  telemetry               each system's [telemetry] (otlp_endpoint: traces, resource egov-<system>)"
    );
    println!();

    let failed = tokio::select! {
        _ = egov_runtime::shutdown::signal() => None,
        Some((system, status)) = ended.recv() => Some((system, status)),
    };
    if let Some((system, status)) = &failed {
        tracing::error!(%system, %status, "A system stopped; stopping the rest.");
    }
    // Closing their standard input stops the systems (as SIGTERM would):
    // each finishes what it has in flight.
    for system in &mut systems {
        system.stop();
    }
    for system in systems {
        system.wait().await;
    }
    shutdown.cancel();
    let _ = crl_task.await;
    match failed {
        Some((system, status)) => anyhow::bail!("{system} stopped ({status})"),
        None => Ok(()),
    }
}

/// One system's process, its output shown with its name in front.
struct System {
    id: SystemId,
    child: Option<tokio::process::Child>,
    stdin: Option<tokio::process::ChildStdin>,
    address: tokio::sync::watch::Receiver<Option<std::net::SocketAddr>>,
    waiting: Option<tokio::task::JoinHandle<()>>,
}

impl System {
    fn start(
        id: SystemId,
        config: &Path,
        ended: tokio::sync::mpsc::UnboundedSender<(SystemId, String)>,
    ) -> anyhow::Result<System> {
        let file = config.join(format!("{id}.toml"));
        let mut command = tokio::process::Command::new(
            std::env::current_exe().context("finding egovctl's own executable")?,
        );
        command.args(["serve", id.as_str(), "--stop-on-stdin-close"]);
        if file.exists() {
            command.arg("--config").arg(&file);
        }
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {id}"))?;
        let (found, address) = tokio::sync::watch::channel(None);
        let found = std::sync::Arc::new(found);
        for output in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let found = found.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt;
                let mut lines = tokio::io::BufReader::new(output).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(address) = listening_address(&line) {
                        found.send_replace(Some(address));
                    }
                    println!("{:<11} | {line}", id.as_str());
                }
            });
        }
        let stdin = child.stdin.take();
        Ok(System {
            id,
            child: Some(child),
            stdin,
            address,
            waiting: None,
        }
        .watch(ended))
    }

    /// Reports the process's end on `ended`.
    fn watch(mut self, ended: tokio::sync::mpsc::UnboundedSender<(SystemId, String)>) -> System {
        let mut child = self.child.take().expect("just started");
        let id = self.id;
        self.waiting = Some(tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(status) => status.to_string(),
                Err(error) => error.to_string(),
            };
            let _ = ended.send((id, status));
        }));
        self
    }

    /// The gRPC address the system logs once it listens.
    async fn address(
        &mut self,
        ended: &mut tokio::sync::mpsc::UnboundedReceiver<(SystemId, String)>,
    ) -> anyhow::Result<std::net::SocketAddr> {
        let mut address = self.address.clone();
        tokio::select! {
            found = address.wait_for(Option::is_some) => {
                Ok(found.ok().and_then(|a| *a).context("the system's output ended")?)
            }
            Some((system, status)) = ended.recv() => {
                anyhow::bail!("{system} stopped while starting ({status}); its output is above")
            }
        }
    }

    fn stop(&mut self) {
        self.stdin.take();
    }

    async fn wait(mut self) {
        if let Some(waiting) = self.waiting.take() {
            let _ = waiting.await;
        }
    }
}

/// The address in a system's "gRPC API listening." line, plain or JSON.
fn listening_address(line: &str) -> Option<std::net::SocketAddr> {
    if !line.contains("gRPC API listening.") {
        return None;
    }
    let line = &without_colours(line);
    let start = line
        .find("address=")
        .map(|i| i + "address=".len())
        .or_else(|| {
            line.find("\"address\":\"")
                .map(|i| i + "\"address\":\"".len())
        })?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The line without its ANSI colour sequences (ESC [ … m).
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

fn source(config: &Path, system: SystemId) -> SettingsSource {
    let file = config.join(format!("{system}.toml"));
    SettingsSource::from_process(file.exists().then_some(file))
}

/// The user name in a broker URL (`amqp://user:password@host/vhost`).
fn broker_user(url: &secrecy::SecretString) -> String {
    let url = secrecy::ExposeSecret::expose_secret(url);
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(credentials, _)| credentials.split(':').next().unwrap_or_default())
        .unwrap_or("guest")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::listening_address;

    #[test]
    fn the_address_is_read_from_plain_coloured_and_json_lines() {
        let expected = Some("127.0.0.1:7100".parse().unwrap());
        let plain = "2026-12-01T13:55:06Z  INFO egov_runtime::service: Gateway gRPC API listening. address=127.0.0.1:7100";
        let coloured = "\u{1b}[32m INFO\u{1b}[0m Gateway gRPC API listening. \u{1b}[3maddress\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:7100";
        let json = r#"{"level":"INFO","fields":{"message":"Gateway gRPC API listening.","address":"127.0.0.1:7100"}}"#;
        assert_eq!(listening_address(plain), expected);
        assert_eq!(listening_address(coloured), expected);
        assert_eq!(listening_address(json), expected);
        assert_eq!(
            listening_address("Gateway metrics listening. address=127.0.0.1:7150"),
            None
        );
    }
}
