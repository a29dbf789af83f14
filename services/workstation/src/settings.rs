//! The workstation's settings: `deploy/config/workstation.toml` (or the file
//! given with `--config`), then `EGOV__…` and `EGOV_WORKSTATION__…`
//! environment variables. `grpc`, `bus`, `database`, `trust` and `telemetry`
//! are shaped like every service's, so `TestMesh::env(Workstation)` configures
//! it; `[workstation]` holds the provider, its staff and the autopilot.

use crate::enrolment::Enrolment;
use crate::role::Role;
use egov_runtime::settings::{FieldErrors, Validate, duration};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

egov_bus::service_settings! {
    pub struct Settings {
        database;
        #[serde(default)]
        pub workstation: Tuning,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// The provider's BIN: every employee certificate must carry it (OU=BIN…).
    #[serde(default = "default_provider_bin")]
    pub provider_bin: String,
    /// The provider's name, as results name the deciding body.
    #[serde(default = "default_provider_name")]
    pub provider_name: String,
    /// A directory of regulation files; none means those built in
    /// (regulations/*.toml).
    #[serde(default)]
    pub regulations: Option<PathBuf>,
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes.
    #[serde(default = "default_password_iterations")]
    pub password_iterations: u32,
    /// How long a login lasts.
    #[serde(with = "duration", default = "default_session_ttl")]
    pub session_ttl: Duration,
    /// Deadline of the look-up in ЖТ МДБ (office channel, process 5).
    #[serde(with = "duration", default = "default_lookup_deadline")]
    pub lookup_deadline: Duration,
    /// Largest document accepted, in bytes.
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: usize,
    /// The head whose EDS signs what the workstation forms by itself (a
    /// regulation without staff steps, the office channel's process 7);
    /// none means the first head with a key, by login.
    #[serde(default)]
    pub signer: Option<String>,
    /// The provider's employees, enrolled (created or updated) at start.
    #[serde(default)]
    pub staff: Vec<StaffEntry>,
    #[serde(default)]
    pub autopilot: AutopilotSettings,
    /// For tests and demonstrations only: the time every application is
    /// registered at (and deadlines are planned from), instead of the
    /// current time, e.g. `2026-04-06T05:00:00Z`. Unset: the real clock.
    #[serde(default)]
    pub registration_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// One employee of the provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffEntry {
    pub login: String,
    /// The password, hashed at enrolment (only the hash is stored). Give
    /// either this or `password_hash`.
    /// A secret: it never prints.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// A hash as the workstation stores it
    /// (`pbkdf2-sha256$<iterations>$<salt>$<hash>`, base64).
    #[serde(default)]
    pub password_hash: Option<String>,
    /// A regulation actor code: office_clerk, head, specialist,
    /// responsible_person.
    pub role: Role,
    /// The employee's EDS certificate (PEM) from the mesh CA.
    pub certificate: PathBuf,
    /// The private key (PEM, PKCS#8): heads only — the workstation holds it
    /// as a stand-in for the NCA token and signs on the head's action.
    #[serde(default)]
    pub private_key: Option<PathBuf>,
    /// For `egovctl run`: who the certificate is issued to when its file is
    /// missing (IIN, surname, given name).
    #[serde(default)]
    pub iin: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
}

impl StaffEntry {
    /// What enrolment needs of the entry (it does not know the settings).
    pub fn enrolment(&self) -> Enrolment {
        Enrolment {
            login: self.login.clone(),
            password: self.password.clone(),
            password_hash: self.password_hash.clone(),
            role: self.role,
            certificate: self.certificate.clone(),
            private_key: self.private_key.clone(),
        }
    }
}

/// Staff steps done by rules, with nobody at the desk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutopilotSettings {
    #[serde(default)]
    pub enabled: bool,
    /// Applications worked on at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// How often open applications are looked for besides the database's
    /// notifications (after a restart, nothing else would wake it).
    #[serde(with = "duration", default = "default_sweep")]
    pub sweep: Duration,
    /// Values of the result forms' fields the rules fill in on approval, by
    /// field name (e.g. `allowance_amount`); used where a form has the field.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

fn default_provider_bin() -> String {
    "990340001234".into()
}
fn default_provider_name() -> String {
    "Отдел образования города (egov-mesh)".into()
}
fn default_password_iterations() -> u32 {
    100_000
}
fn default_session_ttl() -> Duration {
    Duration::from_secs(8 * 3600)
}
fn default_lookup_deadline() -> Duration {
    Duration::from_secs(10)
}
fn default_max_document_bytes() -> usize {
    2 * 1024 * 1024
}
fn default_concurrency() -> usize {
    8
}
fn default_sweep() -> Duration {
    Duration::from_secs(2)
}

impl Tuning {
    /// The staff whose certificates `egovctl run` issues when their files
    /// are missing: entries that name the holder (iin, surname, given name).
    pub fn staff_subjects(&self) -> Result<Vec<(&StaffEntry, egov_trust::SubjectSpec)>, String> {
        let bin = egov_trust::Bin::parse(&self.provider_bin).map_err(|e| e.to_string())?;
        let mut subjects = Vec::new();
        for (i, entry) in self.staff.iter().enumerate() {
            let (Some(iin), Some(surname), Some(given_name)) =
                (&entry.iin, &entry.surname, &entry.given_name)
            else {
                continue;
            };
            let iin = egov_trust::Iin::parse(iin)
                .map_err(|e| format!("workstation.staff[{i}].iin: {e}"))?;
            subjects.push((
                entry,
                egov_trust::SubjectSpec::Employee {
                    iin,
                    bin: bin.clone(),
                    surname: surname.clone(),
                    given_name: given_name.clone(),
                    organisation: self.provider_name.clone(),
                },
            ));
        }
        Ok(subjects)
    }
}

impl Default for AutopilotSettings {
    fn default() -> Self {
        AutopilotSettings {
            enabled: false,
            concurrency: default_concurrency(),
            sweep: default_sweep(),
            fields: BTreeMap::new(),
        }
    }
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            provider_bin: default_provider_bin(),
            provider_name: default_provider_name(),
            regulations: None,
            password_iterations: default_password_iterations(),
            session_ttl: default_session_ttl(),
            lookup_deadline: default_lookup_deadline(),
            max_document_bytes: default_max_document_bytes(),
            signer: None,
            staff: Vec::new(),
            autopilot: AutopilotSettings::default(),
            registration_time: None,
        }
    }
}

