//! One session: its page (stats, tags, host environment, agents, terminal
//! log and the replay waterfall), the light timeline JSON the waterfall
//! draws, one event's full JSON, and the session's export.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::SignedIn;
use super::page::{
    Layout, PageError, format_cost, format_count, format_duration, format_optional_time, render,
    strip_ansi,
};
use super::sessions::{end_state_class, session_url};
use crate::http::AppState;
use crate::ingest::time;
use crate::ingest::value::canonical_session_id;
use crate::store::{Project, SessionRow};
use crate::view;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionParams {
    project: String,
}

/// Finds the session: in the named project, or in the one project that has
/// this id. Several projects with the id give a page to choose from.
async fn resolve(
    state: &AppState,
    raw_id: &str,
    project: &str,
) -> Result<Result<(SessionRow, Project), Response>, PageError> {
    let session_id = canonical_session_id(raw_id);
    let projects = state.store.list_projects().await?;
    let not_found = || {
        PageError::not_found(format!(
            "No session has the id \"{session_id}\"; check the link, or wait a few seconds \
             if the SDK has just started it."
        ))
    };
    if !project.is_empty() {
        let project = projects
            .into_iter()
            .find(|p| p.name == project)
            .ok_or_else(not_found)?;
        let session = state
            .store
            .session(project.id, &session_id)
            .await?
            .ok_or_else(not_found)?;
        return Ok(Ok((session, project)));
    }
    let mut sessions = state.store.sessions_by_id(&session_id).await?;
    let project_of = |session: &SessionRow| {
        projects
            .iter()
            .find(|p| p.id == session.project_id)
            .cloned()
            .ok_or_else(PageError::internal)
    };
    match sessions.len() {
        0 => Err(not_found()),
        1 => {
            let session = sessions.remove(0);
            let project = project_of(&session)?;
            Ok(Ok((session, project)))
        }
        _ => {
            let links = sessions
                .iter()
                .map(|session| {
                    let project = project_of(session)?;
                    Ok((
                        project.name.clone(),
                        session_url(&session.id, &project.name),
                    ))
                })
                .collect::<Result<Vec<_>, PageError>>()?;
            let page = ChooseProjectPage { session_id, links };
            Ok(Err(render(&page)))
        }
    }
}

#[derive(Template)]
#[template(path = "choose_project.html")]
struct ChooseProjectPage {
    session_id: String,
    links: Vec<(String, String)>,
}

/// A label and its value in the stats grid.
pub struct Stat {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    layout: Layout,
    session: SessionRow,
    display_name: String,
    start: String,
    end: String,
    end_state_class: &'static str,
    stats: Vec<Stat>,
    agents: Vec<(String, String)>,
    host_env: Option<String>,
    /// The terminal output the SDK uploaded, if any.
    terminal_log: Option<String>,
    timeline_url: String,
    event_url: String,
    export_url: String,
    list_url: String,
}

fn stats(session: &SessionRow) -> Vec<Stat> {
    let totals = &session.totals;
    let mut stats = vec![
        Stat {
            label: "Duration",
            value: format_duration(session.init_us, session.end_us),
        },
        Stat {
            label: "Cost",
            value: format_cost(totals.cost_pd),
        },
        Stat {
            label: "Events",
            value: format_count(totals.events),
        },
        Stat {
            label: "LLM calls",
            value: format_count(totals.llms),
        },
        Stat {
            label: "Tool calls",
            value: format_count(totals.tools),
        },
        Stat {
            label: "Actions",
            value: format_count(totals.actions),
        },
        Stat {
            label: "Errors",
            value: format_count(totals.errors),
        },
        Stat {
            label: "Prompt tokens",
            value: format_count(totals.prompt_tokens),
        },
        Stat {
            label: "Completion tokens",
            value: format_count(totals.completion_tokens),
        },
    ];
    if totals.unpriced > 0 {
        stats.push(Stat {
            label: "Unpriced LLM calls",
            value: format_count(totals.unpriced),
        });
    }
    stats
}

