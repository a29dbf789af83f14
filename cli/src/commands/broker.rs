//! `egovctl broker reset`: deletes a namespace's queues and exchanges, so
//! the mesh declares them afresh (after a change of `bus.queue_type`, or of
//! the topology by an upgrade: the broker refuses to redeclare a queue with
//! other arguments, `PRECONDITION_FAILED`). Their messages are lost.
//!
//! `egovctl broker definitions`: one RabbitMQ user per system of a
//! namespace, allowed only its own exchange and queues (issue 14, point 3;
//! see `egov_bus::permissions`), as RabbitMQ definitions JSON that
//! `rabbitmqctl import_definitions` or the broker's `load_definitions` take.
//!
//! Each password comes from `EGOV_BROKER_PASSWORD_<SYSTEM>` (for example
//! `EGOV_BROKER_PASSWORD_PORTAL`), never from a file of the repository; the
//! system then connects as `<namespace>-<system>`.

use anyhow::Context as _;
use egov_bus::Names;
use egov_bus::permissions;
use egov_trust::SystemId;
use secrecy::SecretString;

#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  egovctl broker definitions --namespace egov --out definitions.json\n  \
                  rabbitmqctl import_definitions definitions.json\n  \
                  # then each system's bus.url: amqp://egov-<system>:<its password>@host:5672/%2f"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print (or write) the definitions of every system's user.
    Definitions {
        /// The mesh's namespace (`bus.namespace`).
        #[arg(long, default_value = "egov")]
        namespace: String,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Delete every queue and exchange of a namespace (their messages too).
    Reset {
        /// The mesh's namespace (`bus.namespace`).
        #[arg(long, env = "EGOV_NAMESPACE", default_value = "egov")]
        namespace: String,
        /// The broker, as its administrator.
        #[arg(
            long,
            env = "EGOV_AMQP_URL",
            default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
        )]
        amqp: String,
        /// The retry delays of the gateway and the systems
        /// (`bus.retry_delays`), which name their retry queues.
        #[arg(long, value_delimiter = ',', default_value = "1s,10s,60s")]
        retry_delays: Vec<humantime::Duration>,
    },
}

/// The environment variable holding `system`'s broker password.
fn password_variable(system: SystemId) -> String {
    format!("EGOV_BROKER_PASSWORD_{}", system.as_str().to_uppercase())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Definitions { namespace, out } => definitions(&namespace, out),
        Command::Reset {
            namespace,
            amqp,
            retry_delays,
        } => {
            let names = Names::new(&namespace).map_err(|e| anyhow::anyhow!("{e}"))?;
            let delays: Vec<std::time::Duration> =
                retry_delays.into_iter().map(Into::into).collect();
            let connection =
                lapin::Connection::connect(&amqp, lapin::ConnectionProperties::default())
                    .await
                    .map_err(|e| anyhow::anyhow!("broker_unreachable: {e}"))?;
            egov_bus::topology::delete_namespace(&connection, &names, &delays, &delays).await?;
            let _ = connection.close(200, "reset".into()).await;
            eprintln!("Deleted the queues and exchanges of namespace {namespace}.");
            Ok(())
        }
    }
}

fn definitions(namespace: &str, out: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let names = Names::new(namespace).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut passwords = Vec::new();
    for system in SystemId::ALL {
        let variable = password_variable(system);
        let password = std::env::var(&variable).unwrap_or_default();
        anyhow::ensure!(
            !password.is_empty(),
            "missing_password: set {variable} to the broker password of {system}"
        );
        passwords.push((system, SecretString::from(password)));
    }
    let json = serde_json::to_string_pretty(&permissions::definitions(&names, &passwords))?;
    match out {
        Some(path) => std::fs::write(&path, json + "\n")
            .with_context(|| format!("write {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}
