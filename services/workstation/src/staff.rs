//! The provider's employees and where they are stored. Roles are the
//! regulations' actor codes (egov-regulations `Actor`): office clerk, head,
//! specialist, responsible person. Each employee has an EDS certificate
//! from the mesh CA naming their IIN and the provider's BIN.
//!
//! Password hashes are in the `passwords` module, logins in `sessions`,
//! enrolment and the heads' keys in `enrolment`; they use this one.

use crate::codes;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// Kept here too: callers outside the crate name it `staff::Role`.
pub use crate::role::Role;

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
    /// An employee from a row with the columns of [`COLUMNS`].
    pub(crate) fn from_row(row: &PgRow) -> Result<Employee, sqlx::Error> {
        Ok(Employee {
            id: row.try_get("id")?,
            login: row.try_get("login")?,
            role: codes::decode(row, "role", "role", Role::from_code)?,
            iin: row.try_get("iin")?,
            name: row.try_get("full_name")?,
            certificate: row.try_get("certificate")?,
        })
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

/// The columns [`Employee::from_row`] reads.
pub(crate) const COLUMNS: &str = "id, login, role, iin, full_name, certificate";

/// The active employees of `role`, by login.
pub async fn with_role(
    db: impl sqlx::PgExecutor<'_>,
    role: Role,
) -> Result<Vec<Employee>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM employees WHERE role = $1 AND active ORDER BY login"
    )))
    .bind(role.code())
    .fetch_all(db)
    .await?;
    rows.iter().map(Employee::from_row).collect()
}

pub async fn by_login(
    db: impl sqlx::PgExecutor<'_>,
    login: &str,
) -> Result<Option<Employee>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM employees WHERE login = $1 AND active"
    )))
    .bind(login)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(Employee::from_row).transpose()
}

pub async fn by_id(
    db: impl sqlx::PgExecutor<'_>,
    id: i64,
) -> Result<Option<Employee>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM employees WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(Employee::from_row).transpose()
}

/// An active employee and their stored password hash, for a login.
pub async fn with_password_hash(
    db: impl sqlx::PgExecutor<'_>,
    login: &str,
) -> Result<Option<(Employee, String)>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, password_hash FROM employees WHERE login = $1 AND active"
    )))
    .bind(login)
    .fetch_optional(db)
    .await?;
    row.map(|row| Ok((Employee::from_row(&row)?, row.try_get("password_hash")?)))
        .transpose()
}

/// The password hash stored for `login`, active or not.
pub async fn stored_password_hash(
    db: impl sqlx::PgExecutor<'_>,
    login: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM employees WHERE login = $1")
        .bind(login)
        .fetch_optional(db)
        .await
}

/// What enrolment writes of an employee.
pub struct EmployeeRecord<'a> {
    pub login: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub iin: &'a str,
    pub full_name: &'a str,
    pub certificate: &'a [u8],
}

/// Creates the employee, or updates (and reactivates) the one with the same
/// login; returns their id.
pub async fn upsert(
    db: impl sqlx::PgExecutor<'_>,
    employee: &EmployeeRecord<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO employees (login, password_hash, role, iin, full_name, certificate)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (login) DO UPDATE SET password_hash = $2, role = $3, iin = $4,
             full_name = $5, certificate = $6, active = true
         RETURNING id",
    )
    .bind(employee.login)
    .bind(employee.password_hash)
    .bind(employee.role.code())
    .bind(employee.iin)
    .bind(employee.full_name)
    .bind(employee.certificate)
    .fetch_one(db)
    .await
}
