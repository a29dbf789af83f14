//! A registry's metrics (`egov_registry_…`), the same for both registries:
//! look-ups by answer and by the fault mode they met, and the fault mode.

use crate::fault::FaultMode;
use egov_runtime::metrics::{Counter, Family, Gauge, Registry};
use prometheus_client::encoding::EncodeLabelSet;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Lookup {
    /// `answered` (a record), a refusal code (`not_found`,
    /// `consent_required`, `registry_failure`…), or `no_answer`.
    pub answer: String,
    /// The fault mode's kind when the look-up came: none, down, slow,
    /// error, flaky.
    pub fault_mode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Mode {
    pub mode: &'static str,
}

#[derive(Clone, Default)]
pub struct RegistryMetrics {
    lookups: Family<Lookup, Counter>,
    fault_mode: Family<Mode, Gauge>,
}

/// The kind of a mode, without its argument: a bounded label.
pub fn kind(mode: FaultMode) -> &'static str {
    match mode {
        FaultMode::None => "none",
        FaultMode::Down => "down",
        FaultMode::Slow { .. } => "slow",
        FaultMode::Error { .. } => "error",
        FaultMode::Flaky => "flaky",
    }
}

impl RegistryMetrics {
    pub fn register(&self, registry: &mut Registry) {
        let registry = registry.sub_registry_with_prefix("registry");
        registry.register(
            "lookups",
            "Look-ups answered, by answer (answered, a refusal code, no_answer) and the fault mode they met",
            self.lookups.clone(),
        );
        registry.register(
            "fault_mode",
            "The registry's fault mode: 1 for the current one",
            self.fault_mode.clone(),
        );
        self.mode_is(FaultMode::None);
    }

    pub fn lookup(&self, answer: &str, mode: FaultMode) {
        self.lookups
            .get_or_create(&Lookup {
                answer: answer.to_owned(),
                fault_mode: kind(mode),
            })
            .inc();
    }

    pub fn mode_is(&self, current: FaultMode) {
        for mode in ["none", "down", "slow", "error", "flaky"] {
            self.fault_mode
                .get_or_create(&Mode { mode })
                .set(i64::from(mode == kind(current)));
        }
    }
}
