//! Layered settings: built-in defaults (serde), then the service's file, then
//! environment variables `EGOV__SECTION__KEY` (shared by every service, e.g.
//! `EGOV__AMQP__URL`), then `EGOV_<SERVICE>__SECTION__KEY` (one service only,
//! e.g. `EGOV_GATEWAY__GRPC__LISTEN`). Values are typed; after loading, each
//! settings tree validates itself and every problem is reported with its field.

use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// Where settings come from. Tests build one by hand instead of touching the
/// process environment.
#[derive(Debug, Clone, Default)]
pub struct SettingsSource {
    /// The service's settings file (TOML); None means defaults and environment only.
    pub file: Option<PathBuf>,
    /// Environment variables to read `EGOV…` settings from.
    pub env: HashMap<String, String>,
}

impl SettingsSource {
    /// The process environment and, if given, a settings file.
    pub fn from_process(file: Option<PathBuf>) -> SettingsSource {
        SettingsSource {
            file,
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with("EGOV"))
                .collect(),
        }
    }
}

/// One problem with one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

/// Collects every problem, so an operator sees all of them at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            problem: problem.into(),
        });
    }

    /// Records `problem` against `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, problem: impl Into<String>) {
        if !ok {
            self.add(field, problem);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Settings that can say what is wrong with them.
pub trait Validate {
    fn validate(&self, errors: &mut FieldErrors);
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings of {service} cannot be read: {source}")]
    Read {
        service: String,
        source: config::ConfigError,
    },
    #[error("settings of {service} are invalid:\n{}", list(.errors))]
    Invalid {
        service: String,
        errors: Vec<FieldError>,
    },
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {}: {}", e.field, e.problem))
        .collect::<Vec<_>>()
        .join("\n")
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Loads and validates the settings of `service` from `source`.
pub fn load<T: DeserializeOwned + Validate>(
    service: &str,
    source: &SettingsSource,
) -> Result<T, SettingsError> {
    let read = |source| SettingsError::Read {
        service: service.to_owned(),
        source,
    };
    let mut builder = config::Config::builder();
    if let Some(file) = &source.file {
        builder = builder.add_source(config::File::from(file.as_path()).required(true));
    }
    let env = |prefix: &str| {
        config::Environment::with_prefix(prefix)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .source(Some(source.env.clone().into_iter().collect()))
    };
    let service_prefix = format!("EGOV_{}", service.to_ascii_uppercase().replace('-', "_"));
    let settings: T = builder
        .add_source(env("EGOV"))
        .add_source(env(&service_prefix))
        .build()
        .map_err(read)?
        .try_deserialize()
        .map_err(read)?;
    let mut errors = FieldErrors::default();
    settings.validate(&mut errors);
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(SettingsError::Invalid {
            service: service.to_owned(),
            errors: errors.0,
        })
    }
}

/// Serde helpers for durations written as "250ms", "5s", "2m".
pub mod duration {
    pub use humantime_serde::{deserialize, serialize};

    /// A list of durations, written as a TOML array or as one string with
    /// spaces or commas ("100ms, 1s, 10s"), which is how it arrives from an
    /// environment variable.
    pub mod list {
        use serde::{Deserialize, Deserializer};
        use std::time::Duration;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Raw {
                One(String),
                Many(Vec<String>),
            }
            let items = match Raw::deserialize(d)? {
                Raw::One(s) => s
                    .split([',', ' '])
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Raw::Many(v) => v,
            };
            items
                .iter()
                .map(|s| humantime::parse_duration(s.trim()).map_err(serde::de::Error::custom))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::time::Duration;

    #[derive(Debug, Deserialize)]
    struct Demo {
        #[serde(default = "default_name")]
        name: String,
        #[serde(with = "duration", default = "default_wait")]
        wait: Duration,
        #[serde(deserialize_with = "duration::list::deserialize", default)]
        delays: Vec<Duration>,
        nested: Nested,
    }
    #[derive(Debug, Deserialize)]
    struct Nested {
        port: u16,
    }
    fn default_name() -> String {
        "demo".into()
    }
    fn default_wait() -> Duration {
        Duration::from_secs(1)
    }
    impl Validate for Demo {
        fn validate(&self, errors: &mut FieldErrors) {
            errors.check(self.nested.port != 0, "nested.port", "must not be 0");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> SettingsSource {
        SettingsSource {
            file: None,
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn service_specific_variables_override_shared_ones() {
        let demo: Demo = load(
            "demo",
            &env(&[
                ("EGOV__NESTED__PORT", "1"),
                ("EGOV_DEMO__NESTED__PORT", "2"),
                ("EGOV_OTHER__NESTED__PORT", "3"),
                ("EGOV__WAIT", "250ms"),
                ("EGOV__DELAYS", "100ms, 1s,10s"),
            ]),
        )
        .unwrap();
        assert_eq!(demo.nested.port, 2);
        assert_eq!(demo.name, "demo");
        assert_eq!(demo.wait, Duration::from_millis(250));
        assert_eq!(
            demo.delays,
            vec![
                Duration::from_millis(100),
                Duration::from_secs(1),
                Duration::from_secs(10)
            ]
        );
    }

    #[test]
    fn invalid_values_are_reported_with_their_field() {
        let error = load::<Demo>("demo", &env(&[("EGOV__NESTED__PORT", "0")])).unwrap_err();
        assert!(
            error.to_string().contains("nested.port: must not be 0"),
            "{error}"
        );
        let error = load::<Demo>("demo", &env(&[("EGOV__NESTED__PORT", "x")])).unwrap_err();
        assert!(error.to_string().contains("port"), "{error}");
    }
}
