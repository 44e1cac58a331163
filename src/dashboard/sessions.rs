//! The session list with its filters, sorting and keyset paging, and its CSV
//! export. Also the links the SDKs print (`/drilldown?session_id=…` and
//! `/sessions?trace_id=…`), which open the session page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::auth::SignedIn;
use super::filters::{FilterParams, RANGES, encode_query};
use super::page::{
    Layout, PageError, choose_project, format_cost, format_count, format_duration,
    format_optional_time, render,
};
use crate::http::AppState;
use crate::ingest::time;
use crate::ingest::value::canonical_session_id;
use crate::store::SessionRow;
use crate::store::dashboard::{
    MAX_SCANNED_SESSIONS, SessionCursor, SessionPageRequest, SessionSort, SortKey,
};
use crate::view;

const PAGE_SIZE: usize = 50;
/// Most rows one CSV export contains.
pub const MAX_CSV_ROWS: usize = 50_000;
const CSV_PAGE_SIZE: usize = 1_000;

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// URL of a session's page.
pub fn session_url(session_id: &str, project: &str) -> String {
    let id = utf8_percent_encode(session_id, PATH_SEGMENT);
    format!(
        "/sessions/{id}?{}",
        encode_query(&[("project", project.to_owned())])
    )
}

/// One session as a row of a table.
pub struct SessionLine {
    pub url: String,
    pub id: String,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub start: String,
    pub duration: String,
    pub events: String,
    pub errors: i64,
    pub errors_text: String,
    pub cost: String,
    pub end_state: String,
    /// CSS class of the end state badge.
    pub end_state_class: &'static str,
}

pub fn end_state_class(end_state: &str) -> &'static str {
    match end_state {
        "Success" => "state-success",
        "Fail" => "state-fail",
        _ => "state-other",
    }
}

