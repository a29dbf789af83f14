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
fn default_deadline_grace() -> Duration {
    Duration::from_secs(5)
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
            t.max_envelope_bytes >= 1024,
            "gateway.max_envelope_bytes",
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
