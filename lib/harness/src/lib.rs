//! Systems of the mesh running in-process on a test's [`TestMesh`] (its own
//! database, broker namespace and CA), started exactly as their binaries
//! start them (settings from the same `EGOV__…` variables), so a test of one
//! system meets the real others: the gateway, ЖТ МДБ, БНАЖ, and the
//! provider's workstation with its staff and, if asked, its autopilot.
//!
//! Each system's own suite keeps what is particular to it (its citizens,
//! operators, fixtures); what every suite needs to start the others is here.

use chrono::{Duration as Days, NaiveDate, Utc};
use egov_testkit::TestMesh;
use egov_trust::iin::Sex;
use egov_trust::{Bin, Iin, SubjectSpec, SystemId};
use egov_workstation::settings::StaffEntry;
use egov_workstation::staff::Role;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Long enough for a loaded machine; a bound, never a sleep.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The provider's BIN the workstation's staff certificates name.
pub const PROVIDER_BIN: &str = "990340001234";

/// When the workstation of the portal's and the intake's suites registers
/// every application (`workstation.registration_time`): Monday 6 April
/// 2026, 10:00 in Almaty. Its deadlines are planned from this time, not
/// from the real clock, so the suites do not depend on the calendar having
/// the current year; seed 003's result through the portal is then due on
/// Tuesday 5 May 2026, 18:30 in Almaty (services/workstation's deadlines
/// tests work it out).
pub const REGISTERED_AT: &str = "2026-04-06T05:00:00Z";

/// A system running in-process until stopped or dropped.
pub struct Running {
    pub address: SocketAddr,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Runs `run` (an `Application::run_until_stopped`) with a token of its own.
    pub fn spawn<F>(address: SocketAddr, run: impl FnOnce(CancellationToken) -> F) -> Running
    where
        F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stop = CancellationToken::new();
        Running {
            address,
            task: Some(tokio::spawn(run(stop.clone()))),
            stop,
        }
    }

    /// Stops it gracefully and waits until it has.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops it and asserts it stopped cleanly (no error, no panic).
    pub async fn stop_cleanly(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("the task").expect("it stops cleanly");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The settings of `system` on `mesh`, with `EGOV…` overrides.
pub fn settings<T>(mesh: &TestMesh, system: SystemId, overrides: &[(&str, &str)]) -> T
where
    T: serde::de::DeserializeOwned + egov_runtime::settings::Validate,
{
    let mut source = mesh.source(system);
    for (key, value) in overrides {
        source.env.insert((*key).to_owned(), (*value).to_owned());
    }
    egov_runtime::settings::load(system.as_str(), &source).expect("valid settings")
}

pub async fn start_gateway(mesh: &TestMesh) -> Running {
    let app = egov_gateway::Application::build(settings(mesh, SystemId::Gateway, &[]))
        .await
        .expect("build the gateway");
    app.wait_ready(PATIENCE)
        .await
        .expect("the gateway connects");
    Running::spawn(app.address(), |stop| app.run_until_stopped(stop))
}

/// ЖТ МДБ (empty: a suite writes the people it needs with
/// `egov_individuals::storage::write_rows`).
pub async fn start_individuals(mesh: &TestMesh) -> Running {
    start_individuals_with(mesh, &[]).await
}

/// ЖТ МДБ with `EGOV…` overrides (e.g. `egov_testkit::service::SLOW_RECONNECT`).
pub async fn start_individuals_with(mesh: &TestMesh, overrides: &[(&str, &str)]) -> Running {
    let settings: egov_individuals::settings::Settings =
        settings(mesh, SystemId::Individuals, overrides);
    let app = egov_individuals::startup::Application::build(settings)
        .await
        .expect("build ЖТ МДБ");
    app.wait_ready(PATIENCE).await.expect("ЖТ МДБ connects");
    Running::spawn(app.address(), |stop| app.run_until_stopped(stop))
}

/// БНАЖ (empty, like ЖТ МДБ).
pub async fn start_notary(mesh: &TestMesh) -> Running {
    start_notary_with(mesh, &[]).await
}

/// БНАЖ with `EGOV…` overrides.
pub async fn start_notary_with(mesh: &TestMesh, overrides: &[(&str, &str)]) -> Running {
    let settings: egov_notary::settings::Settings = settings(mesh, SystemId::Notary, overrides);
    let app = egov_notary::startup::Application::build(settings)
        .await
        .expect("build БНАЖ");
    app.wait_ready(PATIENCE).await.expect("БНАЖ connects");
    Running::spawn(app.address(), |stop| app.run_until_stopped(stop))
}

/// The password of a staff member or operator in tests.
pub fn password(login: &str) -> String {
    format!("{login}-test-password")
}

/// The provider's staff as deploy/config/workstation.toml has it — a clerk,
/// a head, a specialist, a responsible person — with certificates from the
/// mesh CA; the head and the specialist (who signs in seed 002) hold keys.
pub fn provider_staff(mesh: &TestMesh) -> Vec<StaffEntry> {
    let dir = mesh.pki.dir().join("employees");
    std::fs::create_dir_all(&dir).expect("employees dir");
    let birth = NaiveDate::from_ymd_opt(1980, 5, 12).expect("a date");
    [
        ("clerk", Role::OfficeClerk),
        ("head", Role::Head),
        ("specialist", Role::Specialist),
        ("responsible", Role::ResponsiblePerson),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (login, role))| {
        let iin = (n as u16 * 10 + 500..)
            .find_map(|serial| Iin::generate(birth, Sex::Female, serial))
            .expect("an IIN");
        let now = Utc::now();
        let issued = mesh
            .pki
            .ca
            .issue(
                &SubjectSpec::Employee {
                    iin,
                    bin: Bin::parse(PROVIDER_BIN).expect("BIN"),
                    surname: login.into(),
                    given_name: "Test".into(),
                    organisation: "Education department".into(),
                },
                now - Days::hours(1),
                now + Days::days(1),
            )
            .expect("issue a staff certificate");
        let certificate = dir.join(format!("{login}.crt.pem"));
        let private_key = dir.join(format!("{login}.key.pem"));
        std::fs::write(&certificate, issued.certificate_pem()).expect("write");
        std::fs::write(&private_key, issued.private_key_pem()).expect("write");
        StaffEntry {
            login: login.into(),
            password: Some(password(login).into()),
            password_hash: None,
            role,
            certificate,
            private_key: matches!(role, Role::Head | Role::Specialist).then_some(private_key),
            iin: None,
            surname: None,
            given_name: None,
        }
    })
    .collect()
}

