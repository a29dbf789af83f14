//! `egovctl seed [--seed N] [--people N] [--as-of DATE] [--database-url URL]`:
//! loads the synthetic population into the registries' schemas
//! (`individuals`, `notary`) through their own storage, after running their
//! migrations. The same seed, size and date give the same rows; a second run
//! writes nothing. Seed one population per database: another seed's people
//! would be added beside the first ones.

use anyhow::{Context, bail};
use chrono::NaiveDate;
use egov_population::people::{
    Batch, DEFAULT_PEOPLE, DEFAULT_SEED, Generator, PopulationConfig, default_as_of,
};
use egov_population::powers::{NotaryRows, PoaShares, powers_of_attorney};
use egov_registry::settings::DEFAULT_DATABASE_URL;
use egov_runtime::database::DatabaseSettings;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The population's seed: the same seed gives the same people.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// How many people to generate.
    #[arg(long, default_value_t = DEFAULT_PEOPLE)]
    people: usize,
    /// The date the population describes (ages, statuses, validity);
    /// default 2026-11-01. Must not be in the future.
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<NaiveDate>,
    /// The mesh's database; created if it does not exist.
    #[arg(long, default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
}

/// Batches generated ahead of the writer: generating and writing overlap,
/// and memory stays bounded.
const BATCHES_AHEAD: usize = 2;
/// Batches written at once, each on its own connection per schema.
const WRITERS: usize = 2;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let as_of = args.as_of.unwrap_or_else(default_as_of);
    if as_of > chrono::Utc::now().date_naive() {
        bail!("--as-of {as_of} is in the future: IINs cannot carry future birth dates");
    }
    let config = PopulationConfig {
        as_of,
        ..PopulationConfig::new(args.seed, args.people)
    };
    let generator = Generator::new(config).map_err(anyhow::Error::msg)?;

    create_database_if_missing(&args.database_url).await?;
    let individuals = connect(&args.database_url, egov_individuals::settings::SCHEMA).await?;
    let notary = connect(&args.database_url, egov_notary::settings::SCHEMA).await?;
    egov_individuals::storage::migrate(&individuals)
        .await
        .context("migrating the individuals schema")?;
    egov_notary::storage::migrate(&notary)
        .await
        .context("migrating the notary schema")?;

    let started = Instant::now();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<(Batch, NotaryRows)>(BATCHES_AHEAD);
    let seed = args.seed;
    let producer = tokio::task::spawn_blocking(move || {
        let shares = PoaShares::default();
        for batch in generator {
            let powers = powers_of_attorney(seed, as_of, &batch, &shares);
            if sender.blocking_send((batch, powers)).is_err() {
                break; // The writer stopped on an error.
            }
        }
    });

    // Batches are self-contained, so they are written in any order, a few
    // at a time: the database server's work is what takes the time.
    let mut writing = tokio::task::JoinSet::new();
    let mut totals = Totals::default();
    let mut reported = 0usize;
    while let Some((batch, powers)) = receiver.recv().await {
        if writing.len() >= WRITERS {
            totals.add(writing.join_next().await.expect("a writer")??);
        }
        let (individuals, notary) = (individuals.clone(), notary.clone());
        writing.spawn(async move { write_batch(&individuals, &notary, batch, powers).await });
        if totals.people - reported >= 100_000 {
            reported = totals.people;
            eprintln!("  {} people ({:.1?})", totals.people, started.elapsed());
        }
    }
    while let Some(written) = writing.join_next().await {
        totals.add(written??);
    }
    producer.await.context("the generator failed")?;
    // Fresh statistics for the planner, so the registries' look-ups plan on
    // the loaded tables at once, autovacuum or not (issue 15 point 3).
    tokio::try_join!(
        egov_individuals::storage::analyze(&individuals),
        egov_notary::storage::analyze(&notary),
    )
    .context("analysing the loaded tables")?;
    let elapsed = started.elapsed();

    report(&args, as_of, elapsed, &totals);
    print_catalogue(&individuals, &notary).await
}

