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

#[cfg(test)]
mod tests {
    use egov_runtime::settings::{SettingsSource, load};
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// Issue 14 point 4: no secret in `{:?}` of any system's settings — the
    /// broker's and the database's passwords (in their URLs) and the demo
    /// staff's and operators' passwords, as the repository's settings and
    /// the environment give them.
    #[test]
    fn no_secret_prints_in_any_systems_settings() {
        let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/config");
        // The certificates the settings must name, from a CA of the test's own.
        let pki = std::env::temp_dir().join(egov_testkit::unique_name("egov-secrets-"));
        crate::commands::pki::init(&pki, "test CA", 30, false).expect("a CA");
        let source = |system: &str| SettingsSource {
            file: Some(config.join(format!("{system}.toml"))),
            env: HashMap::from([
                (
                    "EGOV__TRUST__CA_CERTIFICATE".to_owned(),
                    pki.join("ca.crt.pem").display().to_string(),
                ),
                (
                    "EGOV__TRUST__CERTIFICATE".to_owned(),
                    pki.join(format!("systems/{system}.crt.pem"))
                        .display()
                        .to_string(),
                ),
                (
                    "EGOV__TRUST__PRIVATE_KEY".to_owned(),
                    pki.join(format!("systems/{system}.key.pem"))
                        .display()
                        .to_string(),
                ),
                (
                    "EGOV__BUS__URL".to_owned(),
                    "amqp://mesh:bus-pass-7f3a@127.0.0.1:5672/%2f".to_owned(),
                ),
                (
                    "EGOV__DATABASE__URL".to_owned(),
                    "postgres://mesh:db-pass-9c1e@127.0.0.1:5432/egov".to_owned(),
                ),
            ]),
        };
        let mut printed = Vec::new();
        let gateway: egov_gateway::Settings = load("gateway", &source("gateway")).unwrap();
        printed.push(format!("{gateway:?}"));
        let individuals: egov_individuals::settings::Settings =
            load("individuals", &source("individuals")).unwrap();
        printed.push(format!("{individuals:?}"));
        let notary: egov_notary::settings::Settings = load("notary", &source("notary")).unwrap();
        printed.push(format!("{notary:?}"));
        let workstation: egov_workstation::Settings =
            load("workstation", &source("workstation")).unwrap();
        printed.push(format!("{workstation:?}"));
        let portal: egov_portal::Settings = load("portal", &source("portal")).unwrap();
        printed.push(format!("{portal:?}"));
        let intake: egov_intake::Settings = load("intake", &source("intake")).unwrap();
        printed.push(format!("{intake:?}"));

        // The staff's and operators' passwords as the settings files give them.
        let mut secrets = vec!["bus-pass-7f3a".to_owned(), "db-pass-9c1e".to_owned()];
        for system in ["workstation", "intake"] {
            let text = std::fs::read_to_string(config.join(format!("{system}.toml"))).unwrap();
            secrets.extend(text.lines().filter_map(|line| {
                let value = line.trim().strip_prefix("password = ")?;
                Some(value.trim_matches('"').to_owned())
            }));
        }
        assert!(
            secrets.len() > 4,
            "the demo passwords were found: {secrets:?}"
        );
        for (text, secret) in printed
            .iter()
            .flat_map(|text| secrets.iter().map(move |secret| (text, secret)))
        {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} printed in {text}"
            );
        }
        // The settings are still there, only redacted.
        assert!(printed[0].contains("REDACTED"), "{}", printed[0]);
        let _ = std::fs::remove_dir_all(&pki);
    }
}
