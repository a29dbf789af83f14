//! The intake's settings: a TOML file given with `--config`, then `EGOV__…`
//! and `EGOV_INTAKE__…` environment variables. `grpc`, `bus`, `database`,
//! `trust` and `telemetry` are shaped like every service's; `[intake]`
//! holds the State Corporation's own: its BIN, the branch, the operators
//! (enrolled from settings at start) and the limits.

use egov_runtime::settings::{FieldErrors, Validate, duration};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

egov_bus::service_settings! {
    pub struct Settings {
        database;
        #[serde(default)]
        pub intake: Tuning,
    }
}

/// An operator's role (seed 003 §9 1)-5) and §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Takes requests at the counter (diagram 1, processes 1-6).
    Operator,
    /// Registers packages by the receipt's barcode (seed 003 §9 2)-4)).
    AccumulationSector,
    /// Carries packages to the provider (seed 003 §9 5)).
    Courier,
    /// Hands results over (diagram 1, process 9; seed 003 §10 2)).
    IssuingOperator,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::AccumulationSector => "accumulation_sector",
            Role::Courier => "courier",
            Role::IssuingOperator => "issuing_operator",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        [
            Role::Operator,
            Role::AccumulationSector,
            Role::Courier,
            Role::IssuingOperator,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// One operator to enrol (`[[intake.operators]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorEntry {
    pub login: String,
    /// Hashed with Argon2id at enrolment; or give `password_hash` (PHC).
    /// A secret: it never prints.
    #[serde(default)]
    pub password: Option<secrecy::SecretString>,
    #[serde(default)]
    pub password_hash: Option<String>,
    pub role: Role,
    /// The operator's EDS certificate (PEM) from the mesh CA: an employee
    /// certificate with the State Corporation's BIN.
    pub certificate: PathBuf,
    /// Its private key (PEM, PKCS#8), held by the intake as a stand-in for
    /// the operator's token: it signs receipts and requests.
    pub private_key: PathBuf,
    /// With these three, `egovctl run` (and `egovctl pki staff`) issue the
    /// certificate on first start.
    #[serde(default)]
    pub iin: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// A directory of regulation files; none means those built in.
    #[serde(default)]
    pub regulations: Option<PathBuf>,
    /// The State Corporation's BIN, which operators' certificates name
    /// (NJSC "Government for Citizens").
    #[serde(default = "default_bin")]
    pub state_corporation_bin: String,
    /// The branch: where results are issued (the receipt's place of issue).
    #[serde(default = "default_branch")]
    pub branch: String,
    #[serde(default)]
    pub operators: Vec<OperatorEntry>,
    /// Failed logins in a row that lock an operator out.
    #[serde(default = "default_lockout_after")]
    pub lockout_after: u32,
    #[serde(with = "duration", default = "default_lockout_for")]
    pub lockout_for: Duration,
    #[serde(with = "duration", default = "default_session_ttl")]
    pub session_ttl: Duration,
    /// Password logins one client address may try per minute, after a
    /// burst of as many; over it `too_many_attempts`. 0 (the default): no
    /// limit (deploy/config sets 30).
    #[serde(default = "default_login_attempts_per_minute")]
    pub login_attempts_per_minute: u32,
    /// Deadline of a look-up in ЖТ МДБ or БНАЖ.
    #[serde(with = "duration", default = "default_lookup_deadline")]
    pub lookup_deadline: Duration,
    /// How long a consent code may be entered.
    #[serde(with = "duration", default = "default_consent_code_ttl")]
    pub consent_code_ttl: Duration,
    /// Largest scan, in bytes (`document_too_large`); below
    /// `grpc.max_message_bytes`, which bounds the whole request
    /// (`payload_too_large`).
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: usize,
    /// Media types a scan may have.
    #[serde(default = "default_media_types")]
    pub accepted_media_types: Vec<String>,
    /// Argon2id memory cost in KiB (OWASP's minimum is 19 MiB).
    #[serde(default = "default_argon2_memory_kib")]
    pub argon2_memory_kib: u32,
    #[serde(default = "default_argon2_iterations")]
    pub argon2_iterations: u32,
    /// How often unclaimed results are looked for to go back to the
    /// provider.
    #[serde(with = "duration", default = "default_storage_sweep_every")]
    pub storage_sweep_every: Duration,
    /// A fixed time for the storage deadline of unclaimed results only
    /// (when a result arrived, when its month is up), e.g.
    /// `2027-01-31T05:00:00Z`. Unset: the real clock.
    #[serde(default)]
    pub storage_time: Option<chrono::DateTime<chrono::Utc>>,
    /// A fixed time for the counter's acceptances (the receipt's time of
    /// acceptance and the date of issue planned from it), e.g.
    /// `2026-04-06T05:00:00Z`, so tests plan on a year the calendar has.
    /// Unset: the real clock.
    #[serde(default)]
    pub counter_time: Option<chrono::DateTime<chrono::Utc>>,
}

