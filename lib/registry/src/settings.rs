//! The settings sections both registries have beside every service's
//! (`grpc` is `egov_runtime::service::GrpcSettings`): the seed of the fault
//! draws, and the mesh's database by default. Each registry's own
//! `settings` adds its schema and look-up section.

use serde::Deserialize;

/// Where the mesh's database is when nothing else is configured.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/egov";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    /// Seed of the draws of fault modes `error` and `flaky`, so a test run's
    /// failures repeat. Default 1.
    #[serde(default = "default_fault_seed")]
    pub seed: u64,
}

fn default_fault_seed() -> u64 {
    1
}

impl Default for FaultSettings {
    fn default() -> FaultSettings {
        FaultSettings {
            seed: default_fault_seed(),
        }
    }
}
