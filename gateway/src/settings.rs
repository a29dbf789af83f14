//! The gateway's settings: `config/gateway.toml` (or the file given with
//! `--config`), then `EGOV__…` and `EGOV_GATEWAY__…` environment variables.

use egov_runtime::settings::{FieldErrors, Validate, duration};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

// `bus.retry_delays` are the gateway's delays between attempts to deliver
// into a receiver's queue; `bus.prefetch` is how many ingress messages it
// works on at once.
egov_bus::service_settings! {
    pub struct Settings {
        database;
        #[serde(default)]
        pub gateway: Tuning,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// The routing table; none means the one built in (gateway/routes.toml).
    #[serde(default)]
    pub routes: Option<PathBuf>,
    /// Most messages written to the log in one transaction.
    #[serde(default = "default_batch_max")]
    pub batch_max: usize,
    /// Messages verified in parallel.
    #[serde(default = "default_verify_concurrency")]
    pub verify_concurrency: usize,
    /// Status changes to one sender are gathered for at most this long.
    #[serde(with = "duration", default = "default_status_flush")]
    pub status_flush: Duration,
    /// A final status whose report the broker has not confirmed this long
    /// after it was recorded is reported again.
    #[serde(with = "duration", default = "default_status_resend")]
    pub status_resend: Duration,
    /// Deadline of a gRPC Call whose request carries no expires_at.
    #[serde(with = "duration", default = "default_call_deadline")]
    pub default_call_deadline: Duration,
    /// Largest envelope accepted, in bytes, over AMQP and gRPC alike; a
    /// larger one is refused with `payload_too_large`. (A gRPC request is
    /// also bounded by `grpc.max_message_bytes`, checked first.)
    #[serde(default = "default_max_envelope")]
    pub max_envelope_bytes: usize,
    /// How far in the future a message's created_at may be (clock skew).
    #[serde(with = "duration", default = "default_clock_skew")]
    pub max_clock_skew: Duration,
    /// A message given out by Receive (to a partner without AMQP) and not
    /// acked this long is given out again.
    #[serde(with = "duration", default = "default_receive_ack_timeout")]
    pub receive_ack_timeout: Duration,
    /// A message with a deadline that is still not final this long after
    /// it is marked EXPIRED by the gateway: its receiver took it and said
    /// nothing (a look-up left unanswered). The receiver's own report or
    /// the broker's expiry usually comes first and says more.
    #[serde(with = "duration", default = "default_deadline_grace")]
    pub deadline_grace: Duration,
    /// Messages a sender may send per second on average (its receipts not
    /// counted), after a burst of `rate_limit_burst`; over it a message is
    /// refused `rate_limited`. 0 (the default): no limit.
    #[serde(default)]
    pub rate_limit_per_second: f64,
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
    /// Where the gateway writes its message log archives (ArchiveLog and
    /// the retention task); none: archiving is off (`archive_not_configured`).
    #[serde(default)]
    pub archive_dir: Option<PathBuf>,
    /// Rows logged longer ago than this are archived by a background task
    /// into `archive_dir`; none (the default): only ArchiveLog archives.
    #[serde(with = "duration", default)]
    pub log_retention: Option<Duration>,
    /// How often the retention task looks for rows to archive.
    #[serde(with = "duration", default = "default_archive_every")]
    pub archive_every: Duration,
    /// Most rows in one archive file.
    #[serde(default = "default_archive_max_rows")]
    pub archive_max_rows: usize,
    /// Most bytes of envelopes in one archive file (a single larger
    /// envelope still makes a file of its own).
    #[serde(default = "default_archive_max_bytes")]
    pub archive_max_bytes: usize,
}

fn default_batch_max() -> usize {
    512
}
fn default_verify_concurrency() -> usize {
    64
}
fn default_status_flush() -> Duration {
    Duration::from_millis(20)
}
fn default_status_resend() -> Duration {
    Duration::from_secs(2)
}
fn default_call_deadline() -> Duration {
    Duration::from_secs(10)
}
fn default_max_envelope() -> usize {
    4 * 1024 * 1024
}
fn default_clock_skew() -> Duration {
    Duration::from_secs(300)
}
fn default_receive_ack_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_rate_limit_burst() -> u32 {
    200
}
fn default_deadline_grace() -> Duration {
    Duration::from_secs(5)
}
fn default_archive_every() -> Duration {
    Duration::from_secs(600)
}
fn default_archive_max_rows() -> usize {
    10_000
}
fn default_archive_max_bytes() -> usize {
    64 * 1024 * 1024
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            routes: None,
            batch_max: default_batch_max(),
            verify_concurrency: default_verify_concurrency(),
            status_flush: default_status_flush(),
            status_resend: default_status_resend(),
            default_call_deadline: default_call_deadline(),
            max_envelope_bytes: default_max_envelope(),
            max_clock_skew: default_clock_skew(),
            receive_ack_timeout: default_receive_ack_timeout(),
            deadline_grace: default_deadline_grace(),
            rate_limit_per_second: 0.0,
            rate_limit_burst: default_rate_limit_burst(),
            archive_dir: None,
            log_retention: None,
            archive_every: default_archive_every(),
            archive_max_rows: default_archive_max_rows(),
            archive_max_bytes: default_archive_max_bytes(),
        }
    }
}

impl Validate for Settings {
    fn validate(&self, errors: &mut FieldErrors) {
        self.validate_common(errors);
        let t = &self.gateway;
        errors.check(t.batch_max > 0, "gateway.batch_max", "must be at least 1");
        errors.check(
            t.verify_concurrency > 0,
            "gateway.verify_concurrency",
            "must be at least 1",
        );
        errors.check(
            t.rate_limit_per_second >= 0.0 && t.rate_limit_per_second.is_finite(),
            "gateway.rate_limit_per_second",
            "must be 0 (no limit) or more",
        );
        errors.check(
            t.rate_limit_burst >= 1,
            "gateway.rate_limit_burst",
            "must be at least 1",
        );
        errors.check(
            t.max_envelope_bytes >= 1024,
            "gateway.max_envelope_bytes",
            "must be at least 1024",
        );
        errors.check(
            t.log_retention.is_none() || t.archive_dir.is_some(),
            "gateway.log_retention",
            "needs gateway.archive_dir, where the archives go",
        );
        errors.check(
            !t.archive_every.is_zero(),
            "gateway.archive_every",
            "must be above zero",
        );
        errors.check(
            t.archive_max_rows > 0,
            "gateway.archive_max_rows",
            "must be at least 1",
        );
        errors.check(
            t.archive_max_bytes >= 1024,
            "gateway.archive_max_bytes",
            "must be at least 1024",
        );
        if let Some(path) = &t.routes {
            errors.check(
                path.is_file(),
                "gateway.routes",
                format!("{} is not a readable file", path.display()),
            );
        }
    }
}