fn query_for(project: &Project) -> String {
    super::filters::encode_query(&[("project", project.name.clone())])
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(params): Query<SessionParams>,
) -> Result<Response, PageError> {
    let (session, project) = match resolve(&state, &id, params.project.trim()).await? {
        Ok(found) => found,
        Err(chooser) => return Ok(chooser),
    };
    let agents = state.store.session_agents(session.pk).await?;
    let terminal_log = state.store.session_log(session.pk).await?;
    let terminal_log = terminal_log.as_deref().map(strip_ansi);
    let base = session_url(&session.id, &project.name);
    let (path, _) = base.split_once('?').unwrap_or((&base, ""));
    let query = query_for(&project);
    let host_env = session
        .host_env
        .as_ref()
        .and_then(|env| serde_json::to_string_pretty(env).ok());
    let display_name = session
        .name
        .clone()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("Session {}", session.id));

    let mut layout = Layout::new(display_name.clone(), "sessions", &signed_in);
    layout.projects = state.store.list_projects().await?;
    let page = SessionPage {
        timeline_url: format!("{path}/timeline.json?{query}"),
        event_url: format!("{path}/events/"),
        export_url: format!("{path}/export.json?{query}"),
        list_url: format!("/sessions?{query}"),
        display_name,
        start: format_optional_time(session.init_us.or(Some(session.created_us))),
        end: format_optional_time(session.end_us),
        end_state_class: end_state_class(&session.end_state),
        stats: stats(&session),
        agents: agents
            .iter()
            .map(|agent| (agent.name.clone().unwrap_or_default(), agent.id.clone()))
            .collect(),
        host_env,
        terminal_log,
        session,
        layout: Layout {
            project: Some(project),
            ..layout
        },
    };
    Ok(render(&page))
}

/// Returns the session's events without bodies, as the waterfall draws
/// them. Times are microseconds after the session start.
pub async fn timeline(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    Path(id): Path<String>,
    Query(params): Query<SessionParams>,
) -> Result<Response, PageError> {
    let (session, _) = match resolve(&state, &id, params.project.trim()).await? {
        Ok(found) => found,
        Err(_) => return Err(PageError::bad_request("Name the project of the session.")),
    };
    let events = state.store.session_timeline(session.pk).await?;
    let agents = state.store.session_agents(session.pk).await?;
    let first_event = events.iter().map(|event| event.init_us).min();
    let origin = match (session.init_us, first_event) {
        (Some(init), Some(first)) => init.min(first),
        (init, first) => init.or(first).unwrap_or(session.created_us),
    };
    let end = events
        .iter()
        .map(|event| event.end_us.unwrap_or(event.init_us))
        .chain(session.end_us)
        .max()
        .unwrap_or(origin);
    let events: Vec<Value> = events
        .iter()
        .map(|event| {
            json!({
                "id": event.id,
                "kind": event.kind,
                "name": event.name,
                "start": event.init_us - origin,
                "end": event.end_us.map(|end| end - origin),
                "agent": event.agent_id,
                "parent": event.parent_id,
                "model": event.model,
                "prompt_tokens": event.prompt_tokens,
                "completion_tokens": event.completion_tokens,
                "cost": event.cost_pd.map(view::format_dollars),
                "error": event.is_error,
            })
        })
        .collect();
    let agents: serde_json::Map<String, Value> = agents
        .into_iter()
        .map(|agent| (agent.id, agent.name.map(Value::from).unwrap_or(Value::Null)))
        .collect();
    let body = json!({
        "session_id": session.id,
        "origin": time::format(origin),
        "span": (end - origin).max(0),
        "agents": agents,
        "events": events,
    });
    Ok(Json(body).into_response())
}

/// Returns one event in full, as the export shows it.
pub async fn event(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    Path((id, event_id)): Path<(String, String)>,
    Query(params): Query<SessionParams>,
) -> Result<Response, PageError> {
    let (session, _) = match resolve(&state, &id, params.project.trim()).await? {
        Ok(found) => found,
        Err(_) => return Err(PageError::bad_request("Name the project of the session.")),
    };
    let event = state
        .store
        .session_event(session.pk, &event_id)
        .await?
        .ok_or_else(|| PageError::not_found(format!("No event has the id \"{event_id}\".")))?;
    Ok(Json(view::event_json(&event)).into_response())
}

/// Sends the session's export document as a JSON download.
pub async fn export(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    Path(id): Path<String>,
    Query(params): Query<SessionParams>,
) -> Result<Response, PageError> {
    let (session, _) = match resolve(&state, &id, params.project.trim()).await? {
        Ok(found) => found,
        Err(_) => return Err(PageError::bad_request("Name the project of the session.")),
    };
    let events = state.store.session_events(session.pk).await?;
    let agents = state.store.session_agents(session.pk).await?;
    let log = state.store.session_log(session.pk).await?;
    let document = view::export_json(&session, &agents, &events, log.as_deref());
    let body = serde_json::to_vec_pretty(&document).map_err(|_| PageError::internal())?;
    let filename: String = session
        .id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"session-{filename}.json\""),
            ),
        ],
        body,
    )
        .into_response())
}
