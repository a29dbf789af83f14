//! What both registries add to the one service runner
//! (`egov_runtime::service::Runner`): the admin API, health that also
//! follows the fault mode, and the inbox paused while the mode is `down`.
//!
//! A registry answers only through the gateway: look-ups arrive in its inbox
//! (synchronous requests, DESIGN.md "The gateway over RabbitMQ") and are
//! answered there. Its gRPC port serves the admin API, health and
//! reflection, nothing else.
//!
//! The fault mode acts in two places (issue 3, item 4): the inbox's fault
//! gate ([`crate::lookup::admit`]), and here: while the mode is `down` the
//! inbox consumer is paused (asynchronous messages wait in the queue,
//! synchronous calls expire there) and health is NOT_SERVING.

use crate::admin::AdminApi;
use crate::fault::{FaultMode, FaultSwitch};
use anyhow::Context as _;
use egov_bus::Bus;
use egov_proto::registry::registry_admin_server::RegistryAdminServer;
use egov_runtime::service::Runner;
use egov_runtime::trust::TrustSettings;
use egov_trust::{Identity, SystemId, TrustStore};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The registry's identity and the mesh's trust store, checked to be
/// `system`'s.
pub fn identity(
    settings: &TrustSettings,
    system: SystemId,
) -> anyhow::Result<(Arc<Identity>, Arc<TrustStore>)> {
    let (identity, trust) = settings
        .load()
        .with_context(|| format!("loading the {system} registry's identity"))?;
    anyhow::ensure!(
        identity.system == system,
        "trust.certificate names {}, not {system}",
        identity.system
    );
    Ok((identity, trust))
}

/// Serves the admin API on `runner`, with health SERVING only while the
/// broker is connected, the database answers and the mode is not `down`;
/// and pauses the inbox while it is `down`.
pub fn serve(runner: &mut Runner, bus: &Bus, pool: &sqlx::PgPool, fault: &Arc<FaultSwitch>) {
    runner
        .serve(RegistryAdminServer::new(AdminApi {
            fault: fault.clone(),
        }))
        .probe_database(pool);
    let broker = bus.clone();
    runner.probe("broker", move || {
        let connected = broker.is_connected();
        async move { connected }
    });
    let mode = fault.clone();
    runner.probe("fault mode not down", move || {
        let up = mode.get() != FaultMode::Down;
        async move { up }
    });
    let (bus, fault) = (bus.clone(), fault.clone());
    runner.task(move |stop| follow_the_fault_mode(bus, fault, stop));
}

/// `down` pauses the inbox consumer (messages wait in the queue); any other
/// mode resumes it.
async fn follow_the_fault_mode(bus: Bus, fault: Arc<FaultSwitch>, stop: CancellationToken) {
    let mut modes = fault.subscribe();
    let mut paused = None;
    loop {
        let mode = *modes.borrow_and_update();
        let down = mode == FaultMode::Down;
        if paused != Some(down) {
            if down {
                bus.pause_inbox();
                tracing::warn!(
                    system = fault.system(),
                    "Fault mode down: stopped consuming the inbox."
                );
            } else {
                bus.resume_inbox();
                if paused == Some(true) {
                    tracing::info!(system = fault.system(), %mode, "Consuming the inbox again.");
                }
            }
            paused = Some(down);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = modes.changed() => if changed.is_err() { return },
        }
    }
}
