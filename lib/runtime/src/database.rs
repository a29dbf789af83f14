//! PostgreSQL for one service: a pool whose connections see only the
//! service's own schema, created on first use (DESIGN.md: one schema per
//! system).

use crate::settings::{FieldErrors, Validate};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// postgres://user:password@host:port/database — a secret: it never
    /// prints (`{:?}` shows it redacted).
    pub url: SecretString,
    /// The service's schema; its tables and its migration history live there.
    pub schema: String,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    #[serde(
        with = "crate::settings::duration",
        default = "default_acquire_timeout"
    )]
    pub acquire_timeout: Duration,
}

fn default_max_connections() -> u32 {
    8
}
fn default_acquire_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Validate for DatabaseSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        errors.check(
            PgConnectOptions::from_str(self.url.expose_secret()).is_ok(),
            "database.url",
            "not a postgres:// URL",
        );
        errors.check(
            !self.schema.is_empty()
                && self
                    .schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "database.schema",
            "use lowercase letters, digits and _",
        );
        errors.check(
            self.max_connections > 0,
            "database.max_connections",
            "must be at least 1",
        );
    }
}

impl DatabaseSettings {
    pub fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        Ok(PgConnectOptions::from_str(self.url.expose_secret())?
            .options([("search_path", self.schema.as_str())])
            .log_statements(tracing::log::LevelFilter::Trace))
    }

    /// Creates the schema if needed and returns a pool confined to it.
    pub async fn connect(&self) -> Result<PgPool, sqlx::Error> {
        let options = self.connect_options()?;
        let mut admin = sqlx::PgConnection::connect_with(&options).await?;
        // The schema name is validated to [a-z0-9_]+ above.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            self.schema
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .connect_with(options)
            .await
    }
}

/// Creates the database named in `url` if it does not exist (for `make run`
/// on a fresh machine), connecting to the server's `postgres` database.
pub async fn ensure_database(url: &str) -> Result<(), sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = sqlx::PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let quoted = name.replace('"', "\"\"");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{quoted}\"")))
            .execute(&mut admin)
            .await?;
        tracing::info!(database = %name, "Created the database.");
    }
    admin.close().await
}
