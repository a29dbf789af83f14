//! Enrolment of the provider's staff at start, and the heads' EDS keys. The
//! certificate must be the mesh CA's, valid, not revoked, an employee's with
//! the provider's BIN. A head's private key is held by the workstation (a
//! stand-in for the NCA token) and signs on the head's action.

use crate::passwords::{hash_password, is_password_hash, verify_password};
use crate::role::Role;
use crate::staff::{self, EmployeeRecord};
use chrono::Utc;
use egov_trust::{SigningKey, Subject, TrustStore};
use sqlx::PgPool;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One employee to enrol (from `[[workstation.staff]]`).
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub login: String,
    /// Hashed at enrolment; exactly one of this and `password_hash`.
    pub password: Option<secrecy::SecretString>,
    pub password_hash: Option<String>,
    pub role: Role,
    /// The EDS certificate (PEM) from the mesh CA.
    pub certificate: PathBuf,
    /// The private key (PEM, PKCS#8): heads only.
    pub private_key: Option<PathBuf>,
}

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
    entries: &[Enrolment],
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
        let existing = staff::stored_password_hash(pool, &entry.login).await?;
        let password_hash = match (&entry.password, &entry.password_hash) {
            (_, Some(hash)) if is_password_hash(hash) => hash.clone(),
            (_, Some(_)) => {
                return Err(problem("password_hash is not a pbkdf2-sha256 hash".into()));
            }
            // Keep the stored hash when the password is unchanged: a new salt
            // on every start would change nothing but the row.
            (Some(password), None) => {
                let password = secrecy::ExposeSecret::expose_secret(password);
                match existing {
                    Some(stored) if verify_password(password, &stored) => stored,
                    _ => hash_password(password, iterations),
                }
            }
            (None, None) => return Err(problem("no password".into())),
        };
        let iin_text = iin.to_string();
        let id = staff::upsert(
            pool,
            &EmployeeRecord {
                login: &entry.login,
                password_hash: &password_hash,
                role: entry.role,
                iin: &iin_text,
                full_name: name,
                certificate: &der,
            },
        )
        .await?;
        if let Some(key) = key {
            if signer.is_none_or(|s| s == entry.login) && keys.signer.is_none() {
                keys.signer = Some(id);
            }
            keys.keys.insert(id, key);
        }
        tracing::info!(login = %entry.login, role = %entry.role, iin = %egov_runtime::telemetry::mask_iin(&iin.to_string()), "Enrolled an employee.");
    }
    Ok(keys)
}
