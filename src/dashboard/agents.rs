//! The agents page: the agent names of a project's sessions in a time range.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::auth::SignedIn;
use super::filters::{FilterParams, RANGES, encode_query};
use super::page::{Layout, PageError, choose_project, format_count, format_time, render};
use crate::http::AppState;
use crate::ingest::time;

pub struct AgentLine {
    pub name: String,
    pub sessions: String,
    pub first_seen: String,
    pub last_seen: String,
    /// The session list filtered to this agent.
    pub sessions_url: String,
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    layout: Layout,
    ranges: &'static [(&'static str, &'static str)],
    range: String,
    agents: Vec<AgentLine>,
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(params): Query<FilterParams>,
) -> Result<Response, PageError> {
    let projects = state.store.list_projects().await?;
    let project = choose_project(&projects, Some(params.project.as_str()))?;
    let range = params.range_or("30d").to_owned();
    let bounds = params
        .bounds("30d", time::now())
        .map_err(PageError::bad_request)?;
    let filter = FilterParams::default().to_filter(project.id, bounds);
    let agents = state.store.list_agents(filter).await?;
    let agents = agents
        .into_iter()
        .map(|agent| {
            let query = encode_query(&[
                ("project", project.name.clone()),
                ("range", range.clone()),
                ("agent", agent.name.clone()),
            ]);
            AgentLine {
                sessions: format_count(agent.sessions),
                first_seen: format_time(agent.first_seen_us),
                last_seen: format_time(agent.last_seen_us),
                sessions_url: format!("/sessions?{query}"),
                name: agent.name,
            }
        })
        .collect();
    let mut layout = Layout::new("Agents", "agents", &signed_in);
    layout.projects = projects;
    layout.project = Some(project);
    Ok(render(&AgentsPage {
        layout,
        ranges: &RANGES,
        range,
        agents,
    }))
}
