//! `/v4/logs/upload/`: the terminal output of an SDK 0.4 run.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, ProjectToken};
use crate::ingest::error::preview;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v4/logs/upload/", post(upload_log))
        .route("/v4/logs/upload", post(upload_log))
}

/// Reads the `Trace-Id` header, the trace id as a decimal integer, into the
/// session id form.
fn session_id_from_header(headers: &HeaderMap) -> ApiResult<String> {
    let raw = headers
        .get("trace-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .trim();
    let invalid = |shown: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_trace_id",
            "Invalid Trace-Id",
            format!(
                "Trace-Id \"{shown}\" is not a trace id; send the trace id as a decimal \
                 integer, e.g. 323709428503045618973508369058144807287."
            ),
        )
    };
    match raw.parse::<u128>() {
        Ok(0) | Err(_) => Err(invalid(&preview(raw))),
        Ok(trace_id) => Ok(uuid::Uuid::from_u128(trace_id).hyphenated().to_string()),
    }
}

async fn upload_log(
    State(state): State<AppState>,
    ProjectToken(claims): ProjectToken,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let session_id = session_id_from_header(&headers)?;
    let text = match body {
        Value::Object(mut object) => match object.remove("body") {
            Some(Value::String(text)) => text,
            Some(other) => other.to_string(),
            None => Value::Object(object).to_string(),
        },
        Value::String(text) => text,
        other => other.to_string(),
    };
    let size = text.len();
    state
        .store
        .put_session_log(claims.project_id, &session_id, text)
        .await?;
    let trace_hex = session_id.replace('-', "");
    Ok(Json(json!({
        "url": format!("{}/sessions?trace_id={trace_hex}", state.public_url),
        "size": size,
    })))
}
