//! The portal's settings: `deploy/config/portal.toml` (or the file given with
//! `--config`), then `EGOV__…` and `EGOV_PORTAL__…` environment variables.
//! `grpc`, `bus`, `database`, `trust` and `telemetry` are shaped like every
//! service's; `[portal]` holds the portal's own limits.

use egov_runtime::settings::{FieldErrors, Validate, duration};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

egov_bus::service_settings! {
    pub struct Settings {
        database;
        #[serde(default)]
        pub portal: Tuning,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// A directory of regulation files; none means those built in.
    #[serde(default)]
    pub regulations: Option<PathBuf>,
    /// Failed logins in a row that lock an account.
    #[serde(default = "default_lockout_after")]
    pub lockout_after: u32,
    /// How long a locked account stays locked.
    #[serde(with = "duration", default = "default_lockout_for")]
    pub lockout_for: Duration,
    /// How long a login lasts.
    #[serde(with = "duration", default = "default_session_ttl")]
    pub session_ttl: Duration,
    /// Password logins one client address may try per minute, after a
    /// burst of as many; over it `too_many_attempts`. 0 (the default): no
    /// limit (deploy/config sets 30).
    #[serde(default = "default_login_attempts_per_minute")]
    pub login_attempts_per_minute: u32,
    /// How long an EDS login challenge may be answered.
    #[serde(with = "duration", default = "default_challenge_ttl")]
    pub challenge_ttl: Duration,
    /// Deadline of the registration look-up in ЖТ МДБ.
    #[serde(with = "duration", default = "default_lookup_deadline")]
    pub lookup_deadline: Duration,
    /// Largest attached document, in bytes (`document_too_large`); below
    /// `grpc.max_message_bytes`, which bounds the whole request
    /// (`payload_too_large`).
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: usize,
    /// Media types an attached document may have.
    #[serde(default = "default_media_types")]
    pub accepted_media_types: Vec<String>,
    /// Argon2id memory cost in KiB (OWASP's minimum is 19 MiB).
    #[serde(default = "default_argon2_memory_kib")]
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    #[serde(default = "default_argon2_iterations")]
    pub argon2_iterations: u32,
}

fn default_lockout_after() -> u32 {
    5
}
fn default_lockout_for() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_login_attempts_per_minute() -> u32 {
    0
}
fn default_session_ttl() -> Duration {
    Duration::from_secs(30 * 60)
}
fn default_challenge_ttl() -> Duration {
    Duration::from_secs(120)
}
fn default_lookup_deadline() -> Duration {
    Duration::from_secs(5)
}
fn default_max_document_bytes() -> usize {
    5 * 1024 * 1024
}
fn default_media_types() -> Vec<String> {
    [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "application/pkcs7-signature",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}
fn default_argon2_memory_kib() -> u32 {
    19 * 1024
}
fn default_argon2_iterations() -> u32 {
    2
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            regulations: None,
            lockout_after: default_lockout_after(),
            lockout_for: default_lockout_for(),
            session_ttl: default_session_ttl(),
            login_attempts_per_minute: default_login_attempts_per_minute(),
            challenge_ttl: default_challenge_ttl(),
            lookup_deadline: default_lookup_deadline(),
            max_document_bytes: default_max_document_bytes(),
            accepted_media_types: default_media_types(),
            argon2_memory_kib: default_argon2_memory_kib(),
            argon2_iterations: default_argon2_iterations(),
        }
    }
}

impl Validate for Settings {
    fn validate(&self, errors: &mut FieldErrors) {
        self.validate_common(errors);
        let t = &self.portal;
        errors.check(
            t.lockout_after > 0,
            "portal.lockout_after",
            "must be at least 1",
        );
        errors.check(
            t.max_document_bytes > 0,
            "portal.max_document_bytes",
            "must be at least 1",
        );
        errors.check(
            t.max_document_bytes < self.grpc.max_message_bytes,
            "portal.max_document_bytes",
            format!(
                "must be below grpc.max_message_bytes ({}): a request carrying a document at \
                 the limit must fit in one gRPC message",
                self.grpc.max_message_bytes
            ),
        );
        errors.check(
            !t.accepted_media_types.is_empty(),
            "portal.accepted_media_types",
            "must list at least one type",
        );
        errors.check(
            t.argon2_memory_kib >= 8,
            "portal.argon2_memory_kib",
            "must be at least 8",
        );
        errors.check(
            t.argon2_iterations >= 1,
            "portal.argon2_iterations",
            "must be at least 1",
        );
    }
}
