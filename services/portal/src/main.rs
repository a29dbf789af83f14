//! `egov-portal`: runs the portal alone (the launcher `egovctl run` starts it
//! together with the other systems).

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "egov-portal",
    version,
    about = "The e-government portal (ЭҮП) of egov-mesh"
)]
struct Args {
    /// Settings file (TOML); EGOV__… and EGOV_PORTAL__… variables override it.
    #[arg(long, env = "EGOV_PORTAL_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = egov_runtime::settings::SettingsSource::from_process(args.config);
    let settings: egov_portal::Settings = match egov_runtime::settings::load("portal", &source) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(64);
        }
    };
    let _telemetry = egov_runtime::telemetry::init("egov-portal", &settings.telemetry)?;
    let app = egov_portal::Application::build(settings).await?;
    app.run_until_stopped(egov_runtime::shutdown::on_signal())
        .await
}
