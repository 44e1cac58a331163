//! `create_events` and `update_events`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{JsonBody, SessionToken, Utf8Body, invalid_json};
use crate::ingest::rest::EventsBodyError;
use crate::ingest::{rest, time};
use crate::store::EventPricer;

/// Stores the valid events of a batch and lists the invalid ones. The answer
/// is 200 when anything was stored (or the batch was empty), and 400 with the
/// same body when every event was rejected.
pub async fn create_events(
    State(state): State<AppState>,
    SessionToken(claims): SessionToken,
    Utf8Body(body): Utf8Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut parsed = rest::parse_events(&body, time::now()).map_err(|err| match err {
        EventsBodyError::Syntax(err) => invalid_json(&err),
        EventsBodyError::Shape(field) => ApiError::bad_request(field),
    })?;
    drop(body);
    for event in &mut parsed.events {
        state.pricer.price(claims.project_id, event);
    }

    let ids: Vec<String> = parsed.events.iter().map(|event| event.id.clone()).collect();
    let outcome = if parsed.events.is_empty() {
        Default::default()
    } else {
        state
            .store
            .insert_events(claims.project_id, &claims.session_id, parsed.events)
            .await?
    };
    let rejected: Vec<Value> = parsed
        .rejected
        .iter()
        .map(|rejected| {
            json!({
                "index": rejected.index,
                "id": rejected.id,
                "field": rejected.error.field,
                "message": rejected.error.message,
            })
        })
        .collect();
    if !rejected.is_empty() {
        tracing::info!(
            session_id = claims.session_id,
            rejected = rejected.len(),
            stored = outcome.inserted,
            "events rejected"
        );
    }
    let status = if ids.is_empty() && !rejected.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut answer = json!({
        "status": if status == StatusCode::OK { "success" } else { "error" },
        "stored": outcome.inserted,
        "duplicates": outcome.duplicates,
        "ids": ids,
        "rejected": rejected,
    });
    if status != StatusCode::OK {
        answer["error"] = "Invalid events".into();
        answer["code"] = "invalid_events".into();
        answer["message"] =
            "Every event in the batch was rejected; see rejected for each reason.".into();
    }
    Ok((status, Json(answer)))
}

/// Applies changes to events of the token's session. Unknown ids get 404
/// and change nothing; the known ones in the same batch are still updated.
pub async fn update_events(
    State(state): State<AppState>,
    SessionToken(claims): SessionToken,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let patches = rest::parse_event_patches(body).map_err(ApiError::bad_request)?;
    let outcome = state
        .store
        .update_events(claims.project_id, &claims.session_id, patches)
        .await?;
    if !outcome.missing.is_empty() {
        let mut err = ApiError::not_found(
            "event_not_found",
            format!(
                "No event with id {} exists in this session; create it with create_events \
                 first.",
                outcome.missing.join(", ")
            ),
        );
        let extra = json!({"updated": outcome.updated, "missing": outcome.missing});
        err.extra = extra.as_object().cloned().map(Box::new);
        return Err(err);
    }
    Ok(Json(
        json!({"status": "success", "updated": outcome.updated}),
    ))
}
