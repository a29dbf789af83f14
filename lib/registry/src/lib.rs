//! What the mesh's two registries, ЖТ МДБ (`egov-individuals`) and БНАЖ
//! (`egov-notary`), share around their own model, storage and look-up rule,
//! so `egovctl fault <system> <mode>` and a look-up's refusals behave the
//! same for each.
//!
//! # Layout
//! - [`lookup`]: the inbox: fault gate → decode → a registry's [`lookup::Lookup`] → reply or refusal;
//! - [`fault`]: outages on demand (the fault switch and its modes);
//! - [`metrics`]: look-ups by answer and fault mode (`egov_registry_…`);
//! - [`refusal`]: a registry's reasoned refusal, with its stable code;
//! - [`admin`]: the admin API, `egov.registry.v1.RegistryAdmin`;
//! - [`server`]: the bus, the gRPC listener and the fault switch, run until shutdown;
//! - [`settings`]: the settings sections both registries have;
//! - [`storage`]: row and case counts, column decoding.

pub mod admin;
pub mod fault;
pub mod lookup;
pub mod metrics;
pub mod refusal;
pub mod server;
pub mod settings;
pub mod storage;

use chrono::NaiveDate;

/// Dates travel as "YYYY-MM-DD" in both registries' contracts
/// (individuals.proto, notary.proto).
pub fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}
