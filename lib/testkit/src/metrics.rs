//! A service's metrics as a scraper sees them: `GET /metrics` over HTTP,
//! the text parsed by a Prometheus text-format parser (prometheus-parse),
//! and the look-ups a test asserts on.

use prometheus_parse::{Sample, Value};
use std::net::SocketAddr;

/// One scrape, parsed.
pub struct Scrape {
    pub text: String,
    pub parsed: prometheus_parse::Scrape,
}

/// Scrapes `http://<address>/metrics`; panics on anything but a 200 with
/// the Prometheus text format's content type and text that parses.
pub async fn scrape(address: SocketAddr) -> Scrape {
    let response = reqwest::Client::new()
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET http://{address}/metrics: {e}"));
    assert_eq!(response.status(), 200, "GET /metrics");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "the Prometheus text format, not {content_type:?}"
    );
    let text = response.text().await.expect("the metrics' text");
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("the metrics do not parse: {e}\n{text}"));
    Scrape { text, parsed }
}

impl Scrape {
    /// The samples named `name` whose labels include every pair of `labels`.
    pub fn samples<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.parsed.samples.iter().filter(move |s| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
    }

    /// The value of the counter or gauge `name` with `labels` (summed over
    /// the samples that match), or None when no sample matches.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = None;
        for sample in self.samples(name, labels) {
            let value = match &sample.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                other => panic!("{name} is not a counter or a gauge: {other:?}"),
            };
            *found.get_or_insert(0.0) += value;
        }
        found
    }

    /// As [`Scrape::value`], 0 when no sample matches (a counter not yet
    /// incremented has no series).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// The number of observations of the histogram `name` with `labels`
    /// (its `+Inf` bucket, summed over the matching series).
    pub fn observations(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.samples(name, labels)
            .map(|sample| match &sample.value {
                Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count) as u64,
                other => panic!("{name} is not a histogram: {other:?}"),
            })
            .sum()
    }

    /// Whether a metric family named `name` is exposed (with its HELP).
    pub fn has(&self, name: &str) -> bool {
        self.parsed.docs.contains_key(name)
    }
}
