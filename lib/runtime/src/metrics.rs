//! Prometheus metrics, the same way on every service: the runner
//! ([`crate::service::Runner`]) holds one [`Registry`] (every name prefixed
//! `egov_`), each part of the service registers its own metrics in it while
//! the service is built, and the runner serves the registry in the
//! Prometheus text format (0.0.4, the `prometheus-client` crate's encoder)
//! at `GET /metrics` on a port of its own (`[metrics] listen`, port 0
//! allowed; the bound address is logged as "<Name> metrics listening.").
//!
//! Metrics are the Prometheus project's client types (counters, gauges,
//! histograms, families by label): cheap atomics, cloned handles share one
//! value, so a part keeps its handles and registers clones.

use prometheus_client::encoding::prometheus_text;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use prometheus_client::metrics::counter::Counter;
pub use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
pub use prometheus_client::registry::Registry;

/// The prefix of every metric of the mesh.
pub const PREFIX: &str = "egov";

/// The `[metrics]` block every service's settings have.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Where `GET /metrics` is served; port 0 picks a free port (the bound
    /// address is logged).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            listen: default_listen(),
        }
    }
}

/// A registry whose metrics are all named `egov_…`.
pub fn registry() -> Registry {
    Registry::with_prefix(PREFIX)
}

/// Latency buckets in seconds: 0.5 ms to about 8 s, doubling.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0005, 2.0, 15)
}

/// A histogram of durations in seconds ([`latency_buckets`]).
pub fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// The labels of one series, as read from a row.
pub type Labels = Vec<(String, String)>;

/// Gauges read from the service's database every `every` (what the
/// database holds — applications by regulation and state, overdue tasks —
/// rather than counters a restart would reset): one series per row of
/// `query`, its labels and value read by `read`; series a refresh no longer
/// finds are dropped.
pub fn database_gauges<F>(
    runner: &mut crate::service::Runner,
    pool: sqlx::PgPool,
    name: &'static str,
    help: &'static str,
    every: std::time::Duration,
    query: &'static str,
    read: F,
) where
    F: Fn(&sqlx::postgres::PgRow) -> Result<(Labels, i64), sqlx::Error> + Send + Sync + 'static,
{
    let family = Family::<Labels, Gauge>::default();
    runner.registry().register(name, help, family.clone());
    runner.task(move |stop| async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match sqlx::query(query).fetch_all(&pool).await {
                Ok(rows) => {
                    let series: Result<Vec<(Labels, i64)>, sqlx::Error> =
                        rows.iter().map(&read).collect();
                    match series {
                        Ok(series) => {
                            family.clear();
                            for (labels, value) in series {
                                family.get_or_create(&labels).set(value);
                            }
                        }
                        Err(error) => tracing::warn!(%error, metric = name, "A metric's row does not read."),
                    }
                }
                Err(error) => tracing::debug!(%error, metric = name, "A metric's query failed; tried again later."),
            }
        }
    });
}

/// The registry in the Prometheus text format.
pub fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_text::encode(&mut text, registry).expect("writing into a String does not fail");
    text
}

/// Serves `GET /metrics` on `listener` until `stop` is cancelled.
pub(crate) async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    use axum::http::header;
    use axum::routing::get;
    let router = axum::Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
                    encode(&registry),
                )
            }
        }),
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_the_mesh_prefix_and_counters_end_in_total() {
        let mut registry = registry();
        let counter = Counter::<u64>::default();
        registry.register("things_done", "Things done", counter.clone());
        counter.inc();
        let text = encode(&registry);
        assert!(
            text.contains("# TYPE egov_things_done_total counter"),
            "{text}"
        );
        assert!(text.contains("\negov_things_done_total 1\n"), "{text}");
    }
}
