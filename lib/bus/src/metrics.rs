//! The inbox's metrics, one place for every system: messages handled by
//! service and outcome, handler failures by kind, handler latency.
//! Registered in the service's registry by `Bus::register_metrics` (the
//! `BusService` does it).

use egov_runtime::metrics::{Counter, Family, Histogram, Registry, latency_histogram};
use prometheus_client::encoding::EncodeLabelSet;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Handled {
    /// The message's service ("submit-application", "person-lookup").
    pub(crate) service: String,
    /// `processed` (committed), `rejected` (committed with a rejection),
    /// `duplicate` (already processed: skipped), `expired`.
    pub(crate) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Failed {
    pub(crate) service: String,
    /// `transient` (retried, then dead-lettered) or `permanent`.
    pub(crate) error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByService {
    pub(crate) service: String,
}

#[derive(Clone)]
pub(crate) struct InboxMetrics {
    pub(crate) handled: Family<Handled, Counter>,
    pub(crate) failed: Family<Failed, Counter>,
    /// Undecodable or unstamped deliveries, dead-lettered unread.
    pub(crate) unreadable: Counter,
    pub(crate) latency: Family<ByService, Histogram>,
}

impl Default for InboxMetrics {
    fn default() -> Self {
        InboxMetrics {
            handled: Family::default(),
            failed: Family::default(),
            unreadable: Counter::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl InboxMetrics {
    pub(crate) fn handled(&self, service: &str, outcome: &'static str) {
        self.handled
            .get_or_create(&Handled {
                service: service.to_owned(),
                outcome,
            })
            .inc();
    }

    pub(crate) fn failed(&self, service: &str, error: &'static str) {
        self.failed
            .get_or_create(&Failed {
                service: service.to_owned(),
                error,
            })
            .inc();
    }

    pub(crate) fn observe(&self, service: &str, seconds: f64) {
        self.latency
            .get_or_create(&ByService {
                service: service.to_owned(),
            })
            .observe(seconds);
    }

    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "inbox_handled",
            "Inbox messages handled, by service and outcome (processed, rejected, duplicate, expired)",
            self.handled.clone(),
        );
        registry.register(
            "inbox_failed",
            "Inbox messages whose handler failed, by service and error (transient: retried; permanent: dead-lettered)",
            self.failed.clone(),
        );
        registry.register(
            "inbox_unreadable",
            "Inbox deliveries dead-lettered unread (undecodable, or without a valid gateway stamp)",
            self.unreadable.clone(),
        );
        registry.register(
            "inbox_handler_seconds",
            "Time from taking an inbox message to its transaction's end (commit or failure), by service",
            self.latency.clone(),
        );
    }
}
