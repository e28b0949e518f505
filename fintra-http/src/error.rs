//! The error envelope every route answers with (spec §4.13):
//! `{"error": {"code": "…", "message": "…", "details": …}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A stable, machine-readable error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A query parameter, header or path segment is malformed (400).
    BadRequest,
    /// No `x-tenant-id` header (nor `tenant_id` query parameter on the event stream) (400).
    MissingTenant,
    /// The tenant is not one this server serves (403).
    UnknownTenant,
    /// Consent checks are on and the request carries no accessor (401).
    Unauthenticated,
    /// The accessor's consent does not cover this read, or it belongs to another tenant (403).
    ConsentDenied,
    /// No such profile for this tenant, or no such route (404).
    NotFound,
    /// The route exists but not for this method (405).
    MethodNotAllowed,
    /// The view store or the event store could not be read (503).
    Unavailable,
    /// Anything else (500).
    Internal,
}

impl ErrorCode {
    /// The HTTP status it answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::MissingTenant => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::UnknownTenant | Self::ConsentDenied => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A refused or failed request, as the JSON envelope.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// What kind.
    pub code: ErrorCode,
    /// For a person.
    pub message: String,
    /// Structured detail (the parameter at fault, its limit), or null.
    pub details: Value,
}

impl ApiError {
    /// An error of `code` with `message` and no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Value::Null }
    }

    /// A malformed parameter: `details` names it.
    pub fn bad_parameter(parameter: &str, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::BadRequest,
            message: message.into(),
            details: serde_json::json!({ "parameter": parameter }),
        }
    }

    /// No such profile for the tenant (also what another tenant's profile looks like).
    pub fn profile_not_found(profile_id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no profile {profile_id:?} for this tenant"))
    }

    /// A store could not be read; the cause is logged, not sent.
    pub fn unavailable(what: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(%cause, "{what} could not be read");
        Self::new(ErrorCode::Unavailable, format!("the {what} could not be read; try again"))
    }

    /// The envelope's JSON.
    pub fn body(&self) -> Value {
        serde_json::json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        })
    }
}

/// The envelope as a schema (for the OpenAPI document).
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The body of [`ErrorEnvelope`].
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code.
    pub code: ErrorCode,
    /// For a person.
    pub message: String,
    /// Structured detail or null.
    #[schema(value_type = Object, nullable = true)]
    pub details: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code.status(), axum::Json(self.body())).into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
