//! `egov-gateway`: runs the gateway alone (the launcher `egovctl run` starts
//! it together with the other systems).

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "egov-gateway",
    version,
    about = "The e-government gateway (ЭҮШ) of egov-mesh"
)]
struct Args {
    /// Settings file (TOML); EGOV__… and EGOV_GATEWAY__… variables override it.
    #[arg(long, env = "EGOV_GATEWAY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = egov_runtime::settings::SettingsSource::from_process(args.config);
    let settings: egov_gateway::Settings = match egov_runtime::settings::load("gateway", &source) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(64);
        }
    };
    let _telemetry = egov_runtime::telemetry::init("egov-gateway", &settings.telemetry)?;
    let app = egov_gateway::Application::build(settings).await?;
    app.run_until_stopped(egov_runtime::shutdown::on_signal())
        .await
}