/// What the writers did.
#[derive(Default)]
struct Totals {
    people: usize,
    individuals: egov_individuals::storage::Written,
    notary: egov_notary::storage::Written,
}

impl Totals {
    fn add(&mut self, (people, individuals, notary): Written) {
        self.people += people;
        self.individuals += individuals;
        self.notary += notary;
    }
}

/// People in the batch, and new rows in each registry.
type Written = (
    usize,
    egov_individuals::storage::Written,
    egov_notary::storage::Written,
);

async fn write_batch(
    individuals: &PgPool,
    notary: &PgPool,
    batch: Batch,
    powers: NotaryRows,
) -> anyhow::Result<Written> {
    let (a, b) = tokio::try_join!(
        egov_individuals::storage::write_rows(individuals, &batch.rows),
        egov_notary::storage::write_rows(notary, &powers),
    )
    .with_context(|| format!("writing batch {}", batch.index))?;
    Ok((batch.rows.persons.len(), a, b))
}

fn report(args: &Args, as_of: NaiveDate, elapsed: Duration, totals: &Totals) {
    let (people, individuals, notary) = (totals.people, totals.individuals, totals.notary);
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!({
            "seed": args.seed,
            "as_of": as_of.to_string(),
            "people": people,
            "seconds": elapsed.as_secs_f64(),
            "new_rows": {
                "individuals.persons": individuals.persons,
                "individuals.family_links": individuals.family_links,
                "individuals.care_arrangements": individuals.care_arrangements,
                "individuals.adoption_candidates": individuals.adoption_candidates,
                "individuals.cases": individuals.cases,
                "notary.powers_of_attorney": notary.powers_of_attorney,
                "notary.cases": notary.cases,
            },
        }));
        return;
    }
    println!(
        "Seed {} as of {as_of}: {people} people generated and written in {:.1?}.",
        args.seed, elapsed
    );
    println!(
        "New rows: individuals.persons {}, family_links {}, care_arrangements {}, \
         adoption_candidates {}, cases {}; notary.powers_of_attorney {}, cases {}.",
        individuals.persons,
        individuals.family_links,
        individuals.care_arrangements,
        individuals.adoption_candidates,
        individuals.cases,
        notary.powers_of_attorney,
        notary.cases,
    );
    if individuals == Default::default() && notary == Default::default() {
        println!("Nothing new: this population was already seeded.");
    }
}

/// What a tester can ask the catalogues for.
async fn print_catalogue(individuals: &PgPool, notary: &PgPool) -> anyhow::Result<()> {
    if crate::output::json() {
        // The counts are in the report's JSON document already.
        return Ok(());
    }
    println!("Cases (SELECT … FROM individuals.cases / notary.cases WHERE kind = …):");
    for (schema, counts) in [
        (
            "individuals",
            egov_individuals::storage::case_counts(individuals).await?,
        ),
        ("notary", egov_notary::storage::case_counts(notary).await?),
    ] {
        for (kind, count) in counts {
            println!("  {schema}.{kind}: {count}");
        }
    }
    Ok(())
}

async fn connect(url: &str, schema: &str) -> anyhow::Result<PgPool> {
    let settings = DatabaseSettings {
        url: url.into(),
        schema: schema.to_owned(),
        max_connections: WRITERS as u32,
        acquire_timeout: Duration::from_secs(10),
    };
    settings
        .connect()
        .await
        .with_context(|| format!("connecting to {url} (schema {schema})"))
}

/// Creates the database named in `url` when the server says it does not
/// exist (SQLSTATE 3D000), through the server's `postgres` database.
async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url).context("--database-url")?;
    match options.connect().await {
        Ok(connection) => {
            connection.close().await?;
            Ok(())
        }
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("3D000") => {
            let name = options
                .get_database()
                .context("--database-url names no database")?
                .to_owned();
            let mut admin = options.clone().database("postgres").connect().await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{}\"",
                name.replace('"', "\"\"")
            )))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating database {name}"))?;
            admin.close().await?;
            eprintln!("Created database {name}.");
            Ok(())
        }
        Err(error) => Err(error).with_context(|| format!("connecting to {url}")),
    }
}
