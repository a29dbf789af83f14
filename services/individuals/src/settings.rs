//! The registry's settings, loaded with `egov_runtime::settings::load`
//! ("individuals": file, then `EGOV__…`, then `EGOV_INDIVIDUALS__…`).
//!
//! The sections `grpc` (`egov_runtime::service::GrpcSettings`), `bus`,
//! `trust` and `telemetry` are every service's, so
//! `egov_testkit::TestMesh::env` and the compose file configure a registry
//! as they configure the gateway; `fault` is the section both registries
//! share (`egov_registry::settings`).

use egov_registry::settings::{DEFAULT_DATABASE_URL, FaultSettings};
use egov_runtime::database::DatabaseSettings;
use egov_runtime::settings::{FieldErrors, Validate};
use serde::Deserialize;
use std::time::Duration;

/// The registry's own schema (DESIGN.md: one schema per system).
pub const SCHEMA: &str = "individuals";

egov_bus::service_settings! {
    pub struct Settings {
        // Default: the mesh's database, schema `individuals`. A [database]
        // section replaces the whole default: it names url and schema.
        #[serde(default = "default_database")]
        database;
        #[serde(default)]
        pub lookup: LookupSettings,
        #[serde(default)]
        pub fault: FaultSettings,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSettings {
    /// Codes a caller may give as `legal_basis` instead of the subject's
    /// consent ("unless the laws of the Republic of Kazakhstan provide
    /// otherwise", seed 004 para 10; seed 002 Rules p.9). Default:
    /// [`default_legal_bases`].
    #[serde(default = "default_legal_bases")]
    pub allowed_legal_bases: Vec<String>,
}

/// The regulations whose own procedure has the provider read the
/// recipient's record from ЖТ МДБ, with no consent step in that flow: seed
/// 003 §11, the provider's flow, process 5 ("sends a request for the
/// recipient's data" to ЖТ МДБ). The State Corporation's flows (seed 001 §9;
/// seed 004 services 1-4, para 9-10) take the recipient's consent instead,
/// and the portal acts for the citizen who registers. Operators extend the
/// list in settings.
pub fn default_legal_bases() -> Vec<String> {
    vec!["003".to_owned()]
}

pub fn default_database() -> DatabaseSettings {
    DatabaseSettings {
        url: DEFAULT_DATABASE_URL.into(),
        schema: SCHEMA.to_owned(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
    }
}

impl Default for LookupSettings {
    fn default() -> LookupSettings {
        LookupSettings {
            allowed_legal_bases: default_legal_bases(),
        }
    }
}

impl Validate for Settings {
    fn validate(&self, errors: &mut FieldErrors) {
        self.validate_common(errors);
        for code in &self.lookup.allowed_legal_bases {
            errors.check(
                !code.is_empty() && !code.chars().any(char::is_whitespace),
                "lookup.allowed_legal_bases",
                format!("{code:?} is not a code (empty or with spaces)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_runtime::settings::{SettingsSource, load};
    use egov_testkit::TestMesh;
    use egov_trust::SystemId;

    #[tokio::test]
    async fn the_mesh_variables_configure_every_section() {
        let mesh = TestMesh::new().await;
        let settings: Settings = load("individuals", &mesh.source(SystemId::Individuals)).unwrap();
        assert_eq!(settings.grpc.listen.port(), 0);
        assert_eq!(settings.bus.namespace, mesh.namespace);
        assert_eq!(settings.database.schema, "individuals");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&settings.database.url),
            mesh.database.url()
        );
        assert!(settings.trust.certificate.ends_with("individuals.crt.pem"));
        assert_eq!(settings.lookup.allowed_legal_bases, vec!["003"]);
        assert_eq!(settings.fault.seed, 1);
    }

    #[tokio::test]
    async fn the_registry_prefix_overrides_and_bad_codes_are_reported() {
        let mesh = TestMesh::new().await;
        let mut source = mesh.source(SystemId::Individuals);
        source
            .env
            .insert("EGOV_INDIVIDUALS__FAULT__SEED".into(), "9".into());
        let settings: Settings = load("individuals", &source).unwrap();
        assert_eq!(settings.fault.seed, 9);

        let mut bad = settings.clone();
        bad.lookup.allowed_legal_bases = vec!["a b".into()];
        let mut errors = FieldErrors::default();
        bad.validate(&mut errors);
        assert!(!errors.is_empty());
    }

    #[test]
    fn the_listener_broker_and_certificate_are_required() {
        let error = load::<Settings>("individuals", &SettingsSource::default()).unwrap_err();
        assert!(error.to_string().contains("grpc"), "{error}");
    }
}
