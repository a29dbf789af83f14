//! Every queue name of the mesh, under one namespace, so that several meshes
//! (parallel tests, say) share one broker without meeting.
//!
//! ```text
//! <ns>.gateway.ingress            senders publish envelopes here
//! <ns>.gateway.expired            receivers' inboxes dead-letter expired messages here
//! <ns>.gateway.retry.<ms>ms       the gateway's delayed redeliveries (back to ingress)
//! <ns>.gateway.dead               what the gateway could not deliver
//! <ns>.inbox.<system>             a system's incoming messages
//! <ns>.retry.<system>.<ms>ms      a system's delayed retries (back to its inbox)
//! <ns>.dead.<system>              a system's dead letters
//! <ns>.reply.<system>.<instance>  one running instance's answers to its calls
//!
//! <ns>.system.<system>            a system's own exchange (direct): the only
//!                                 place it may publish (least privilege)
//! ```
//!
//! A system publishes only through its own exchange: key `ingress` is bound
//! (by the gateway) to the gateway's ingress, key `expired` to the gateway's
//! expired queue (its inbox dead-letters there), and its own retry and
//! dead-letter queues and inbox are bound under their queue names (by the
//! system). Only the gateway publishes through the default exchange, straight
//! into inboxes and reply queues, so broker permissions can keep every other
//! system out of every queue but its own ([`crate::permissions`]).

use egov_trust::SystemId;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    namespace: String,
    queue_type: QueueType,
}

/// The type of the namespace's durable queues. Every party of a namespace
/// declares the same queues, so all must use the same type; reply queues
/// (exclusive, gone with their connection) are always classic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueType {
    /// A queue on one node (the broker's default).
    #[default]
    Classic,
    /// A replicated Raft queue: survives the loss of a minority of a
    /// cluster's nodes, and runs on a single node too.
    Quorum,
}

/// Where a publish goes: an exchange and a routing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub exchange: String,
    pub routing_key: String,
}

impl Address {
    /// Straight into `queue` through the default exchange (the gateway's
    /// and operators' way; a system's broker user may not).
    pub fn queue(queue: impl Into<String>) -> Address {
        Address {
            exchange: String::new(),
            routing_key: queue.into(),
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.exchange.is_empty() {
            write!(f, "queue {}", self.routing_key)
        } else {
            write!(f, "exchange {} key {}", self.exchange, self.routing_key)
        }
    }
}

/// The routing key of a system's exchange bound to the gateway's ingress.
pub const INGRESS_KEY: &str = "ingress";
/// The routing key of a system's exchange bound to the gateway's expired
/// queue (where its inbox dead-letters expired messages).
pub const EXPIRED_KEY: &str = "expired";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("namespace {0:?}: use 1 to 40 of a-z, 0-9 and -")]
pub struct BadNamespace(pub String);

impl Names {
    pub fn new(namespace: &str) -> Result<Names, BadNamespace> {
        let ok = !namespace.is_empty()
            && namespace.len() <= 40
            && namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Names {
                namespace: namespace.to_owned(),
                queue_type: QueueType::default(),
            })
        } else {
            Err(BadNamespace(namespace.to_owned()))
        }
    }

    /// The same names, with durable queues of `queue_type`.
    pub fn with_queue_type(mut self, queue_type: QueueType) -> Names {
        self.queue_type = queue_type;
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn queue_type(&self) -> QueueType {
        self.queue_type
    }

    /// `system`'s own exchange, the only one it may publish to.
    pub fn exchange(&self, system: SystemId) -> String {
        format!("{}.system.{system}", self.namespace)
    }

    /// Where `system` publishes what is for the gateway.
    pub fn to_gateway(&self, system: SystemId) -> Address {
        Address {
            exchange: self.exchange(system),
            routing_key: INGRESS_KEY.to_owned(),
        }
    }

    /// One of `system`'s own queues (its retries, dead letters), through its
    /// exchange.
    pub fn own(&self, system: SystemId, queue: String) -> Address {
        Address {
            exchange: self.exchange(system),
            routing_key: queue,
        }
    }

    pub fn ingress(&self) -> String {
        format!("{}.gateway.ingress", self.namespace)
    }

    pub fn gateway_expired(&self) -> String {
        format!("{}.gateway.expired", self.namespace)
    }

    pub fn gateway_retry(&self, delay: Duration) -> String {
        format!("{}.gateway.retry.{}ms", self.namespace, delay.as_millis())
    }

    pub fn gateway_dead(&self) -> String {
        format!("{}.gateway.dead", self.namespace)
    }

    pub fn inbox(&self, system: SystemId) -> String {
        format!("{}.inbox.{system}", self.namespace)
    }

    pub fn retry(&self, system: SystemId, delay: Duration) -> String {
        format!("{}.retry.{system}.{}ms", self.namespace, delay.as_millis())
    }

    pub fn dead(&self, system: SystemId) -> String {
        format!("{}.dead.{system}", self.namespace)
    }

    pub fn reply(&self, system: SystemId, instance: &str) -> String {
        format!("{}.reply.{system}.{instance}", self.namespace)
    }

    /// Whether `queue` is some instance's reply queue of `system`.
    pub fn is_reply_of(&self, queue: &str, system: SystemId) -> bool {
        queue
            .strip_prefix(&format!("{}.reply.{system}.", self.namespace))
            .is_some_and(valid_instance)
    }
}

/// Reply-address tokens: short, and safe inside a queue name.
pub fn valid_instance(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 64
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A random instance token for this process's reply queue.
pub fn new_instance() -> String {
    let mut rng = fastrand::Rng::new();
    (0..10)
        .map(|_| {
            let i = rng.usize(0..36);
            char::from_digit(i as u32, 36).expect("base 36 digit")
        })
        .collect()
}
