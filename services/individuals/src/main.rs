//! `egov-individuals`: runs the individuals registry (ЖТ МДБ) alone (the
//! launcher `egovctl run` starts it together with the other systems).

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "egov-individuals",
    version,
    about = "The state database of individuals (ЖТ МДБ / ГБД ФЛ) of egov-mesh"
)]
struct Args {
    /// Settings file (TOML); EGOV__… and EGOV_INDIVIDUALS__… variables override it.
    #[arg(long, env = "EGOV_INDIVIDUALS_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = egov_runtime::settings::SettingsSource::from_process(args.config);
    let settings: egov_individuals::Settings =
        match egov_runtime::settings::load("individuals", &source) {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(64);
            }
        };
    let _telemetry = egov_runtime::telemetry::init("egov-individuals", &settings.telemetry)?;
    let app = egov_individuals::Application::build(settings).await?;
    app.run_until_stopped(egov_runtime::shutdown::on_signal())
        .await
}
