//! The state shared by the bus handle ([`crate::Bus`]), its consumers and
//! its relay. It depends on none of them: they all depend on it.

use crate::calls::WaitingCalls;
use crate::connection::Connector;
use crate::envelope::Opened;
use crate::error::{BusError, CallError};
use crate::names::{Address, Names};
use crate::receipts::ReceiptQueue;
use crate::settings::BusSettings;
use egov_proto::envelope::{DeliveryStatus, StatusChange, StatusReport};
use egov_trust::{Identity, TrustStore};
use lapin::BasicProperties;
use std::sync::{Arc, OnceLock};
use tokio::sync::{Notify, broadcast, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) struct Shared {
    pub(crate) settings: BusSettings,
    pub(crate) names: Names,
    pub(crate) identity: Arc<Identity>,
    pub(crate) trust: Arc<TrustStore>,
    /// This process's reply address (the suffix of its reply queue).
    pub(crate) instance: String,
    /// Set once at start, right after the connector is built (its hooks
    /// hold this state).
    pub(crate) connector: OnceLock<Connector>,
    pub(crate) calls: WaitingCalls,
    pub(crate) statuses: broadcast::Sender<StatusChange>,
    /// Receipts not yet sent to the gateway (processed ones live in the
    /// database until sent).
    pub(crate) receipts: ReceiptQueue,
    pub(crate) wake_relay: Notify,
    /// Whether the inbox consumer should be consuming (fault mode `down`
    /// switches it off).
    pub(crate) consuming: watch::Sender<bool>,
    /// Cancelled when shutdown begins: consumers stop taking messages.
    pub(crate) stopping: CancellationToken,
    /// In-flight handler tasks, awaited on shutdown.
    pub(crate) in_flight: TaskTracker,
    pub(crate) pool: Option<sqlx::PgPool>,
    pub(crate) metrics: crate::metrics::InboxMetrics,
}

impl Shared {
    pub(crate) fn connector(&self) -> &Connector {
        self.connector.get().expect("set at start")
    }

    pub(crate) fn stopping(&self) -> &CancellationToken {
        &self.stopping
    }

    pub(crate) fn pool(&self) -> Option<&sqlx::PgPool> {
        self.pool.as_ref()
    }

    /// Whether shutdown has begun and every in-flight handler has finished.
    pub(crate) fn drained(&self) -> bool {
        self.stopping.is_cancelled() && self.in_flight.is_closed() && self.in_flight.is_empty()
    }

    pub(crate) fn relay_wakeup(&self) {
        self.wake_relay.notify_one();
    }

    pub(crate) async fn relay_woken(&self) {
        self.wake_relay.notified().await
    }

    /// Queues a receipt for the gateway (sent within `receipt_flush`).
    pub(crate) fn queue_receipt(&self, receipt: StatusChange) {
        self.receipts.push(receipt);
        self.relay_wakeup();
    }

    /// Queues a receipt that goes with the relay's next flush (the next
    /// commit's, or the sweep's) instead of one of its own: for answers a
    /// waiting caller already holds, whose receipt only settles the record.
    pub(crate) fn queue_receipt_lazily(&self, receipt: StatusChange) {
        self.receipts.push(receipt);
    }

    /// A status report from the gateway: tell subscribers, and fail any call
    /// whose request was refused.
    pub(crate) fn take_status_report(&self, opened: &Opened) {
        let Ok(report) = opened.decode::<StatusReport>() else {
            tracing::warn!("A status report that does not decode.");
            return;
        };
        for change in report.changes {
            let status =
                DeliveryStatus::try_from(change.status).unwrap_or(DeliveryStatus::Unspecified);
            if matches!(
                status,
                DeliveryStatus::Rejected | DeliveryStatus::Expired | DeliveryStatus::DeadLettered
            ) && let Some(waiting) = self.calls.remove(&change.message_id)
            {
                let _ = waiting.answer.send(Err(CallError::Refused {
                    code: change.code.clone(),
                    detail: change.detail.clone(),
                }));
            }
            let _ = self.statuses.send(change);
        }
    }

    /// Publishes to `to`, waiting for a connection and retrying after a
    /// connection failure, for at most `publish_timeout`.
    pub(crate) async fn publish_to(
        &self,
        to: &Address,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BusError> {
        let limit = self.settings.publish_timeout;
        let started = tokio::time::Instant::now();
        loop {
            let left = limit.saturating_sub(started.elapsed());
            let session = self
                .connector()
                .session(left)
                .await
                .map_err(|_| BusError::Unavailable(limit))?;
            match tokio::time::timeout(
                left,
                session.publisher.publish(to, body, properties.clone()),
            )
            .await
            {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error)) if error.is_connection_failure() => {
                    tracing::warn!(%error, %to, "Publishing failed on a broken connection; retrying on a new one.");
                    self.connector().report_broken(&session);
                }
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => return Err(BusError::Unavailable(limit)),
            }
        }
    }
}
