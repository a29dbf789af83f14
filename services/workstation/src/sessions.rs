//! Logins and sessions of the employees' API. A login for an unknown name
//! still spends one password derivation, so timing does not tell which
//! logins exist. A session is a random 32-byte bearer token of which only
//! the SHA-256 is stored.

use crate::error::{ApiCode, ApiError};
use crate::passwords::{hash_password, verify_password};
use crate::staff::{self, Employee};
use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::{PgPool, Row};

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
    let Some((employee, stored)) = staff::with_password_hash(pool, login).await? else {
        verify_password(password, &DECOY);
        return Err(ApiError::bad_credentials());
    };
    // The derivation takes a while on purpose; keep it off the runtime's
    // worker threads.
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(ApiError::bad_credentials());
    }
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
        return Err(ApiError::new(
            ApiCode::NoSession,
            "no such session; log in again",
        ));
    };
    let expires_at: DateTime<Utc> = row.try_get("expires_at")?;
    if expires_at <= Utc::now() {
        return Err(ApiError::new(
            ApiCode::SessionExpired,
            "the session expired; log in again",
        ));
    }
    Ok(Employee::from_row(&row)?)
}
