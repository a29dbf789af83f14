//! The State Corporation's operators: enrolment from settings (each with an
//! employee certificate from the mesh CA naming the State Corporation's
//! BIN, and its key), login by login and password (diagram 1, process 1)
//! with Argon2id and a lockout after repeated failures, and sessions.

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::settings::{OperatorEntry, Role};
use chrono::{DateTime, Utc};
use egov_trust::{SigningKey, Subject};
use sqlx::Row;
use std::sync::Arc;

/// A logged-in operator.
#[derive(Debug, Clone)]
pub struct Operator {
    pub login: String,
    pub role: Role,
    pub iin: String,
    pub full_name: String,
}

impl Operator {
    /// Refuses an operator whose role may not do this.
    pub fn must_be(&self, roles: &[Role], what: &str) -> IntakeResult<()> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        Err(IntakeError::new(
            IntakeCode::WrongRole,
            format!(
                "{what} is for {}; {} is {}",
                roles
                    .iter()
                    .map(|r| r.code())
                    .collect::<Vec<_>>()
                    .join(" or "),
                self.login,
                self.role.code()
            ),
        ))
    }
}

pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub operator: Operator,
}

impl Intake {
    pub(crate) async fn hash_password(&self, password: &str) -> IntakeResult<String> {
        self.passwords
            .hash(password)
            .await
            .map_err(|e| IntakeError::internal(e.to_string()))
    }

    async fn verify_password(&self, hash: String, password: &str) -> IntakeResult<bool> {
        Ok(self.passwords.verify(Some(hash), password).await)
    }

    /// Enrols the operators of the settings: the certificate must be the
    /// mesh CA's, valid, not revoked, an employee's of the State
    /// Corporation's BIN, and the key its own. A password unchanged since
    /// the last start keeps its stored hash.
    pub(crate) async fn enrol(&mut self, entries: &[OperatorEntry]) -> anyhow::Result<()> {
        let now = Utc::now();
        for (i, entry) in entries.iter().enumerate() {
            let at = |problem: String| {
                anyhow::anyhow!("intake.operators[{i}] ({}): {problem}", entry.login)
            };
            let pem = std::fs::read_to_string(&entry.certificate)
                .map_err(|e| at(format!("{}: {e}", entry.certificate.display())))?;
            let der = egov_trust::signing::pem_block(&pem, "CERTIFICATE").map_err(at)?;
            let info = self
                .trust
                .parse(&der)
                .map_err(|e| at(format!("certificate: {e}")))?;
            self.trust
                .check(&der, &info, now)
                .await
                .map_err(|e| at(format!("certificate: {} ({e})", e.code())))?;
            let Subject::Employee { iin, bin, name } = &info.subject else {
                return Err(at(format!("the certificate names {}", info.subject)));
            };
            if bin.as_str() != self.tuning.state_corporation_bin {
                return Err(at(format!(
                    "the certificate's BIN {bin} is not the State Corporation's {}",
                    self.tuning.state_corporation_bin
                )));
            }
            let key_pem = std::fs::read_to_string(&entry.private_key)
                .map_err(|e| at(format!("{}: {e}", entry.private_key.display())))?;
            let key = SigningKey::from_pem(&key_pem).map_err(|e| at(e.to_string()))?;
            if key.public_key() != info.public_key() {
                return Err(at("the private key is not the certificate's".into()));
            }
            let stored: Option<String> =
                sqlx::query_scalar("SELECT password_hash FROM operators WHERE login = $1")
                    .bind(&entry.login)
                    .fetch_optional(&self.pool)
                    .await?;
            let hash = match (&entry.password, &entry.password_hash) {
                (_, Some(hash)) => {
                    if !egov_accounts::Passwords::is_hash(hash) {
                        return Err(at("password_hash is not a PHC string".into()));
                    }
                    hash.clone()
                }
                (Some(password), None) => {
                    let password = secrecy::ExposeSecret::expose_secret(password);
                    match stored {
                        Some(s) if self.verify_password(s.clone(), password).await? => s,
                        _ => self.hash_password(password).await?,
                    }
                }
                (None, None) => return Err(at("no password".into())),
            };
            sqlx::query(
                "INSERT INTO operators (login, password_hash, role, iin, full_name, certificate)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (login) DO UPDATE SET password_hash = $2, role = $3, iin = $4,
                     full_name = $5, certificate = $6",
            )
            .bind(&entry.login)
            .bind(&hash)
            .bind(entry.role.code())
            .bind(iin.to_string())
            .bind(name)
            .bind(&der)
            .execute(&self.pool)
            .await?;
            self.keys.insert(entry.login.clone(), Arc::new(key));
            tracing::info!(login = %entry.login, role = entry.role.code(), "Enrolled an operator.");
        }
        Ok(())
    }

