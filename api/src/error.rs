//! The error contract (API.md, "Conventions"): one type, mapped to status, code and body here only.

use axum::{
    Json,
    body::Body,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use domain::FieldError;
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    Domain(domain::Error),
    InvalidJson(String),
    UnsupportedMediaType,
    PayloadTooLarge,
    RouteNotFound,
}

impl<E: Into<domain::Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::Domain(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `{"error": {"code", "message", "details"?}}`: every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// The error.
    error: ErrorDetail<'a>,
}

/// What went wrong, for programs (`code`) and people (`message`).
#[derive(Serialize, utoipa::ToSchema)]
struct ErrorDetail<'a> {
    /// UPPER_SNAKE, for programs to switch on.
    #[schema(example = "VALIDATION_ERROR")]
    code: &'a str,
    /// For people; the wording may change.
    #[schema(example = "the request is not valid")]
    message: &'a str,
    /// One entry per invalid field, when the error is about fields.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false)]
    details: &'a [FieldError],
}

impl<'a> ErrorBody<'a> {
    fn new(code: &'a str, message: &'a str, details: &'a [FieldError]) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code,
                message,
                details,
            },
        }
    }
}

fn body(status: StatusCode, code: &str, message: &str, details: &[FieldError]) -> Response {
    (status, Json(ErrorBody::new(code, message, details))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use domain::Error as E;
        match self {
            ApiError::InvalidJson(m) => body(StatusCode::BAD_REQUEST, "INVALID_JSON", &m, &[]),
            ApiError::UnsupportedMediaType => body(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "the body must be application/json",
                &[],
            ),
            ApiError::PayloadTooLarge => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the body is larger than this route accepts",
                &[],
            ),
            ApiError::RouteNotFound => {
                body(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route", &[])
            }
            ApiError::Domain(e) => match e {
                E::Unauthorized(m) => body(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &m, &[]),
                E::Forbidden(m) => body(StatusCode::FORBIDDEN, "FORBIDDEN", &m, &[]),
                E::InsufficientScope(m) => {
                    body(StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE", &m, &[])
                }
                E::NotFound => body(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "resource not found",
                    &[],
                ),
                E::Conflict { code, message } => body(StatusCode::CONFLICT, code, &message, &[]),
                E::Validation(details) => body(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "VALIDATION_ERROR",
                    "the request is not valid",
                    &details,
                ),
                E::Rule {
                    code,
                    message,
                    field,
                } => {
                    let details: Vec<FieldError> = field
                        .map(|f| FieldError::new(f, message.clone()))
                        .into_iter()
                        .collect();
                    body(StatusCode::UNPROCESSABLE_ENTITY, code, &message, &details)
                }
                E::RateLimited { retry_after_secs } => {
                    let mut r = body(
                        StatusCode::TOO_MANY_REQUESTS,
                        "RATE_LIMITED",
                        "too many requests",
                        &[],
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                    r
                }
                E::Busy {
                    message,
                    retry_after_secs,
                } => {
                    let mut r = body(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "SERVICE_UNAVAILABLE",
                        &message,
                        &[],
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                    r
                }
                E::Unavailable => body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "the database cannot be reached; the request had no effect",
                    &[],
                ),
                E::Internal(e) => {
                    tracing::error!(error = ?e, "internal error");
                    body(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        "internal error",
                        &[],
                    )
                }
            },
        }
    }
}

/// Gives every error response the contract's shape, including those axum and tower produce on their
/// own (an unknown method answers 405 with `Allow` and no body, a panic answers 500, …).
pub async fn shape_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "this path does not accept this method",
        ),
        StatusCode::NOT_FOUND => ("NOT_FOUND", "no such route"),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "PAYLOAD_TOO_LARGE",
            "the body is larger than this route accepts",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UNSUPPORTED_MEDIA_TYPE",
            "the body must be application/json",
        ),
        StatusCode::BAD_REQUEST => ("INVALID_JSON", "the request could not be read"),
        StatusCode::UNAUTHORIZED => ("UNAUTHORIZED", "credentials are required"),
        StatusCode::FORBIDDEN => ("FORBIDDEN", "forbidden"),
        StatusCode::TOO_MANY_REQUESTS => ("RATE_LIMITED", "too many requests"),
        StatusCode::SERVICE_UNAVAILABLE => ("SERVICE_UNAVAILABLE", "service unavailable"),
        s if s.is_client_error() => ("VALIDATION_ERROR", "the request is not valid"),
        _ => ("INTERNAL_ERROR", "internal error"),
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let json = serde_json::to_string(&ErrorBody::new(code, message, &[])).expect("serializes");
    Response::from_parts(parts, Body::from(json))
}
