//! `create_agent`, `create_thread` and `developer_errors`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::auth::api_key;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{API_KEY_HEADER, JsonBody, SessionToken};
use crate::ingest::{rest, value};

pub async fn create_agent(
    State(state): State<AppState>,
    SessionToken(claims): SessionToken,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let agent = rest::agent_record(body).map_err(ApiError::bad_request)?;
    let agent_id = agent.id.clone();
    state
        .store
        .upsert_agent(claims.project_id, &claims.session_id, agent)
        .await?;
    Ok(Json(json!({"status": "success", "agent_id": agent_id})))
}

pub async fn create_thread(
    State(state): State<AppState>,
    SessionToken(claims): SessionToken,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let object = rest::unwrap_object(body, "thread").map_err(ApiError::bad_request)?;
    let thread_id = value::id_field("id", object.get("id"))
        .map_err(ApiError::bad_request)?
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    state
        .store
        .upsert_thread(
            claims.project_id,
            &claims.session_id,
            &thread_id,
            Value::Object(object).to_string(),
        )
        .await?;
    Ok(Json(json!({"status": "success", "thread_id": thread_id})))
}

/// Stores an SDK's report of its own failure. The API key is optional here;
/// a valid one ties the report to its project.
pub async fn developer_errors(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    let mut project = None;
    if let Some(key) = headers
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(api_key::canonicalize)
    {
        project = state
            .store
            .project_for_key(&api_key::hash(&key))
            .await?
            .map(|project| project.id);
    }
    state
        .store
        .insert_developer_error(project, body.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
