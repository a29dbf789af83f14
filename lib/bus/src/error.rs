//! What can go wrong on the bus, each with a stable code.

use egov_proto::envelope::Rejection;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the broker is not reachable (waited {0:?})")]
    Unavailable(Duration),
    #[error(transparent)]
    Publish(#[from] crate::publisher::PublishError),
    #[error("bad settings: {0}")]
    Settings(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the bus tables: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl BusError {
    pub fn code(&self) -> &'static str {
        match self {
            BusError::Unavailable(_) => "broker_unavailable",
            BusError::Publish(_) => "publish_failed",
            BusError::Settings(_) => "bad_settings",
            BusError::Database(_) | BusError::Migrate(_) => "database_error",
        }
    }
}

/// Why a synchronous call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No answer within the deadline; the request expires and is never
    /// delivered later.
    #[error("call_timeout: no answer within {0:?}")]
    Timeout(Duration),
    /// The gateway refused the request, or it expired or was dead-lettered
    /// on the way (code from the gateway's catalogue).
    #[error("{code}: {detail}")]
    Refused { code: String, detail: String },
    /// An answer arrived that does not belong to the request.
    #[error("bad_response: {0}")]
    BadResponse(String),
    #[error(transparent)]
    Bus(#[from] BusError),
}

impl CallError {
    pub fn code(&self) -> &str {
        match self {
            CallError::Timeout(_) => "call_timeout",
            CallError::Refused { code, .. } => code,
            CallError::BadResponse(_) => "bad_response",
            CallError::Bus(e) => e.code(),
        }
    }
}

/// A reasoned refusal by the receiver (a KIND_REJECT answer).
pub fn rejection(code: &str, message: impl Into<String>, field: &str) -> Rejection {
    Rejection {
        code: code.to_owned(),
        message: message.into(),
        field: field.to_owned(),
    }
}
