//! Errors with a stable code, the field at fault and words for a person; the
//! same value becomes a gRPC status (message "<code>: <text>", details
//! `google.rpc.ErrorInfo` with the code as reason) or an envelope
//! `Rejection` answering a submission.

use egov_proto::envelope::Rejection;
use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Where workstation errors say they come from.
pub const DOMAIN: &str = "workstation.egov-mesh";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub grpc: Code,
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl ApiError {
    pub fn new(grpc: Code, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            grpc,
            code,
            field: String::new(),
            message: message.into(),
        }
    }

    /// Bad input: `field` is wrong in the way `message` says.
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError::new(Code::InvalidArgument, code, message).at(field)
    }

    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    pub fn missing(field: &str) -> ApiError {
        ApiError::invalid("missing_field", field, format!("{field} is required"))
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(Code::NotFound, "not_found", what)
    }

    pub fn bad_credentials() -> ApiError {
        ApiError::new(
            Code::Unauthenticated,
            "bad_credentials",
            "the login or the password is wrong",
        )
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(Code::Unauthenticated, code, message)
    }

    pub fn denied(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(Code::PermissionDenied, code, message)
    }

    pub fn precondition(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(Code::FailedPrecondition, code, message)
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(Code::Unavailable, code, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::Internal, "internal_error", message)
    }

    pub fn to_status(&self) -> Status {
        let mut metadata = HashMap::new();
        if !self.field.is_empty() {
            metadata.insert("field".to_owned(), self.field.clone());
        }
        let text = if self.field.is_empty() {
            format!("{}: {}", self.code, self.message)
        } else {
            format!("{}: {}: {}", self.code, self.field, self.message)
        };
        Status::with_error_details(
            self.grpc,
            text,
            ErrorDetails::with_error_info(self.code, DOMAIN, metadata),
        )
    }

    pub fn to_rejection(&self) -> Rejection {
        Rejection {
            code: self.code.to_owned(),
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{}: {}: {}", self.code, self.field, self.message)
        }
    }
}

impl std::error::Error for ApiError {}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::ColumnDecode { .. } = error {
            // A stored code the workstation does not know (see `codes`): a
            // corrupt row, which trying again will not mend.
            tracing::error!(%error, "The database holds a value the workstation cannot read.");
            return ApiError::internal(format!("a stored row cannot be read: {error}"));
        }
        // The cause stays in the log; the caller gets a fixed message.
        tracing::error!(%error, "Database error.");
        ApiError::new(
            Code::Unavailable,
            "database_error",
            "the workstation's database failed; try again",
        )
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        error.to_status()
    }
}
