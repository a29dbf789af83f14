//! A mesh per test: the real gateway and the workstation in-process, a test
//! portal and a test intake that receive statuses and results, employees
//! with EDS certificates from the test's CA, and ways to wait for what a user
//! would wait for (a status, a result) without sleeps.

use chrono::{Duration as Days, NaiveDate, Utc};
use egov_bus::{Bus, Context, Handler, HandlerError, Inbox, Incoming, Outcome, Outgoing};
use egov_proto::envelope::{Kind, Rejection};
use egov_proto::prost::Message;
use egov_proto::workstation::{self as pb, act_request, workstation_client::WorkstationClient};
use egov_testkit::TestMesh;
use egov_trust::iin::Sex;
use egov_trust::{Bin, CertificateInfo, Iin, SubjectSpec, SystemId};
use egov_workstation::settings::StaffEntry;
use egov_workstation::staff::Role;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const PATIENCE: Duration = Duration::from_secs(30);
pub const PROVIDER_BIN: &str = "990340001234";

/// When every test application is registered, unless a test says
/// otherwise: Monday 6 April 2026, 10:00 in Almaty (UTC+5). A clock the
/// tests control, so due times are known values and no test depends on
/// the year the suite runs in (the calendar data ends with 2027).
pub const REGISTERED_AT: &str = "2026-04-06T05:00:00Z";

/// One employee of the test provider.
#[derive(Clone)]
pub struct Staffer {
    pub login: String,
    pub password: String,
    pub role: Role,
    pub iin: String,
    pub certificate_der: Vec<u8>,
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

impl Staffer {
    pub fn entry(&self) -> StaffEntry {
        StaffEntry {
            login: self.login.clone(),
            password: Some(self.password.clone().into()),
            password_hash: None,
            role: self.role,
            certificate: self.certificate.clone(),
            private_key: (self.role == Role::Head).then(|| self.private_key.clone()),
            iin: None,
            surname: None,
            given_name: None,
        }
    }
}

pub struct Staff {
    pub clerk: Staffer,
    pub head: Staffer,
    pub specialist: Staffer,
    pub responsible: Staffer,
    /// A second specialist, to show the head's assignment binds.
    pub other_specialist: Staffer,
}

impl Staff {
    pub fn all(&self) -> Vec<&Staffer> {
        vec![
            &self.clerk,
            &self.head,
            &self.specialist,
            &self.responsible,
            &self.other_specialist,
        ]
    }

