//! The provider's employees: roles, passwords, sessions and EDS keys.
//!
//! Roles are the regulations' actor codes (egov-regulations `Actor`): office
//! clerk, head, specialist, responsible person. Passwords are stored as
//! PBKDF2-HMAC-SHA256 (`ring::pbkdf2`) with a per-user random 16-byte salt
//! and a configurable iteration count; a login for an unknown name still
//! spends one derivation, so timing does not tell which logins exist. A
//! session is a random 32-byte bearer token of which only the SHA-256 is
//! stored. Each employee has an EDS certificate from the mesh CA naming
//! their IIN and the provider's BIN; a head's private key is held by the
//! workstation (a stand-in for the NCA token) and signs on the head's action.

use crate::error::ApiError;
use crate::settings::StaffEntry;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use egov_regulations::Actor;
use egov_trust::{SigningKey, Subject, TrustStore};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Who does a task: one of the regulations' staff actors, or the workstation
/// itself where a regulation has no staff steps (seed 000 §7 step 4) or a
/// diagram element is the system's own (seed 003 §11 diagram 3, process 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    OfficeClerk,
    Head,
    Specialist,
    ResponsiblePerson,
    Workstation,
}

impl Role {
    pub const STAFF: [Role; 4] = [
        Role::OfficeClerk,
        Role::Head,
        Role::Specialist,
        Role::ResponsiblePerson,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::OfficeClerk => "office_clerk",
            Role::Head => "head",
            Role::Specialist => "specialist",
            Role::ResponsiblePerson => "responsible_person",
            Role::Workstation => "workstation",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        [
            Role::OfficeClerk,
            Role::Head,
            Role::Specialist,
            Role::ResponsiblePerson,
            Role::Workstation,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }

    /// The role of a regulation's actor, if the actor is the provider's staff.
    pub fn from_actor(actor: Actor) -> Option<Role> {
        match actor {
            Actor::OfficeClerk => Some(Role::OfficeClerk),
            Actor::Head => Some(Role::Head),
            Actor::Specialist => Some(Role::Specialist),
            Actor::ResponsiblePerson => Some(Role::ResponsiblePerson),
            _ => None,
        }
    }

    pub fn to_proto(self) -> egov_proto::workstation::Role {
        use egov_proto::workstation::Role as P;
        match self {
            Role::OfficeClerk => P::OfficeClerk,
            Role::Head => P::Head,
            Role::Specialist => P::Specialist,
            Role::ResponsiblePerson => P::ResponsiblePerson,
            Role::Workstation => P::Workstation,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

// === passwords ===

const SCHEME: &str = "pbkdf2-sha256";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD_NO_PAD
}

/// A new hash of `password`: `pbkdf2-sha256$<iterations>$<salt>$<hash>`.
pub fn hash_password(password: &str, iterations: u32) -> String {
    let iterations = NonZeroU32::new(iterations.max(1)).expect("at least 1");
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .expect("the system random number generator works");
    let mut hash = [0u8; HASH_LEN];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut hash,
    );
    format!(
        "{SCHEME}${iterations}${}${}",
        b64().encode(salt),
        b64().encode(hash)
    )
}

/// Whether `password` matches `stored` (constant-time comparison in ring).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Some((iterations, salt, hash)) = parse_hash(stored) else {
        return false;
    };
    ring::pbkdf2::verify(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}

fn parse_hash(stored: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.split('$');
    if parts.next()? != SCHEME {
        return None;
    }
    let iterations = NonZeroU32::new(parts.next()?.parse().ok()?)?;
    let salt = b64().decode(parts.next()?).ok()?;
    let hash = b64().decode(parts.next()?).ok()?;
    (parts.next().is_none() && !salt.is_empty() && hash.len() == HASH_LEN)
        .then_some((iterations, salt, hash))
}

/// Whether a stored hash is well-formed (for settings' `password_hash`).
pub fn is_password_hash(stored: &str) -> bool {
    parse_hash(stored).is_some()
}

// === employees ===

/// An employee as the API sees them.
#[derive(Debug, Clone)]
pub struct Employee {
    pub id: i64,
    pub login: String,
    pub role: Role,
    pub iin: String,
    pub name: String,
    pub certificate: Vec<u8>,
}

impl Employee {
    fn from_row(row: &sqlx::postgres::PgRow) -> Employee {
        Employee {
            id: row.get("id"),
            login: row.get("login"),
            role: Role::from_code(row.get::<&str, _>("role")).unwrap_or(Role::OfficeClerk),
            iin: row.get("iin"),
            name: row.get("full_name"),
            certificate: row.get("certificate"),
        }
    }

