//! The notary system's settings, loaded with `egov_runtime::settings::load`
//! ("notary": file, then `EGOV__…`, then `EGOV_NOTARY__…`).
//!
//! The sections `grpc` (`egov_runtime::service::GrpcSettings`), `bus`,
//! `trust` and `telemetry` are every service's, as for the individuals
//! registry; `fault` is the section both registries share
//! (`egov_registry::settings`).

use chrono::NaiveDate;
use egov_bus::BusSettings;
use egov_registry::settings::{DEFAULT_DATABASE_URL, FaultSettings};
use egov_runtime::database::DatabaseSettings;
use egov_runtime::service::GrpcSettings;
use egov_runtime::settings::{FieldErrors, Validate};
use egov_runtime::telemetry::TelemetrySettings;
use egov_runtime::trust::TrustSettings;
use serde::Deserialize;
use std::time::Duration;

/// The registry's own schema (DESIGN.md: one schema per system).
pub const SCHEMA: &str = "notary";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub grpc: GrpcSettings,
    /// The broker: the registry's inbox is where look-ups arrive.
    pub bus: BusSettings,
    /// The registry's database; default: the mesh's database, schema
    /// `notary`. A section given in settings replaces the whole default, so
    /// it names `url` and `schema` together.
    #[serde(default = "default_database")]
    pub database: DatabaseSettings,
    /// The registry's certificate and key, and the mesh CA.
    pub trust: TrustSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub lookup: LookupSettings,
    #[serde(default)]
    pub fault: FaultSettings,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSettings {
    /// The day a power of attorney's validity is judged on. None (the
    /// default): today in Asia/Almaty. A tester pins it (e.g. to the
    /// population's as-of date, 2026-11-01 unless seeded otherwise) so the
    /// answers the `cases` catalogue lists hold on any day.
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
}

pub fn default_database() -> DatabaseSettings {
    DatabaseSettings {
        url: DEFAULT_DATABASE_URL.to_owned(),
        schema: SCHEMA.to_owned(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
    }
}

impl Validate for Settings {
    fn validate(&self, errors: &mut FieldErrors) {
        self.grpc.validate(errors);
        self.bus.validate(errors);
        self.database.validate(errors);
        self.trust.validate(errors);
        self.telemetry.validate(errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_runtime::settings::load;
    use egov_testkit::TestMesh;
    use egov_trust::SystemId;

    #[tokio::test]
    async fn the_mesh_variables_configure_it_and_the_schema_is_checked() {
        let mesh = TestMesh::new().await;
        let mut source = mesh.source(SystemId::Notary);
        let settings: Settings = load("notary", &source).unwrap();
        assert_eq!(settings.database.schema, "notary");
        assert_eq!(settings.bus.namespace, mesh.namespace);
        assert_eq!(settings.fault.seed, 1);
        assert_eq!(settings.lookup.as_of, None);

        source
            .env
            .insert("EGOV_NOTARY__LOOKUP__AS_OF".into(), "2026-11-01".into());
        let settings: Settings = load("notary", &source).unwrap();
        assert_eq!(
            settings.lookup.as_of,
            Some(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        );

        source
            .env
            .insert("EGOV_NOTARY__DATABASE__SCHEMA".into(), "No-Such".into());
        let error = load::<Settings>("notary", &source).unwrap_err();
        assert!(error.to_string().contains("database.schema"), "{error}");
    }
}