impl SessionLine {
    pub fn new(row: &SessionRow, project: &str) -> Self {
        SessionLine {
            url: session_url(&row.id, project),
            id: row.id.clone(),
            name: row.name.clone().filter(|name| !name.is_empty()),
            tags: row.tags.clone(),
            start: format_optional_time(row.init_us.or(Some(row.created_us))),
            duration: format_duration(row.init_us, row.end_us),
            events: format_count(row.totals.events),
            errors: row.totals.errors,
            errors_text: format_count(row.totals.errors),
            cost: format_cost(row.totals.cost_pd),
            end_state: row.end_state.clone(),
            end_state_class: end_state_class(&row.end_state),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    #[serde(flatten)]
    filters: FilterParams,
    sort: String,
    dir: String,
    after_key: String,
    after_pk: String,
    trace_id: String,
}

const SORTS: [(&str, &str, SessionSort); 7] = [
    ("start", "Start (UTC)", SessionSort::Start),
    ("name", "Name and tags", SessionSort::Name),
    ("duration", "Duration", SessionSort::Duration),
    ("events", "Events", SessionSort::Events),
    ("errors", "Errors", SessionSort::Errors),
    ("cost", "Cost", SessionSort::Cost),
    ("end_state", "End state", SessionSort::EndState),
];

impl ListParams {
    fn sort(&self) -> (&'static str, SessionSort) {
        SORTS
            .iter()
            .find(|(key, _, _)| *key == self.sort)
            .map(|(key, _, sort)| (*key, *sort))
            .unwrap_or(("start", SessionSort::Start))
    }

    fn descending(&self) -> bool {
        self.dir != "asc"
    }

    fn cursor(&self, sort: SessionSort) -> Result<Option<SessionCursor>, PageError> {
        if self.after_pk.is_empty() {
            return Ok(None);
        }
        let invalid =
            || PageError::bad_request("The page link is invalid; go back to the first page.");
        let pk = self.after_pk.parse().map_err(|_| invalid())?;
        let key = match sort {
            SessionSort::Name | SessionSort::EndState => SortKey::Text(self.after_key.clone()),
            _ => SortKey::Integer(self.after_key.parse().map_err(|_| invalid())?),
        };
        Ok(Some(SessionCursor { key, pk }))
    }

    fn request(&self, project: i64, limit: usize) -> Result<SessionPageRequest, PageError> {
        let bounds = self
            .filters
            .bounds("all", time::now())
            .map_err(PageError::bad_request)?;
        let (_, sort) = self.sort();
        Ok(SessionPageRequest {
            filter: self.filters.to_filter(project, bounds),
            sort,
            descending: self.descending(),
            after: self.cursor(sort)?,
            limit,
        })
    }
}

/// A sortable column header.
pub struct SortLink {
    pub label: &'static str,
    pub url: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub aria_sort: &'static str,
    pub numeric: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct ListPage {
    layout: Layout,
    filters: FilterParams,
    ranges: &'static [(&'static str, &'static str)],
    range: String,
    end_states: [&'static str; 3],
    sort: String,
    dir: String,
    columns: Vec<SortLink>,
    sessions: Vec<SessionLine>,
    next_url: Option<String>,
    first_url: Option<String>,
    csv_url: String,
    scan_limited: bool,
    max_scanned: String,
    max_csv_rows: String,
}

pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    if !params.trace_id.trim().is_empty() {
        return Ok(session_redirect(&params.trace_id));
    }
    let projects = state.store.list_projects().await?;
    let project = choose_project(&projects, Some(params.filters.project.as_str()))?;
    let request = params.request(project.id, PAGE_SIZE)?;
    let page = state.store.session_page(request).await?;

    let (sort_key, _) = params.sort();
    let dir = if params.descending() { "desc" } else { "asc" };
    let mut base = params.filters.query_pairs();
    if !base.iter().any(|(name, _)| *name == "project") {
        base.push(("project", project.name.clone()));
    }
    let mut sorted = base.clone();
    sorted.push(("sort", sort_key.to_owned()));
    sorted.push(("dir", dir.to_owned()));

    let next_url = page.next.as_ref().map(|cursor| {
        let mut pairs = sorted.clone();
        let key = match &cursor.key {
            SortKey::Integer(value) => value.to_string(),
            SortKey::Text(value) => value.clone(),
        };
        pairs.push(("after_key", key));
        pairs.push(("after_pk", cursor.pk.to_string()));
        format!("/sessions?{}", encode_query(&pairs))
    });
    let first_url =
        (!params.after_pk.is_empty()).then(|| format!("/sessions?{}", encode_query(&sorted)));
    let columns = SORTS
        .iter()
        .map(|(key, label, _)| {
            let current = *key == sort_key;
            let next_dir = if current && params.descending() {
                "asc"
            } else {
                "desc"
            };
            let mut pairs = base.clone();
            pairs.push(("sort", key.to_string()));
            pairs.push(("dir", next_dir.to_owned()));
            SortLink {
                label,
                url: format!("/sessions?{}", encode_query(&pairs)),
                aria_sort: match (current, params.descending()) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
                numeric: matches!(*key, "duration" | "events" | "errors" | "cost"),
            }
        })
        .collect();

    let sessions = page
        .sessions
        .iter()
        .map(|row| SessionLine::new(row, &project.name))
        .collect();
    let range = params.filters.range_or("all").to_owned();
    let mut layout = Layout::new("Sessions", "sessions", &signed_in);
    layout.projects = projects;
    layout.project = Some(project);
    let page = ListPage {
        layout,
        filters: params.filters.clone(),
        ranges: &RANGES,
        range,
        end_states: ["Success", "Fail", "Indeterminate"],
        sort: sort_key.to_owned(),
        dir: dir.to_owned(),
        columns,
        sessions,
        next_url,
        first_url,
        csv_url: format!("/sessions.csv?{}", encode_query(&sorted)),
        scan_limited: page.scan_limited,
        max_scanned: format_count(MAX_SCANNED_SESSIONS as i64),
        max_csv_rows: format_count(MAX_CSV_ROWS as i64),
    };
    Ok(render(&page))
}

/// Exports the listed sessions (all pages, up to [`MAX_CSV_ROWS`]) as CSV.
pub async fn csv(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let projects = state.store.list_projects().await?;
    let project = choose_project(&projects, Some(params.filters.project.as_str()))?;
    let mut request = params.request(project.id, CSV_PAGE_SIZE)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_csv_header(&mut writer)?;
    let mut rows = 0;
    while rows < MAX_CSV_ROWS {
        let page = state.store.session_page(request.clone()).await?;
        for session in &page.sessions {
            write_csv_row(&mut writer, session)?;
            rows += 1;
        }
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    let body = writer.into_inner().map_err(|_| PageError::internal())?;
    let filename = format!(
        "attachment; filename=\"tracewell-sessions-{}.csv\"",
        project.id
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response())
}

fn csv_failed(err: csv::Error) -> PageError {
    tracing::error!(error = %err, "csv export failed");
    PageError::internal()
}

fn write_csv_header(writer: &mut csv::Writer<Vec<u8>>) -> Result<(), PageError> {
    writer
        .write_record([
            "session_id",
            "name",
            "tags",
            "init_timestamp",
            "end_timestamp",
            "duration_ms",
            "end_state",
            "end_state_reason",
            "events",
            "llms",
            "tools",
            "actions",
            "errors",
            "prompt_tokens",
            "completion_tokens",
            "cost",
            "unpriced_events",
        ])
        .map_err(csv_failed)
}

fn write_csv_row(writer: &mut csv::Writer<Vec<u8>>, session: &SessionRow) -> Result<(), PageError> {
    let totals = &session.totals;
    let duration = view::duration_ms(session.init_us, session.end_us)
        .map(|ms| ms.to_string())
        .unwrap_or_default();
    writer
        .write_record([
            spreadsheet_safe(&session.id),
            spreadsheet_safe(&session.name.clone().unwrap_or_default()),
            spreadsheet_safe(&session.tags.join(";")),
            session.init_us.map(time::format).unwrap_or_default(),
            session.end_us.map(time::format).unwrap_or_default(),
            duration,
            spreadsheet_safe(&session.end_state),
            spreadsheet_safe(&session.end_state_reason.clone().unwrap_or_default()),
            totals.events.to_string(),
            totals.llms.to_string(),
            totals.tools.to_string(),
            totals.actions.to_string(),
            totals.errors.to_string(),
            totals.prompt_tokens.to_string(),
            totals.completion_tokens.to_string(),
            view::format_dollars(totals.cost_pd),
            totals.unpriced.to_string(),
        ])
        .map_err(csv_failed)
}

/// Prefixes client text that a spreadsheet would run as a formula (a cell
/// starting with `=`, `+`, `-`, `@`, tab or carriage return) with `'`.
fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn session_redirect(raw_id: &str) -> Response {
    let id = canonical_session_id(raw_id);
    let id = utf8_percent_encode(&id, PATH_SEGMENT);
    Redirect::to(&format!("/sessions/{id}")).into_response()
}

#[derive(Deserialize)]
pub struct DrilldownParams {
    #[serde(default)]
    session_id: String,
}

/// Opens the session of the link the AgentOps SDKs print,
/// `/drilldown?session_id=UUID`.
pub async fn drilldown(
    _signed_in: SignedIn,
    Query(params): Query<DrilldownParams>,
) -> Result<Response, PageError> {
    if params.session_id.trim().is_empty() {
        return Err(PageError::bad_request(
            "The link has no session_id; open the link the SDK printed in full.",
        ));
    }
    Ok(session_redirect(&params.session_id))
}

#[cfg(test)]
mod csv_tests {
    use super::spreadsheet_safe;

    #[test]
    fn spreadsheet_safe_defuses_formulas() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@cmd"), "'@cmd");
        assert_eq!(spreadsheet_safe("plain"), "plain");
    }
}
