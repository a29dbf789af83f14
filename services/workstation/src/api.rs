//! The employees' gRPC API (proto/egov/workstation/v1/workstation.proto):
//! log in, the task list of one's role, act on a task, read an application,
//! its signed result, the journal and the overdue tasks, and the office
//! channel. Every call but Login needs `authorization: Bearer <token>`.

use crate::engine::{Action, Actor, Workstation};
use crate::error::{ApiCode, ApiError};
use crate::staff::Employee;
use crate::{office, sessions, views};
use egov_bus::Bus;
use egov_bus::envelope::{from_timestamp, timestamp};
use egov_proto::workstation::{self as pb, act_request, workstation_server};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct WorkstationApi {
    pub workstation: Arc<Workstation>,
    pub bus: Bus,
}

impl WorkstationApi {
    async fn employee<T>(&self, request: &Request<T>) -> Result<Employee, ApiError> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ApiCode::NoSession,
                    "log in and send `authorization: Bearer <token>`",
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    ApiCode::NoSession,
                    "the authorization is not `Bearer <token>`",
                )
            })?;
        sessions::authenticate(&self.workstation.pool, token.trim()).await
    }
}

fn action(request: &pb::ActRequest) -> Result<Action, ApiError> {
    use act_request::Action as A;
    Ok(
        match request
            .action
            .clone()
            .ok_or_else(|| ApiError::missing("action"))?
        {
            A::Register(r) => Action::Register { note: r.note },
            A::Assign(a) => Action::Assign {
                specialist_login: a.specialist_login,
                resolution: a.resolution,
            },
            A::Approve(a) => Action::Approve {
                fields: a.fields,
                result_code: a.result_code,
            },
            A::Refuse(r) => Action::Refuse {
                grounds: r.grounds,
                reasons: r.reasons,
                missing_documents: r.missing_documents,
            },
            A::Sign(_) => Action::Sign,
            A::Issue(_) => Action::Issue,
        },
    )
}

#[tonic::async_trait]
impl workstation_server::Workstation for WorkstationApi {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let request = request.into_inner();
        if request.login.trim().is_empty() {
            return Err(ApiError::missing("login").into());
        }
        if request.password.is_empty() {
            return Err(ApiError::missing("password").into());
        }
        let (token, expires_at, employee) = sessions::login(
            &self.workstation.pool,
            request.login.trim(),
            &request.password,
            self.workstation.tuning.session_ttl,
        )
        .await?;
        tracing::info!(login = %employee.login, role = %employee.role, "An employee logged in.");
        Ok(Response::new(pb::LoginResponse {
            token,
            expires_at: Some(timestamp(expires_at)),
            employee: Some(employee.to_proto()),
        }))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let employee = self.employee(&request).await?;
        let tasks = views::tasks_for(&self.workstation.pool, &employee).await?;
        Ok(Response::new(pb::ListTasksResponse { tasks }))
    }

    async fn act(
        &self,
        request: Request<pb::ActRequest>,
    ) -> Result<Response<pb::ActResponse>, Status> {
        let employee = self.employee(&request).await?;
        let request = request.into_inner();
        if request.journal_number.trim().is_empty() {
            return Err(ApiError::missing("journal_number").into());
        }
        if request.position == 0 {
            return Err(ApiError::missing("position").into());
        }
        let action = action(&request)?;
        let ws = &self.workstation;
        let mut tx = ws.pool.begin().await.map_err(ApiError::from)?;
        let outgoing = ws
            .act(
                &mut tx,
                &request.journal_number,
                request.position,
                &Actor::employee(employee),
                action,
            )
            .await?;
        for message in &outgoing {
            self.bus.enqueue(&mut tx, message).await.map_err(|error| {
                tracing::error!(%error, "Could not put a message in the outbox.");
                ApiError::new(ApiCode::OutboxUnavailable, "the outbox failed; try again")
            })?;
        }
        tx.commit().await.map_err(ApiError::from)?;
        self.bus.wake_relay();
        let mut conn = ws.pool.acquire().await.map_err(ApiError::from)?;
        let application = views::application(&mut conn, &request.journal_number).await?;
        Ok(Response::new(pb::ActResponse {
            application: Some(application),
        }))
    }

    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::ApplicationView>, Status> {
        self.employee(&request).await?;
        let mut conn = self
            .workstation
            .pool
            .acquire()
            .await
            .map_err(ApiError::from)?;
        let view = views::application(&mut conn, &request.into_inner().journal_number).await?;
        Ok(Response::new(view))
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        self.employee(&request).await?;
        let mut conn = self
            .workstation
            .pool
            .acquire()
            .await
            .map_err(ApiError::from)?;
        let document = views::document(&mut conn, &request.into_inner().journal_number).await?;
        Ok(Response::new(document))
    }

    async fn journal(
        &self,
        request: Request<pb::JournalRequest>,
    ) -> Result<Response<pb::JournalResponse>, Status> {
        self.employee(&request).await?;
        let entries = views::journal(&self.workstation.pool, request.into_inner().limit).await?;
        Ok(Response::new(pb::JournalResponse { entries }))
    }

    async fn list_overdue(
        &self,
        request: Request<pb::ListOverdueRequest>,
    ) -> Result<Response<pb::ListOverdueResponse>, Status> {
        self.employee(&request).await?;
        let as_of = match request.into_inner().as_of {
            Some(t) => from_timestamp(&t).ok_or_else(|| {
                ApiError::invalid(ApiCode::InvalidValue, "as_of", "not a valid timestamp")
            })?,
            None => chrono::Utc::now(),
        };
        let tasks = views::overdue(&self.workstation.pool, as_of).await?;
        Ok(Response::new(pb::ListOverdueResponse { tasks }))
    }

    async fn submit_office_application(
        &self,
        request: Request<pb::OfficeApplicationRequest>,
    ) -> Result<Response<pb::OfficeApplicationResponse>, Status> {
        let employee = self.employee(&request).await?;
        let response = office::submit(
            &self.workstation,
            &self.bus,
            &employee,
            request.into_inner(),
        )
        .await?;
        Ok(Response::new(response))
    }
}
