//! The public read API (`/public/v1/...`): project tokens, the project, and
//! traces and spans with their metrics. Every read takes a project token
//! (`Authorization: Bearer`, from `/public/v1/auth/access_token` or
//! `/v3/auth/token`) and reads only that project's traces.
//!
//! A trace is the session of an OTLP trace id, and its spans are the events
//! that came from OTLP spans. A session recorded through the REST API (SDK
//! 0.3) has no spans, so the trace endpoints return 404 for it and point to
//! `GET /v2/sessions/{id}/export`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, ProjectToken};
use super::v3::project_from_body;
use crate::ingest::error::preview;
use crate::model::ProjectId;
use crate::store::{EventRow, SessionRow};
use crate::view::trace::{SpanView, metrics_json, trace_json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/public/v1/auth/access_token", post(access_token))
        .route("/public/v1/project", get(project))
        .route("/public/v1/traces/{trace_id}", get(trace))
        .route("/public/v1/traces/{trace_id}/metrics", get(trace_metrics))
        .route("/public/v1/spans/{span_id}", get(span))
        .route("/public/v1/spans/{span_id}/metrics", get(span_metrics))
}

async fn access_token(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let project = project_from_body(&state, &body).await?;
    let (token, _) = state.tokens.issue_project(project.id, project.key_id);
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

/// A trace read from the store: its session and its span events.
struct StoredTrace {
    trace_hex: String,
    session: SessionRow,
    events: Vec<EventRow>,
}

impl StoredTrace {
    fn spans(&self) -> Vec<SpanView<'_>> {
        self.events
            .iter()
            .filter_map(|event| SpanView::of_trace(event, &self.trace_hex))
            .collect()
    }
}

/// Reads a trace id given as 32 hex digits or as a UUID, in any case.
fn parse_trace_id(raw: &str) -> ApiResult<Uuid> {
    match Uuid::try_parse(raw.trim()) {
        Ok(id) => Ok(id),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_trace_id",
            "Invalid trace id",
            format!(
                "The trace id \"{}\" is not a trace id; send the 32 hex digits of the \
                 OpenTelemetry trace id, such as 0af7651916cd43dd8448eb211c80319c, or the \
                 same 128 bits as a UUID.",
                preview(raw)
            ),
        )),
    }
}

/// Reads a span id given as 16 hex digits, in any case, and returns it in
/// lowercase.
fn parse_span_id(raw: &str) -> ApiResult<String> {
    let trimmed = raw.trim();
    if trimmed.len() == 16 && trimmed.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Ok(trimmed.to_ascii_lowercase());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_span_id",
        "Invalid span id",
        format!(
            "The span id \"{}\" is not a span id; send the 16 hex digits of the \
             OpenTelemetry span id, such as b7ad6b7169203331.",
            preview(raw)
        ),
    ))
}

fn trace_not_found(trace_hex: &str) -> ApiError {
    ApiError::not_found(
        "trace_not_found",
        format!(
            "Trace {trace_hex} has no spans in the token's project; check the trace id and \
             the API key the token was issued for. Sessions recorded through the REST API \
             have no spans: read them with GET /v2/sessions/{{id}}/export."
        ),
    )
}

/// Finds the trace and its spans; 404 when the project has no span of it.
async fn load_trace(state: &AppState, project: ProjectId, raw_id: &str) -> ApiResult<StoredTrace> {
    let trace_id = parse_trace_id(raw_id)?;
    let trace_hex = trace_id.simple().to_string();
    let session_id = trace_id.hyphenated().to_string();
    let Some(session) = state.store.session(project, &session_id).await? else {
        return Err(trace_not_found(&trace_hex));
    };
    let events = state.store.session_events(session.pk).await?;
    let has_span = events
        .iter()
        .any(|event| SpanView::of_trace(event, &trace_hex).is_some());
    if !has_span {
        return Err(trace_not_found(&trace_hex));
    }
    Ok(StoredTrace {
        trace_hex,
        session,
        events,
    })
}

async fn trace(
    State(state): State<AppState>,
    ProjectToken(claims): ProjectToken,
    Path(trace_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let trace = load_trace(&state, claims.project_id, &trace_id).await?;
    let spans = trace.spans();
    Ok(Json(trace_json(&trace.trace_hex, &trace.session, &spans)))
}

async fn trace_metrics(
    State(state): State<AppState>,
    ProjectToken(claims): ProjectToken,
    Path(trace_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let trace = load_trace(&state, claims.project_id, &trace_id).await?;
    let mut metrics = metrics_json(&trace.spans(), 1);
    metrics["trace_id"] = json!(trace.trace_hex);
    Ok(Json(metrics))
}

/// Finds a span of the project by id; 404 when there is none.
async fn load_span(
    state: &AppState,
    project: ProjectId,
    raw_id: &str,
) -> ApiResult<(SessionRow, EventRow)> {
    let span_id = parse_span_id(raw_id)?;
    state
        .store
        .find_span(project, &span_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "span_not_found",
                format!(
                    "Span {span_id} was not found in the token's project; check the span id \
                     and the API key the token was issued for."
                ),
            )
        })
}

/// Reads the stored span as a [`SpanView`]; a span whose body no longer
/// parses is reported as not found rather than shown half empty.
fn span_view<'a>(session: &SessionRow, event: &'a EventRow) -> ApiResult<SpanView<'a>> {
    let trace_hex = session.id.replace('-', "");
    SpanView::of_trace(event, &trace_hex).ok_or_else(|| {
        tracing::warn!(
            span_id = event.id,
            session = session.id,
            "stored span is unreadable"
        );
        ApiError::not_found(
            "span_not_found",
            format!("Span {} has no readable span data.", event.id),
        )
    })
}

async fn span(
    State(state): State<AppState>,
    ProjectToken(claims): ProjectToken,
    Path(span_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (session, event) = load_span(&state, claims.project_id, &span_id).await?;
    let view = span_view(&session, &event)?;
    let mut detail = view.detail_json();
    detail["project_id"] = json!(session.project_id.to_string());
    Ok(Json(detail))
}

async fn span_metrics(
    State(state): State<AppState>,
    ProjectToken(claims): ProjectToken,
    Path(span_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (session, event) = load_span(&state, claims.project_id, &span_id).await?;
    let view = span_view(&session, &event)?;
    let mut metrics = metrics_json(std::slice::from_ref(&view), 1);
    metrics["span_id"] = json!(event.id);
    metrics["trace_id"] = json!(session.id.replace('-', ""));
    metrics["model"] = json!(event.model);
    Ok(Json(metrics))
}
