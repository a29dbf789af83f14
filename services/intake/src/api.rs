//! The operators' gRPC API (egov.intake.v1.Intake).

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::operators::Operator;
use crate::request::counter_documents;
use crate::settings::Role;
use egov_bus::envelope::timestamp;
use egov_proto::intake as pb;
use egov_proto::intake::intake_server;
use egov_regulations::Channel;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct IntakeApi {
    pub intake: Arc<Intake>,
    /// Password logins per client address (`intake.login_attempts_per_minute`).
    pub logins: Option<egov_runtime::limit::RateLimiter<std::net::IpAddr>>,
}

use egov_accounts::bearer;

fn answer<T>(result: IntakeResult<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

fn role(role: Role) -> pb::Role {
    match role {
        Role::Operator => pb::Role::Operator,
        Role::AccumulationSector => pb::Role::AccumulationSector,
        Role::Courier => pb::Role::Courier,
        Role::IssuingOperator => pb::Role::IssuingOperator,
    }
}

impl IntakeApi {
    async fn operator<T>(&self, request: &Request<T>) -> IntakeResult<Operator> {
        self.intake.authenticate(bearer(request)).await
    }

    /// The services with a State Corporation channel and its document list.
    fn services(&self) -> Vec<pb::Service> {
        self.intake
            .regulations
            .iter()
            .filter_map(|r| {
                let channel = r.channel(Channel::StateCorporation).filter(|c| c.intake)?;
                Some(pb::Service {
                    code: r.code.clone(),
                    ru: r.names.ru.clone(),
                    en: r.names.en.clone(),
                    deadline: channel.deadline.clone(),
                    documents: counter_documents(r)
                        .map(|d| pb::ServiceDocument {
                            code: d.code.clone(),
                            ru: d.ru.clone().unwrap_or_else(|| d.kk.clone()),
                            en: d.en.clone(),
                            item: d
                                .items
                                .get(Channel::StateCorporation.code())
                                .cloned()
                                .unwrap_or_default(),
                            condition: d.condition.clone().unwrap_or_default(),
                        })
                        .collect(),
                })
            })
            .collect()
    }
}

#[tonic::async_trait]
impl intake_server::Intake for IntakeApi {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        if let Err(seconds) =
            egov_runtime::limit::check_login(self.logins.as_ref(), request.remote_addr())
        {
            return answer(Err(IntakeError::new(
                IntakeCode::TooManyAttempts,
                format!(
                    "too many logins from this address (intake.login_attempts_per_minute); try again in {seconds} s"
                ),
            )));
        }
        let r = request.into_inner();
        answer(
            self.intake
                .login(&r.login, &r.password)
                .await
                .map(|s| pb::Session {
                    token: s.token,
                    expires_at: Some(timestamp(s.expires_at)),
                    login: s.operator.login,
                    full_name: s.operator.full_name,
                    role: role(s.operator.role) as i32,
                }),
        )
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        self.operator(&request).await?;
        let token = bearer(&request).unwrap_or_default().to_owned();
        answer(
            self.intake
                .logout(&token)
                .await
                .map(|_| pb::LogoutResponse {}),
        )
    }

    async fn list_services(
        &self,
        _request: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        Ok(Response::new(pb::ListServicesResponse {
            services: self.services(),
        }))
    }

    async fn create_request(
        &self,
        request: Request<pb::CreateRequestRequest>,
    ) -> Result<Response<pb::RequestView>, Status> {
        let operator = self.operator(&request).await?;
        answer(
            self.intake
                .create_request(&operator, request.into_inner())
                .await,
        )
    }

    async fn send_consent_code(
        &self,
        request: Request<pb::SendConsentCodeRequest>,
    ) -> Result<Response<pb::ConsentCodeSent>, Status> {
        let operator = self.operator(&request).await?;
        let reference = request.into_inner().reference;
        answer(
            self.intake
                .send_consent_code(&operator, &reference)
                .await
                .map(|(phone, expires_at)| pb::ConsentCodeSent {
                    phone,
                    expires_at: Some(timestamp(expires_at)),
                }),
        )
    }

    async fn confirm_consent(
        &self,
        request: Request<pb::ConfirmConsentRequest>,
    ) -> Result<Response<pb::RequestView>, Status> {
        let operator = self.operator(&request).await?;
        let r = request.into_inner();
        answer(
            self.intake
                .confirm_consent(&operator, &r.reference, &r.code)
                .await,
        )
    }

    async fn check_registries(
        &self,
        request: Request<pb::CheckRegistriesRequest>,
    ) -> Result<Response<pb::RequestView>, Status> {
        let operator = self.operator(&request).await?;
        let reference = request.into_inner().reference;
        answer(self.intake.check_registries(&operator, &reference).await)
    }

    async fn accept(
        &self,
        request: Request<pb::AcceptRequest>,
    ) -> Result<Response<pb::Receipt>, Status> {
        let operator = self.operator(&request).await?;
        let reference = request.into_inner().reference;
        answer(self.intake.accept(&operator, &reference).await)
    }

    async fn get_receipt(
        &self,
        request: Request<pb::GetReceiptRequest>,
    ) -> Result<Response<pb::Receipt>, Status> {
        self.operator(&request).await?;
        let reference = request.into_inner().reference;
        answer(self.intake.receipt(&reference).await)
    }

    async fn list_requests(
        &self,
        request: Request<pb::ListRequestsRequest>,
    ) -> Result<Response<pb::ListRequestsResponse>, Status> {
        self.operator(&request).await?;
        let iin = request.into_inner().recipient_iin;
        answer(
            self.intake
                .requests(&iin)
                .await
                .map(|requests| pb::ListRequestsResponse { requests }),
        )
    }

    async fn get_request(
        &self,
        request: Request<pb::GetRequestRequest>,
    ) -> Result<Response<pb::RequestView>, Status> {
        self.operator(&request).await?;
        let reference = request.into_inner().reference;
        answer(self.intake.request(&reference).await)
    }

    async fn ask_for_returned_result(
        &self,
        request: Request<pb::AskForReturnedResultRequest>,
    ) -> Result<Response<pb::RequestView>, Status> {
        let operator = self.operator(&request).await?;
        let reference = request.into_inner().reference;
        answer(
            self.intake
                .ask_for_returned_result(&operator, &reference)
                .await,
        )
    }

    async fn issue_result(
        &self,
        request: Request<pb::IssueResultRequest>,
    ) -> Result<Response<pb::IssuedResult>, Status> {
        let operator = self.operator(&request).await?;
        answer(
            self.intake
                .issue_result(&operator, request.into_inner())
                .await,
        )
    }

    async fn scan_package(
        &self,
        request: Request<pb::ScanPackageRequest>,
    ) -> Result<Response<pb::PaperPackage>, Status> {
        let operator = self.operator(&request).await?;
        let barcode = request.into_inner().barcode;
        answer(self.intake.scan_package(&operator, &barcode).await)
    }

    async fn hand_to_courier(
        &self,
        request: Request<pb::HandToCourierRequest>,
    ) -> Result<Response<pb::ListPackagesResponse>, Status> {
        let operator = self.operator(&request).await?;
        let r = request.into_inner();
        answer(
            self.intake
                .hand_to_courier(&operator, &r.barcodes, &r.courier)
                .await
                .map(|packages| pb::ListPackagesResponse { packages }),
        )
    }

    async fn record_delivery(
        &self,
        request: Request<pb::RecordDeliveryRequest>,
    ) -> Result<Response<pb::PaperPackage>, Status> {
        let operator = self.operator(&request).await?;
        let r = request.into_inner();
        answer(
            self.intake
                .record_delivery(&operator, &r.barcode, &r.received_by)
                .await,
        )
    }

    async fn list_packages(
        &self,
        request: Request<pb::ListPackagesRequest>,
    ) -> Result<Response<pb::ListPackagesResponse>, Status> {
        let operator = self.operator(&request).await?;
        let state = request.into_inner().state();
        answer(
            self.intake
                .packages(&operator, state)
                .await
                .map(|packages| pb::ListPackagesResponse { packages }),
        )
    }

    async fn take_talon(
        &self,
        request: Request<pb::TakeTalonRequest>,
    ) -> Result<Response<pb::Talon>, Status> {
        answer(self.intake.take_talon(request.into_inner()).await)
    }

    async fn call_next_talon(
        &self,
        request: Request<pb::CallNextTalonRequest>,
    ) -> Result<Response<pb::Talon>, Status> {
        let operator = self.operator(&request).await?;
        answer(self.intake.call_next_talon(&operator).await)
    }

    async fn list_talons(
        &self,
        request: Request<pb::ListTalonsRequest>,
    ) -> Result<Response<pb::ListTalonsResponse>, Status> {
        let operator = self.operator(&request).await?;
        answer(
            self.intake
                .waiting_talons(&operator)
                .await
                .map(|waiting| pb::ListTalonsResponse { waiting }),
        )
    }
}
