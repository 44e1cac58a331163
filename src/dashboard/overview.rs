//! The overview page: figures of a project over a time range, charts drawn
//! in the browser from `/api/metrics`, and the slowest and costliest
//! sessions.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::auth::SignedIn;
use super::filters::{FilterParams, RANGES, encode_query};
use super::page::{Layout, PageError, choose_project, format_cost, format_count, render};
use super::sessions::SessionLine;
use crate::http::AppState;
use crate::ingest::time;
use crate::store::dashboard::{Granularity, MetricsQuery, SessionPageRequest, SessionSort};

/// How many sessions the slowest and costliest tables show.
const TOP_SESSIONS: usize = 10;

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    ranges: &'static [(&'static str, &'static str)],
    range: String,
    metrics_url: String,
    sessions_url: String,
    sessions: String,
    error_rate: String,
    cost: String,
    tokens: String,
    llm_calls: String,
    end_states: Vec<(String, String)>,
    slowest: Vec<SessionLine>,
    costliest: Vec<SessionLine>,
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(params): Query<FilterParams>,
) -> Result<Response, PageError> {
    let projects = state.store.list_projects().await?;
    let project = choose_project(&projects, Some(params.project.as_str()))?;
    let range = params.range_or("7d").to_owned();
    let now = time::now();
    let (from, _) = params.bounds("7d", now).map_err(PageError::bad_request)?;
    let granularity = match range.as_str() {
        "24h" => Granularity::Hour,
        "all" => Granularity::Week,
        _ => Granularity::Day,
    };
    let filter = FilterParams {
        range: range.clone(),
        ..FilterParams::default()
    }
    .to_filter(project.id, (from, None));

    let metrics = state
        .store
        .metrics(MetricsQuery {
            filter: filter.clone(),
            granularity,
        })
        .await?;
    let top = |sort| SessionPageRequest {
        filter: filter.clone(),
        sort,
        descending: true,
        after: None,
        limit: TOP_SESSIONS,
    };
    let slowest = state.store.session_page(top(SessionSort::Duration)).await?;
    let costliest = state.store.session_page(top(SessionSort::Cost)).await?;

    let totals = &metrics.totals;
    let error_rate = if totals.sessions > 0 {
        format!(
            "{:.1} %",
            100.0 * totals.sessions_with_errors as f64 / totals.sessions as f64
        )
    } else {
        "—".into()
    };
    let llm_calls: i64 = metrics.models.iter().map(|model| model.calls).sum();
    let mut metrics_query = vec![
        ("project", project.name.clone()),
        ("granularity", granularity_name(granularity).to_owned()),
    ];
    if let Some(from) = from {
        metrics_query.push(("from", time::format(from)));
    } else {
        // "All time" still needs a start for the buckets: the oldest
        // bucket with sessions, or a week when there is none.
        let first = metrics.buckets.first().map(|b| b.start_us);
        metrics_query.push((
            "from",
            time::format(first.unwrap_or(now - 7 * 86_400_000_000)),
        ));
    }
    let sessions_query =
        encode_query(&[("project", project.name.clone()), ("range", range.clone())]);

    let project_name = project.name.clone();
    let mut layout = Layout::new("Overview", "overview", &signed_in);
    layout.projects = projects;
    layout.project = Some(project);
    let page = OverviewPage {
        layout,
        ranges: &RANGES,
        range,
        metrics_url: format!("/api/metrics?{}", encode_query(&metrics_query)),
        sessions_url: format!("/sessions?{sessions_query}"),
        sessions: format_count(totals.sessions),
        error_rate,
        cost: format_cost(totals.cost_pd),
        tokens: format_count(totals.prompt_tokens + totals.completion_tokens),
        llm_calls: format_count(llm_calls),
        end_states: totals
            .end_states
            .iter()
            .map(|(state, count)| (state.clone(), format_count(*count)))
            .collect(),
        slowest: slowest
            .sessions
            .iter()
            .map(|row| SessionLine::new(row, &project_name))
            .collect(),
        costliest: costliest
            .sessions
            .iter()
            .map(|row| SessionLine::new(row, &project_name))
            .collect(),
    };
    Ok(render(&page))
}

fn granularity_name(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Hour => "hour",
        Granularity::Day => "day",
        Granularity::Week => "week",
    }
}
