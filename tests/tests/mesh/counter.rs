//! A State Corporation operator at the counter (diagram 1), through the
//! intake's gRPC API only, as the counter application calls it. The one
//! thing read elsewhere is what the recipient's phone got (the mesh keeps
//! the SMS it would send in the intake's `sms` table, which is where the
//! README's walk reads it too).

// The intake's messages grow (its paper path and queue are being added):
// fields a scenario does not name keep their defaults.
#![allow(clippy::needless_update)]

use crate::mesh::{Mesh, PATIENCE, Person};
use egov_harness::authorized;
use egov_proto::intake::intake_client::IntakeClient;
use egov_proto::intake::{self as pb, Stage};
use egov_trust::SystemId;
use tonic::transport::Channel;

/// The stable code of an intake refusal (ErrorInfo's reason).
pub fn code(status: &tonic::Status) -> String {
    egov_harness::refusal_code(status, "intake.egov-mesh")
}

impl Mesh {
    pub fn intake(&self) -> IntakeClient<Channel> {
        IntakeClient::new(self.channel(SystemId::Intake))
    }

    /// Process 1: an enrolled operator logs in; the session's token.
    pub async fn operator(&self, login: &str) -> String {
        self.intake()
            .login(pb::LoginRequest {
                login: login.into(),
                password: egov_harness::password(login),
                ..Default::default()
            })
            .await
            .expect("the operator logs in")
            .into_inner()
            .token
    }

    /// Process 2: a request of `regulation` for `recipient`, every
    /// unconditional document of the State Corporation's list present and
    /// scanned except those in `leave_out`.
    pub async fn draft(
        &self,
        token: &str,
        regulation: &str,
        recipient: &Person,
        representative: Option<pb::RepresentativeEntry>,
        leave_out: &[&str],
    ) -> Result<pb::RequestView, tonic::Status> {
        let service = self
            .intake()
            .list_services(pb::ListServicesRequest::default())
            .await
            .expect("the services")
            .into_inner()
            .services
            .into_iter()
            .find(|s| s.code == regulation)
            .unwrap_or_else(|| panic!("service {regulation} at the State Corporation"));
        let present: Vec<String> = service
            .documents
            .iter()
            .filter(|d| d.condition.is_empty() && !leave_out.contains(&d.code.as_str()))
            .map(|d| d.code.clone())
            .collect();
        let scans = present
            .iter()
            .map(|c| egov_harness::scanned_document(c))
            .collect();
        self.intake()
            .create_request(authorized(
                token,
                pb::CreateRequestRequest {
                    regulation: regulation.into(),
                    recipient: Some(pb::Recipient {
                        iin: recipient.iin.clone(),
                        phone: recipient.phone.clone(),
                        ..Default::default()
                    }),
                    representative,
                    documents_present: present,
                    scans,
                    ..Default::default()
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Seed 002 Rules p.9: the one-time code sent to the recipient's phone,
    /// read off the phone and confirmed.
    pub async fn consent(&self, token: &str, reference: &str) {
        let sent = self
            .intake()
            .send_consent_code(authorized(
                token,
                pb::SendConsentCodeRequest {
                    reference: reference.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("the code sent")
            .into_inner();
        let text: String = sqlx::query_scalar(
            "SELECT text FROM intake.sms
             WHERE phone = $1 AND reference = $2::uuid AND text LIKE 'Код %'
             ORDER BY id DESC LIMIT 1",
        )
        .bind(&sent.phone)
        .bind(reference)
        .fetch_one(&self.db)
        .await
        .expect("the consent SMS on the phone");
        let code = text
            .split_whitespace()
            .nth(1)
            .expect("the code in the SMS")
            .trim_end_matches(':')
            .to_owned();
        self.intake()
            .confirm_consent(authorized(
                token,
                pb::ConfirmConsentRequest {
                    reference: reference.into(),
                    code,
                    ..Default::default()
                },
            ))
            .await
            .expect("consent confirmed");
    }

    /// Process 3: the look-ups in ЖТ МДБ (and БНАЖ) through the gateway.
    pub async fn check(
        &self,
        token: &str,
        reference: &str,
    ) -> Result<pb::RequestView, tonic::Status> {
        self.intake()
            .check_registries(authorized(
                token,
                pb::CheckRegistriesRequest {
                    reference: reference.into(),
                    ..Default::default()
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Processes 5-6: the receipt, and the request sent to the provider.
    pub async fn accept(&self, token: &str, reference: &str) -> Result<pb::Receipt, tonic::Status> {
        self.intake()
            .accept(authorized(
                token,
                pb::AcceptRequest {
                    reference: reference.into(),
                    ..Default::default()
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Processes 2-4 for a complete package: a checked draft.
    pub async fn checked_draft(&self, token: &str, regulation: &str, recipient: &Person) -> String {
        let draft = self
            .draft(token, regulation, recipient, None, &[])
            .await
            .expect("drafted");
        self.consent(token, &draft.reference).await;
        let checked = self.check(token, &draft.reference).await.expect("checked");
        assert_eq!(checked.stage(), Stage::Checked, "{checked:?}");
        draft.reference
    }

    pub async fn request(&self, token: &str, reference: &str) -> pb::RequestView {
        self.intake()
            .get_request(authorized(
                token,
                pb::GetRequestRequest {
                    reference: reference.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("the request")
            .into_inner()
    }

    /// Every request of the branch.
    pub async fn requests(&self, token: &str) -> Vec<pb::RequestView> {
        self.intake()
            .list_requests(authorized(token, pb::ListRequestsRequest::default()))
            .await
            .expect("the requests")
            .into_inner()
            .requests
    }

    /// Waits until the request is at one of `stages`.
    pub async fn wait_request(
        &self,
        token: &str,
        reference: &str,
        stages: &[Stage],
    ) -> pb::RequestView {
        let what = format!("request {reference} at {stages:?}");
        egov_testkit::wait::until(PATIENCE, &what, || async {
            let view = self.request(token, reference).await;
            if stages.contains(&view.stage()) {
                Ok(view)
            } else {
                Err(format!("{:?} (history {:?})", view.stage(), view.history))
            }
        })
        .await
    }

    /// Process 9: the result handed over to whoever presents `presented_iin`
    /// (with a power of attorney's number when it is not the recipient).
    pub async fn hand_over(
        &self,
        token: &str,
        reference: &str,
        presented_iin: &str,
        power_of_attorney: &str,
    ) -> Result<pb::IssuedResult, tonic::Status> {
        self.intake()
            .issue_result(authorized(
                token,
                pb::IssueResultRequest {
                    reference: reference.into(),
                    presented_iin: presented_iin.into(),
                    power_of_attorney_number: power_of_attorney.into(),
                    ..Default::default()
                },
            ))
            .await
            .map(|r| r.into_inner())
    }
}