    pub fn to_proto(&self) -> egov_proto::workstation::Employee {
        egov_proto::workstation::Employee {
            login: self.login.clone(),
            role: self.role.to_proto() as i32,
            iin: self.iin.clone(),
            name: self.name.clone(),
            certificate: self.certificate.clone().into(),
        }
    }
}

const EMPLOYEE_COLUMNS: &str = "id, login, role, iin, full_name, certificate";

/// The heads' signing keys, by employee id, and who signs what the
/// workstation forms by itself.
#[derive(Default)]
pub struct Keys {
    keys: HashMap<i64, Arc<SigningKey>>,
    signer: Option<i64>,
}

impl Keys {
    pub fn key(&self, employee: i64) -> Option<&Arc<SigningKey>> {
        self.keys.get(&employee)
    }

    /// The head who signs the workstation's own results.
    pub fn signer(&self) -> Option<i64> {
        self.signer
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("workstation.staff[{index}] ({login}): {problem}")]
    Entry {
        index: usize,
        login: String,
        problem: String,
    },
    #[error("enrolling the staff: {0}")]
    Database(#[from] sqlx::Error),
}

/// Creates or updates the employees of `entries`, checking each certificate
/// against the mesh CA and the provider's BIN, and loads the heads' keys.
pub async fn enrol(
    pool: &PgPool,
    trust: &TrustStore,
    provider_bin: &str,
    entries: &[StaffEntry],
    iterations: u32,
    signer: Option<&str>,
) -> Result<Keys, EnrolError> {
    let mut keys = Keys::default();
    let now = Utc::now();
    for (index, entry) in entries.iter().enumerate() {
        let problem = |problem: String| EnrolError::Entry {
            index,
            login: entry.login.clone(),
            problem,
        };
        if entry.role == Role::Workstation {
            return Err(problem("the workstation is not an employee".into()));
        }
        let pem = std::fs::read_to_string(&entry.certificate)
            .map_err(|e| problem(format!("{}: {e}", entry.certificate.display())))?;
        let der = egov_trust::signing::pem_block(&pem, "CERTIFICATE").map_err(problem)?;
        let info = trust
            .parse(&der)
            .map_err(|e| problem(format!("certificate: {e}")))?;
        trust
            .check(&der, &info, now)
            .await
            .map_err(|e| problem(format!("certificate: {} ({e})", e.code())))?;
        let Subject::Employee { iin, bin, name } = &info.subject else {
            return Err(problem(format!(
                "the certificate names {}, not an employee",
                info.subject
            )));
        };
        if bin.as_str() != provider_bin {
            return Err(problem(format!(
                "the certificate's BIN {bin} is not the provider's {provider_bin}"
            )));
        }
        let key = match &entry.private_key {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| problem(format!("{}: {e}", path.display())))?;
                let key = SigningKey::from_pem(&pem).map_err(|e| problem(e.to_string()))?;
                if key.public_key() != info.public_key() {
                    return Err(problem(
                        "the private key does not belong to the certificate".into(),
                    ));
                }
                Some(Arc::new(key))
            }
            None => None,
        };
        let existing: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM employees WHERE login = $1")
                .bind(&entry.login)
                .fetch_optional(pool)
                .await?;
        let password_hash = match (&entry.password, &entry.password_hash) {
            (_, Some(hash)) if is_password_hash(hash) => hash.clone(),
            (_, Some(_)) => {
                return Err(problem("password_hash is not a pbkdf2-sha256 hash".into()));
            }
            // Keep the stored hash when the password is unchanged: a new salt
            // on every start would change nothing but the row.
            (Some(password), None) => match existing {
                Some(stored) if verify_password(password, &stored) => stored,
                _ => hash_password(password, iterations),
            },
            (None, None) => return Err(problem("no password".into())),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO employees (login, password_hash, role, iin, full_name, certificate)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (login) DO UPDATE SET password_hash = $2, role = $3, iin = $4,
                 full_name = $5, certificate = $6, active = true
             RETURNING id",
        )
        .bind(&entry.login)
        .bind(&password_hash)
        .bind(entry.role.code())
        .bind(iin.to_string())
        .bind(name)
        .bind(&der)
        .fetch_one(pool)
        .await?;
        if let Some(key) = key {
            if signer.is_none_or(|s| s == entry.login) && keys.signer.is_none() {
                keys.signer = Some(id);
            }
            keys.keys.insert(id, key);
        }
        tracing::info!(login = %entry.login, role = %entry.role, %iin, "Enrolled an employee.");
    }
    Ok(keys)
}

