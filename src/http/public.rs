//! The public read API (`/public/v1/...`): project tokens, the project, and
//! traces and spans with their metrics.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{JsonBody, ProjectToken};
use super::v3::project_from_body;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/public/v1/auth/access_token", post(access_token))
        .route("/public/v1/project", get(project))
}

async fn access_token(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let project = project_from_body(&state, &body).await?;
    let (token, _) = state.tokens.issue_project(project.id);
    Ok(Json(json!({"bearer": token})))
}

async fn project(
    State(state): State<AppState>,
    ProjectToken(claims): ProjectToken,
) -> ApiResult<Json<Value>> {
    let name = state.store.project_name(claims.project_id).await?;
    Ok(Json(json!({
        "id": claims.project_id.to_string(),
        "name": name,
        "environment": "production",
    })))
}
