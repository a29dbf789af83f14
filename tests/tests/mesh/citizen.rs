//! A citizen at the e-government portal (diagram 2), through the portal's
//! gRPC API only, as a front end calls it: registration (checked in ЖТ МДБ
//! through the gateway), login, an application prepared, signed with the
//! citizen's EDS from the mesh CA, submitted; the cabinet and the result.

use crate::mesh::{Mesh, PATIENCE, Person};
use chrono::{Duration as Days, Utc};
use egov_harness::authorized;
use egov_proto::portal::portal_client::PortalClient;
use egov_proto::portal::{self as pb, Stage};
use egov_proto::workstation as ws;
use egov_trust::cms::{self, Encapsulation};
use egov_trust::{CitizenEds, Iin, Issued, SystemId};
use tonic::transport::Channel;

pub const PASSWORD: &str = "correct horse battery";

pub struct Citizen {
    pub person: Person,
    pub eds: CitizenEds,
    pub token: String,
}

/// The stable code of a portal refusal (ErrorInfo's reason).
pub fn code(status: &tonic::Status) -> String {
    egov_harness::refusal_code(status, "portal.egov-mesh")
}

/// CMS SignedData (attached) over `content` with `issued`'s key, as
/// NCALayer makes it.
pub fn sign_with(issued: &Issued, content: &[u8]) -> Vec<u8> {
    cms::sign(
        content,
        &issued.signing_key(),
        &issued.certificate_der,
        Encapsulation::Attached,
        Utc::now(),
    )
    .expect("sign")
}

/// Every unconditional document of the portal's list and every required
/// field of the form, from the catalogue entry.
pub fn complete_draft(service: &pb::CatalogueService, iin: &str) -> pb::PrepareApplicationRequest {
    let documents = service
        .documents
        .iter()
        .filter(|d| d.condition.is_empty())
        .map(|d| egov_harness::scanned_document(&d.code))
        .collect();
    let form = service
        .form
        .iter()
        .filter(|f| f.required)
        .map(|f| ws::FormField {
            name: f.name.clone(),
            value: match f.r#type.as_str() {
                "date" => "2026-11-02".into(),
                "year" => "2026".into(),
                "iin" => iin.into(),
                "number" | "money_kzt" => "1".into(),
                "period" => "2026-12-01..2027-11-30".into(),
                "phone" => "+77011234567".into(),
                _ => format!("value of {}", f.name),
            },
        })
        .collect();
    pb::PrepareApplicationRequest {
        regulation: service.code.clone(),
        form,
        documents,
        consent: true,
    }
}

impl Mesh {
    pub fn portal(&self) -> PortalClient<Channel> {
        PortalClient::new(self.channel(SystemId::Portal))
    }

    /// The citizen's EDS as NCA RK issues it (an authentication and a
    /// signing key pair), from the scenario's CA.
    pub fn issue_eds(&self, person: &Person) -> CitizenEds {
        let now = Utc::now();
        let (eds, _) = self
            .ca
            .issue_citizen_eds(
                Iin::parse(&person.iin).expect("an IIN"),
                &person.surname,
                &person.given_name,
                now - Days::hours(1),
                now + Days::days(365),
            )
            .expect("issue the citizen's EDS");
        eds
    }

    /// The pre-step: registration, checked in ЖТ МДБ through the gateway.
    pub async fn register(&self, person: &Person) -> Result<pb::RegisterResponse, tonic::Status> {
        self.portal()
            .register(pb::RegisterRequest {
                iin: person.iin.clone(),
                password: PASSWORD.into(),
                phone: person.phone.clone(),
                consent: true,
            })
            .await
            .map(|r| r.into_inner())
    }

    /// Process 1: login with the password.
    pub async fn log_in(&self, person: &Person) -> String {
        self.portal()
            .login(pb::LoginRequest {
                iin: person.iin.clone(),
                password: PASSWORD.into(),
            })
            .await
            .expect("the citizen logs in")
            .into_inner()
            .token
    }

    /// A person of the population with an EDS, registered and logged in.
    pub async fn citizen(&self) -> Citizen {
        let person = self.person().await;
        let eds = self.issue_eds(&person);
        self.register(&person).await.expect("registered");
        let token = self.log_in(&person).await;
        Citizen { person, eds, token }
    }