/// The active employees of `role`, by login.
pub async fn with_role(
    db: impl sqlx::PgExecutor<'_>,
    role: Role,
) -> Result<Vec<Employee>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE role = $1 AND active ORDER BY login"
    )))
    .bind(role.code())
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(Employee::from_row).collect())
}

pub async fn by_login(
    db: impl sqlx::PgExecutor<'_>,
    login: &str,
) -> Result<Option<Employee>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE login = $1 AND active"
    )))
    .bind(login)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(Employee::from_row))
}

pub async fn by_id(
    db: impl sqlx::PgExecutor<'_>,
    id: i64,
) -> Result<Option<Employee>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(Employee::from_row))
}

// === sessions ===

/// A hash nobody's password matches, spent on unknown logins.
static DECOY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("no such employee", 1000));

/// Seed 003 §11 diagram 3, condition 1: checks the employee's login and
/// password; on success opens a session (process 3), otherwise refuses
/// (process 2).
pub async fn login(
    pool: &PgPool,
    login: &str,
    password: &str,
    ttl: std::time::Duration,
) -> Result<(String, DateTime<Utc>, Employee), ApiError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EMPLOYEE_COLUMNS}, password_hash FROM employees WHERE login = $1 AND active"
    )))
    .bind(login)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        verify_password(password, &DECOY);
        return Err(ApiError::bad_credentials());
    };
    let stored: String = row.get("password_hash");
    // The derivation takes a while on purpose; keep it off the runtime's
    // worker threads.
    let (password, check) = (password.to_owned(), stored.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &check))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(ApiError::bad_credentials());
    }
    let employee = Employee::from_row(&row);
    let mut token = [0u8; 32];
    SystemRandom::new()
        .fill(&mut token)
        .map_err(|_| ApiError::internal("the random number generator failed"))?;
    let token = hex::encode(token);
    let expires_at =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(8));
    sqlx::query("INSERT INTO sessions (token_hash, employee_id, expires_at) VALUES ($1, $2, $3)")
        .bind(egov_trust::sha256(token.as_bytes()).to_vec())
        .bind(employee.id)
        .bind(expires_at)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE expires_at < now()")
        .execute(pool)
        .await?;
    Ok((token, expires_at, employee))
}

/// The employee whose session `token` is.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Employee, ApiError> {
    let row = sqlx::query(
        "SELECT e.id, e.login, e.role, e.iin, e.full_name, e.certificate, s.expires_at
         FROM sessions s JOIN employees e ON e.id = s.employee_id
         WHERE s.token_hash = $1 AND e.active",
    )
    .bind(egov_trust::sha256(token.as_bytes()).to_vec())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::unauthenticated(
            "no_session",
            "no such session; log in again",
        ));
    };
    let expires_at: DateTime<Utc> = row.get("expires_at");
    if expires_at <= Utc::now() {
        return Err(ApiError::unauthenticated(
            "session_expired",
            "the session expired; log in again",
        ));
    }
    Ok(Employee::from_row(&row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash_password("correct horse", 1000);
        assert!(stored.starts_with("pbkdf2-sha256$1000$"));
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("correct horsf", &stored));
        assert!(!verify_password("correct horse", "plain text"));
    }

    #[test]
    fn each_hash_has_its_own_salt() {
        assert_ne!(hash_password("same", 1000), hash_password("same", 1000));
    }
}
