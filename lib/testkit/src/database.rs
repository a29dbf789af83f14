//! A PostgreSQL database of its own for each test, dropped afterwards (also
//! when the test fails: the drop runs on its own thread, outside the test's
//! runtime).

use sqlx::{Connection, Executor, PgConnection};

pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database named `egov_test_<random>`.
    pub async fn create() -> TestDatabase {
        let name = crate::env::unique_name("egov_test_");
        let admin_url = crate::env::admin_database_url();
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("database URL {admin_url} has no database part"),
        };
        TestDatabase { name, url }
    }

    /// postgres:// URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Terminates every session on this database, as a PostgreSQL restart
    /// would for its clients (a real restart would also break the tests
    /// running beside this one). Returns how many were terminated.
    pub async fn drop_connections(&self) -> u64 {
        let mut admin = PgConnection::connect(&crate::env::admin_database_url())
            .await
            .expect("connect as admin");
        let terminated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()) t",
        )
        .bind(&self.name)
        .fetch_one(&mut admin)
        .await
        .expect("terminate the database's sessions");
        let _ = admin.close().await;
        terminated as u64
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = crate::env::admin_database_url();
        // A fresh thread and runtime: Drop may run inside (or outside) the
        // test's runtime, where blocking on it would not be allowed.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for dropping the test database");
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .await?;
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!(
                "warning: could not drop test database {}: {error}",
                self.name
            );
        }
    }
}

/// A fresh database with one service's schema migrated: for tests of a
/// service's storage alone.
pub struct MigratedSchema {
    pub pool: sqlx::PgPool,
    // Dropped after the pool: removes the database.
    _database: TestDatabase,
}

impl MigratedSchema {
    pub async fn create(schema: &str, migrator: &sqlx::migrate::Migrator) -> MigratedSchema {
        let database = TestDatabase::create().await;
        let pool = egov_runtime::database::DatabaseSettings {
            url: database.url().into(),
            schema: schema.to_owned(),
            max_connections: 4,
            acquire_timeout: std::time::Duration::from_secs(10),
        }
        .connect()
        .await
        .expect("connect to the test database");
        migrator.run(&pool).await.expect("migrations");
        MigratedSchema {
            pool,
            _database: database,
        }
    }
}
