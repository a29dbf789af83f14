//! workstation.autopilot: applications submitted by a portal through the
//! gateway, registered by the workstation and taken through every staff
//! task of seed 003 (register, assign, examine, sign, issue: five
//! transactions, six statuses) by the autopilot, until the portal holds a
//! result signed with the head's EDS for each (its signature checked).
//!
//! BENCH_APPLICATIONS applications (default 2000), all sent at once; the
//! figure is applications answered per second, from the first send to the
//! last result.

use egov_bus::{Context, Handler, HandlerError, Inbox, Incoming, Outcome, Outgoing};
use egov_proto::workstation as pb;
use egov_testkit::TestMesh;
use egov_trust::iin::Sex;
use egov_trust::{Bin, CertificateInfo, Iin, SubjectSpec, SystemId};
use egov_workstation::settings::StaffEntry;
use egov_workstation::staff::Role;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const BIN: &str = "990340001234";

/// The portal's inbox: counts results whose signature verifies.
struct Results {
    head: CertificateInfo,
    signed: AtomicUsize,
    target: usize,
    done: Notify,
}

impl Handler for Results {
    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        _: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            if message.service() == "application-result" {
                let result: pb::ApplicationResult = message
                    .decode()
                    .map_err(|e| HandlerError::Permanent(e.into()))?;
                let document = result.document.unwrap_or_default();
                if self.head.verifies(&document.content, &document.signature) {
                    let n = self.signed.fetch_add(1, Ordering::SeqCst) + 1;
                    if n >= self.target {
                        self.done.notify_one();
                    }
                }
            }
            Ok(Outcome::Done)
        })
    }
}

/// The provider's staff, certificates from the mesh's CA written to files.
pub(crate) fn staff(mesh: &TestMesh) -> anyhow::Result<(Vec<StaffEntry>, CertificateInfo)> {
    let dir = mesh.pki.dir().join("employees");
    std::fs::create_dir_all(&dir)?;
    let birth = chrono::NaiveDate::from_ymd_opt(1980, 5, 12).expect("a date");
    let mut entries = Vec::new();
    let mut head = None;
    for (n, (login, role)) in [
        ("clerk", Role::OfficeClerk),
        ("head", Role::Head),
        ("specialist", Role::Specialist),
    ]
    .into_iter()
    .enumerate()
    {
        let iin = (n as u16 * 10..)
            .find_map(|serial| Iin::generate(birth, Sex::Female, serial))
            .expect("an IIN");
        let now = chrono::Utc::now();
        let issued = mesh.pki.ca.issue(
            &SubjectSpec::Employee {
                iin,
                bin: Bin::parse(BIN)?,
                surname: login.into(),
                given_name: "Bench".into(),
                organisation: "Education department".into(),
            },
            now - chrono::Duration::hours(1),
            now + chrono::Duration::days(1),
        )?;
        let certificate = dir.join(format!("{login}.crt.pem"));
        let private_key = dir.join(format!("{login}.key.pem"));
        std::fs::write(&certificate, issued.certificate_pem())?;
        std::fs::write(&private_key, issued.private_key_pem())?;
        if role == Role::Head {
            head = Some(issued.info.clone());
        }
        entries.push(StaffEntry {
            login: login.into(),
            password: Some(format!("{login}-bench-password").into()),
            password_hash: None,
            role,
            certificate,
            private_key: (role == Role::Head).then_some(private_key),
            iin: None,
            surname: None,
            given_name: None,
        });
    }
    Ok((entries, head.expect("a head")))
}

pub(crate) async fn start_gateway(
    mesh: &TestMesh,
) -> anyhow::Result<(
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
)> {
    let mut source = mesh.source(SystemId::Gateway);
    source
        .env
        .insert("EGOV__BUS__PREFETCH".into(), "512".into());
    source
        .env
        .insert("EGOV__DATABASE__MAX_CONNECTIONS".into(), "8".into());
    source
        .env
        .insert("EGOV__TRUST__CRL_TTL".into(), "60s".into());
    let settings: egov_gateway::Settings = egov_runtime::settings::load("gateway", &source)?;
    let app = egov_gateway::Application::build(settings).await?;
    app.wait_ready(Duration::from_secs(20)).await?;
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(stop.clone()));
    Ok((stop, task))
}

