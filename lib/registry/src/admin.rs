//! The admin API, `egov.registry.v1.RegistryAdmin`: sets and reads a
//! registry's fault mode (`egovctl fault`).

use crate::fault::{FaultMode, FaultSwitch};
use egov_proto::registry::registry_admin_server::RegistryAdmin;
use egov_proto::registry::{FaultState, GetFaultRequest, SetFaultRequest};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// `egov.registry.v1.RegistryAdmin` over a registry's fault switch.
pub struct AdminApi {
    pub fault: Arc<FaultSwitch>,
}

#[tonic::async_trait]
impl RegistryAdmin for AdminApi {
    async fn set_fault(
        &self,
        request: Request<SetFaultRequest>,
    ) -> Result<Response<FaultState>, Status> {
        let wire = request.into_inner().mode.ok_or_else(|| {
            Status::invalid_argument("fault_mode_missing: SetFaultRequest.mode is required")
        })?;
        let mode = FaultMode::try_from(&wire)
            .map_err(|error| Status::invalid_argument(format!("invalid_fault_mode: {error}")))?;
        self.fault
            .set(mode)
            .map_err(|error| Status::invalid_argument(format!("invalid_fault_mode: {error}")))?;
        Ok(Response::new(self.fault.state()))
    }

    async fn get_fault(&self, _: Request<GetFaultRequest>) -> Result<Response<FaultState>, Status> {
        Ok(Response::new(self.fault.state()))
    }
}
