//! `create_session`, `update_session` and `reauthorize_jwt`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiKeyProject, JsonBody, SessionToken};
use crate::ingest::rest;
use crate::view::format_dollars;

pub fn session_url(state: &AppState, session_id: &str) -> String {
    format!("{}/drilldown?session_id={session_id}", state.public_url)
}

/// Creates a session, or returns a new token for the existing session with
/// that id in the key's project, so a retried create is harmless.
pub async fn create_session(
    State(state): State<AppState>,
    ApiKeyProject(project): ApiKeyProject,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let object = rest::unwrap_object(body, "session").map_err(ApiError::bad_request)?;
    let record = rest::session_record(object).map_err(ApiError::bad_request)?;
    let session_id = record.id.clone();
    state.store.create_session(project.id, record).await?;
    tracing::info!(session_id, project = project.id, "session created");
    let jwt = state
        .tokens
        .issue_session(project.id, project.key_id, &session_id);
    Ok(Json(json!({
        "status": "success",
        "jwt": jwt,
        "session_id": session_id,
        "session_url": session_url(&state, &session_id),
    })))
}

/// Updates the token's session; fields the body leaves out stay unchanged.
/// The answer carries the session's cost so far as `token_cost`.
pub async fn update_session(
    State(state): State<AppState>,
    SessionToken(claims): SessionToken,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let object = rest::unwrap_object(body, "session").map_err(ApiError::bad_request)?;
    if let Some(body_id) = rest::session_id(&object).map_err(ApiError::bad_request)?
        && body_id != claims.session_id
    {
        return Err(session_mismatch(&body_id));
    }
    let patch = rest::session_patch(&object).map_err(ApiError::bad_request)?;
    let session = state
        .store
        .update_session(claims.project_id, &claims.session_id, patch)
        .await?;
    Ok(Json(json!({
        "status": "success",
        "session_id": session.id,
        "token_cost": format_dollars(session.totals.cost_pd),
        "end_state": session.end_state,
        "session_url": session_url(&state, &session.id),
    })))
}

pub fn session_mismatch(body_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "session_mismatch",
        "Session mismatch",
        format!(
            "The token was issued for another session than {body_id}; use the token that \
             create_session returned for this session."
        ),
    )
}

/// Issues a fresh 24-hour token for an existing session of the key's
/// project.
pub async fn reauthorize_jwt(
    State(state): State<AppState>,
    ApiKeyProject(project): ApiKeyProject,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let object = rest::unwrap_object(body, "session").map_err(ApiError::bad_request)?;
    let Some(session_id) = rest::session_id(&object).map_err(ApiError::bad_request)? else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "Invalid request",
            "session_id is missing; send {\"session_id\": \"<the session's id>\"}.",
        ));
    };
    if state
        .store
        .session(project.id, &session_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(
            "session_not_found",
            format!("Session {session_id} was not found in this project; create it first."),
        ));
    }
    let jwt = state
        .tokens
        .issue_session(project.id, project.key_id, &session_id);
    Ok(Json(
        json!({"status": "success", "jwt": jwt, "session_id": session_id}),
    ))
}