/// Applications answered with a signed result per second.
pub async fn autopilot(applications: usize) -> anyhow::Result<f64> {
    let mesh = TestMesh::new().await;
    let (gateway_stop, gateway) = start_gateway(&mesh).await?;
    let (entries, head) = staff(&mesh)?;

    let mut source = mesh.source(SystemId::Workstation);
    source
        .env
        .insert("EGOV__BUS__PREFETCH".into(), "256".into());
    source
        .env
        .insert("EGOV__DATABASE__MAX_CONNECTIONS".into(), "16".into());
    source
        .env
        .insert("EGOV__TRUST__CRL_TTL".into(), "60s".into());
    let mut settings: egov_workstation::Settings =
        egov_runtime::settings::load("workstation", &source)?;
    settings.workstation.provider_bin = BIN.into();
    settings.workstation.password_iterations = 1000;
    settings.workstation.staff = entries;
    settings.workstation.autopilot.enabled = true;
    settings.workstation.autopilot.concurrency = 16;
    let app = egov_workstation::Application::build(settings).await?;
    app.wait_ready(Duration::from_secs(20)).await?;
    let workstation_stop = CancellationToken::new();
    let workstation = tokio::spawn(app.run_until_stopped(workstation_stop.clone()));

    let results = Arc::new(Results {
        head,
        signed: AtomicUsize::new(0),
        target: applications,
        done: Notify::new(),
    });
    let mut bus_settings = mesh.bus_settings();
    bus_settings.prefetch = 512;
    let portal = egov_bus::Bus::start(
        bus_settings,
        mesh.identity(SystemId::Portal),
        mesh.pki.trust(),
        Some(Inbox {
            handler: results.clone(),
            pool: mesh.pool("portal").await,
        }),
    )
    .await?;
    portal.wait_connected(Duration::from_secs(20)).await?;

    let applicant = (0..)
        .find_map(|serial| {
            Iin::generate(
                chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date"),
                Sex::Male,
                serial,
            )
        })
        .expect("an IIN")
        .to_string();
    let application = |i: usize| {
        let content = format!("application {i}").into_bytes();
        pb::Application {
            regulation: "003".into(),
            channel: pb::Channel::Portal as i32,
            applicant: Some(pb::Person {
                iin: applicant.clone(),
                surname: "Бенчмарков".into(),
                given_name: "Тест".into(),
                patronymic: String::new(),
            }),
            documents: vec![pb::Document {
                code: "application".into(),
                name: "application.pdf".into(),
                media_type: "application/pdf".into(),
                sha256: egov_trust::sha256(&content).to_vec().into(),
                content: content.into(),
                on_paper: false,
            }],
            reference: format!("bench-{i}"),
            ..Default::default()
        }
    };

    let waiting = results.done.notified();
    tokio::pin!(waiting);
    waiting.as_mut().enable();
    let meter = crate::cpu::Meter::start();
    let started = Instant::now();
    let sends = (0..applications).map(|i| {
        let portal = portal.clone();
        let message =
            Outgoing::request(SystemId::Workstation, "submit-application", application(i))
                .conversation(format!("bench-{i}"));
        async move { portal.send(message).await }
    });
    for sent in futures_util::future::join_all(sends).await {
        sent?;
    }
    let limit = Duration::from_secs(600);
    if results.signed.load(Ordering::SeqCst) < applications {
        tokio::time::timeout(limit, waiting).await.map_err(|_| {
            anyhow::anyhow!(
                "only {} of {applications} signed results within {limit:?}",
                results.signed.load(Ordering::SeqCst)
            )
        })?;
    }
    let elapsed = started.elapsed();
    meter.finish("workstation.autopilot", applications);
    eprintln!(
        "workstation.autopilot: {applications} applications (seed 003: 5 staff tasks each) answered with signed results in {elapsed:.2?}"
    );

    crate::statuses::report("workstation.autopilot", &mesh).await?;
    portal.shutdown().await;
    workstation_stop.cancel();
    let _ = workstation.await;
    gateway_stop.cancel();
    let _ = gateway.await;
    Ok(applications as f64 / elapsed.as_secs_f64())
}

pub async fn report() -> anyhow::Result<()> {
    let applications = std::env::var("BENCH_APPLICATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let rate = autopilot(applications).await?;
    crate::line(
        "workstation.autopilot.applications_per_s",
        rate,
        "applications/s",
    );
    Ok(())
}
