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
//! - [`metrics`]: a service's `/metrics` scraped over HTTP and parsed
//!   (prometheus-parse), with the look-ups a test asserts on;
//! - [`wait`]: waiting for a condition, never a fixed sleep;
//! - [`statuses`]: the gateway's delivery statuses all settled, counted;
//! - [`service`]: the checks every service shares (health watched, health
//!   following the broker, reflection as an outside client sees it);
//! - [`tls`]: mutual TLS on a service's port (certificates, settings,
//!   clients) and the checks every TLS port must pass.

pub mod database;
pub mod env;
pub mod mesh;
pub mod metrics;
pub mod pki;
pub mod process;
pub mod service;
pub mod statuses;
pub mod tls;
pub mod wait;

pub use mesh::TestMesh;

pub use env::{admin_database_url, amqp_url, unique_name};
