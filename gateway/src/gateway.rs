//! The state every part of the gateway shares, and the status changes it
//! records itself.

use crate::bridge::Bridge;
use crate::metrics::Metrics;
use crate::notify::{Notice, Notifier};
use crate::routes::RoutingTable;
use crate::settings::Tuning;
use crate::store::{self, Applied, Change};
use crate::verify::Verifier;
use egov_bus::Names;
use egov_bus::connection::Connector;
use egov_proto::envelope::{DeliveryStatus, StatusChange};
use egov_trust::{Identity, SystemId, TrustStore};
use std::sync::Arc;
use std::time::Duration;

pub struct Gateway {
    pub tuning: Tuning,
    pub names: Names,
    pub identity: Arc<Identity>,
    pub trust: Arc<TrustStore>,
    pub routes: Arc<RoutingTable>,
    pub pool: sqlx::PgPool,
    pub connector: Connector,
    pub notifier: Notifier,
    pub bridge: Bridge,
    /// Delays between attempts to deliver into a receiver's queue.
    pub retry_delays: Vec<Duration>,
    pub publish_timeout: Duration,
    /// Ingress messages worked on at once.
    pub prefetch: u16,
    pub metrics: Metrics,
    /// Each sender's rate (`gateway.rate_limit_per_second`); none: no limit.
    pub limiter: Option<egov_runtime::limit::RateLimiter<SystemId>>,
}

impl Gateway {
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier {
            trust: &self.trust,
            routes: &self.routes,
            max_envelope_bytes: self.tuning.max_envelope_bytes,
            max_clock_skew: self.tuning.max_clock_skew,
        }
    }

    /// Records one status change made by the gateway itself (expired in a
    /// queue, delivery retried or dead-lettered) and tells the sender.
    pub async fn record_change(&self, change: Change) -> bool {
        self.record_changes(vec![change]).await
    }

    /// Records status changes made by the gateway itself, all of one
    /// status, in one transaction, and tells each sender.
    pub async fn record_changes(&self, changes: Vec<Change>) -> bool {
        let Some(status) = changes.first().map(|c| c.status) else {
            return true;
        };
        let result = async {
            let mut tx = self.pool.begin().await?;
            let applied = store::apply(&mut tx, &changes).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(applied)
        }
        .await;
        match result {
            Ok(applied) => {
                // Counted as they took effect (a change behind the message's
                // status, which the lifecycle ignores, is not counted).
                let count = applied.len() as u64;
                match status {
                    DeliveryStatus::Retrying => self.metrics.retried.inc_by(count),
                    DeliveryStatus::DeadLettered => self.metrics.dead_lettered.inc_by(count),
                    DeliveryStatus::Expired => self.metrics.expired.inc_by(count),
                    _ => 0,
                };
                for change in applied {
                    self.notify_applied(&change);
                }
                true
            }
            Err(error) => {
                tracing::error!(%error, "Could not record a status change.");
                false
            }
        }
    }

    /// Reports again the final statuses whose report the broker never
    /// confirmed (lost with a broker drop or a gateway crash), every
    /// `status_resend` until stopped.
    pub async fn resend_unreported(&self, stopping: tokio_util::sync::CancellationToken) {
        let every = self.tuning.status_resend;
        loop {
            tokio::select! {
                _ = stopping.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            match store::unreported(&self.pool, every, 1000).await {
                Ok(rows) => {
                    if !rows.is_empty() {
                        tracing::info!(count = rows.len(), "Reporting final statuses again.");
                    }
                    for applied in rows {
                        self.notify_applied(&applied);
                    }
                }
                Err(error) => tracing::debug!(%error, "Cannot look for unreported statuses now."),
            }
        }
    }

    /// Settles the messages whose deadline passed `deadline_grace` ago
    /// with nobody saying what became of them (a receiver that took a
    /// look-up and never answered, an answer lost): EXPIRED, and the sender
    /// told. Every second until stopped. An answer that still comes later
    /// moves the request on to PROCESSED (a receiver's verdict outranks
    /// expiry), so nothing true is overwritten.
    pub async fn expire_overdue(&self, stopping: tokio_util::sync::CancellationToken) {
        const EVERY: Duration = Duration::from_secs(1);
        const PAGE: i64 = 1000;
        // The first sweep looks at the whole past (what a crashed gateway
        // left); later ones start where the previous one ended.
        let mut from = None;
        loop {
            tokio::select! {
                _ = stopping.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
            let grace = chrono::Duration::from_std(self.tuning.deadline_grace).unwrap_or_default();
            let until = chrono::Utc::now() - grace;
            let overdue = match store::overdue(&self.pool, from, until, PAGE).await {
                Ok(overdue) => overdue,
                Err(error) => {
                    tracing::debug!(%error, "Cannot look for overdue messages now.");
                    continue;
                }
            };
            let full_page = overdue.len() as i64 == PAGE;
            let changes: Vec<Change> = overdue
                .iter()
                .map(|(id, deadline)| Change {
                    message_id: *id,
                    status: DeliveryStatus::Expired,
                    at: chrono::Utc::now(),
                    code: "message_expired".into(),
                    detail: format!(
                        "no answer and no receipt by its deadline ({}): the receiver took it and said nothing",
                        deadline.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ),
                    attempt: 1,
                    reported_by: None,
                })
                .collect();
            if !changes.is_empty() {
                tracing::warn!(
                    count = changes.len(),
                    "Messages past their deadline with no word from their receivers: marked expired."
                );
                if !self.record_changes(changes).await {
                    continue;
                }
            }
            // A full page may have more behind it with the same deadline:
            // start there next time (the settled ones no longer match).
            from = match (full_page, overdue.last()) {
                (true, Some((_, deadline))) => Some(*deadline),
                _ => Some(until),
            };
        }
    }

    /// Tells a sender about a change: an asynchronous message's sender in its
    /// inbox; a waiting caller only of failures, on its reply queue.
    pub fn notify_applied(&self, applied: &Applied) {
        let Some(sender) = SystemId::parse(&applied.sender) else {
            return;
        };
        let status = applied.change.status;
        // A waiting caller hears only what no answer will tell it: a
        // receiver's refusal (REJECTED) comes as the answer itself.
        let lost = matches!(
            status,
            DeliveryStatus::Expired | DeliveryStatus::DeadLettered
        );
        let queue = match &applied.reply_queue {
            Some(queue) if lost => queue.clone(),
            Some(_) => return,
            None if applied.notify_sender => self.names.inbox(sender),
            None => return,
        };
        let change = &applied.change;
        self.notifier.notify(Notice {
            queue,
            sender,
            change: StatusChange {
                message_id: change.message_id.to_string(),
                status: status as i32,
                at: Some(egov_bus::envelope::timestamp(change.at)),
                code: change.code.clone(),
                detail: change.detail.clone(),
                attempt: change.attempt.max(1) as u32,
                receiver: applied.receiver.clone(),
                service: applied.service.clone(),
                conversation_id: applied.conversation_id.clone(),
                correlation_id: applied.correlation_id.clone(),
            },
        });
    }
}
