//! The one error type of the domain. The API maps each variant to the contract's HTTP status and
//! code in one place (`api::error`); nothing here knows about HTTP.

use serde::Serialize;

/// One invalid field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// The field's path in the body or query: `to`, `messages[3].to`.
    #[schema(example = "senderId")]
    pub field: String,
    /// What is wrong with it.
    #[schema(example = "is required")]
    pub message: String,
    /// A batch item's own error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false, example = "SENDER_ID_NOT_APPROVED")]
    pub code: Option<&'static str>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, malformed, expired or revoked credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The role lacks a permission.
    #[error("{0}")]
    Forbidden(String),
    /// The API key lacks a scope.
    #[error("{0}")]
    InsufficientScope(String),
    #[error("resource not found")]
    NotFound,
    /// A conflict with the current state; `code` is CONFLICT or a more specific contract code.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Input that fails validation; one entry per failing field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A rule that needs the database refused the request (SENDER_ID_NOT_APPROVED, RECIPIENT_OPTED_OUT, …).
    #[error("{message}")]
    Rule {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// The database cannot be reached; the request had no effect.
    #[error("service unavailable")]
    Unavailable,
    /// Too much of a bounded resource is in use (password hashing); try again shortly.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict {
            code: "CONFLICT",
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if database_unavailable(&e) {
            Error::Unavailable
        } else {
            Error::Internal(e.into())
        }
    }
}

impl From<apalis_postgres::Error> for Error {
    fn from(e: apalis_postgres::Error) -> Self {
        match e {
            apalis_postgres::Error::Database(e) => e.into(),
            other => Error::Internal(anyhow::anyhow!("queue: {other}")),
        }
    }
}

/// Whether an error says the database cannot serve us now, rather than that the statement is wrong:
/// no connection to be had, a connection lost, or the server shutting down, starting up or refusing
/// connections (SQLSTATE class 08, 57P01–57P05, 53300).
fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

/// Collects field errors so that one response lists every failing field.
#[derive(Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records the error of a parse and yields its value, so callers can validate every field first.
    pub fn take<T>(&mut self, r: std::result::Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Parses a required field: "is required" when it is absent, else the parser's message.
    pub fn required<T>(
        &mut self,
        field: String,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        match raw {
            None => {
                self.add(field, "is required");
                None
            }
            Some(raw) => self.take(parse(raw).map_err(|m| FieldError::new(field, m))),
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}