    /// Process 3: the service from the catalogue.
    pub async fn catalogue_service(&self, code: &str) -> pb::CatalogueService {
        self.portal()
            .list_services(pb::ListServicesRequest {})
            .await
            .expect("the catalogue")
            .into_inner()
            .services
            .into_iter()
            .find(|s| s.code == code)
            .unwrap_or_else(|| panic!("service {code} in the portal's catalogue"))
    }

    /// Processes 3-4: the application prepared from a complete draft; the
    /// bytes the citizen signs.
    pub async fn prepare(&self, citizen: &Citizen, regulation: &str) -> Vec<u8> {
        let service = self.catalogue_service(regulation).await;
        self.portal()
            .prepare_application(authorized(
                &citizen.token,
                complete_draft(&service, &citizen.person.iin),
            ))
            .await
            .expect("prepared")
            .into_inner()
            .document
            .to_vec()
    }

    pub async fn submit(
        &self,
        citizen: &Citizen,
        signed: Vec<u8>,
    ) -> Result<pb::ApplicationView, tonic::Status> {
        self.portal()
            .submit(authorized(
                &citizen.token,
                pb::SubmitRequest {
                    signed_application: signed.into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Processes 3-5: prepared, signed with the signing key, sent.
    pub async fn apply(&self, citizen: &Citizen, regulation: &str) -> pb::ApplicationView {
        let document = self.prepare(citizen, regulation).await;
        let sent = self
            .submit(citizen, sign_with(&citizen.eds.signing, &document))
            .await
            .expect("submitted");
        assert_eq!(sent.stage(), Stage::Sent, "{sent:?}");
        sent
    }

    /// The application in the citizen's cabinet.
    pub async fn cabinet(&self, citizen: &Citizen, reference: &str) -> pb::ApplicationView {
        self.portal()
            .get_application(authorized(
                &citizen.token,
                pb::GetApplicationRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .expect("the application in the cabinet")
            .into_inner()
    }

    /// Every application of the citizen's cabinet.
    pub async fn cabinet_list(&self, citizen: &Citizen) -> Vec<pb::ApplicationView> {
        self.portal()
            .list_applications(authorized(&citizen.token, pb::ListApplicationsRequest {}))
            .await
            .expect("the cabinet")
            .into_inner()
            .applications
    }

    /// Every application of `applications` stands once in its citizen's
    /// cabinet, and nothing else stands in `citizens`' cabinets.
    pub async fn assert_each_once_in_the_cabinets(
        &self,
        citizens: &[Citizen],
        applications: &[(&Citizen, String)],
    ) {
        let mut listed = Vec::new();
        for citizen in citizens {
            listed.extend(
                self.cabinet_list(citizen)
                    .await
                    .into_iter()
                    .map(|a| a.reference),
            );
        }
        listed.sort();
        let mut expected: Vec<String> = applications.iter().map(|(_, r)| r.clone()).collect();
        expected.sort();
        assert_eq!(listed, expected, "each application once in its cabinet");
    }

    /// Waits until the cabinet shows the application at one of `stages`.
    pub async fn wait_cabinet(
        &self,
        citizen: &Citizen,
        reference: &str,
        stages: &[Stage],
    ) -> pb::ApplicationView {
        let what = format!("application {reference} in the cabinet at {stages:?}");
        egov_testkit::wait::until(PATIENCE, &what, || async {
            let view = self.cabinet(citizen, reference).await;
            if stages.contains(&view.stage()) {
                Ok(view)
            } else {
                Err(format!("{:?} (history {:?})", view.stage(), view.history))
            }
        })
        .await
    }

    /// Process 8: the provider's signed result from the cabinet.
    pub async fn result_file(&self, citizen: &Citizen, reference: &str) -> pb::ResultFile {
        self.portal()
            .get_result(authorized(
                &citizen.token,
                pb::GetResultRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .expect("the result")
            .into_inner()
    }

    /// What egov.kz would have sent the citizen by SMS.
    pub async fn notifications(&self, citizen: &Citizen) -> Vec<pb::Notification> {
        self.portal()
            .list_notifications(authorized(&citizen.token, pb::ListNotificationsRequest {}))
            .await
            .expect("notifications")
            .into_inner()
            .notifications
    }
}