    /// Process 1: login and password. Every failure (unknown login, wrong
    /// password, locked out) is the same `login_refused`.
    pub async fn login(&self, login: &str, password: &str) -> IntakeResult<NewSession> {
        let refused = || {
            IntakeError::new(
                IntakeCode::LoginRefused,
                "the login or the password is wrong, or there were too many attempts: try again later",
            )
        };
        let login = login.trim();
        let row = sqlx::query(
            "SELECT login, role, iin, full_name, password_hash, locked_until
             FROM operators WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // The same work as a real check, so timing does not tell either.
            let _ = self.passwords.verify(None, password).await;
            return Err(refused());
        };
        let locked_until: Option<DateTime<Utc>> = row.try_get("locked_until")?;
        if locked_until.is_some_and(|until| until > Utc::now()) {
            return Err(refused());
        }
        if !self
            .verify_password(row.try_get("password_hash")?, password)
            .await?
        {
            sqlx::query(
                "UPDATE operators SET failed_logins = failed_logins + 1,
                     locked_until = CASE WHEN failed_logins + 1 >= $2
                                         THEN now() + $3::interval END
                 WHERE login = $1",
            )
            .bind(login)
            .bind(self.tuning.lockout_after as i32)
            .bind(
                sqlx::postgres::types::PgInterval::try_from(self.tuning.lockout_for)
                    .unwrap_or_default(),
            )
            .execute(&self.pool)
            .await?;
            return Err(refused());
        }
        sqlx::query("UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE login = $1")
            .bind(login)
            .execute(&self.pool)
            .await?;
        let operator = operator_of(&row)?;
        let token = egov_accounts::new_token().map_err(|e| IntakeError::internal(e.to_string()))?;
        let expires_at = Utc::now() + self.tuning.session_ttl;
        sqlx::query("INSERT INTO sessions (token_hash, login, expires_at) VALUES ($1, $2, $3)")
            .bind(&token.hash)
            .bind(&operator.login)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(NewSession {
            token: token.token,
            expires_at,
            operator,
        })
    }

    /// The operator a bearer token belongs to, while the session lasts.
    pub async fn authenticate(&self, token: Option<&str>) -> IntakeResult<Operator> {
        let unauthenticated = || {
            IntakeError::new(
                IntakeCode::Unauthenticated,
                "log in first (authorization: Bearer <token>)",
            )
        };
        let token = token.ok_or_else(unauthenticated)?;
        let row = sqlx::query(
            "SELECT o.login, o.role, o.iin, o.full_name
             FROM sessions s JOIN operators o ON o.login = s.login
             WHERE s.token_hash = $1 AND s.expires_at > now() AND s.revoked_at IS NULL",
        )
        .bind(egov_accounts::token_hash(token))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(unauthenticated)?;
        operator_of(&row)
    }

    pub async fn logout(&self, token: &str) -> IntakeResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE token_hash = $1")
            .bind(egov_accounts::token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The operator's EDS key and certificate, to sign with.
    pub(crate) async fn signer(
        &self,
        operator: &Operator,
    ) -> IntakeResult<(Arc<SigningKey>, Vec<u8>)> {
        let key = self
            .keys
            .get(&operator.login)
            .cloned()
            .ok_or_else(|| IntakeError::internal("the operator has no EDS key enrolled"))?;
        let certificate: Vec<u8> =
            sqlx::query_scalar("SELECT certificate FROM operators WHERE login = $1")
                .bind(&operator.login)
                .fetch_one(&self.pool)
                .await?;
        Ok((key, certificate))
    }
}

fn operator_of(row: &sqlx::postgres::PgRow) -> IntakeResult<Operator> {
    let role: String = row.try_get("role")?;
    Ok(Operator {
        login: row.try_get("login")?,
        role: Role::from_code(&role)
            .ok_or_else(|| IntakeError::internal(format!("an unknown role {role:?} is stored")))?,
        iin: row.try_get("iin")?,
        full_name: row.try_get("full_name")?,
    })
}
