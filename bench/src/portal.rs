//! portal.applications_per_s: the whole of diagram 2 through every system.
//! Concurrent citizens (registered and logged in beforehand, outside the
//! timed part) each prepare an application of seed 003 through the portal's
//! gRPC API, sign it with their EDS (CMS) and submit it; the portal checks
//! the signature, stores and sends it; the gateway routes it; the workstation
//! registers it and its autopilot takes it through the five staff tasks; the
//! portal receives the signed result, verifies its CMS and keeps it in the
//! cabinet. The figure is applications per second from the first prepare to
//! the last result in a cabinet.
//!
//! BENCH_PORTAL_APPLICATIONS (default 1000) by BENCH_PORTAL_CITIZENS (32).

use crate::workstation::{staff, start_gateway};
use egov_individuals::model::{Address, DocumentKind, IdentityDocument, Person, RegistryRows};
use egov_proto::portal::portal_client::PortalClient;
use egov_proto::portal::{self as pb};
use egov_proto::workstation as ws;
use egov_testkit::TestMesh;
use egov_trust::cms::{self, Encapsulation};
use egov_trust::iin::Sex;
use egov_trust::{Iin, SystemId};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const BIN: &str = "990340001234";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub async fn report() -> anyhow::Result<()> {
    let applications = env("BENCH_PORTAL_APPLICATIONS", 1000);
    let citizens = env("BENCH_PORTAL_CITIZENS", 32).max(1);
    let rate = run(applications, citizens).await?;
    crate::line("portal.applications_per_s", rate, "applications/s");
    Ok(())
}

fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    request
}

struct Citizen {
    token: String,
    sign: egov_trust::Issued,
}

