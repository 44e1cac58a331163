//! The one error type of the HTTP API. Every error body has the shape
//! `{"error": short text, "message": what to do, "code": snake_case}`, and
//! a field name when one field was at fault.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ingest::FieldError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub error: String,
    pub message: String,
    pub field: Option<String>,
    /// Extra members merged into the body (e.g. the rejected events).
    pub extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        error: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            error: error.into(),
            message: message.into(),
            field: None,
            extra: None,
        }
    }

    pub fn bad_request(field: FieldError) -> Self {
        let mut err = ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "Invalid request",
            field.message,
        );
        err.field = Some(field.field);
        err
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, "Not found", message)
    }

    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
            "The server failed to handle the request; it has been logged. Retry later.",
        )
    }

    pub fn unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            "The server is shutting down or its storage is unavailable; retry later.",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => {
                ApiError::not_found("not_found", format!("{what} was not found in this project"))
            }
            StoreError::Conflict(what) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", what)
            }
            StoreError::Closed => ApiError::unavailable(),
            StoreError::Database(cause) => {
                tracing::error!(error = %cause, "storage failed");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, code = self.code, "request failed");
        } else {
            tracing::info!(status = %self.status, code = self.code, field = ?self.field, "request rejected");
        }
        let mut body = json!({
            "error": self.error,
            "message": self.message,
            "code": self.code,
        });
        if let Some(field) = self.field {
            body["field"] = field.into();
        }
        if let (Some(extra), Some(object)) = (self.extra, body.as_object_mut()) {
            object.extend(*extra);
        }
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