    pub fn of(&self, role: Role) -> &Staffer {
        match role {
            Role::OfficeClerk => &self.clerk,
            Role::Head => &self.head,
            Role::Specialist => &self.specialist,
            Role::ResponsiblePerson => &self.responsible,
            Role::Workstation => panic!("the workstation is nobody's login"),
        }
    }
}

/// An IIN for the n-th test person.
pub fn iin(n: u16) -> String {
    let birth = NaiveDate::from_ymd_opt(1985, 3, 14).unwrap();
    (n..)
        .find_map(|serial| Iin::generate(birth, Sex::Female, serial))
        .unwrap()
        .to_string()
}

/// Issues the provider's staff certificates from the test CA and writes them
/// (and the keys) where the workstation reads them.
pub fn issue_staff(mesh: &TestMesh) -> Staff {
    let dir = mesh.pki.dir().join("employees");
    std::fs::create_dir_all(&dir).unwrap();
    let issue = |n: u16, login: &str, role: Role, surname: &str| {
        let iin = iin(1000 + n * 7);
        let issued = mesh
            .pki
            .ca
            .issue(
                &SubjectSpec::Employee {
                    iin: Iin::parse(&iin).unwrap(),
                    bin: Bin::parse(PROVIDER_BIN).unwrap(),
                    surname: surname.into(),
                    given_name: "Айгерим".into(),
                    organisation: "Отдел образования".into(),
                },
                Utc::now() - Days::hours(1),
                Utc::now() + Days::days(1),
            )
            .expect("issue an employee certificate");
        let certificate = dir.join(format!("{login}.crt.pem"));
        let private_key = dir.join(format!("{login}.key.pem"));
        std::fs::write(&certificate, issued.certificate_pem()).unwrap();
        std::fs::write(&private_key, issued.private_key_pem()).unwrap();
        Staffer {
            login: login.into(),
            password: format!("{login}-secret-password"),
            role,
            iin,
            certificate_der: issued.certificate_der.clone(),
            certificate,
            private_key,
        }
    };
    Staff {
        clerk: issue(1, "clerk", Role::OfficeClerk, "Канцелярова"),
        head: issue(2, "head", Role::Head, "Руководителева"),
        specialist: issue(3, "specialist", Role::Specialist, "Специалистова"),
        responsible: issue(4, "responsible", Role::ResponsiblePerson, "Ответственная"),
        other_specialist: issue(5, "specialist2", Role::Specialist, "Другая"),
    }
}

#[derive(Clone, Default)]
pub struct Options {
    pub autopilot: bool,
    pub fields: BTreeMap<String, String>,
    /// Environment overrides (`EGOV__…`), as an operator would set them.
    pub env: Vec<(&'static str, &'static str)>,
}

impl Options {
    pub fn autopilot() -> Options {
        Options {
            autopilot: true,
            fields: [
                ("allowance_amount", "52000"),
                ("allowance_period", "2026-12-01..2027-11-30"),
                ("birth_certificate_number", "0001234"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            env: Vec::new(),
        }
    }
}

/// What the test portal or intake received from the workstation.
#[derive(Debug, Clone)]
pub enum Received {
    Status(pb::ApplicationStatus),
    Result(pb::ApplicationResult, String),
    Rejected(Rejection),
}

/// A test system's inbox: keeps every message, wakes waiters.
pub struct Collector {
    pub received: Mutex<Vec<(String, Received)>>,
    arrived: Notify,
}

impl Collector {
    pub fn new() -> Arc<Collector> {
        Arc::new(Collector {
            received: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        })
    }

    pub fn all(&self) -> Vec<(String, Received)> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `find` finds something in what arrived.
    pub async fn wait<T>(
        &self,
        what: &str,
        find: impl Fn(&[(String, Received)]) -> Option<T>,
    ) -> T {
        tokio::time::timeout(PATIENCE * 2, async {
            loop {
                let notified = self.arrived.notified();
                if let Some(found) = find(&self.received.lock().unwrap()) {
                    return found;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("waited in vain for {what}; got {:#?}", self.all()))
    }

    /// The statuses of one conversation, by sequence.
    pub fn statuses(&self, conversation: &str) -> Vec<pb::ApplicationStatus> {
        statuses_in(&self.all(), conversation)
    }

    /// Waits until the final status and every one before it arrived
    /// (statuses may be handled out of order), and returns them in order.
    pub async fn all_statuses(&self, conversation: &str) -> Vec<pb::ApplicationStatus> {
        let finals = [pb::State::Issued as i32, pb::State::Refused as i32];
        self.wait(&format!("every status of {conversation}"), |all| {
            let statuses = statuses_in(all, conversation);
            let last = statuses.iter().find(|s| finals.contains(&s.state))?;
            let sequences: Vec<u32> = statuses.iter().map(|s| s.sequence).collect();
            (sequences == (1..=last.sequence).collect::<Vec<_>>()).then_some(statuses)
        })
        .await
    }

    pub fn results(&self, conversation: &str) -> Vec<pb::ApplicationResult> {
        self.all()
            .into_iter()
            .filter(|(c, _)| c == conversation)
            .filter_map(|(_, r)| match r {
                Received::Result(r, _) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Waits for the first status ("accepted") and returns the journal number.
    pub async fn accepted(&self, conversation: &str) -> pb::ApplicationStatus {
        self.wait(&format!("the first status of {conversation}"), |all| {
            all.iter().find_map(|(c, r)| match r {
                Received::Status(s) if c == conversation && s.sequence == 1 => Some(s.clone()),
                _ => None,
            })
        })
        .await
    }

    pub async fn status(&self, conversation: &str, sequence: u32) -> pb::ApplicationStatus {
        self.wait(&format!("status {sequence} of {conversation}"), |all| {
            all.iter().find_map(|(c, r)| match r {
                Received::Status(s) if c == conversation && s.sequence == sequence => {
                    Some(s.clone())
                }
                _ => None,
            })
        })
        .await
    }

    pub async fn result(&self, conversation: &str) -> pb::ApplicationResult {
        self.wait(&format!("the result of {conversation}"), |all| {
            all.iter().find_map(|(c, r)| match r {
                Received::Result(r, _) if c == conversation => Some(r.clone()),
                _ => None,
            })
        })
        .await
    }

    pub async fn rejection(&self, conversation: &str) -> Rejection {
        self.wait(&format!("a rejection in {conversation}"), |all| {
            all.iter().find_map(|(c, r)| match r {
                Received::Rejected(r) if c == conversation => Some(r.clone()),
                _ => None,
            })
        })
        .await
    }
}

/// The statuses of one conversation among `all`, by sequence.
fn statuses_in(all: &[(String, Received)], conversation: &str) -> Vec<pb::ApplicationStatus> {
    let mut statuses: Vec<pb::ApplicationStatus> = all
        .iter()
        .filter(|(c, _)| c == conversation)
        .filter_map(|(_, r)| match r {
            Received::Status(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    statuses.sort_by_key(|s| s.sequence);
    statuses
}

impl Handler for Collector {
    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        _ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            let conversation = message.opened.header.conversation_id.clone();
            let id = message.message_id().to_owned();
            let received = match (message.kind(), message.service()) {
                (Kind::Reject, _) => Received::Rejected(message.decode().expect("rejection")),
                (_, "application-status") => Received::Status(message.decode().expect("status")),
                (_, "application-result") => {
                    Received::Result(message.decode().expect("result"), id)
                }
                (kind, service) => panic!("unexpected {kind:?} {service}"),
            };
            self.received.lock().unwrap().push((conversation, received));
            self.arrived.notify_waiters();
            Ok(Outcome::Done)
        })
    }
}

pub struct Gateway {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.task.abort();
    }
}

/// The real gateway, in-process, ready to route.
pub async fn spawn_gateway(mesh: &TestMesh) -> Gateway {
    let settings: egov_gateway::Settings =
        egov_runtime::settings::load("gateway", &mesh.source(SystemId::Gateway))
            .expect("gateway settings");
    let app = egov_gateway::Application::build(settings)
        .await
        .expect("build the gateway");
    app.wait_ready(PATIENCE)
        .await
        .expect("the gateway connects");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Gateway { shutdown, task }
}

/// A running workstation in this process.
pub struct Running {
    pub address: std::net::SocketAddr,
    /// Where its metrics are served.
    pub metrics: std::net::SocketAddr,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// A graceful stop: the task in hand is finished, the outbox flushed.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await
                .expect("workstation task")
                .expect("stops cleanly");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub struct TestWorkstation {
    pub staff: Staff,
    pub portal: Bus,
    pub portal_inbox: Arc<Collector>,
    pub intake: Bus,
    pub intake_inbox: Arc<Collector>,
    pub running: Option<Running>,
    pub client: WorkstationClient<Channel>,
    pub settings: egov_workstation::Settings,
    _gateway: Gateway,
    // Dropped last: the mesh's database and namespace outlive the services.
    pub mesh: TestMesh,
}

/// The workstation's settings for this mesh: staff enrolled, fast hashes.
pub fn settings(mesh: &TestMesh, staff: &Staff, options: &Options) -> egov_workstation::Settings {
    let mut source = mesh.source(SystemId::Workstation);
    source.env.insert(
        "EGOV__WORKSTATION__REGISTRATION_TIME".to_owned(),
        REGISTERED_AT.to_owned(),
    );
    for (key, value) in &options.env {
        source.env.insert((*key).to_owned(), (*value).to_owned());
    }
    let mut settings: egov_workstation::Settings =
        egov_runtime::settings::load("workstation", &source).expect("workstation settings");
    settings.workstation.provider_bin = PROVIDER_BIN.into();
    settings.workstation.password_iterations = 1000;
    settings.workstation.staff = staff.all().into_iter().map(Staffer::entry).collect();
    settings.workstation.signer = Some(staff.head.login.clone());
    settings.workstation.autopilot.enabled = options.autopilot;
    settings.workstation.autopilot.fields = options.fields.clone();
    settings.workstation.autopilot.sweep = Duration::from_millis(500);
    settings
}

/// Builds and runs a workstation with `settings`.
pub async fn start(settings: egov_workstation::Settings) -> Running {
    let app = egov_workstation::Application::build(settings)
        .await
        .expect("build the workstation");
    app.wait_ready(PATIENCE)
        .await
        .expect("the workstation connects");
    let address = app.address();
    let metrics = app.metrics_address();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Running {
        address,
        metrics,
        shutdown,
        task: Some(task),
    }
}

pub async fn spawn(options: Options) -> TestWorkstation {
    let mesh = TestMesh::new().await;
    let gateway = spawn_gateway(&mesh).await;
    let staff = issue_staff(&mesh);
    let settings = settings(&mesh, &staff, &options);
    let running = start(settings.clone()).await;
    let client = WorkstationClient::connect(format!("http://{}", running.address))
        .await
        .expect("connect to the workstation");
    let portal_inbox = Collector::new();
    let portal = mesh
        .bus(
            SystemId::Portal,
            Some(Inbox {
                handler: portal_inbox.clone(),
                pool: mesh.pool("portal").await,
            }),
        )
        .await;
    let intake_inbox = Collector::new();
    let intake = mesh
        .bus(
            SystemId::Intake,
            Some(Inbox {
                handler: intake_inbox.clone(),
                pool: mesh.pool("intake").await,
            }),
        )
        .await;
    TestWorkstation {
        staff,
        portal,
        portal_inbox,
        intake,
        intake_inbox,
        running: Some(running),
        client,
        settings,
        _gateway: gateway,
        mesh,
    }
}

/// A document attached under `code`.
pub fn document(code: &str) -> pb::Document {
    let content = format!("scan of {code}").into_bytes();
    pb::Document {
        code: code.into(),
        name: format!("{code}.pdf"),
        media_type: "application/pdf".into(),
        sha256: egov_trust::sha256(&content).to_vec().into(),
        content: content.into(),
        on_paper: false,
    }
}

pub fn applicant(n: u16) -> pb::Person {
    pb::Person {
        iin: iin(n),
        surname: "Ахметова".into(),
        given_name: "Динара".into(),
        patronymic: "Болатовна".into(),
    }
}

/// An application of `regulation` through `channel` with these documents.
pub fn application(regulation: &str, channel: pb::Channel, documents: &[&str]) -> pb::Application {
    pb::Application {
        regulation: regulation.into(),
        channel: channel as i32,
        applicant: Some(applicant(1)),
        representative: None,
        documents: documents.iter().map(|code| document(code)).collect(),
        form: Vec::new(),
        submitted_at: Some(egov_bus::envelope::timestamp(Utc::now())),
        reference: format!("ref-{regulation}"),
        signed_request: Default::default(),
    }
}

/// Seed 002's portal documents (Standard row 8, portal items 1-4).
pub const SEED_002_PORTAL: [&str; 4] = [
    "application",
    "parental_care_absence_documents",
    "bank_account_contract",
    "child_income_documents",
];

impl TestWorkstation {
    /// Submits from the test portal (diagram 2, process 5) in a new
    /// conversation, which is returned.
    pub async fn submit(&self, application: pb::Application) -> String {
        let conversation = uuid::Uuid::now_v7().to_string();
        self.submit_in(&self.portal, application, &conversation)
            .await;
        conversation
    }

    pub async fn submit_in(
        &self,
        from: &Bus,
        application: pb::Application,
        conversation: &str,
    ) -> String {
        from.send(
            Outgoing::request(SystemId::Workstation, "submit-application", application)
                .conversation(conversation),
        )
        .await
        .expect("the application is published")
    }

    pub async fn login(&self, who: &Staffer) -> String {
        self.client
            .clone()
            .login(pb::LoginRequest {
                login: who.login.clone(),
                password: who.password.clone(),
            })
            .await
            .expect("log in")
            .into_inner()
            .token
    }

    pub fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("metadata"),
        );
        request
    }

    pub async fn act(
        &self,
        who: &Staffer,
        journal_number: &str,
        position: u32,
        action: act_request::Action,
    ) -> Result<pb::ApplicationView, tonic::Status> {
        let token = self.login(who).await;
        self.client
            .clone()
            .act(Self::authorized(
                &token,
                pb::ActRequest {
                    journal_number: journal_number.into(),
                    position,
                    action: Some(action),
                },
            ))
            .await
            .map(|r| r.into_inner().application.expect("the application"))
    }

    pub async fn tasks(&self, who: &Staffer) -> Vec<pb::Task> {
        let token = self.login(who).await;
        self.client
            .clone()
            .list_tasks(Self::authorized(&token, pb::ListTasksRequest {}))
            .await
            .expect("list tasks")
            .into_inner()
            .tasks
    }

    pub async fn application(&self, journal_number: &str) -> pb::ApplicationView {
        let token = self.login(&self.staff.head).await;
        self.client
            .clone()
            .get_application(Self::authorized(
                &token,
                pb::GetApplicationRequest {
                    journal_number: journal_number.into(),
                },
            ))
            .await
            .expect("get the application")
            .into_inner()
    }

    pub async fn document(&self, journal_number: &str) -> pb::GetDocumentResponse {
        let token = self.login(&self.staff.clerk).await;
        self.client
            .clone()
            .get_document(Self::authorized(
                &token,
                pb::GetDocumentRequest {
                    journal_number: journal_number.into(),
                },
            ))
            .await
            .expect("get the document")
            .into_inner()
    }
}

/// The error code at the start of a status message ("wrong_role: …"),
/// checked to be the reason of its `google.rpc.ErrorInfo`, as every error
/// of the workstation's API carries one.
pub fn code(status: &tonic::Status) -> &str {
    use tonic_types::StatusExt;
    let code = status.message().split(':').next().unwrap_or_default();
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"));
    assert_eq!(info.reason, code, "{status:?}");
    assert_eq!(info.domain, "workstation.egov-mesh");
    code
}

/// Checks a result's signature against `head`'s certificate and decodes it.
pub fn verified(result: &pb::ApplicationResult, head: &Staffer) -> pb::ResultDocument {
    let document = result.document.as_ref().expect("a signed document");
    assert_eq!(
        document.signer_certificate.as_ref(),
        head.certificate_der.as_slice(),
        "signed with the head's certificate"
    );
    let certificate = CertificateInfo::parse(&head.certificate_der).unwrap();
    assert!(
        certificate.verifies(&document.content, &document.signature),
        "the signature verifies over the exact bytes sent"
    );
    pb::ResultDocument::decode(document.content.as_ref()).expect("the signed bytes decode")
}

pub fn field<'a>(doc: &'a pb::ResultDocument, name: &str) -> Option<&'a str> {
    doc.fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
}
