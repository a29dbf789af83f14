//! The notary system's settings, loaded with `egov_runtime::settings::load`
//! ("notary": file, then `EGOV__…`, then `EGOV_NOTARY__…`).
//!
//! The bus and gRPC sections are added by the wiring; until then an unknown
//! section is an error, as everywhere in the mesh.

use egov_individuals::settings::{DEFAULT_DATABASE_URL, FaultSettings};
use egov_runtime::database::DatabaseSettings;
use egov_runtime::settings::{FieldErrors, Validate};
use serde::Deserialize;
use std::time::Duration;

/// The registry's own schema (DESIGN.md: one schema per system).
pub const SCHEMA: &str = "notary";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The registry's database; default: the mesh's database, schema
    /// `notary`. A section given in settings replaces the whole default, so
    /// it names `url` and `schema` together.
    #[serde(default = "default_database")]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub fault: FaultSettings,
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
        self.database.validate(errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_runtime::settings::{SettingsSource, load};

    #[test]
    fn defaults_need_no_settings_and_the_schema_is_checked() {
        let settings: Settings = load("notary", &SettingsSource::default()).unwrap();
        assert_eq!(settings.database.schema, "notary");
        assert_eq!(settings.fault.seed, 1);
        let source = SettingsSource {
            file: None,
            env: [
                ("EGOV_NOTARY__DATABASE__URL", DEFAULT_DATABASE_URL),
                ("EGOV_NOTARY__DATABASE__SCHEMA", "No-Such"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        };
        let error = load::<Settings>("notary", &source).unwrap_err();
        assert!(error.to_string().contains("database.schema"), "{error}");
    }
}
