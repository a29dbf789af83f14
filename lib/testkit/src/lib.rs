//! Fixtures for tests that cross a system boundary, on the real PostgreSQL and
//! RabbitMQ: nothing is mocked, every test gets its own database, its own
//! broker namespace and its own CA, and all are removed when dropped.
//!
//! # Layout
//! - [`database`]: a fresh PostgreSQL database per test;
//! - [`pki`]: a CA with its CRL distribution point on a free port, and
//!   certificates for systems (good, expired, foreign, revoked);
//! - [`mesh`]: all three together, handing out each system's settings as
//!   environment variables (for in-process services and child processes
//!   alike) and bus clients;
//! - [`process`]: a service as a child process, ready when it says so;
//! - [`service`]: the checks every service shares (health watched, health
//!   following the broker, reflection as an outside client sees it).

pub mod database;
pub mod mesh;
pub mod pki;
pub mod process;
pub mod service;

pub use mesh::TestMesh;

/// The PostgreSQL server tests use; `EGOV_TEST_DATABASE_URL` overrides it.
pub fn admin_database_url() -> String {
    std::env::var("EGOV_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The RabbitMQ broker tests use; `EGOV_TEST_AMQP_URL` overrides it.
pub fn amqp_url() -> String {
    std::env::var("EGOV_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A short random name for a test's database or broker namespace.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..12])
}
