//! One refusal vocabulary for every service: a stable machine code (each
//! service has its own enum of them), the field at fault where there is
//! one, and words for a person. One mapping to a gRPC status carrying
//! `google.rpc.ErrorInfo` (reason = the code, domain = the service, metadata
//! `field`) and, with a field, `google.rpc.BadRequest`; one mapping to the
//! envelope's `Rejection`. Database errors have one policy: a transient one
//! is UNAVAILABLE `database_unavailable`, any other INTERNAL
//! `internal_error`; the SQL text is logged, never sent.

use egov_proto::envelope::Rejection;
use std::collections::HashMap;
use std::fmt;
use tonic_types::{ErrorDetails, StatusExt};

/// A service's stable codes: an enum whose every value is listed in
/// [`Code::ALL`], so documentation and tests can check them all.
pub trait Code: Copy + fmt::Debug + Send + Sync + 'static {
    /// Every code, for documentation and the tests that keep it true.
    const ALL: &'static [Self];
    /// The stable text (snake_case), what clients match on.
    fn as_str(self) -> &'static str;
    /// The gRPC status code it is sent with.
    fn grpc_code(self) -> tonic::Code;
}

/// A reasoned refusal.
#[derive(Debug, Clone)]
pub struct Refusal<C: Code> {
    pub code: C,
    /// The offending field (e.g. "applicant.iin"), where there is one.
    pub field: Option<String>,
    /// What is wrong, for a person.
    pub message: String,
}

impl<C: Code> Refusal<C> {
    pub fn new(code: C, message: impl Into<String>) -> Self {
        Refusal {
            code,
            field: None,
            message: message.into(),
        }
    }

    /// The refusal names the field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The gRPC status: "<code>: <message>", ErrorInfo and, with a field,
    /// BadRequest's field violation.
    pub fn to_status(&self, domain: &str) -> tonic::Status {
        status(
            self.code.grpc_code(),
            self.code.as_str(),
            domain,
            self.field.as_deref(),
            &self.message,
        )
    }

    /// The envelope's Rejection (a receiver's answer over the gateway).
    pub fn to_rejection(&self) -> Rejection {
        Rejection {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
            field: self.field.clone().unwrap_or_default(),
        }
    }
}

impl<C: Code> fmt::Display for Refusal<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.code.as_str(), self.message),
            None => write!(f, "{}: {}", self.code.as_str(), self.message),
        }
    }
}

/// A gRPC status with its stable code in the message and in ErrorInfo.
pub fn status(
    grpc: tonic::Code,
    code: &str,
    domain: &str,
    field: Option<&str>,
    message: &str,
) -> tonic::Status {
    let mut metadata = HashMap::new();
    if let Some(field) = field {
        metadata.insert("field".to_owned(), field.to_owned());
    }
    let mut details = ErrorDetails::with_error_info(code, domain, metadata);
    if let Some(field) = field {
        details.add_bad_request_violation(field, message);
    }
    tonic::Status::with_error_details(grpc, format!("{code}: {message}"), details)
}

/// The codes every service shares, beside its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommonCode {
    /// The database is away or overloaded: try again.
    DatabaseUnavailable,
    /// Something failed that the caller cannot fix; see the service's log.
    InternalError,
    /// The service is shutting down.
    ShuttingDown,
    /// A request message over the port's `grpc.max_message_bytes`.
    PayloadTooLarge,
}

impl Code for CommonCode {
    const ALL: &'static [Self] = &[
        CommonCode::DatabaseUnavailable,
        CommonCode::InternalError,
        CommonCode::ShuttingDown,
        CommonCode::PayloadTooLarge,
    ];

    fn as_str(self) -> &'static str {
        match self {
            CommonCode::DatabaseUnavailable => "database_unavailable",
            CommonCode::InternalError => "internal_error",
            CommonCode::ShuttingDown => "shutting_down",
            CommonCode::PayloadTooLarge => PAYLOAD_TOO_LARGE,
        }
    }

    fn grpc_code(self) -> tonic::Code {
        match self {
            CommonCode::DatabaseUnavailable | CommonCode::ShuttingDown => tonic::Code::Unavailable,
            CommonCode::InternalError => tonic::Code::Internal,
            CommonCode::PayloadTooLarge => tonic::Code::ResourceExhausted,
        }
    }
}

/// The one code of every size limit (a gRPC request message, an envelope).
pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";

