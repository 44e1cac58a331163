//! `/v3/auth/token`: SDK 0.4 trades its API key for a 30-day project token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, ProjectToken, project_for_key};
use crate::ingest::time;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v3/auth/token", post(issue_token).get(check_token))
}

/// Reads `{"api_key": ...}` and returns the key's project, with 403 (as the
/// SDK expects) for a well-formed key that no project has.
pub async fn project_from_body(state: &AppState, body: &Value) -> ApiResult<crate::store::Project> {
    let Some(raw) = body.get("api_key").and_then(Value::as_str) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "Missing API key",
            "api_key is missing; send {\"api_key\": \"<your API key>\"}.",
        ));
    };
    project_for_key(state, raw).await.map_err(|err| {
        if err.code == "invalid_api_key" {
            ApiError::new(StatusCode::FORBIDDEN, err.code, err.error, err.message)
        } else {
            err
        }
    })
}

async fn issue_token(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let project = project_from_body(&state, &body).await?;
    let (token, claims) = state.tokens.issue_project(project.id, project.key_id);
    tracing::info!(project = project.id, "project token issued");
    Ok(Json(json!({
        "token": token,
        "project_id": project.id.to_string(),
        "project_prem_status": "pro",
        "expires_at": time::format(claims.exp * 1_000_000),
    })))
}

async fn check_token(ProjectToken(claims): ProjectToken) -> Json<Value> {
    Json(json!({
        "message": "JWT token is valid",
        "payload": {"project_id": claims.project_id.to_string(), "aud": claims.aud, "exp": claims.exp},
        "expires_at": time::format(claims.exp * 1_000_000),
    }))
}
