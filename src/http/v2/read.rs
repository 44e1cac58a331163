//! Reads with the API key: a session's stats and its full export, terminal
//! log included.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiKeyProject;
use crate::ingest::value::canonical_session_id;
use crate::store::SessionRow;
use crate::view;

async fn find_session(state: &AppState, project_id: i64, raw_id: &str) -> ApiResult<SessionRow> {
    let session_id = canonical_session_id(raw_id);
    state
        .store
        .session(project_id, &session_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "session_not_found",
                format!("Session {session_id} was not found in the API key's project."),
            )
        })
}

pub async fn stats(
    State(state): State<AppState>,
    ApiKeyProject(project): ApiKeyProject,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let session = find_session(&state, project.id, &id).await?;
    Ok(Json(view::stats_json(&session)))
}

pub async fn export(
    State(state): State<AppState>,
    ApiKeyProject(project): ApiKeyProject,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let session = find_session(&state, project.id, &id).await?;
    let events = state.store.session_events(session.pk).await?;
    let agents = state.store.session_agents(session.pk).await?;
    let log = state.store.session_log(session.pk).await?;
    Ok(Json(view::export_json(
        &session,
        &agents,
        &events,
        log.as_deref(),
    )))
}
