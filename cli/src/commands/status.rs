//! `egovctl status`: every system of the mesh at a glance — whether its
//! gRPC port answers grpc.health SERVING, how many messages wait in its
//! inbox and in its dead-letter queue (a passive declare: nothing is
//! consumed), and for the registries their fault mode.

use crate::output;
use egov_bus::Names;
use egov_proto::registry::registry_admin_client::RegistryAdminClient;
use egov_proto::registry::{FaultKind, GetFaultRequest};
use egov_trust::SystemId;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub addresses: Addresses,
    /// The broker.
    #[arg(
        long,
        env = "EGOV_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp: String,
    /// The mesh's queue namespace (bus.namespace in the settings).
    #[arg(long, env = "EGOV_NAMESPACE", default_value = "egov")]
    pub namespace: String,
}

/// Every system's gRPC address (deploy/config/*.toml's listen addresses).
#[derive(clap::Args, Clone)]
pub struct Addresses {
    #[arg(
        long,
        env = "EGOV_GATEWAY_ADDR",
        default_value = "http://127.0.0.1:7100"
    )]
    pub gateway: String,
    #[arg(
        long,
        env = "EGOV_INDIVIDUALS_ADDR",
        default_value = "http://127.0.0.1:7201"
    )]
    pub individuals: String,
    #[arg(
        long,
        env = "EGOV_NOTARY_ADDR",
        default_value = "http://127.0.0.1:7202"
    )]
    pub notary: String,
    #[arg(
        long,
        env = "EGOV_WORKSTATION_ADDR",
        default_value = "http://127.0.0.1:7300"
    )]
    pub workstation: String,
    #[arg(
        long,
        env = "EGOV_PORTAL_ADDR",
        default_value = "http://127.0.0.1:7400"
    )]
    pub portal: String,
    #[arg(
        long,
        env = "EGOV_INTAKE_ADDR",
        default_value = "http://127.0.0.1:7500"
    )]
    pub intake: String,
}

impl Addresses {
    fn of(&self, system: SystemId) -> Option<&str> {
        Some(match system {
            SystemId::Gateway => &self.gateway,
            SystemId::Individuals => &self.individuals,
            SystemId::Notary => &self.notary,
            SystemId::Workstation => &self.workstation,
            SystemId::Portal => &self.portal,
            SystemId::Intake => &self.intake,
            #[allow(unreachable_patterns)]
            _ => return None,
        })
    }
}

const SYSTEMS: [SystemId; 6] = [
    SystemId::Gateway,
    SystemId::Individuals,
    SystemId::Notary,
    SystemId::Workstation,
    SystemId::Portal,
    SystemId::Intake,
];

/// One system's line.
struct Row {
    system: SystemId,
    address: String,
    health: String,
    inbox: Option<u32>,
    dead: Option<u32>,
    fault: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let names = Names::new(&args.namespace).map_err(|e| anyhow::anyhow!("{e}"))?;
    let broker = lapin::Connection::connect(&args.amqp, lapin::ConnectionProperties::default())
        .await
        .ok();
    let mut rows = Vec::new();
    for system in SYSTEMS {
        let address = args.addresses.of(system).unwrap_or_default().to_owned();
        let (inbox, dead) = match system {
            SystemId::Gateway => (names.ingress(), names.gateway_dead()),
            _ => (names.inbox(system), names.dead(system)),
        };
        rows.push(Row {
            system,
            health: health(&address, system).await,
            inbox: depth(broker.as_ref(), &inbox).await,
            dead: depth(broker.as_ref(), &dead).await,
            fault: match system {
                SystemId::Individuals | SystemId::Notary => Some(fault(&address, system).await),
                _ => None,
            },
            address,
        });
    }
    let reachable = broker.is_some();
    if let Some(connection) = broker {
        let _ = connection.close(200, "done".into()).await;
    }
    if output::json() {
        let systems: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "system": r.system.as_str(),
                    "address": r.address,
                    "health": r.health,
                    "inbox": r.inbox,
                    "dead_letters": r.dead,
                    "fault": r.fault,
                })
            })
            .collect();
        output::print_json(&serde_json::json!({
            "namespace": args.namespace,
            "broker": if reachable { "reachable" } else { "unreachable" },
            "systems": systems,
        }));
    } else {
        println!(
            "{:<12} {:<24} {:<12} {:>6} {:>6}  fault",
            "system", "address", "health", "inbox", "dead"
        );
        let count = |n: Option<u32>| n.map_or("?".to_owned(), |n| n.to_string());
        for r in &rows {
            println!(
                "{:<12} {:<24} {:<12} {:>6} {:>6}  {}",
                r.system.as_str(),
                r.address.trim_start_matches("http://"),
                r.health,
                count(r.inbox),
                count(r.dead),
                r.fault.as_deref().unwrap_or("-")
            );
        }
        if !reachable {
            println!(
                "The broker at {} did not answer: queue depths unknown.",
                args.amqp
            );
        }
    }
    Ok(())
}

/// "serving", "not serving", or "unreachable".
async fn health(address: &str, system: SystemId) -> String {
    let check = async {
        let channel = crate::grpc::endpoint(address, system)?
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await?;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?
            .into_inner();
        anyhow::Ok(answer.status)
    };
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(1)) => "serving".into(),
        Ok(Ok(_)) => "not serving".into(),
        _ => "unreachable".into(),
    }
}

/// Messages ready in `queue`; none when the broker or the queue is missing.
async fn depth(broker: Option<&lapin::Connection>, queue: &str) -> Option<u32> {
    // A channel per look: a passive declare of a missing queue closes it.
    let channel = broker?.create_channel().await.ok()?;
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    let depth = declared.ok().map(|q| q.message_count());
    let _ = channel.close(200, "done".into()).await;
    depth
}

/// A registry's fault mode as `egovctl fault` sets it.
async fn fault(address: &str, system: SystemId) -> String {
    let ask = async {
        let channel = crate::grpc::endpoint(address, system)?
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await?;
        let state = RegistryAdminClient::new(channel)
            .get_fault(GetFaultRequest {})
            .await?
            .into_inner();
        anyhow::Ok(state.mode.unwrap_or_default())
    };
    match tokio::time::timeout(Duration::from_secs(3), ask).await {
        Ok(Ok(mode)) => match mode.kind() {
            FaultKind::Slow => format!("slow {} ms", mode.latency_ms),
            FaultKind::Error => format!("error {}", mode.error_fraction),
            FaultKind::Down => "down".into(),
            FaultKind::Flaky => "flaky".into(),
            _ => "none".into(),
        },
        _ => "?".into(),
    }
}
