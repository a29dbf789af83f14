//! `egovctl fault <system> <mode…>` and `egovctl fault status`: outages on
//! demand for integration testers (issue 3, item 4), through each registry's
//! admin API (`egov.registry.v1.RegistryAdmin`) and gRPC health.
//!
//! Modes: `none`, `down` (stops consuming: asynchronous messages wait,
//! synchronous calls expire), `slow <ms>` (added latency), `error
//! <fraction>` (that share answered `registry_failure`), `flaky` (a random
//! mix: see `egov_registry::fault::FLAKY_MIX`).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use egov_proto::registry::registry_admin_client::RegistryAdminClient;
use egov_proto::registry::{FaultState, GetFaultRequest, SetFaultRequest};
use egov_registry::fault::FaultMode;
use std::time::Duration;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The registries that take a fault mode.
const SYSTEMS: [&str; 2] = ["individuals", "notary"];

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  egovctl fault individuals down\n  egovctl fault notary slow 250\n  \
                  egovctl fault individuals error 0.3\n  egovctl fault notary flaky\n  \
                  egovctl fault individuals none\n  egovctl fault status"
)]
pub struct Args {
    /// `individuals`, `notary`, or `status` (every registry's mode and health).
    target: String,
    /// The mode: none | down | slow <ms> | error <fraction> | flaky.
    mode: Vec<String>,
    /// The individuals registry's gRPC address (deploy/config/individuals.toml).
    #[arg(
        long,
        env = "EGOV_INDIVIDUALS_ADDR",
        default_value = "http://127.0.0.1:7201"
    )]
    individuals_addr: String,
    /// The notary system's gRPC address (deploy/config/notary.toml).
    #[arg(
        long,
        env = "EGOV_NOTARY_ADDR",
        default_value = "http://127.0.0.1:7202"
    )]
    notary_addr: String,
    /// The CA directory: setting a fault is an operator's act, signed with
    /// the registry's own key from it.
    #[arg(long, env = "EGOV_PKI", default_value = crate::commands::pki::DEFAULT_DIR)]
    pki: std::path::PathBuf,
}

impl Args {
    fn address(&self, system: &str) -> &str {
        match system {
            "individuals" => &self.individuals_addr,
            _ => &self.notary_addr,
        }
    }
}

/// The operator's credential for `registry`: service "operate", signed
/// with the registry's own key from the CA directory.
fn operator_credential(
    pki: &std::path::Path,
    registry: &str,
) -> anyhow::Result<egov_proto::envelope::Envelope> {
    let system = egov_trust::SystemId::parse(registry)
        .ok_or_else(|| anyhow::anyhow!("unknown registry {registry:?}"))?;
    let identity = crate::commands::gateway::identity_in(pki, system)?;
    Ok(egov_bus::envelope::credential_to(
        &identity,
        system,
        egov_registry::admin::OPERATE_SERVICE,
    ))
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.target == "status" {
        if !args.mode.is_empty() {
            usage("`egovctl fault status` takes no mode");
        }
        return status(&args).await;
    }
    let system = args.target.as_str();
    if !SYSTEMS.contains(&system) {
        usage(&format!(
            "unknown registry {system:?}: use individuals, notary, or status \
             (only the registries take a fault mode)"
        ));
    }
    if args.mode.is_empty() {
        usage("give a mode: none, down, slow <ms>, error <fraction> or flaky");
    }
    let mode: FaultMode = match args.mode.join(" ").parse() {
        Ok(mode) => mode,
        Err(error) => usage(&format!("invalid_fault_mode: {error}")),
    };
    let address = args.address(system);
    let channel = connect(address, system).await?;
    let state = RegistryAdminClient::new(channel.clone())
        .set_fault(SetFaultRequest {
            mode: Some(mode.into()),
            credential: Some(operator_credential(&args.pki, system)?),
        })
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner();
    let health = health(channel).await;
    crate::output::say(
        serde_json::json!({
            "system": system,
            "state": crate::output::proto_json(&state, "egov.registry.v1.FaultState"),
            "health": health,
        }),
        || {
            println!(
                "{system}: fault mode {} since {} (health {health})",
                mode_text(&state),
                since_text(&state),
            )
        },
    );
    Ok(())
}

/// One line per registry: address, health, mode and since when. Exits 1 if
/// a registry cannot be reached.
async fn status(args: &Args) -> anyhow::Result<()> {
    let json = crate::output::json();
    if !json {
        println!(
            "{:<12} {:<24} {:<12} {:<14} SINCE",
            "SYSTEM", "ADDRESS", "HEALTH", "FAULT MODE"
        );
    }
    let mut unreachable = Vec::new();
    let mut rows = Vec::new();
    for system in SYSTEMS {
        let address = args.address(system);
        let answer = async {
            let channel = connect(address, system).await?;
            let state = RegistryAdminClient::new(channel.clone())
                .get_fault(GetFaultRequest {})
                .await
                .map_err(|status| anyhow::anyhow!("{}", status.message()))?
                .into_inner();
            anyhow::Ok((state, health(channel).await))
        }
        .await;
        match answer {
            Ok((state, health)) => {
                rows.push(serde_json::json!({
                    "system": system, "address": address, "health": health,
                    "state": crate::output::proto_json(&state, "egov.registry.v1.FaultState"),
                }));
                if !json {
                    println!(
                        "{system:<12} {address:<24} {health:<12} {:<14} {}",
                        mode_text(&state),
                        since_text(&state)
                    );
                }
            }
            Err(error) => {
                unreachable.push(system);
                rows.push(serde_json::json!({
                    "system": system, "address": address, "health": "unreachable",
                    "error": format!("{error:#}"),
                }));
                if !json {
                    println!(
                        "{system:<12} {address:<24} {:<12} {:<14} - ({error:#})",
                        "unreachable", "-"
                    );
                }
            }
        }
    }
    if json {
        crate::output::print_json(&serde_json::json!({ "registries": rows }));
    }
    if !unreachable.is_empty() {
        anyhow::bail!("unreachable: {}", unreachable.join(", "));
    }
    Ok(())
}

/// Bad input: the reason on stderr, exit status 2.
fn usage(message: &str) -> ! {
    eprintln!("egovctl fault: {message}");
    std::process::exit(2);
}

async fn connect(address: &str, system: &str) -> anyhow::Result<Channel> {
    let system = egov_trust::SystemId::parse(system)
        .with_context(|| format!("{system} is no system of the mesh"))?;
    crate::grpc::endpoint(address, system)?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("cannot reach {address}"))
}

/// The registry's overall health ("" service): NOT_SERVING while `down` or
/// without a broker connection.
async fn health(channel: Channel) -> String {
    match HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
    {
        Ok(answer) => ServingStatus::try_from(answer.into_inner().status)
            .map(|s| s.as_str_name().to_owned())
            .unwrap_or_else(|_| "UNKNOWN".into()),
        Err(status) => format!("? ({})", status.message()),
    }
}

fn mode_text(state: &FaultState) -> String {
    state
        .mode
        .as_ref()
        .and_then(|mode| FaultMode::try_from(mode).ok())
        .map(|mode| mode.to_string())
        .unwrap_or_else(|| "?".into())
}

fn since_text(state: &FaultState) -> String {
    state
        .since
        .as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos as u32))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".into())
}