async fn run(applications: usize, citizens: usize) -> anyhow::Result<f64> {
    let mesh = TestMesh::new().await;
    let (gateway_stop, gateway) = start_gateway(&mesh).await?;

    // ЖТ МДБ, knowing the citizens.
    let mut source = mesh.source(SystemId::Individuals);
    source
        .env
        .insert("EGOV__TRUST__CRL_TTL".into(), "60s".into());
    let settings: egov_individuals::settings::Settings =
        egov_runtime::settings::load("individuals", &source)?;
    let registry = egov_individuals::startup::Application::build(settings).await?;
    registry.wait_ready(Duration::from_secs(20)).await?;
    let registry_stop = CancellationToken::new();
    let registry_task = tokio::spawn(registry.run_until_stopped(registry_stop.clone()));
    let birth = chrono::NaiveDate::from_ymd_opt(1986, 4, 2).expect("a date");
    let iins: Vec<Iin> = (1000..)
        .filter_map(|serial| Iin::generate(birth, Sex::Male, serial))
        .take(citizens)
        .collect();
    egov_individuals::storage::write_rows(
        &mesh.pool("individuals").await,
        &RegistryRows {
            persons: iins
                .iter()
                .enumerate()
                .map(|(n, iin)| Person {
                    iin: *iin,
                    surname: "Бенчмарков".into(),
                    given_name: "Тест".into(),
                    patronymic: None,
                    birth_date: birth,
                    sex: Sex::Male,
                    citizenship: "KAZ".into(),
                    address: Address {
                        region: "г. Алматы".into(),
                        district_or_city: "Алмалинский район".into(),
                        street: "ул. Абая, д. 1".into(),
                    },
                    document: IdentityDocument {
                        kind: DocumentKind::IdCard,
                        // Unique: the registry keeps one person per document.
                        number: format!("{:09}", n + 1),
                        issuer: "МВД РК".into(),
                        issued_on: chrono::NaiveDate::from_ymd_opt(2016, 1, 1).expect("a date"),
                        expires_on: None,
                    },
                    deceased_on: None,
                    declared_missing_on: None,
                })
                .collect(),
            ..RegistryRows::default()
        },
    )
    .await?;

    // The workstation on autopilot.
    let (entries, _) = staff(&mesh)?;
    let mut source = mesh.source(SystemId::Workstation);
    for (key, value) in [
        ("EGOV__BUS__PREFETCH", "256"),
        ("EGOV__DATABASE__MAX_CONNECTIONS", "16"),
        ("EGOV__TRUST__CRL_TTL", "60s"),
    ] {
        source.env.insert(key.into(), value.into());
    }
    let mut settings: egov_workstation::Settings =
        egov_runtime::settings::load("workstation", &source)?;
    settings.workstation.provider_bin = BIN.into();
    settings.workstation.password_iterations = 1000;
    settings.workstation.staff = entries;
    settings.workstation.autopilot.enabled = true;
    settings.workstation.autopilot.concurrency = 16;
    let workstation = egov_workstation::Application::build(settings).await?;
    workstation.wait_ready(Duration::from_secs(20)).await?;
    let workstation_stop = CancellationToken::new();
    let workstation_task = tokio::spawn(workstation.run_until_stopped(workstation_stop.clone()));

    // The portal.
    let mut source = mesh.source(SystemId::Portal);
    for (key, value) in [
        ("EGOV__BUS__PREFETCH", "256"),
        ("EGOV__DATABASE__MAX_CONNECTIONS", "16"),
        ("EGOV__TRUST__CRL_TTL", "60s"),
    ] {
        source.env.insert(key.into(), value.into());
    }
    let settings: egov_portal::Settings = egov_runtime::settings::load("portal", &source)?;
    let portal = egov_portal::Application::build(settings).await?;
    portal.wait_ready(Duration::from_secs(20)).await?;
    let address = portal.address();
    let portal_stop = CancellationToken::new();
    let portal_task = tokio::spawn(portal.run_until_stopped(portal_stop.clone()));
    let client = PortalClient::connect(format!("http://{address}")).await?;

    // Registered and logged in beforehand (Argon2 is not what is measured).
    let now = chrono::Utc::now();
    let mut people = Vec::new();
    for (n, iin) in iins.iter().enumerate() {
        let password = format!("bench password {n}");
        client
            .clone()
            .register(pb::RegisterRequest {
                iin: iin.to_string(),
                password: password.clone(),
                phone: format!("+7701{n:07}"),
                consent: true,
            })
            .await?;
        let session = client
            .clone()
            .login(pb::LoginRequest {
                iin: iin.to_string(),
                password,
            })
            .await?
            .into_inner();
        let eds = mesh.pki.ca.issue_citizen(
            *iin,
            "Бенчмарков",
            "Тест",
            now - chrono::Duration::hours(1),
            now + chrono::Duration::days(1),
        )?;
        people.push(Citizen {
            token: session.token,
            sign: eds.signing,
        });
    }
    let content = b"%PDF-1.4 application".to_vec();
    let document = ws::Document {
        code: "application".into(),
        name: "application.pdf".into(),
        media_type: "application/pdf".into(),
        sha256: egov_trust::sha256(&content).to_vec().into(),
        content: content.into(),
        on_paper: false,
    };

    let meter = crate::cpu::Meter::start();
    let started = Instant::now();
    let per_citizen = applications.div_ceil(citizens);
    let mut sending = tokio::task::JoinSet::new();
    for (n, citizen) in people.into_iter().enumerate() {
        let count = per_citizen.min(applications.saturating_sub(n * per_citizen));
        let client = client.clone();
        let document = document.clone();
        sending.spawn(async move {
            for _ in 0..count {
                let prepared = client
                    .clone()
                    .prepare_application(authorized(
                        &citizen.token,
                        pb::PrepareApplicationRequest {
                            regulation: "003".into(),
                            form: Vec::new(),
                            documents: vec![document.clone()],
                            consent: true,
                        },
                    ))
                    .await?
                    .into_inner();
                let signed = cms::sign(
                    &prepared.document,
                    &citizen.sign.signing_key(),
                    &citizen.sign.certificate_der,
                    Encapsulation::Attached,
                    chrono::Utc::now(),
                )?;
                client
                    .clone()
                    .submit(authorized(
                        &citizen.token,
                        pb::SubmitRequest {
                            signed_application: signed.into(),
                        },
                    ))
                    .await?;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(sent) = sending.join_next().await {
        sent??;
    }
    let submitted = started.elapsed();
    // Until every result is in a cabinet (kept only once its CMS verified).
    let pool = mesh.pool("portal").await;
    let limit = Instant::now() + Duration::from_secs(600);
    loop {
        let results: i64 = sqlx::query_scalar("SELECT count(*) FROM results")
            .fetch_one(&pool)
            .await?;
        if results as usize >= applications {
            break;
        }
        anyhow::ensure!(
            Instant::now() < limit,
            "only {results} of {applications} results in the cabinets"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    meter.finish("portal", applications);
    eprintln!(
        "portal: {applications} applications by {citizens} citizens submitted in {submitted:.2?}, all results verified in the cabinets in {elapsed:.2?}"
    );
    crate::statuses::report("portal", &mesh).await?;

    portal_stop.cancel();
    let _ = portal_task.await;
    workstation_stop.cancel();
    let _ = workstation_task.await;
    registry_stop.cancel();
    let _ = registry_task.await;
    gateway_stop.cancel();
    let _ = gateway.await;
    Ok(applications as f64 / elapsed.as_secs_f64())
}