impl Validate for Settings {
    fn validate(&self, errors: &mut FieldErrors) {
        self.validate_common(errors);
        let t = &self.workstation;
        errors.check(
            egov_trust::Bin::parse(&t.provider_bin).is_ok(),
            "workstation.provider_bin",
            "a BIN has exactly 12 digits",
        );
        errors.check(
            !t.provider_name.trim().is_empty(),
            "workstation.provider_name",
            "must not be empty",
        );
        if let Some(dir) = &t.regulations {
            errors.check(
                dir.is_dir(),
                "workstation.regulations",
                format!("{} is not a directory", dir.display()),
            );
        }
        errors.check(
            t.password_iterations >= 1000,
            "workstation.password_iterations",
            "must be at least 1000",
        );
        errors.check(
            !t.session_ttl.is_zero(),
            "workstation.session_ttl",
            "must be above zero",
        );
        errors.check(
            t.max_document_bytes >= 1024,
            "workstation.max_document_bytes",
            "must be at least 1024",
        );
        errors.check(
            t.autopilot.concurrency > 0,
            "workstation.autopilot.concurrency",
            "must be at least 1",
        );
        errors.check(
            !t.autopilot.sweep.is_zero(),
            "workstation.autopilot.sweep",
            "must be above zero",
        );
        let mut logins = std::collections::HashSet::new();
        for (i, entry) in t.staff.iter().enumerate() {
            let field = |name: &str| format!("workstation.staff[{i}].{name}");
            errors.check(
                !entry.login.trim().is_empty(),
                &field("login"),
                "must not be empty",
            );
            errors.check(
                logins.insert(entry.login.clone()),
                &field("login"),
                format!("{:?} is enrolled twice", entry.login),
            );
            errors.check(
                entry.password.is_some() != entry.password_hash.is_some(),
                &field("password"),
                "give exactly one of password and password_hash",
            );
            if let Some(password) = &entry.password {
                errors.check(
                    password.expose_secret().chars().count() >= 8,
                    &field("password"),
                    "must have at least 8 characters",
                );
            }
            if let Some(key) = &entry.private_key {
                errors.check(
                    entry.role == Role::Head,
                    &field("private_key"),
                    "only a head's key is held by the workstation",
                );
                if entry.certificate.is_file() {
                    errors.check(
                        key.is_file(),
                        &field("private_key"),
                        format!("{} is not a readable file", key.display()),
                    );
                }
            }
        }
        if let Some(signer) = &t.signer {
            errors.check(
                t.staff
                    .iter()
                    .any(|e| &e.login == signer && e.private_key.is_some()),
                "workstation.signer",
                "must be the login of a head enrolled with a private key",
            );
        }
    }
}
