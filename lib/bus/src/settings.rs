//! The bus's settings (the `[bus]` section of every service's settings).

use crate::names::{BadNamespace, Names, QueueType};
use egov_runtime::settings::{FieldErrors, Validate, duration};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSettings {
    /// amqp://user:password@host:port/vhost — a secret: it never prints
    /// (`{:?}` shows it redacted); read it with `expose_secret()`.
    pub url: SecretString,
    /// Prefix of every queue name; several meshes share a broker by using
    /// different namespaces.
    pub namespace: String,
    /// Unacknowledged messages a consumer holds at once.
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    #[serde(with = "duration", default = "default_reconnect_min")]
    pub reconnect_min: Duration,
    #[serde(with = "duration", default = "default_reconnect_max")]
    pub reconnect_max: Duration,
    /// How long a publish may wait for a connection and the broker's confirm.
    #[serde(with = "duration", default = "default_publish_timeout")]
    pub publish_timeout: Duration,
    /// Delays before each retry of a message whose handler failed; after the
    /// last, the message is dead-lettered. Attempts = delays + 1.
    #[serde(
        deserialize_with = "duration::list::deserialize",
        default = "default_retry_delays"
    )]
    pub retry_delays: Vec<Duration>,
    /// Receipts to the gateway are batched for at most this long.
    #[serde(with = "duration", default = "default_receipt_flush")]
    pub receipt_flush: Duration,
    /// How often the outbox and pending receipts are swept (after a crash,
    /// nothing else would wake the relay).
    #[serde(with = "duration", default = "default_relay_sweep")]
    pub relay_sweep: Duration,
    /// `classic` or `quorum` (replicated; for a RabbitMQ cluster). Every
    /// party of a namespace must use the same; changing it for an existing
    /// namespace needs its queues deleted first (the broker refuses to
    /// redeclare a queue as another type).
    #[serde(default)]
    pub queue_type: QueueType,
}

fn default_prefetch() -> u16 {
    64
}
fn default_reconnect_min() -> Duration {
    Duration::from_millis(100)
}
fn default_reconnect_max() -> Duration {
    Duration::from_secs(10)
}
fn default_publish_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_retry_delays() -> Vec<Duration> {
    vec![
        Duration::from_secs(1),
        Duration::from_secs(10),
        Duration::from_secs(60),
    ]
}
fn default_receipt_flush() -> Duration {
    Duration::from_millis(20)
}
fn default_relay_sweep() -> Duration {
    Duration::from_secs(5)
}

impl BusSettings {
    /// Settings with defaults for everything but the broker and namespace.
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> BusSettings {
        BusSettings {
            url: SecretString::from(url.into()),
            namespace: namespace.into(),
            prefetch: default_prefetch(),
            reconnect_min: default_reconnect_min(),
            reconnect_max: default_reconnect_max(),
            publish_timeout: default_publish_timeout(),
            retry_delays: default_retry_delays(),
            receipt_flush: default_receipt_flush(),
            relay_sweep: default_relay_sweep(),
            queue_type: QueueType::default(),
        }
    }

    /// The namespace's names and queue type.
    pub fn names(&self) -> Result<Names, BadNamespace> {
        Ok(Names::new(&self.namespace)?.with_queue_type(self.queue_type))
    }
}

impl Validate for BusSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        errors.check(
            self.url.expose_secret().starts_with("amqp://")
                || self.url.expose_secret().starts_with("amqps://"),
            "bus.url",
            "must be an amqp:// URL",
        );
        if let Err(e) = crate::names::Names::new(&self.namespace) {
            errors.add("bus.namespace", e.to_string());
        }
        errors.check(self.prefetch > 0, "bus.prefetch", "must be at least 1");
        errors.check(
            self.reconnect_min <= self.reconnect_max && !self.reconnect_min.is_zero(),
            "bus.reconnect_min",
            "must be above zero and at most reconnect_max",
        );
        errors.check(
            self.retry_delays.iter().all(|d| !d.is_zero()),
            "bus.retry_delays",
            "every delay must be above zero",
        );
    }
}
