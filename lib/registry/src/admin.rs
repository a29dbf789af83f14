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
}

impl Code for AdminCode {
    const ALL: &'static [Self] = &[AdminCode::FaultModeMissing, AdminCode::InvalidFaultMode];

    fn as_str(self) -> &'static str {
        match self {
            AdminCode::FaultModeMissing => "fault_mode_missing",
            AdminCode::InvalidFaultMode => "invalid_fault_mode",
        }
    }

    fn grpc_code(self) -> tonic::Code {
        tonic::Code::InvalidArgument
    }
}

/// `egov.registry.v1.RegistryAdmin` over a registry's fault switch.
pub struct AdminApi {
    pub fault: Arc<FaultSwitch>,
}

impl AdminApi {
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
        let wire = request.into_inner().mode.ok_or_else(|| {
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
