//! The provider's employees at the workstation (its employees' API), and
//! what the gateway's own API tells about a conversation: every message of
//! an application, its delivery status, and whether its log verifies.

use crate::mesh::{Mesh, PATIENCE};
use egov_harness::authorized;
use egov_proto::envelope::DeliveryStatus;
use egov_proto::gateway::gateway_client::GatewayClient;
use egov_proto::gateway::{self as gw, TraceEntry};
use egov_proto::registry::registry_admin_client::RegistryAdminClient;
use egov_proto::registry::{FaultKind, FaultMode, SetFaultRequest};
use egov_proto::workstation::workstation_client::WorkstationClient;
use egov_proto::workstation::{self as ws};
use egov_trust::SystemId;
use tonic::transport::Channel;

/// The service of the provider's result message (gateway/routes.toml).
pub const RESULT_SERVICE: &str = "application-result";

impl Mesh {
    pub fn workstation(&self) -> WorkstationClient<Channel> {
        WorkstationClient::new(self.channel(SystemId::Workstation))
    }

    pub fn gateway(&self) -> GatewayClient<Channel> {
        GatewayClient::new(self.channel(SystemId::Gateway))
    }

    /// An employee logs in; the session's token.
    pub async fn employee(&self, login: &str) -> String {
        self.workstation()
            .login(ws::LoginRequest {
                login: login.into(),
                password: egov_harness::password(login),
            })
            .await
            .expect("the employee logs in")
            .into_inner()
            .token
    }

    /// The employees work the application through their API; the
    /// specialist refuses on `ground` (condition 3, process 7).
    pub async fn employees_refuse(&self, journal_number: &str, ground: &str, reason: &str) {
        egov_harness::employees_refuse(self.workstation(), journal_number, ground, reason).await;
    }

    /// A registry's fault mode through its admin API (what `egovctl fault
    /// <registry> down|none` does).
    pub async fn set_fault(&self, registry: SystemId, kind: FaultKind) {
        RegistryAdminClient::new(self.channel(registry))
            .set_fault(SetFaultRequest {
                credential: Some(self.registry_operator(registry)),
                mode: Some(FaultMode {
                    kind: kind as i32,
                    latency_ms: 0,
                    error_fraction: 0.0,
                }),
            })
            .await
            .unwrap_or_else(|e| panic!("{registry} takes fault mode {kind:?}: {e}"));
    }

    /// The workstation's journal, as its head reads it.
    pub async fn journal(&self) -> Vec<ws::JournalEntry> {
        let token = self.employee("head").await;
        self.workstation()
            .journal(authorized(&token, ws::JournalRequest { limit: 1000 }))
            .await
            .expect("the journal")
            .into_inner()
            .entries
    }

    /// The provider's journal holds `applications` entries, each with its
    /// own journal number.
    pub async fn assert_one_journal_entry_each(&self, applications: usize) {
        let journal = self.journal().await;
        let numbers: std::collections::BTreeSet<&str> =
            journal.iter().map(|e| e.journal_number.as_str()).collect();
        assert_eq!(
            (journal.len(), numbers.len()),
            (applications, applications),
            "one journal entry each: {journal:?}"
        );
    }

    /// Waits until the workstation's application `journal_number` is in
    /// `state` (as its head reads it).
    pub async fn wait_application(
        &self,
        journal_number: &str,
        state: ws::State,
    ) -> ws::ApplicationView {
        let token = self.employee("head").await;
        let what = format!("application {journal_number} at {state:?}");
        egov_testkit::wait::until(PATIENCE, &what, || async {
            let view = self
                .workstation()
                .get_application(authorized(
                    &token,
                    ws::GetApplicationRequest {
                        journal_number: journal_number.into(),
                    },
                ))
                .await
                .map_err(|e| e.to_string())?
                .into_inner();
            if view.state() == state {
                Ok(view)
            } else {
                Err(format!("{:?}", view.state()))
            }
        })
        .await
    }

    /// The gateway's record of one conversation (an application's
    /// reference): its messages in the order logged, with their statuses.
    pub async fn trace(&self, conversation: &str) -> Result<Vec<TraceEntry>, tonic::Status> {
        self.gateway()
            .trace(gw::TraceRequest {
                conversation_id: conversation.into(),
                credential: Some(self.operator_read()),
                ..Default::default()
            })
            .await
            .map(|r| r.into_inner().entries)
    }

    /// [`Mesh::trace`], once every message in it has a final status.
    pub async fn settled_trace(&self, conversation: &str) -> Vec<TraceEntry> {
        let what = format!("every message of {conversation} settled at the gateway");
        egov_testkit::wait::until(PATIENCE, &what, || async {
            let entries = self.trace(conversation).await.map_err(|e| e.to_string())?;
            let open: Vec<String> = entries
                .iter()
                .filter(|e| e.verdict == "accepted")
                .filter(|e| {
                    matches!(
                        e.status(),
                        DeliveryStatus::Queued
                            | DeliveryStatus::Delivered
                            | DeliveryStatus::Retrying
                            | DeliveryStatus::Unspecified
                    )
                })
                .map(|e| format!("{} {} {:?}", e.service, e.message_id, e.status()))
                .collect();
            if open.is_empty() && !entries.is_empty() {
                Ok(entries)
            } else {
                Err(format!("open: {open:?}"))
            }
        })
        .await
    }

    /// The gateway's hash-chained log, recomputed by the gateway.
    pub async fn verify_log(&self) -> gw::VerifyLogResponse {
        self.gateway()
            .verify_log(gw::VerifyLogRequest {
                credential: Some(self.operator_read()),
                ..Default::default()
            })
            .await
            .expect("VerifyLog")
            .into_inner()
    }
}

/// One application's conversation at the gateway, once settled: it went to
/// the provider once, exactly one result came back, every message accepted
/// once and processed by its receiver.
pub fn assert_one_result(conversation: &str, entries: &[TraceEntry], to: SystemId) {
    let accepted: Vec<&TraceEntry> = entries.iter().filter(|e| e.verdict == "accepted").collect();
    let mut ids: Vec<&str> = accepted.iter().map(|e| e.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        accepted.len(),
        "{conversation}: a message accepted twice: {entries:#?}"
    );
    let submitted = accepted
        .iter()
        .filter(|e| e.service == "submit-application" && e.receiver == "workstation")
        .count();
    assert_eq!(submitted, 1, "{conversation}: sent once: {entries:#?}");
    let results: Vec<&&TraceEntry> = accepted
        .iter()
        .filter(|e| e.service == RESULT_SERVICE)
        .collect();
    assert_eq!(results.len(), 1, "{conversation}: one result: {entries:#?}");
    assert_eq!(results[0].receiver, to.as_str(), "{conversation}");
    // The application's own messages were each processed by their
    // receiver (look-ups in the same conversation may have expired).
    for entry in accepted.iter().filter(|e| {
        ["submit-application", "application-status", RESULT_SERVICE].contains(&e.service.as_str())
    }) {
        assert_eq!(
            entry.status(),
            DeliveryStatus::Processed,
            "{conversation}: {entry:?}"
        );
    }
}