fn default_bin() -> String {
    "160440007161".into()
}
fn default_branch() -> String {
    "Отдел №1 филиала НАО «Государственная корпорация «Правительство для граждан» по г. Алматы"
        .into()
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
    Duration::from_secs(8 * 60 * 60)
}
fn default_lookup_deadline() -> Duration {
    Duration::from_secs(5)
}
fn default_consent_code_ttl() -> Duration {
    Duration::from_secs(5 * 60)
}
fn default_max_document_bytes() -> usize {
    5 * 1024 * 1024
}
fn default_media_types() -> Vec<String> {
    ["application/pdf", "image/jpeg", "image/png"]
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
fn default_storage_sweep_every() -> Duration {
    Duration::from_secs(60)
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            regulations: None,
            state_corporation_bin: default_bin(),
            branch: default_branch(),
            operators: Vec::new(),
            lockout_after: default_lockout_after(),
            lockout_for: default_lockout_for(),
            session_ttl: default_session_ttl(),
            login_attempts_per_minute: default_login_attempts_per_minute(),
            lookup_deadline: default_lookup_deadline(),
            consent_code_ttl: default_consent_code_ttl(),
            max_document_bytes: default_max_document_bytes(),
            accepted_media_types: default_media_types(),
            argon2_memory_kib: default_argon2_memory_kib(),
            argon2_iterations: default_argon2_iterations(),
            storage_sweep_every: default_storage_sweep_every(),
            storage_time: None,
            counter_time: None,
        }
    }
}

impl Validate for Settings {
    fn validate(&self, errors: &mut FieldErrors) {
        self.validate_common(errors);
        let t = &self.intake;
        errors.check(
            egov_trust::Bin::parse(&t.state_corporation_bin).is_ok(),
            "intake.state_corporation_bin",
            "must be 12 digits",
        );
        errors.check(
            t.lockout_after > 0,
            "intake.lockout_after",
            "must be at least 1",
        );
        errors.check(
            t.max_document_bytes > 0,
            "intake.max_document_bytes",
            "must be at least 1",
        );
        errors.check(
            t.max_document_bytes < self.grpc.max_message_bytes,
            "intake.max_document_bytes",
            format!(
                "must be below grpc.max_message_bytes ({}): a request carrying a document at \
                 the limit must fit in one gRPC message",
                self.grpc.max_message_bytes
            ),
        );
        errors.check(
            !t.accepted_media_types.is_empty(),
            "intake.accepted_media_types",
            "must list at least one type",
        );
        errors.check(
            t.argon2_memory_kib >= 8,
            "intake.argon2_memory_kib",
            "must be at least 8",
        );
        errors.check(
            t.argon2_iterations >= 1,
            "intake.argon2_iterations",
            "must be at least 1",
        );
        errors.check(
            !t.storage_sweep_every.is_zero(),
            "intake.storage_sweep_every",
            "must be longer than zero",
        );
        for (i, op) in t.operators.iter().enumerate() {
            errors.check(
                op.password.is_some() != op.password_hash.is_some(),
                &format!("intake.operators[{i}].password"),
                "give exactly one of password and password_hash",
            );
        }
    }
}

impl Tuning {
    /// The operators whose certificates the launcher may issue (those with
    /// an IIN and a name), as employee subjects of the State Corporation.
    pub fn operator_subjects(
        &self,
    ) -> Result<Vec<(&OperatorEntry, egov_trust::SubjectSpec)>, String> {
        let bin = egov_trust::Bin::parse(&self.state_corporation_bin).map_err(|e| e.to_string())?;
        let mut subjects = Vec::new();
        for (i, entry) in self.operators.iter().enumerate() {
            let (Some(iin), Some(surname), Some(given_name)) =
                (&entry.iin, &entry.surname, &entry.given_name)
            else {
                continue;
            };
            let iin = egov_trust::Iin::parse(iin)
                .map_err(|e| format!("intake.operators[{i}].iin: {e}"))?;
            subjects.push((
                entry,
                egov_trust::SubjectSpec::Employee {
                    iin,
                    bin: bin.clone(),
                    surname: surname.clone(),
                    given_name: given_name.clone(),
                    organisation: "НАО «Государственная корпорация «Правительство для граждан»"
                        .into(),
                },
            ));
        }
        Ok(subjects)
    }
}
