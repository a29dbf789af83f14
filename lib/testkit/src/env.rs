//! Where the test's PostgreSQL and RabbitMQ are (from the environment, with
//! this machine's defaults), and unique names for what each test creates.

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
