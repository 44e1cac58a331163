//! `GET /api/metrics`: a project's session, token and cost figures by time
//! bucket and by model, for the overview charts and for scripts.
//!
//! Authenticated by the dashboard cookie (any project, chosen with
//! `project=NAME`, default the first) or by `X-Agentops-Api-Key` (the key's
//! project only). Money is exact: `cost` is a decimal dollar string and
//! `cost_pd` the integer picodollars it came from.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::SignedIn;
use super::filters::FilterParams;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{API_KEY_HEADER, project_for_key};
use crate::ingest::time;
use crate::store::Project;
use crate::store::dashboard::{Granularity, Metrics, MetricsQuery, ModelFigures, SessionFigures};
use crate::view::format_dollars;

/// Most buckets one request may span, so a year by the hour is rejected
/// before it is computed.
const MAX_BUCKETS: i64 = 5_000;

#[derive(Debug, Deserialize)]
pub struct MetricsParams {
    #[serde(flatten)]
    filters: FilterParams,
    #[serde(default)]
    granularity: String,
}

fn parse_granularity(text: &str) -> ApiResult<Granularity> {
    match text.trim() {
        "" | "day" => Ok(Granularity::Day),
        "hour" => Ok(Granularity::Hour),
        "week" => Ok(Granularity::Week),
        other => Err(invalid_parameter(
            "granularity",
            format!("The granularity \"{other}\" is invalid; use hour, day or week."),
        )),
    }
}

fn invalid_parameter(field: &str, message: String) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        "Invalid parameter",
        message,
    );
    err.field = Some(field.into());
    err
}

/// Finds the project the request may read: the API key's, or for a signed-in
/// user the named (or first) project.
async fn authorized_project(
    state: &AppState,
    headers: &HeaderMap,
    requested: &str,
) -> ApiResult<Project> {
    if let Some(raw) = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok()) {
        let project = project_for_key(state, raw).await?;
        if !requested.is_empty() && requested != project.name {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "project_mismatch",
                "Project mismatch",
                format!(
                    "The API key belongs to project \"{}\", not \"{requested}\"; drop the \
                     project parameter or use a key of that project.",
                    project.name
                ),
            ));
        }
        return Ok(project);
    }
    let signed_in = SignedIn::from_headers(state, headers)
        .await
        .map_err(|_| ApiError::internal())?;
    if signed_in.is_none() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "Sign in to the dashboard or send an API key in the X-Agentops-Api-Key header.",
        ));
    }
    let projects = state.store.list_projects().await?;
    let found = if requested.is_empty() {
        projects.into_iter().next()
    } else {
        projects
            .into_iter()
            .find(|project| project.name == requested)
    };
    found.ok_or_else(|| {
        ApiError::not_found(
            "project_not_found",
            format!("No project is named \"{requested}\"; check the project parameter."),
        )
    })
}

pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<MetricsParams>,
) -> ApiResult<Json<Value>> {
    let project = authorized_project(&state, &headers, params.filters.project.trim()).await?;
    let granularity = parse_granularity(&params.granularity)?;
    let now = time::now();
    let (from, to) = params
        .filters
        .bounds("7d", now)
        .map_err(|message| invalid_parameter("from", message))?;

    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - 7 * 86_400_000_000);
    if (to - from) / granularity.width_us() > MAX_BUCKETS {
        return Err(invalid_parameter(
            "granularity",
            format!(
                "The range spans more than {MAX_BUCKETS} buckets; pick a coarser granularity \
                 (hour, day or week) or a shorter range."
            ),
        ));
    }

    let mut filter = params.filters.to_filter(project.id, (Some(from), Some(to)));
    filter.agent = None;
    filter.text = None;
    let query = MetricsQuery {
        filter,
        granularity,
    };
    let metrics = state.store.metrics(query).await?;
    Ok(Json(metrics_json(
        &project,
        from,
        to,
        granularity,
        &metrics,
    )))
}

pub fn metrics_json(
    project: &Project,
    from: i64,
    to: i64,
    granularity: Granularity,
    metrics: &Metrics,
) -> Value {
    let buckets: Vec<Value> = metrics
        .buckets
        .iter()
        .map(|bucket| {
            let mut object = figures_json(&bucket.figures);
            object["start"] = time::format(bucket.start_us).into();
            object["models"] = bucket.models.iter().map(model_json).collect();
            object
        })
        .collect();
    json!({
        "project": project.name,
        "from": time::format(from),
        "to": time::format(to),
        "granularity": granularity,
        "totals": figures_json(&metrics.totals),
        "models": metrics.models.iter().map(model_json).collect::<Vec<_>>(),
        "buckets": buckets,
    })
}

fn figures_json(figures: &SessionFigures) -> Value {
    let error_rate = if figures.sessions > 0 {
        figures.sessions_with_errors as f64 / figures.sessions as f64
    } else {
        0.0
    };
    let end_states: serde_json::Map<String, Value> = figures
        .end_states
        .iter()
        .map(|(state, count)| (state.clone(), (*count).into()))
        .collect();
    json!({
        "sessions": figures.sessions,
        "sessions_with_errors": figures.sessions_with_errors,
        "error_rate": error_rate,
        "events": figures.events,
        "errors": figures.errors,
        "prompt_tokens": figures.prompt_tokens,
        "completion_tokens": figures.completion_tokens,
        "total_tokens": figures.prompt_tokens + figures.completion_tokens,
        "cost": format_dollars(figures.cost_pd),
        "cost_pd": figures.cost_pd,
        "end_states": end_states,
    })
}

fn model_json(figures: &ModelFigures) -> Value {
    json!({
        "model": figures.model,
        "calls": figures.calls,
        "prompt_tokens": figures.prompt_tokens,
        "completion_tokens": figures.completion_tokens,
        "cost": format_dollars(figures.cost_pd),
        "cost_pd": figures.cost_pd,
        "unpriced_calls": figures.unpriced,
    })
}
