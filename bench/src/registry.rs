//! registry.lookup: "person by IIN" through the gateway with a million
//! people loaded: intake → ingress → gateway (verify, log, countersign) →
//! the individuals registry's inbox (fault gate, consent, the person's
//! record with family links and care arrangements, read on the inbox
//! transaction) → gateway → intake, at a fixed concurrency.
//!
//! The population is seeded once into a database of its own,
//! `egov_bench_people_<n>`, through the generator and the registry's storage
//! (as `egovctl seed` does), and kept: a later run that finds the n people
//! there skips seeding. `DROP DATABASE egov_bench_people_1000000` forgets it.
//! The gateway, its log and the broker namespace are fresh per run
//! (egov-testkit).
//!
//! Sizes: BENCH_PEOPLE (default 1,000,000), BENCH_LOOKUPS measured calls
//! (20,000, after a tenth as many unmeasured to warm up), BENCH_CONCURRENCY
//! callers at once (32).

use crate::{line, percentile_ms};
use anyhow::Context as _;
use egov_bus::{Bus, Outgoing, Reply};
use egov_individuals::storage;
use egov_population::people::{Generator, PopulationConfig};
use egov_proto::individuals::PersonByIinRequest;
use egov_runtime::database::DatabaseSettings;
use egov_testkit::TestMesh;
use egov_trust::SystemId;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The population's seed (the same people on every machine).
const SEED: u64 = 1;
/// Distinct IINs asked for, drawn at random from the registry.
const SAMPLE: i64 = 10_000;
const DEADLINE: Duration = Duration::from_secs(10);

struct Sizes {
    people: usize,
    lookups: usize,
    concurrency: usize,
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the benchmark and prints its `bench registry.lookup.*` lines.
pub async fn report() -> anyhow::Result<()> {
    let sizes = Sizes {
        people: env("BENCH_PEOPLE", 1_000_000),
        lookups: env("BENCH_LOOKUPS", 20_000),
        concurrency: env("BENCH_CONCURRENCY", 32).max(1),
    };
    eprintln!(
        "registry.lookup: {} people, {} look-ups at concurrency {}",
        sizes.people, sizes.lookups, sizes.concurrency
    );
    let database = population(sizes.people).await?;
    let (latencies, elapsed) = lookups(&sizes, &database).await?;
    line(
        "registry.lookup.p50_ms",
        percentile_ms(&latencies, 50.0),
        "ms",
    );
    line(
        "registry.lookup.p99_ms",
        percentile_ms(&latencies, 99.0),
        "ms",
    );
    line(
        "registry.lookup.per_s",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        "lookups/s",
    );
    Ok(())
}

/// The URL of the database holding `people` people, seeded if needed.
async fn population(people: usize) -> anyhow::Result<String> {
    let admin = egov_testkit::admin_database_url();
    let (server, _) = admin
        .rsplit_once('/')
        .context("the database URL has no database part")?;
    let url = format!("{server}/egov_bench_people_{people}");
    egov_runtime::database::ensure_database(&url).await?;
    let pool = DatabaseSettings {
        url: url.clone().into(),
        schema: egov_individuals::settings::SCHEMA.to_owned(),
        max_connections: 4,
        acquire_timeout: Duration::from_secs(60),
    }
    .connect()
    .await?;
    storage::migrate(&pool)
        .await
        .context("migrating the bench population's database (drop it to start afresh)")?;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM persons")
        .fetch_one(&pool)
        .await?;
    if stored as usize == people {
        eprintln!("registry.lookup: {people} people already seeded in {url}");
    } else {
        let started = Instant::now();
        seed(&pool, people).await?;
        eprintln!(
            "registry.lookup: seeded {people} people in {:.1?} (kept in {url})",
            started.elapsed()
        );
    }
    // The planner's statistics, which a server with autovacuum off never
    // gathers by itself; a second or so, outside the measured part.
    storage::analyze(&pool).await?;
    pool.close().await;
    Ok(url)
}

/// Generates the population on a blocking thread and writes its batches two
/// at a time, each in one transaction, as `egovctl seed` does; writes are
/// idempotent, so an interrupted seeding completes on the next run.
async fn seed(pool: &PgPool, people: usize) -> anyhow::Result<()> {
    let generator =
        Generator::new(PopulationConfig::new(SEED, people)).map_err(anyhow::Error::msg)?;
    let (batches, mut receiver) = tokio::sync::mpsc::channel(2);
    let producer = tokio::task::spawn_blocking(move || {
        for batch in generator {
            if batches.blocking_send(batch).is_err() {
                break;
            }
        }
    });
    let mut writing = tokio::task::JoinSet::new();
    let mut written = 0usize;
    let mut reported = 0usize;
    while let Some(batch) = receiver.recv().await {
        if writing.len() >= 2 {
            written += writing.join_next().await.expect("a writer")??;
        }
        let pool = pool.clone();
        writing.spawn(async move {
            storage::write_rows(&pool, &batch.rows).await?;
            anyhow::Ok(batch.rows.persons.len())
        });
        if written - reported >= 100_000 {
            reported = written;
            eprintln!("  {written} people");
        }
    }
    while let Some(done) = writing.join_next().await {
        written += done??;
    }
    producer.await?;
    anyhow::ensure!(written == people, "wrote {written} of {people} people");
    Ok(())
}

/// Starts the gateway and the registry on `database`, and measures.
async fn lookups(sizes: &Sizes, database: &str) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let mesh = TestMesh::new().await;
    let mut gateway = mesh.source(SystemId::Gateway);
    for (key, value) in [
        ("EGOV__BUS__PREFETCH", "256"),
        ("EGOV__DATABASE__MAX_CONNECTIONS", "8"),
        ("EGOV__TRUST__CRL_TTL", "60s"),
    ] {
        gateway.env.insert(key.into(), value.into());
    }
    let settings: egov_gateway::Settings = egov_runtime::settings::load("gateway", &gateway)?;
    let gateway = egov_gateway::Application::build(settings).await?;
    gateway.wait_ready(Duration::from_secs(20)).await?;
    let gateway_stop = CancellationToken::new();
    let gateway_task = tokio::spawn(gateway.run_until_stopped(gateway_stop.clone()));

