//! The citizens' gRPC API (egov.portal.v1.Portal).

use crate::accounts::NewSession;
use crate::error::{PortalCode, PortalError, PortalResult};
use crate::portal::Citizen;
use crate::portal::Portal;
use egov_proto::portal as pb;
use egov_proto::portal::portal_server;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct PortalApi {
    pub portal: Arc<Portal>,
    /// Password logins per client address (`portal.login_attempts_per_minute`).
    pub logins: Option<egov_runtime::limit::RateLimiter<std::net::IpAddr>>,
}

use egov_accounts::bearer;

fn session(new: NewSession) -> pb::Session {
    pb::Session {
        token: new.token,
        expires_at: Some(egov_bus::envelope::timestamp(new.expires_at)),
        iin: new.citizen.iin,
        full_name: new.citizen.full_name,
    }
}

impl PortalApi {
    async fn citizen<T>(&self, request: &Request<T>) -> PortalResult<Citizen> {
        self.portal.authenticate(bearer(request)).await
    }
}

fn answer<T>(result: PortalResult<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl portal_server::Portal for PortalApi {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let r = request.into_inner();
        let registered = self
            .portal
            .register(&r.iin, &r.password, &r.phone, r.consent)
            .await
            .map(|c| pb::RegisterResponse {
                iin: c.iin,
                full_name: c.full_name,
            });
        answer(registered)
    }

    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        if let Err(seconds) =
            egov_runtime::limit::check_login(self.logins.as_ref(), request.remote_addr())
        {
            return answer(Err(PortalError::new(
                PortalCode::TooManyAttempts,
                format!(
                    "too many logins from this address (portal.login_attempts_per_minute); try again in {seconds} s"
                ),
            )));
        }
        let r = request.into_inner();
        answer(self.portal.login(&r.iin, &r.password).await.map(session))
    }

    async fn start_eds_login(
        &self,
        _request: Request<pb::StartEdsLoginRequest>,
    ) -> Result<Response<pb::EdsChallenge>, Status> {
        let started = self
            .portal
            .start_eds_login()
            .await
            .map(|(id, challenge, expires_at)| pb::EdsChallenge {
                challenge_id: id.to_string(),
                challenge: challenge.into(),
                expires_at: Some(egov_bus::envelope::timestamp(expires_at)),
            });
        answer(started)
    }

    async fn finish_eds_login(
        &self,
        request: Request<pb::FinishEdsLoginRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let r = request.into_inner();
        answer(
            self.portal
                .finish_eds_login(&r.challenge_id, &r.signature)
                .await
                .map(session),
        )
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        self.citizen(&request).await?;
        let token = bearer(&request).unwrap_or_default().to_owned();
        answer(
            self.portal
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
            services: self.portal.catalogue(),
        }))
    }

    async fn prepare_application(
        &self,
        request: Request<pb::PrepareApplicationRequest>,
    ) -> Result<Response<pb::PreparedApplication>, Status> {
        let citizen = self.citizen(&request).await?;
        answer(self.portal.prepare(&citizen, request.into_inner()))
    }

    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::ApplicationView>, Status> {
        let citizen = self.citizen(&request).await?;
        let signed = request.into_inner().signed_application;
        answer(self.portal.submit(&citizen, &signed).await)
    }

    async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<Response<pb::ListApplicationsResponse>, Status> {
        let citizen = self.citizen(&request).await?;
        answer(
            self.portal
                .applications(&citizen)
                .await
                .map(|applications| pb::ListApplicationsResponse { applications }),
        )
    }

    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::ApplicationView>, Status> {
        let citizen = self.citizen(&request).await?;
        let reference = request.into_inner().reference;
        answer(self.portal.application(&citizen, &reference).await)
    }

    async fn get_result(
        &self,
        request: Request<pb::GetResultRequest>,
    ) -> Result<Response<pb::ResultFile>, Status> {
        let citizen = self.citizen(&request).await?;
        let reference = request.into_inner().reference;
        answer(self.portal.result(&citizen, &reference).await)
    }

    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let citizen = self.citizen(&request).await?;
        answer(
            self.portal
                .notifications(&citizen)
                .await
                .map(|notifications| pb::ListNotificationsResponse { notifications }),
        )
    }
}