/// The workstation with [`provider_staff`]; on autopilot if asked, with the
/// result fields its rules fill in.
pub async fn start_workstation(mesh: &TestMesh, autopilot: bool) -> Running {
    let mut settings: egov_workstation::Settings = settings(mesh, SystemId::Workstation, &[]);
    settings.workstation.provider_bin = PROVIDER_BIN.into();
    settings.workstation.password_iterations = 1000;
    settings.workstation.staff = provider_staff(mesh);
    settings.workstation.signer = Some("head".into());
    settings.workstation.registration_time = Some(REGISTERED_AT.parse().expect("a time"));
    settings.workstation.autopilot.enabled = autopilot;
    settings.workstation.autopilot.sweep = Duration::from_millis(500);
    settings.workstation.autopilot.fields = [
        ("allowance_amount", "52000"),
        ("allowance_period", "2026-12-01..2027-11-30"),
        ("birth_certificate_number", "0001234"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let app = egov_workstation::Application::build(settings)
        .await
        .expect("build the workstation");
    app.wait_ready(PATIENCE)
        .await
        .expect("the workstation connects");
    Running::spawn(app.address(), |stop| app.run_until_stopped(stop))
}

/// Checks a CMS file (DER) with the outside tool, as a person would:
/// `openssl cms -verify` against the mesh CA; the signed content on success.
pub fn openssl_verifies(mesh: &TestMesh, cms_der: &[u8]) -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir().join(egov_testkit::unique_name("cms-"));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let input = dir.join("signed.p7s");
    std::fs::write(&input, cms_der).expect("write the CMS");
    let output = std::process::Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(&input)
        .arg("-CAfile")
        .arg(mesh.pki.ca_certificate_path())
        .output()
        .expect("run openssl");
    let _ = std::fs::remove_dir_all(&dir);
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The stable code of a gRPC refusal: ErrorInfo's reason, checked to be in
/// `domain` and at the start of the message.
pub fn refusal_code(status: &tonic::Status, domain: &str) -> String {
    use tonic_types::StatusExt;
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"));
    assert_eq!(info.domain, domain);
    assert!(
        status.message().starts_with(&format!("{}: ", info.reason)),
        "{}",
        status.message()
    );
    info.reason
}

/// A call carrying `authorization: Bearer <token>`, as front ends send it.
pub fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    request
}

/// A scanned document (a small PDF) attached under `code`, with its hash.
pub fn scanned_document(code: &str) -> egov_proto::workstation::Document {
    let content = format!("%PDF-1.4 scan of {code}").into_bytes();
    egov_proto::workstation::Document {
        code: code.into(),
        name: format!("{code}.pdf"),
        media_type: "application/pdf".into(),
        sha256: egov_trust::sha256(&content).to_vec().into(),
        content: content.into(),
        on_paper: false,
    }
}

/// The provider's four employees, by login (their roles in
/// [`provider_staff`] and deploy/config/workstation.toml).
pub const EMPLOYEES: [&str; 4] = ["clerk", "head", "specialist", "responsible"];

/// The provider's employees work an application through the workstation's
/// employees' API, each current task done by whoever's role it is; the
/// specialist refuses on `ground` for `reason` (diagram 2, condition 3,
/// process 7). Returns when the procedure is over.
pub async fn employees_refuse(
    mut client: egov_proto::workstation::workstation_client::WorkstationClient<
        tonic::transport::Channel,
    >,
    journal_number: &str,
    ground: &str,
    reason: &str,
) {
    use egov_proto::workstation::{self as ws, act_request::Action};
    let mut tokens = Vec::new();
    for login in EMPLOYEES {
        let token = client
            .login(ws::LoginRequest {
                login: login.into(),
                password: password(login),
            })
            .await
            .expect("an employee logs in")
            .into_inner()
            .token;
        tokens.push(token);
    }
    loop {
        let mut acted = false;
        for token in &tokens {
            let tasks = client
                .list_tasks(authorized(token, ws::ListTasksRequest {}))
                .await
                .expect("the employee's tasks")
                .into_inner()
                .tasks;
            for task in tasks
                .into_iter()
                .filter(|t| t.journal_number == journal_number)
            {
                let action = match task.stage() {
                    ws::Stage::Register => Action::Register(ws::Register::default()),
                    ws::Stage::Assign => Action::Assign(ws::Assign {
                        specialist_login: "specialist".into(),
                        resolution: "to examine".into(),
                    }),
                    ws::Stage::Examine => Action::Refuse(ws::Refuse {
                        grounds: vec![ground.into()],
                        reasons: vec![reason.into()],
                        missing_documents: Vec::new(),
                    }),
                    ws::Stage::Sign => Action::Sign(ws::Sign {}),
                    ws::Stage::Issue => Action::Issue(ws::Issue {}),
                    ws::Stage::Unspecified => continue,
                };
                client
                    .act(authorized(
                        token,
                        ws::ActRequest {
                            journal_number: journal_number.into(),
                            position: task.position,
                            action: Some(action),
                        },
                    ))
                    .await
                    .expect("the employee acts");
                acted = true;
            }
        }
        let view = client
            .get_application(authorized(
                &tokens[1],
                ws::GetApplicationRequest {
                    journal_number: journal_number.into(),
                },
            ))
            .await
            .expect("the application")
            .into_inner();
        if view.current_position == 0 {
            return;
        }
        // Each act commits before it answers, so the next task is there at
        // once: a round with nothing to do means the procedure is stuck.
        assert!(
            acted,
            "no employee has a task of {journal_number}, yet it is not over"
        );
    }
}
