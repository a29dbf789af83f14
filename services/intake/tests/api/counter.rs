//! The counter as a test drives it: the operators' API calls of diagram 1,
//! what a tester reads (SMS), and the checks of refusals and signatures.

use crate::helpers::{PATIENCE, Recipient, TestIntake, password};
use egov_proto::intake::{self as pb, Stage};

impl TestIntake {
    pub async fn login(&self, login: &str, password: &str) -> Result<pb::Session, tonic::Status> {
        self.client
            .clone()
            .login(pb::LoginRequest {
                login: login.into(),
                password: password.into(),
            })
            .await
            .map(|r| r.into_inner())
    }

    /// Logs in as an enrolled operator; the token.
    pub async fn token(&self, login: &str) -> String {
        self.login(login, &password(login))
            .await
            .expect("logged in")
            .token
    }

    pub async fn service(&self, code: &str) -> pb::Service {
        self.client
            .clone()
            .list_services(pb::ListServicesRequest {})
            .await
            .expect("services")
            .into_inner()
            .services
            .into_iter()
            .find(|s| s.code == code)
            .unwrap_or_else(|| panic!("service {code} at the State Corporation"))
    }

    /// Process 2: a request of `regulation` with every unconditional
    /// document present and scanned, except those in `leave_out`.
    pub async fn create(
        &self,
        token: &str,
        regulation: &str,
        recipient: &Recipient,
        representative: Option<pb::RepresentativeEntry>,
        leave_out: &[&str],
    ) -> Result<pb::RequestView, tonic::Status> {
        let service = self.service(regulation).await;
        let codes: Vec<String> = service
            .documents
            .iter()
            .filter(|d| d.condition.is_empty() && !leave_out.contains(&d.code.as_str()))
            .map(|d| d.code.clone())
            .collect();
        let scans = codes.iter().map(|c| scan(c)).collect();
        self.client
            .clone()
            .create_request(authorized(
                token,
                pb::CreateRequestRequest {
                    regulation: regulation.into(),
                    recipient: Some(pb::Recipient {
                        iin: recipient.iin.clone(),
                        phone: recipient.phone.clone(),
                    }),
                    representative,
                    documents_present: codes,
                    scans,
                    form: Vec::new(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// The last SMS to `phone` (what a tester reads).
    pub async fn last_sms(&self, phone: &str) -> String {
        sqlx::query_scalar("SELECT text FROM sms WHERE phone = $1 ORDER BY id DESC LIMIT 1")
            .bind(phone)
            .fetch_one(&self.mesh.pool("intake").await)
            .await
            .expect("an SMS")
    }

    /// Seed 002 Rules p.9: the code sent to the recipient's phone, read
    /// back and confirmed.
    pub async fn consent(&self, token: &str, reference: &str) -> pb::RequestView {
        let sent = self
            .client
            .clone()
            .send_consent_code(authorized(
                token,
                pb::SendConsentCodeRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .expect("code sent")
            .into_inner();
        let text: String = sqlx::query_scalar(
            "SELECT text FROM sms WHERE phone = $1 AND reference = $2::uuid AND text LIKE 'Код %'
             ORDER BY id DESC LIMIT 1",
        )
        .bind(&sent.phone)
        .bind(reference)
        .fetch_one(&self.mesh.pool("intake").await)
        .await
        .expect("the consent SMS");
        let code: String = text
            .split_whitespace()
            .nth(1)
            .expect("the code")
            .trim_end_matches(':')
            .to_owned();
        self.client
            .clone()
            .confirm_consent(authorized(
                token,
                pb::ConfirmConsentRequest {
                    reference: reference.into(),
                    code,
                },
            ))
            .await
            .expect("consent confirmed")
            .into_inner()
    }

    pub async fn check(
        &self,
        token: &str,
        reference: &str,
    ) -> Result<pb::RequestView, tonic::Status> {
        self.client
            .clone()
            .check_registries(authorized(
                token,
                pb::CheckRegistriesRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn accept(&self, token: &str, reference: &str) -> Result<pb::Receipt, tonic::Status> {
        self.client
            .clone()
            .accept(authorized(
                token,
                pb::AcceptRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Processes 2-6 for a complete package: the acceptance receipt.
    pub async fn take(
        &self,
        token: &str,
        regulation: &str,
        recipient: &Recipient,
        representative: Option<pb::RepresentativeEntry>,
    ) -> pb::Receipt {
        let draft = self
            .create(token, regulation, recipient, representative, &[])
            .await
            .expect("drafted");
        self.consent(token, &draft.reference).await;
        self.check(token, &draft.reference).await.expect("checked");
        self.accept(token, &draft.reference)
            .await
            .expect("accepted")
    }

    pub async fn view(&self, token: &str, reference: &str) -> pb::RequestView {
        self.client
            .clone()
            .get_request(authorized(
                token,
                pb::GetRequestRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .expect("the request")
            .into_inner()
    }

    /// Waits until the request is at one of `stages`.
    pub async fn wait_stage(
        &self,
        token: &str,
        reference: &str,
        stages: &[Stage],
    ) -> pb::RequestView {
        let what = format!("request {reference} at {stages:?}");
        egov_testkit::wait::until(PATIENCE, &what, || async {
            let view = self.view(token, reference).await;
            if stages.contains(&view.stage()) {
                Ok(view)
            } else {
                Err(format!("{:?} ({view:?})", view.stage()))
            }
        })
        .await
    }

    pub async fn issue(
        &self,
        token: &str,
        reference: &str,
        presented_iin: &str,
        poa: &str,
    ) -> Result<pb::IssuedResult, tonic::Status> {
        self.client
            .clone()
            .issue_result(authorized(
                token,
                pb::IssueResultRequest {
                    reference: reference.into(),
                    presented_iin: presented_iin.into(),
                    power_of_attorney_number: poa.into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// How many applications the workstation's journal holds for a request.
    pub async fn at_provider(&self, reference: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM applications WHERE reference = $1")
            .bind(reference)
            .fetch_one(&self.mesh.pool("workstation").await)
            .await
            .expect("count")
    }

    /// Rows of a table of the intake's schema.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.mesh.pool("intake").await)
            .await
            .expect("count")
    }
}

pub use egov_harness::authorized;
/// A scanned document attached under `code`.
pub use egov_harness::scanned_document as scan;

/// The stable code of a refusal, from its ErrorInfo.
pub fn code(status: &tonic::Status) -> String {
    egov_harness::refusal_code(status, "intake.egov-mesh")
}

pub use egov_harness::openssl_verifies;
