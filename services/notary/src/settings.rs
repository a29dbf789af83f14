//! The notary system's settings, loaded with `egov_runtime::settings::load`
//! ("notary": file, then `EGOV__…`, then `EGOV_NOTARY__…`).
//!
//! The sections `grpc` (`egov_runtime::service::GrpcSettings`), `bus`,
//! `trust` and `telemetry` are every service's, as for the individuals
//! registry; `fault` is the section both registries share
//! (`egov_registry::settings`).

use chrono::NaiveDate;
use egov_registry::settings::{DEFAULT_DATABASE_URL, FaultSettings};
use egov_runtime::database::DatabaseSettings;
use egov_runtime::settings::{FieldErrors, Validate};
use serde::Deserialize;
use std::time::Duration;

/// The registry's own schema (DESIGN.md: one schema per system).
pub const SCHEMA: &str = "notary";

egov_bus::service_settings! {
    pub struct Settings {
        // Default: the mesh's database, schema `notary`. A [database]
        // section replaces the whole default: it names url and schema.
        #[serde(default = "default_database")]
        database;
        #[serde(default)]
        pub lookup: LookupSettings,
        #[serde(default)]
        pub fault: FaultSettings,
    }
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
        url: DEFAULT_DATABASE_URL.into(),
        schema: SCHEMA.to_owned(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
    }
}

impl Validate for Settings {
    fn validate(&self, errors: &mut FieldErrors) {
        self.validate_common(errors);
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