/// A size limit passed: RESOURCE_EXHAUSTED `payload_too_large`, the words
/// naming the limit, and ErrorInfo metadata `limit` (the setting, e.g.
/// `grpc.max_message_bytes`), `limit_bytes` and `size_bytes`.
pub fn payload_too_large(
    domain: &str,
    limit: &str,
    limit_bytes: usize,
    size_bytes: usize,
    words: &str,
) -> tonic::Status {
    let metadata = HashMap::from([
        ("limit".to_owned(), limit.to_owned()),
        ("limit_bytes".to_owned(), limit_bytes.to_string()),
        ("size_bytes".to_owned(), size_bytes.to_string()),
    ]);
    let details = ErrorDetails::with_error_info(PAYLOAD_TOO_LARGE, domain, metadata);
    tonic::Status::with_error_details(
        tonic::Code::ResourceExhausted,
        format!("{PAYLOAD_TOO_LARGE}: {words}"),
        details,
    )
}

/// Whether a database error may pass if tried again (the connection, the
/// pool, a serialization conflict, a server shutting down).
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 40001/40P01: serialization failure,
            // deadlock; 53: insufficient resources; 57P: operator intervention.
            code.starts_with("08")
                || code == "40001"
                || code == "40P01"
                || code.starts_with("53")
                || code.starts_with("57P")
        }),
        _ => false,
    }
}

/// The one policy for database errors in a gRPC answer: logged in full,
/// answered with a stable code and no SQL.
pub fn database_error(error: sqlx::Error, domain: &str) -> tonic::Status {
    let code = if is_transient(&error) {
        tracing::warn!(%error, "The database is unavailable.");
        CommonCode::DatabaseUnavailable
    } else {
        tracing::error!(%error, "Database error.");
        CommonCode::InternalError
    };
    let message = match code {
        CommonCode::DatabaseUnavailable => "the database is unavailable; try again",
        _ => "an internal error; see the service's log",
    };
    Refusal::new(code, message).to_status(domain)
}

/// A table of codes (code, gRPC status) as the README writes them, for the
/// tests that keep the README true: `| `code` | GRPC_CODE | … |` rows.
pub fn documented_codes(markdown: &str) -> Vec<(String, String)> {
    markdown
        .lines()
        .filter_map(|line| {
            let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
            let code = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let grpc = cells.next()?;
            let is_grpc =
                !grpc.is_empty() && grpc.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            is_grpc.then(|| (code.to_owned(), grpc.to_owned()))
        })
        .collect()
}

/// The name of a gRPC code as the README writes it (NOT_FOUND).
pub fn grpc_code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The rows `C` documents: (code, gRPC code name), in `ALL`'s order.
pub fn code_table<C: Code>() -> Vec<(String, String)> {
    C::ALL
        .iter()
        .map(|c| {
            (
                c.as_str().to_owned(),
                grpc_code_name(c.grpc_code()).to_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    #[test]
    fn a_refusal_carries_its_code_field_and_words_in_the_status() {
        let status = Refusal::new(CommonCode::InternalError, "it broke")
            .field("applicant.iin")
            .to_status("egov.test");
        assert_eq!(status.code(), tonic::Code::Internal);
        assert_eq!(status.message(), "internal_error: it broke");
        let details = status.get_error_details();
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "internal_error");
        assert_eq!(info.domain, "egov.test");
        assert_eq!(
            info.metadata.get("field").map(String::as_str),
            Some("applicant.iin")
        );
        let bad = details.bad_request().expect("BadRequest");
        assert_eq!(bad.field_violations[0].field, "applicant.iin");
    }

    #[test]
    fn a_database_error_never_shows_its_sql() {
        let status = database_error(sqlx::Error::PoolTimedOut, "egov.test");
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(status.message().starts_with("database_unavailable:"));
        let status = database_error(
            sqlx::Error::Protocol("SELECT secret FROM t".into()),
            "egov.test",
        );
        assert!(!status.message().contains("SELECT"));
        let status = database_error(sqlx::Error::RowNotFound, "egov.test");
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(status.message().starts_with("internal_error:"));
    }

    #[test]
    fn a_size_limit_names_the_setting_and_both_sizes() {
        let status = payload_too_large(
            "egov.test",
            "grpc.max_message_bytes",
            1024,
            2048,
            "the request has 2048 bytes; grpc.max_message_bytes is 1024",
        );
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().starts_with("payload_too_large: "));
        let details = status.get_error_details();
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(info.reason, CommonCode::PayloadTooLarge.as_str());
        let get = |key: &str| info.metadata.get(key).map(String::as_str);
        assert_eq!(get("limit"), Some("grpc.max_message_bytes"));
        assert_eq!(get("limit_bytes"), Some("1024"));
        assert_eq!(get("size_bytes"), Some("2048"));
    }

    #[test]
    fn documented_rows_are_read_from_a_markdown_table() {
        let rows = documented_codes(
            "| code | gRPC | meaning |\n|---|---|---|\n| `a_b` | NOT_FOUND | x |\n| `c` | text | y |\n",
        );
        assert_eq!(rows, vec![("a_b".to_owned(), "NOT_FOUND".to_owned())]);
    }
}
