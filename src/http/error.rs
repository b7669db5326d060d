//! The one error answer of the side door: a status and `{"error": "..."}`.
//!
//! Handlers return `Result<_, ApiError>`; extractors map their rejections
//! into it, so no plain-text error from axum ever reaches a client.

use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer. The message is for people: lowercase, quoting the
/// input it complains about, and never carrying internal details (a store
/// failure is logged here and answered with a generic message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: a query parameter or path segment the endpoint cannot use.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such path, or no such resource.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500: something on our side; the cause is logged, not sent.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        // Logged once, here, where the error stops; the client learns only
        // that the store failed (SQL details are nobody's business).
        tracing::error!(error = %e, "http: store query failed");
        ApiError::internal("cannot read the store")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        (self.status, body).into_response()
    }
}

/// The fallback of every router: unknown paths are JSON 404s too.
pub async fn not_found() -> ApiError {
    ApiError::not_found("not found")
}

/// The answer to a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}