    let mut registry = mesh.source(SystemId::Individuals);
    for (key, value) in [
        ("EGOV__DATABASE__URL", database),
        ("EGOV__DATABASE__MAX_CONNECTIONS", "16"),
        ("EGOV__BUS__PREFETCH", "64"),
        ("EGOV__TRUST__CRL_TTL", "60s"),
    ] {
        registry.env.insert(key.into(), value.into());
    }
    let settings: egov_individuals::settings::Settings =
        egov_runtime::settings::load("individuals", &registry)?;
    let pool = settings.database.connect().await?;
    let app = egov_individuals::startup::Application::build(settings).await?;
    app.wait_ready(Duration::from_secs(20)).await?;
    // The message ids of earlier runs' look-ups need not be kept.
    sqlx::query("TRUNCATE bus_processed_messages")
        .execute(&pool)
        .await?;
    let iins: Vec<String> =
        sqlx::query_scalar("SELECT iin FROM persons ORDER BY random() LIMIT $1")
            .bind(SAMPLE)
            .fetch_all(&pool)
            .await?;
    pool.close().await;
    anyhow::ensure!(!iins.is_empty(), "no people to look up");
    let registry_stop = CancellationToken::new();
    let registry_task = tokio::spawn(app.run_until_stopped(registry_stop.clone()));

    let intake = Bus::start(
        mesh.bus_settings(),
        mesh.identity(SystemId::Intake),
        crl_cached(&mesh)?,
        None,
    )
    .await?;
    intake.wait_connected(Duration::from_secs(20)).await?;
    let iins = Arc::new(iins);

    calls(&intake, &iins, sizes.lookups / 10, sizes.concurrency).await?;
    let meter = crate::cpu::Meter::start();
    let started = Instant::now();
    let mut latencies = calls(&intake, &iins, sizes.lookups, sizes.concurrency).await?;
    let elapsed = started.elapsed();
    meter.finish("registry.lookup", sizes.lookups);
    latencies.sort();

    intake.shutdown().await;
    registry_stop.cancel();
    registry_task.await??;
    gateway_stop.cancel();
    gateway_task.await??;
    Ok((latencies, elapsed))
}

/// `total` look-ups by `concurrency` callers, each answered with a person.
async fn calls(
    intake: &Bus,
    iins: &Arc<Vec<String>>,
    total: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Duration>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (intake, iins, next) = (intake.clone(), iins.clone(), next.clone());
        callers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(latencies);
                }
                let request = Outgoing::request(
                    SystemId::Individuals,
                    egov_proto::services::PERSON_BY_IIN,
                    PersonByIinRequest {
                        iin: iins[i % iins.len()].clone(),
                        legal_basis: String::new(),
                    },
                )
                .consent(format!("bench-consent-{i}"));
                let started = Instant::now();
                match intake.call(request, DEADLINE).await? {
                    Reply::Response(_) => latencies.push(started.elapsed()),
                    Reply::Rejected(rejection, _) => {
                        anyhow::bail!("look-up {i} refused: {rejection:?}")
                    }
                }
            }
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(caller) = callers.join_next().await {
        latencies.extend(caller??);
    }
    Ok(latencies)
}

/// A trust store that caches the CRL for a minute, as deployed systems do.
fn crl_cached(mesh: &TestMesh) -> anyhow::Result<Arc<egov_trust::TrustStore>> {
    Ok(Arc::new(egov_trust::TrustStore::new(
        mesh.pki.ca.certificate_der().to_vec(),
        egov_trust::CrlSettings {
            url: mesh.pki.crl_url.clone(),
            ttl: Duration::from_secs(60),
            max_stale: Duration::from_secs(600),
            fetch_timeout: Duration::from_secs(5),
        },
    )?))
}
