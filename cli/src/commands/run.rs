//! `egovctl run`: the whole mesh on this machine, in one process, for a
//! newcomer (`make run`). Systems still talk only through the gateway and
//! gRPC: one process changes nothing about the boundaries.
//!
//! On first run it creates the CA (`.run/pki`) with a certificate for every
//! system, and the database named in the settings. Each system reads
//! `<config>/<system>.toml`, then `EGOV__…` and `EGOV_<SYSTEM>__…` variables.

use crate::commands::pki;
use anyhow::Context as _;
use egov_runtime::settings::{SettingsSource, load};
use egov_trust::SystemId;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct Args {
    /// Directory holding each system's settings file, `<system>.toml`.
    #[arg(long, default_value = "deploy/config")]
    config: PathBuf,
    /// The CA directory (created on first run).
    #[arg(long, default_value = pki::DEFAULT_DIR)]
    pki: PathBuf,
    /// Where the CA's revocation list is served (the systems' trust.crl_url).
    #[arg(long, default_value = "127.0.0.1:7000")]
    crl_listen: std::net::SocketAddr,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let _telemetry = egov_runtime::telemetry::init("egov-mesh", &Default::default())?;
    let ca = pki::init(&args.pki, "egov-mesh CA", 3650, false).context("preparing the mesh CA")?;
    let workstation: egov_workstation::Settings =
        load("workstation", &source(&args.config, SystemId::Workstation))?;
    pki::issue_staff_certificates(&ca, &workstation.workstation)
        .context("issuing the workstation's staff certificates")?;
    let intake: egov_intake::Settings = load("intake", &source(&args.config, SystemId::Intake))?;
    pki::issue_operator_certificates(&ca, &intake.intake)
        .context("issuing the State Corporation operators' certificates")?;
    let shutdown = CancellationToken::new();
    let mut tasks: tokio::task::JoinSet<anyhow::Result<(&str, String)>> =
        tokio::task::JoinSet::new();

    let crl = tokio::net::TcpListener::bind(args.crl_listen)
        .await
        .with_context(|| format!("binding the CRL distribution point to {}", args.crl_listen))?;
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            pki::serve(ca, crl, stop.cancelled_owned()).await?;
            Ok(("crl", "stopped".to_owned()))
        });
    }

    let gateway: egov_gateway::Settings =
        load("gateway", &source(&args.config, SystemId::Gateway))?;
    egov_runtime::database::ensure_database(&gateway.database.url)
        .await
        .context("creating the mesh's database")?;
    let app = egov_gateway::Application::build(gateway)
        .await
        .context("starting the gateway")?;
    let gateway_address = app.address();
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            app.run_until_stopped(stop).await?;
            Ok(("gateway", "stopped".to_owned()))
        });
    }

    let individuals: egov_individuals::settings::Settings =
        load("individuals", &source(&args.config, SystemId::Individuals))?;
    let app = egov_individuals::startup::Application::build(individuals)
        .await
        .context("starting the individuals registry")?;
    let individuals_address = app.address();
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            app.run_until_stopped(stop).await?;
            Ok(("individuals", "stopped".to_owned()))
        });
    }
    let notary: egov_notary::settings::Settings =
        load("notary", &source(&args.config, SystemId::Notary))?;
    let app = egov_notary::startup::Application::build(notary)
        .await
        .context("starting the notary system")?;
    let notary_address = app.address();
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            app.run_until_stopped(stop).await?;
            Ok(("notary", "stopped".to_owned()))
        });
    }

    let app = egov_workstation::Application::build(workstation)
        .await
        .context("starting the workstation")?;
    let workstation_address = app.address();
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            app.run_until_stopped(stop).await?;
            Ok(("workstation", "stopped".to_owned()))
        });
    }

    let portal: egov_portal::Settings = load("portal", &source(&args.config, SystemId::Portal))?;
    let app = egov_portal::Application::build(portal)
        .await
        .context("starting the portal")?;
    let portal_address = app.address();
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            app.run_until_stopped(stop).await?;
            Ok(("portal", "stopped".to_owned()))
        });
    }

    let app = egov_intake::Application::build(intake)
        .await
        .context("starting the State Corporation intake")?;
    let intake_address = app.address();
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            app.run_until_stopped(stop).await?;
            Ok(("intake", "stopped".to_owned()))
        });
    }

    println!();
    println!("egov-mesh is running (Ctrl-C stops it)");
    println!("  CRL distribution point  http://{}/crl", args.crl_listen);
    println!("  gateway (ЭҮШ) gRPC      {gateway_address}");
    println!("  individuals (ЖТ МДБ)    {individuals_address}  (admin API: egovctl fault)");
    println!("  notary (БНАЖ)           {notary_address}  (admin API: egovctl fault)");
    println!(
        "  workstation (ЭҮАШ АЖО)  {workstation_address}  (employees' API; staff in deploy/config/workstation.toml)"
    );
    println!("  portal (ЭҮП)            {portal_address}  (citizens' API: egovctl portal)");
    println!(
        "  intake (МК ЫАЖ)         {intake_address}  (operators' API: egovctl intake; operators in deploy/config/intake.toml)"
    );
    println!("  CA and certificates     {}", args.pki.display());
    println!();

    tokio::select! {
        _ = egov_runtime::shutdown::signal() => {}
        Some(ended) = tasks.join_next() => {
            tracing::error!(?ended, "A part of the mesh stopped; stopping the rest.");
        }
    }
    shutdown.cancel();
    while let Some(ended) = tasks.join_next().await {
        match ended {
            Ok(Ok((name, how))) => tracing::info!(system = name, how, "Stopped."),
            Ok(Err(error)) => tracing::error!(error = %format!("{error:#}"), "A system failed."),
            Err(error) => tracing::error!(%error, "A system's task panicked."),
        }
    }
    Ok(())
}

fn source(config: &Path, system: SystemId) -> SettingsSource {
    let file = config.join(format!("{system}.toml"));
    SettingsSource::from_process(file.exists().then_some(file))
}
