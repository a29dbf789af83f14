//! `egovctl serve <system>`: one system of the mesh in this process, with
//! its own settings and telemetry (resource `egov-<system>`). `egovctl run`
//! starts each system this way, as its own process, so a trace shows which
//! system did what and a system can be killed alone; the systems' own
//! binaries (egov-gateway, egov-portal…) do the same.
//!
//! Started by `egovctl run`, a system also stops when its standard input
//! closes: the launcher's end of the pipe, gone when the launcher stops or
//! dies, so no system outlives it.

use egov_runtime::settings::{SettingsSource, load};
use egov_trust::SystemId;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// gateway, individuals, notary, workstation, portal or intake.
    system: String,
    /// The system's settings file; EGOV__… and EGOV_<SYSTEM>__… variables
    /// override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Stop when standard input closes (set by `egovctl run`).
    #[arg(long)]
    stop_on_stdin_close: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let system = SystemId::parse(&args.system)
        .ok_or_else(|| anyhow::anyhow!("unknown system {:?}", args.system))?;
    let source = SettingsSource::from_process(args.config);
    let name = format!("egov-{system}");
    let stop = egov_runtime::shutdown::on_signal();
    if args.stop_on_stdin_close {
        let stop = stop.clone();
        // A thread of its own: reading a pipe blocks.
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buffer = [0u8; 64];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut buffer), Ok(n) if n > 0) {}
            stop.cancel();
        });
    }
    match system {
        SystemId::Gateway => {
            let settings: egov_gateway::Settings = load("gateway", &source)?;
            let _telemetry = egov_runtime::telemetry::init(&name, &settings.telemetry)?;
            let app = egov_gateway::Application::build(settings).await?;
            app.run_until_stopped(stop).await
        }
        SystemId::Individuals => {
            let settings: egov_individuals::settings::Settings = load("individuals", &source)?;
            let _telemetry = egov_runtime::telemetry::init(&name, &settings.telemetry)?;
            let app = egov_individuals::startup::Application::build(settings).await?;
            app.run_until_stopped(stop).await
        }
        SystemId::Notary => {
            let settings: egov_notary::settings::Settings = load("notary", &source)?;
            let _telemetry = egov_runtime::telemetry::init(&name, &settings.telemetry)?;
            let app = egov_notary::startup::Application::build(settings).await?;
            app.run_until_stopped(stop).await
        }
        SystemId::Workstation => {
            let settings: egov_workstation::Settings = load("workstation", &source)?;
            let _telemetry = egov_runtime::telemetry::init(&name, &settings.telemetry)?;
            let app = egov_workstation::Application::build(settings).await?;
            app.run_until_stopped(stop).await
        }
        SystemId::Portal => {
            let settings: egov_portal::Settings = load("portal", &source)?;
            let _telemetry = egov_runtime::telemetry::init(&name, &settings.telemetry)?;
            let app = egov_portal::Application::build(settings).await?;
            app.run_until_stopped(stop).await
        }
        SystemId::Intake => {
            let settings: egov_intake::Settings = load("intake", &source)?;
            let _telemetry = egov_runtime::telemetry::init(&name, &settings.telemetry)?;
            let app = egov_intake::Application::build(settings).await?;
            app.run_until_stopped(stop).await
        }
    }
}
