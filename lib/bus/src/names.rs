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
//! ```

use egov_trust::SystemId;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    namespace: String,
}

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
            })
        } else {
            Err(BadNamespace(namespace.to_owned()))
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
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
