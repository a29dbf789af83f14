//! Tracing for every service: an env-filtered fmt layer (plain for people,
//! JSON for collectors) and an OpenTelemetry layer. Spans get W3C trace ids
//! even without an exporter, so the trace context always propagates; with
//! `otlp_endpoint` set, spans are exported over OTLP/HTTP.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::Deserialize;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::settings::{FieldErrors, Validate};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// "plain" (default) or "json".
    #[serde(default)]
    pub log_format: LogFormat,
    /// An EnvFilter directive; RUST_LOG, when set, wins.
    #[serde(default = "default_filter")]
    pub log_filter: String,
    /// OTLP/HTTP endpoint, e.g. "http://127.0.0.1:4318/v1/traces"; none means
    /// no export.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// Citizens' and employees' IINs in logs and span attributes in the
    /// clear (a test environment that wants them); by default masked
    /// (`900101****17`, see [`mask_iin`]).
    #[serde(default)]
    pub show_personal_data: bool,
}

static SHOW_PERSONAL_DATA: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// An IIN as logs and traces may carry it: its first six digits (the birth
/// date) and last two, the rest masked — unless `telemetry.show_personal_data`
/// is set. Anything that is not twelve digits is masked whole.
pub fn mask_iin(iin: &str) -> String {
    if SHOW_PERSONAL_DATA.load(std::sync::atomic::Ordering::Relaxed) {
        return iin.to_owned();
    }
    if iin.len() == 12 && iin.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}****{}", &iin[..6], &iin[10..])
    } else {
        "*".repeat(iin.chars().count().min(12))
    }
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings {
            log_format: LogFormat::Plain,
            log_filter: default_filter(),
            otlp_endpoint: None,
            show_personal_data: false,
        }
    }
}

fn default_filter() -> String {
    // lapin logs ERROR on every channel the broker closes, even one closed
    // on purpose (the gateway's depth sampler asks after queues of systems
    // not started, every 5 s); the mesh's own code reports the failures
    // that matter, so lapin's channel log is off.
    "info,lapin=warn,lapin::channel=off,sqlx=warn,h2=warn,tower=warn,hyper=warn".into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_iin_is_masked_but_its_birth_date_and_last_digits() {
        assert_eq!(super::mask_iin("900101300017"), "900101****17");
        assert_eq!(super::mask_iin("not-an-iin"), "**********");
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

impl Validate for TelemetrySettings {
    fn validate(&self, errors: &mut FieldErrors) {
        errors.check(
            EnvFilter::try_new(&self.log_filter).is_ok(),
            "telemetry.log_filter",
            "not a valid tracing filter directive",
        );
        if let Some(endpoint) = &self.otlp_endpoint {
            errors.check(
                endpoint.starts_with("http://") || endpoint.starts_with("https://"),
                "telemetry.otlp_endpoint",
                "must be an http:// or https:// URL",
            );
        }
    }
}

/// Flushes and stops the tracer provider when dropped.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Installs the global subscriber. Call once per process.
pub fn init(
    service_name: &str,
    settings: &TelemetrySettings,
) -> Result<TelemetryGuard, TelemetryError> {
    SHOW_PERSONAL_DATA.store(
        settings.show_personal_data,
        std::sync::atomic::Ordering::Relaxed,
    );
    if settings.show_personal_data {
        eprintln!(
            "{service_name}: telemetry.show_personal_data is on: IINs appear in the clear in logs and traces"
        );
    }
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut provider = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &settings.otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    let tracer = provider.tracer(service_name.to_owned());
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log_filter));
    let fmt = match settings.log_format {
        LogFormat::Plain => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer().json().boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard { provider })
}

/// For tests: installs the subscriber once per test binary. Logs go to the
/// test harness's captured output, and only when TEST_LOG is set; spans are
/// always recorded (at info), so trace context propagates as in production.
pub fn init_for_tests() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let logs = if std::env::var_os("TEST_LOG").is_some() {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
        } else {
            EnvFilter::new("off")
        };
        let _ = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_test_writer()
                    .with_filter(logs),
            )
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .try_init();
        // The provider must outlive every test in the binary.
        std::mem::forget(provider);
    });
}
