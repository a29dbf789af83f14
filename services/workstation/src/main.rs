//! `egov-workstation`: runs the provider's workstation alone (the launcher
//! `egovctl run` starts it together with the other systems).

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "egov-workstation",
    version,
    about = "The provider's workstation (ЭҮАШ АЖО) of egov-mesh"
)]
struct Args {
    /// Settings file (TOML); EGOV__… and EGOV_WORKSTATION__… variables override it.
    #[arg(long, env = "EGOV_WORKSTATION_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = egov_runtime::settings::SettingsSource::from_process(args.config);
    let settings: egov_workstation::Settings =
        match egov_runtime::settings::load("workstation", &source) {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(64);
            }
        };
    let _telemetry = egov_runtime::telemetry::init("egov-workstation", &settings.telemetry)?;
    let app = egov_workstation::Application::build(settings).await?;
    app.run_until_stopped(egov_runtime::shutdown::on_signal())
        .await
}
