//! A mesh per test: the gateway and the notary registry in-process, a few
//! known powers of attorney dated around today, and a caller.

use chrono::{Days, NaiveDate};
use egov_bus::{Bus, CallError, Outgoing, Reply};
use egov_notary::handler::today_in_almaty;
use egov_notary::model::{NotaryRows, PowerOfAttorney};
use egov_notary::storage;
use egov_proto::envelope::Rejection;
use egov_proto::notary::power_of_attorney_answer::Status;
use egov_proto::notary::{PowerOfAttorneyAnswer, PowerOfAttorneyRequest};
use egov_proto::registry::registry_admin_client::RegistryAdminClient;
use egov_proto::registry::{FaultState, SetFaultRequest};
use egov_proto::services::POWER_OF_ATTORNEY;
use egov_registry::fault::FaultMode;
use egov_testkit::TestMesh;
use egov_trust::SystemId;
use egov_trust::iin::{Iin, Sex};
use std::time::Duration;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub const PATIENCE: Duration = Duration::from_secs(20);
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct Notary {
    pub mesh: TestMesh,
    /// The registry's gRPC port (admin API, health, reflection).
    pub address: std::net::SocketAddr,
    /// The State Corporation's bus.
    pub intake: Bus,
    pub admin: RegistryAdminClient<Channel>,
    pub health: HealthClient<Channel>,
    pub known: Known,
    registry: egov_harness::Running,
    gateway: egov_harness::Running,
}

/// Powers of attorney given by one principal to one representative, dated
/// around today (the registry judges validity on today in Asia/Almaty).
pub struct Known {
    pub principal: Iin,
    pub representative: Iin,
    pub someone_else: Iin,
    /// In force for a year more, for "003" and "004-02".
    pub valid: PowerOfAttorney,
    /// Its last day was a month ago.
    pub expired: PowerOfAttorney,
    /// Revoked ten days ago, though still within its term.
    pub revoked: PowerOfAttorney,
}

impl Notary {
    pub async fn start() -> Notary {
        Notary::start_with(&[]).await
    }

    /// With extra settings variables (e.g. EGOV_NOTARY__LOOKUP__AS_OF).
    pub async fn start_with(extra: &[(&str, &str)]) -> Notary {
        let mesh = TestMesh::new().await;

        let gateway = egov_harness::start_gateway(&mesh).await;
        let registry = egov_harness::start_notary_with(&mesh, extra).await;
        let address = registry.address;

        let known = Known::new(today_in_almaty());
        let pool = mesh.pool("notary").await;
        storage::write_rows(&pool, &known.rows())
            .await
            .expect("seed the known powers of attorney");
        pool.close().await;

        let intake = mesh.bus(SystemId::Intake, None).await;
        let admin = RegistryAdminClient::connect(format!("http://{address}"))
            .await
            .expect("connect to the admin API");
        let health = HealthClient::new(
            Channel::from_shared(format!("http://{address}"))
                .expect("a URL")
                .connect()
                .await
                .expect("connect to health"),
        );
        let notary = Notary {
            mesh,
            address,
            intake,
            admin,
            health,
            known,
            registry,
            gateway,
        };
        notary.wait_health(ServingStatus::Serving).await;
        notary
    }

    pub async fn stop(self) {
        self.registry.stop_cleanly().await;
        self.gateway.stop_cleanly().await;
    }

    pub async fn call(&self, message: Outgoing) -> Result<Reply, CallError> {
        self.intake.call(message, DEADLINE).await
    }

    pub async fn set_fault(&self, mode: &str) -> FaultState {
        let mode: FaultMode = mode.parse().expect("a fault mode");
        self.admin
            .clone()
            .set_fault(SetFaultRequest {
                mode: Some(mode.into()),
                credential: Some(
                    self.mesh
                        .registry_credential(SystemId::Notary, SystemId::Gateway),
                ),
            })
            .await
            .expect("SetFault")
            .into_inner()
    }

    /// Waits (on the health Watch stream) until the registry reports `status`.
    pub async fn wait_health(&self, status: ServingStatus) {
        let mut stream = self
            .health
            .clone()
            .watch(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health Watch")
            .into_inner();
        tokio::time::timeout(PATIENCE, async {
            while let Some(seen) = stream.message().await.expect("health stream") {
                if seen.status == status as i32 {
                    return;
                }
            }
            panic!("the health stream ended");
        })
        .await
        .unwrap_or_else(|_| panic!("health did not become {status:?}"));
    }
}

impl Known {
    fn new(today: NaiveDate) -> Known {
        let iin = |year, month, day, sex, serial| {
            Iin::generate(
                NaiveDate::from_ymd_opt(year, month, day).unwrap(),
                sex,
                serial,
            )
            .unwrap()
        };
        let principal = iin(1988, 7, 2, Sex::Female, 2201);
        let representative = iin(1961, 1, 20, Sex::Female, 3302);
        let someone_else = iin(1979, 9, 9, Sex::Male, 4403);
        let power = |number: &str| PowerOfAttorney {
            number: number.to_owned(),
            principal,
            representative,
            notary_name: "Жумабекова Сауле Каировна".into(),
            notary_licence: "0001842".into(),
            issued_on: today - Days::new(60),
            valid_until: today + Days::new(365),
            scope: vec!["003".into(), "004-02".into()],
            revoked_on: None,
        };
        Known {
            principal,
            representative,
            someone_else,
            valid: power("2026-00000101"),
            expired: PowerOfAttorney {
                issued_on: today - Days::new(400),
                valid_until: today - Days::new(30),
                ..power("2026-00000102")
            },
            revoked: PowerOfAttorney {
                revoked_on: Some(today - Days::new(10)),
                ..power("2026-00000103")
            },
        }
    }

    fn rows(&self) -> NotaryRows {
        NotaryRows {
            powers_of_attorney: vec![
                self.valid.clone(),
                self.expired.clone(),
                self.revoked.clone(),
            ],
            cases: Vec::new(),
        }
    }
}

/// "power-of-attorney": `number`, presented by `representative`, for the
/// service `service_code`.
pub fn ask(number: &str, representative: &str, service_code: &str) -> Outgoing {
    Outgoing::request(
        SystemId::Notary,
        POWER_OF_ATTORNEY,
        PowerOfAttorneyRequest {
            number: number.to_owned(),
            representative_iin: representative.to_owned(),
            service_code: service_code.to_owned(),
        },
    )
}

/// The answer of a KIND_RESPONSE; panics on anything else.
pub fn answer(reply: Result<Reply, CallError>) -> PowerOfAttorneyAnswer {
    match reply.expect("an answer") {
        Reply::Response(opened) => opened.decode().expect("a PowerOfAttorneyAnswer"),
        Reply::Rejected(rejection, _) => panic!("refused: {rejection:?}"),
    }
}

pub fn status(answer: &PowerOfAttorneyAnswer) -> Status {
    Status::try_from(answer.status).expect("a known status")
}

/// The refusal of a KIND_REJECT; panics on anything else.
pub fn refusal(reply: Result<Reply, CallError>) -> Rejection {
    match reply.expect("an answer") {
        Reply::Rejected(rejection, _) => rejection,
        Reply::Response(opened) => panic!("answered: {:?}", opened.header),
    }
}
