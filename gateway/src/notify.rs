//! Status messages to senders: every change of a message's delivery status
//! is reported to its sender, gathered for a few milliseconds per
//! destination into one signed StatusReport, so status traffic does not
//! multiply the message count. A final status is marked reported once the
//! broker confirms its report; one lost with a broker drop or a crash is
//! sent again by the gateway's sweep (`Gateway::resend_unreported`).

use egov_bus::Outgoing;
use egov_bus::amqp;
use egov_bus::connection::Connector;
use egov_bus::envelope;
use egov_bus::names::Address;
use egov_bus::publisher;
use egov_proto::envelope::{DeliveryStatus, Kind, StatusChange, StatusReport};
use egov_proto::prost::Message;
use egov_trust::{Identity, SystemId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One change, for one sender, to one queue (its inbox, or the reply
/// queue of a waiting caller).
#[derive(Debug)]
pub struct Notice {
    pub queue: String,
    pub sender: SystemId,
    pub change: StatusChange,
}

#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Notice>,
    stop: tokio_util::sync::CancellationToken,
}

const MAX_PER_REPORT: usize = 1000;

impl Notifier {
    pub fn start(
        identity: Arc<Identity>,
        connector: Connector,
        pool: sqlx::PgPool,
        flush: Duration,
        publish_timeout: Duration,
    ) -> (Notifier, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(run(
            rx,
            stop.clone(),
            identity,
            connector,
            pool,
            flush,
            publish_timeout,
        ));
        (Notifier { tx, stop }, task)
    }

    pub fn notify(&self, notice: Notice) {
        let _ = self.tx.send(notice);
    }

    /// Sends what is queued, then ends the notifier's task (at shutdown).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

/// The final statuses in a report, to be marked reported once confirmed.
fn finals(changes: &[StatusChange]) -> Vec<(uuid::Uuid, DeliveryStatus)> {
    changes
        .iter()
        .filter_map(|c| {
            let status = DeliveryStatus::try_from(c.status).ok()?;
            let last = matches!(
                status,
                DeliveryStatus::Processed
                    | DeliveryStatus::Rejected
                    | DeliveryStatus::Expired
                    | DeliveryStatus::DeadLettered
            );
            Some((c.message_id.parse().ok()?, status)).filter(|_| last)
        })
        .collect()
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Notice>,
    stop: tokio_util::sync::CancellationToken,
    identity: Arc<Identity>,
    connector: Connector,
    pool: sqlx::PgPool,
    flush: Duration,
    publish_timeout: Duration,
) {
    loop {
        let next = tokio::select! {
            next = rx.recv() => next,
            _ = stop.cancelled() => {
                // No more notices; what was queued is still received.
                rx.close();
                rx.recv().await
            }
        };
        let Some(first) = next else { break };
        let mut batch = vec![first];
        let until = tokio::time::Instant::now() + flush;
        while batch.len() < MAX_PER_REPORT * 4 {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(notice)) => batch.push(notice),
                _ => break,
            }
        }
        let mut by_queue: HashMap<(String, SystemId), Vec<StatusChange>> = HashMap::new();
        for notice in batch {
            by_queue
                .entry((notice.queue, notice.sender))
                .or_default()
                .push(notice.change);
        }
        let Ok(session) = connector.session(publish_timeout).await else {
            tracing::warn!(
                "No broker connection; status notices dropped (GetStatus still answers)."
            );
            continue;
        };
        let mut confirms = Vec::new();
        for ((queue, sender), changes) in by_queue {
            for chunk in changes.chunks(MAX_PER_REPORT) {
                let report = StatusReport {
                    changes: chunk.to_vec(),
                };
                let message = Outgoing::raw(
                    sender,
                    "delivery-status",
                    Kind::DeliveryStatus,
                    report.encode_to_vec(),
                );
                let header = message.header(SystemId::Gateway, chrono::Utc::now(), "");
                let properties = amqp::properties(&header, None, 1);
                let sealed = envelope::seal(&identity, header, message.payload);
                match session
                    .publisher
                    .start(
                        &Address::queue(queue.as_str()),
                        &sealed.encode_to_vec(),
                        properties,
                    )
                    .await
                {
                    Ok(confirm) => confirms.push((queue.clone(), confirm, finals(chunk))),
                    Err(error) => tracing::warn!(%error, queue, "Could not send a status report."),
                }
            }
        }
        let mut reported = Vec::new();
        for (queue, confirm, finals) in confirms {
            match publisher::finish(&Address::queue(queue.as_str()), confirm).await {
                Ok(()) => reported.extend(finals),
                // A caller's reply queue disappears when it stops waiting.
                Err(error) => tracing::debug!(%error, queue, "A status report was not delivered."),
            }
        }
        if let Err(error) = crate::store::mark_reported(&pool, &reported).await {
            tracing::warn!(%error, "Could not mark statuses reported; they will be reported again.");
        }
    }
}
