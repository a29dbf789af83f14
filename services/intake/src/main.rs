//! `egov-intake`: runs the State Corporation's intake alone (the launcher
//! `egovctl run` may start it together with the other systems).

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "egov-intake",
    version,
    about = "The State Corporation's intake (МК ЫАЖ) of egov-mesh"
)]
struct Args {
    /// Settings file (TOML); EGOV__… and EGOV_INTAKE__… variables override it.
    #[arg(long, env = "EGOV_INTAKE_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = egov_runtime::settings::SettingsSource::from_process(args.config);
    let settings: egov_intake::Settings = match egov_runtime::settings::load("intake", &source) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(64);
        }
    };
    let _telemetry = egov_runtime::telemetry::init("egov-intake", &settings.telemetry)?;
    let app = egov_intake::Application::build(settings).await?;
    app.run_until_stopped(egov_runtime::shutdown::on_signal())
        .await
}
