//! The gateway's metrics (`egov_gateway_…`, Prometheus through the runner's
//! registry): messages accepted by route, refused by code, delivered,
//! retried, dead-lettered and expired; verification and log-write latency;
//! log batch sizes; queue depths. An operator also reads the counters in
//! the periodic log line and at shutdown.

use crate::verify::{Code, RejectCode};
use egov_bus::Names;
use egov_runtime::metrics::{
    Counter, Family, Gauge, Histogram, Registry, exponential_buckets, latency_histogram,
};
use egov_trust::SystemId;
use prometheus_client::encoding::EncodeLabelSet;
use std::time::Duration;

/// How often the queue depths are read (a passive declare per queue).
pub const DEPTHS_EVERY: Duration = Duration::from_secs(5);

/// A route: who sent what to whom.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub sender: String,
    pub receiver: String,
    pub service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ByCode {
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ByQueue {
    /// The queue's name without the namespace ("gateway.ingress",
    /// "inbox.workstation", "dead.portal").
    pub queue: String,
}

#[derive(Clone)]
pub struct Metrics {
    /// Accepted (logged as accepted), by route; a refused message's claimed
    /// route is not trusted, so refusals count by code only.
    pub accepted: Family<Route, Counter>,
    accepted_all: Counter,
    refused: Family<ByCode, Counter>,
    pub delivered: Counter,
    pub retried: Counter,
    pub dead_lettered: Counter,
    pub expired: Counter,
    pub verify_seconds: Histogram,
    pub log_write_seconds: Histogram,
    pub log_batch_size: Histogram,
    pub queue_depth: Family<ByQueue, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            accepted: Family::default(),
            accepted_all: Counter::default(),
            refused: Family::default(),
            delivered: Counter::default(),
            retried: Counter::default(),
            dead_lettered: Counter::default(),
            expired: Counter::default(),
            verify_seconds: latency_histogram(),
            log_write_seconds: latency_histogram(),
            log_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            queue_depth: Family::default(),
        }
    }
}

impl Metrics {
    pub fn register(&self, registry: &mut Registry) {
        let registry = registry.sub_registry_with_prefix("gateway");
        registry.register(
            "messages_accepted",
            "Messages accepted and logged, by route (sender, receiver, service)",
            self.accepted.clone(),
        );
        registry.register(
            "messages_refused",
            "Messages refused, by code (the stable refusal code a sender is told)",
            self.refused.clone(),
        );
        registry.register(
            "messages_delivered",
            "Accepted messages confirmed in their receiver's queue",
            self.delivered.clone(),
        );
        registry.register(
            "messages_retried",
            "Deliveries retried (RETRYING status changes recorded by the gateway)",
            self.retried.clone(),
        );
        registry.register(
            "messages_dead_lettered",
            "Messages dead-lettered (DEAD_LETTERED status changes recorded by the gateway)",
            self.dead_lettered.clone(),
        );
        registry.register(
            "messages_expired",
            "Messages expired in a queue (EXPIRED status changes recorded by the gateway)",
            self.expired.clone(),
        );
        registry.register(
            "verify_seconds",
            "Time to verify one message (size, envelope, certificate, signature, route)",
            self.verify_seconds.clone(),
        );
        registry.register(
            "log_write_seconds",
            "Time to write one batch to the hash-chained message log (one statement)",
            self.log_write_seconds.clone(),
        );
        registry.register(
            "log_batch_size",
            "Messages per batch written to the message log",
            self.log_batch_size.clone(),
        );
        registry.register(
            "queue_depth",
            "Messages waiting in a queue of the mesh, read every 5 s by a passive declare",
            self.queue_depth.clone(),
        );
    }

    pub fn accepted(&self, sender: SystemId, receiver: SystemId, service: &str) {
        self.accepted
            .get_or_create(&Route {
                sender: sender.to_string(),
                receiver: receiver.to_string(),
                service: service.to_owned(),
            })
            .inc();
        self.accepted_all.inc();
    }

    pub fn refused(&self, code: RejectCode) {
        self.refused
            .get_or_create(&ByCode {
                code: code.as_str(),
            })
            .inc();
    }

    pub fn log(&self) {
        let refused: Vec<(&str, u64)> = RejectCode::ALL
            .iter()
            .filter_map(|code| {
                let count = self
                    .refused
                    .get(&ByCode {
                        code: code.as_str(),
                    })?
                    .get();
                Some((code.as_str(), count))
            })
            .collect();
        tracing::info!(
            accepted = self.accepted_all.get(),
            delivered = self.delivered.get(),
            retried = self.retried.get(),
            dead_lettered = self.dead_lettered.get(),
            expired = self.expired.get(),
            refused = ?refused,
            "Gateway counters."
        );
    }

    /// The queues whose depth is read: the gateway's ingress and dead
    /// letters, each system's inbox and dead letters.
    pub fn depth_queues(names: &Names) -> Vec<String> {
        let mut queues = vec![names.ingress(), names.gateway_dead()];
        for system in SystemId::ALL {
            if system != SystemId::Gateway {
                queues.push(names.inbox(system));
                queues.push(names.dead(system));
            }
        }
        queues
    }

    /// Reads each queue's depth with a passive declare (a missing queue is
    /// skipped; the channel it closed is opened again). On a connection of
    /// its own: the broker's refusal of a missing queue ended the shared
    /// connection's session, so the gateway reconnected every 5 s while a
    /// system had not declared its queues yet, and messages in flight on it
    /// were left QUEUED.
    pub async fn read_depths(&self, connection: &lapin::Connection, names: &Names) {
        let prefix = format!("{}.", names.namespace());
        let mut channel = None;
        for queue in Metrics::depth_queues(names) {
            if channel.is_none() {
                channel = connection.create_channel().await.ok();
            }
            let Some(open) = &channel else { return };
            let declared = open
                .queue_declare(
                    queue.as_str().into(),
                    lapin::options::QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    Default::default(),
                )
                .await;
            match declared {
                Ok(declared) => {
                    let label = queue.strip_prefix(&prefix).unwrap_or(&queue).to_owned();
                    self.queue_depth
                        .get_or_create(&ByQueue { queue: label })
                        .set(i64::from(declared.message_count()));
                }
                Err(_) => channel = None,
            }
        }
        if let Some(channel) = channel {
            let _ = channel.close(200, "depths read".into()).await;
        }
    }
}
