//! The admin API, `egov.registry.v1.RegistryAdmin`: sets and reads a
//! registry's fault mode (`egovctl fault`). Its errors carry their code in
//! the message and in `google.rpc.ErrorInfo` (domain "<system>.egov-mesh").

use crate::fault::{FaultMode, FaultSwitch};
use egov_proto::registry::registry_admin_server::RegistryAdmin;
use egov_proto::registry::{FaultState, GetFaultRequest, SetFaultRequest};
use egov_runtime::refusal::{Code, Refusal};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The admin API's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCode {
    /// SetFault without a mode.
    FaultModeMissing,
    /// A mode out of range (an error share above 1, say, or no kind).
    InvalidFaultMode,
    /// SetFault: no operator's credential (issue 14 point 2: only an
    /// operator switches a registry's faults).
    CredentialRefused,
}

impl Code for AdminCode {
    const ALL: &'static [Self] = &[
        AdminCode::FaultModeMissing,
        AdminCode::InvalidFaultMode,
        AdminCode::CredentialRefused,
    ];

    fn as_str(self) -> &'static str {
        match self {
            AdminCode::FaultModeMissing => "fault_mode_missing",
            AdminCode::InvalidFaultMode => "invalid_fault_mode",
            AdminCode::CredentialRefused => "credential_refused",
        }
    }

    fn grpc_code(self) -> tonic::Code {
        match self {
            AdminCode::CredentialRefused => tonic::Code::Unauthenticated,
            _ => tonic::Code::InvalidArgument,
        }
    }
}

/// `egov.registry.v1.RegistryAdmin` over a registry's fault switch.
pub struct AdminApi {
    pub fault: Arc<FaultSwitch>,
    /// Checks operators' credentials.
    pub trust: Arc<egov_trust::TrustStore>,
    /// This registry (a credential is addressed to it).
    pub system: egov_trust::SystemId,
}

/// The service an operator's credential carries.
pub const OPERATE_SERVICE: &str = "operate";

impl AdminApi {
    /// Whether `system` operates this registry: itself or the gateway.
    fn may_operate(&self, system: egov_trust::SystemId, by: &str) -> Result<(), String> {
        if system == self.system || system == egov_trust::SystemId::Gateway {
            Ok(())
        } else {
            Err(format!(
                "credential: {system}'s {by} is no operator of {}: use {}'s or the gateway's, or an operator's TLS certificate",
                self.system, self.system
            ))
        }
    }

    fn refused(&self, code: AdminCode, message: impl Into<String>) -> Status {
        let domain = format!("{}.egov-mesh", self.fault.system());
        Refusal::new(code, message).field("mode").to_status(&domain)
    }
}

#[tonic::async_trait]
impl RegistryAdmin for AdminApi {
    async fn set_fault(
        &self,
        request: Request<SetFaultRequest>,
    ) -> Result<Response<FaultState>, Status> {
        let peer = egov_runtime::tls::peer_identity(&request).cloned();
        let request = request.into_inner();
        // An operator: on a mutual-TLS port, the client certificate of an
        // operator, of this registry or of the gateway; else a credential
        // signed with this registry's key or the gateway's (the mesh's
        // operator).
        let operator = match peer {
            Some(peer) if peer.operator().is_some() => Ok(()),
            Some(peer) => match peer.system() {
                Some(system) => self.may_operate(system, "TLS certificate"),
                None => Err(format!(
                    "credential: the TLS certificate of {} is no operator's",
                    peer.subject()
                )),
            },
            None => egov_bus::envelope::verify_credential(
                &self.trust,
                request.credential,
                self.system,
                OPERATE_SERVICE,
                std::time::Duration::from_secs(300),
                None,
            )
            .await
            .map_err(|e| e.to_string())
            .and_then(|system| self.may_operate(system, "credential")),
        };
        if let Err(why) = operator {
            let domain = format!("{}.egov-mesh", self.fault.system());
            return Err(Refusal::new(AdminCode::CredentialRefused, why)
                .field("credential")
                .to_status(&domain));
        }
        let wire = request.mode.ok_or_else(|| {
            self.refused(
                AdminCode::FaultModeMissing,
                "SetFaultRequest.mode is required",
            )
        })?;
        let mode = FaultMode::try_from(&wire)
            .map_err(|error| self.refused(AdminCode::InvalidFaultMode, error.to_string()))?;
        self.fault
            .set(mode)
            .map_err(|error| self.refused(AdminCode::InvalidFaultMode, error.to_string()))?;
        Ok(Response::new(self.fault.state()))
    }

    async fn get_fault(&self, _: Request<GetFaultRequest>) -> Result<Response<FaultState>, Status> {
        Ok(Response::new(self.fault.state()))
    }
}
