//! `egov-notary`: runs the notary system (БНАЖ) alone (the launcher
//! `egovctl run` starts it together with the other systems).

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "egov-notary",
    version,
    about = "The unified notary system (БНАЖ / ЕНИС) of egov-mesh"
)]
struct Args {
    /// Settings file (TOML); EGOV__… and EGOV_NOTARY__… variables override it.
    #[arg(long, env = "EGOV_NOTARY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = egov_runtime::settings::SettingsSource::from_process(args.config);
    let settings: egov_notary::Settings = match egov_runtime::settings::load("notary", &source) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(64);
        }
    };
    let _telemetry = egov_runtime::telemetry::init("egov-notary", &settings.telemetry)?;
    let app = egov_notary::Application::build(settings).await?;
    app.run_until_stopped(egov_runtime::shutdown::on_signal())
        .await
}
