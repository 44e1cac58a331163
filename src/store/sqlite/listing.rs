//! The dashboard's session list (filtered, sorted, keyset-paged), a
//! session's timeline and the agents of a project.

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};

use super::rows::{SESSION_COLUMNS, session_from_row};
use crate::model::SessionPk;
use crate::store::dashboard::{
    AgentSummary, MAX_SCANNED_SESSIONS, SessionCursor, SessionFilter, SessionPage,
    SessionPageRequest, SessionSort, SortKey, TimelineEvent,
};
use crate::store::{SessionRow, StoreResult};

/// The session start that the list, the range filters and the metrics use;
/// `sessions_by_project_start` indexes this expression.
pub(super) const START_EXPR: &str = "coalesce(init_us, created_us)";

fn sort_expression(sort: SessionSort) -> &'static str {
    match sort {
        SessionSort::Start => START_EXPR,
        SessionSort::Duration => "coalesce(end_us - init_us, -1)",
        SessionSort::Name => "coalesce(name, '')",
        SessionSort::Events => "event_count",
        SessionSort::Errors => "error_count",
        SessionSort::Cost => "cost_pd",
        SessionSort::EndState => "end_state",
    }
}

fn is_text_sort(sort: SessionSort) -> bool {
    matches!(sort, SessionSort::Name | SessionSort::EndState)
}

/// SQL conditions on `sessions` with their parameters, joined with AND.
#[derive(Default)]
pub(super) struct Conditions {
    clauses: Vec<String>,
    values: Vec<Value>,
}

impl Conditions {
    fn push(&mut self, clause: impl Into<String>, values: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.into());
        self.values.extend(values);
    }

    pub(super) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    pub(super) fn values(&self) -> &[Value] {
        &self.values
    }
}

/// Conditions that an index or a small table serves: project, start range,
/// end state, tag and agent.
pub(super) fn indexed_conditions(filter: &SessionFilter) -> Conditions {
    let mut conditions = Conditions::default();
    conditions.push("project_id = ?", [Value::Integer(filter.project)]);
    if let Some(from) = filter.from_us {
        conditions.push(format!("{START_EXPR} >= ?"), [Value::Integer(from)]);
    }
    if let Some(to) = filter.to_us {
        conditions.push(format!("{START_EXPR} < ?"), [Value::Integer(to)]);
    }
    if let Some(state) = &filter.end_state {
        conditions.push("end_state = ?", [Value::Text(state.clone())]);
    }
    if let Some(tag) = &filter.tag {
        conditions.push(
            "EXISTS (SELECT 1 FROM json_each(sessions.tags) WHERE value = ?)",
            [Value::Text(tag.clone())],
        );
    }
    if let Some(agent) = &filter.agent {
        conditions.push(
            "EXISTS (SELECT 1 FROM agents a WHERE a.session_pk = sessions.pk \
             AND (a.name = ? OR a.id = ?))",
            [Value::Text(agent.clone()), Value::Text(agent.clone())],
        );
    }
    conditions
}

/// Adds the model condition, which reads each session's events.
pub(super) fn model_condition(filter: &SessionFilter, conditions: &mut Conditions) {
    if let Some(model) = &filter.model {
        conditions.push(
            "EXISTS (SELECT 1 FROM events e WHERE e.session_pk = sessions.pk AND e.model = ?)",
            [Value::Text(model.clone())],
        );
    }
}

/// Adds the text condition, which reads the bodies of each session's LLM
/// events.
fn text_condition(filter: &SessionFilter, conditions: &mut Conditions) {
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", escape_like(text));
        conditions.push(
            "EXISTS (SELECT 1 FROM events e WHERE e.session_pk = sessions.pk \
             AND e.kind = 'llm' AND e.body LIKE ? ESCAPE '\\')",
            [Value::Text(pattern)],
        );
    }
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

fn sort_key_value(key: &SortKey) -> Value {
    match key {
        SortKey::Integer(value) => Value::Integer(*value),
        SortKey::Text(value) => Value::Text(value.clone()),
    }
}

fn read_sort_key(row: &Row<'_>, index: usize, sort: SessionSort) -> rusqlite::Result<SortKey> {
    if is_text_sort(sort) {
        row.get(index).map(SortKey::Text)
    } else {
        row.get(index).map(SortKey::Integer)
    }
}

/// Index of the sort key column, which follows `SESSION_COLUMNS`.
fn sort_key_index() -> usize {
    SESSION_COLUMNS.split(',').count()
}

pub(super) fn session_page(
    conn: &Connection,
    request: &SessionPageRequest,
) -> StoreResult<SessionPage> {
    let sort = sort_expression(request.sort);
    let direction = if request.descending { "DESC" } else { "ASC" };
    let order = format!("ORDER BY {sort} {direction}, pk {direction}");
    let mut conditions = indexed_conditions(&request.filter);
    if let Some(cursor) = &request.after {
        // The condition is spelled out, not written as the row value
        // `(sort, pk) < (?, ?)`. SQLite makes an index range of the first
        // comparison only, while the row value on an expression index makes
        // every page scan from the first one.
        let comparison = if request.descending { "<" } else { ">" };
        let key = sort_key_value(&cursor.key);
        conditions.push(
            format!("{sort} {comparison}= ? AND ({sort} {comparison} ? OR pk {comparison} ?)"),
            [key.clone(), key, Value::Integer(cursor.pk)],
        );
    }
    let mut deep = Conditions::default();
    model_condition(&request.filter, &mut deep);
    text_condition(&request.filter, &mut deep);

    let limit = request.limit.max(1);
    if deep.clauses.is_empty() {
        let rows = query_sessions(conn, &conditions, sort, &order, request.sort, limit + 1)?;
        return Ok(page_from_rows(rows, limit));
    }

    // Examine a bounded run of sessions in list order, then apply the
    // event-reading conditions to that run only.
    let candidates = candidate_keys(conn, &conditions, sort, &order, request.sort)?;
    let pks: Vec<SessionPk> = candidates.iter().map(|(_, pk)| *pk).collect();
    let mut within = Conditions::default();
    within.push(
        "pk IN (SELECT value FROM json_each(?))",
        [Value::Text(serde_json::Value::from(pks).to_string())],
    );
    within.clauses.extend(deep.clauses);
    within.values.extend(deep.values);
    let rows = query_sessions(conn, &within, sort, &order, request.sort, limit + 1)?;
    let mut page = page_from_rows(rows, limit);
    if page.next.is_none() && candidates.len() == MAX_SCANNED_SESSIONS {
        let (key, pk) = candidates
            .last()
            .cloned()
            .expect("candidates are not empty");
        page.next = Some(SessionCursor { key, pk });
        page.scan_limited = true;
    }
    Ok(page)
}

fn page_from_rows(mut rows: Vec<(SessionRow, SortKey)>, limit: usize) -> SessionPage {
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|(session, key)| SessionCursor {
            key: key.clone(),
            pk: session.pk,
        })
    } else {
        None
    };
    SessionPage {
        sessions: rows.into_iter().map(|(session, _)| session).collect(),
        next,
        scan_limited: false,
    }
}

fn query_sessions(
    conn: &Connection,
    conditions: &Conditions,
    sort: &str,
    order: &str,
    sort_kind: SessionSort,
    limit: usize,
) -> StoreResult<Vec<(SessionRow, SortKey)>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, {sort} FROM sessions WHERE {} {order} LIMIT {limit}",
        conditions.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(conditions.values()), |row| {
        Ok((
            session_from_row(row)?,
            read_sort_key(row, sort_key_index(), sort_kind)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn candidate_keys(
    conn: &Connection,
    conditions: &Conditions,
    sort: &str,
    order: &str,
    sort_kind: SessionSort,
) -> StoreResult<Vec<(SortKey, SessionPk)>> {
    let sql = format!(
        "SELECT {sort}, pk FROM sessions WHERE {} {order} LIMIT {MAX_SCANNED_SESSIONS}",
        conditions.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(conditions.values()), |row| {
        Ok((read_sort_key(row, 0, sort_kind)?, row.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn sessions_by_id(conn: &Connection, session_id: &str) -> StoreResult<Vec<SessionRow>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1 ORDER BY project_id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![session_id], session_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn session_timeline(
    conn: &Connection,
    session: SessionPk,
) -> StoreResult<Vec<TimelineEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, name, init_us, end_us, agent_id, parent_id, model, prompt_tokens, \
         completion_tokens, cost_pd, is_error FROM events WHERE session_pk = ?1 \
         ORDER BY init_us, id",
    )?;
    let rows = stmt.query_map(params![session], |row| {
        Ok(TimelineEvent {
            id: row.get(0)?,
            kind: row.get(1)?,
            name: row.get(2)?,
            init_us: row.get(3)?,
            end_us: row.get(4)?,
            agent_id: row.get(5)?,
            parent_id: row.get(6)?,
            model: row.get(7)?,
            prompt_tokens: row.get(8)?,
            completion_tokens: row.get(9)?,
            cost_pd: row.get(10)?,
            is_error: row.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many agent names the agents page lists at most.
const MAX_AGENTS: usize = 1_000;

pub(super) fn list_agents(
    conn: &Connection,
    filter: &SessionFilter,
) -> StoreResult<Vec<AgentSummary>> {
    let range_only = SessionFilter {
        project: filter.project,
        from_us: filter.from_us,
        to_us: filter.to_us,
        ..SessionFilter::default()
    };
    let conditions = indexed_conditions(&range_only);
    let sql = format!(
        "SELECT coalesce(a.name, a.id) AS agent, count(DISTINCT a.session_pk), \
         min(s.start_us), max(s.start_us) \
         FROM (SELECT pk, {START_EXPR} AS start_us FROM sessions WHERE {}) s \
         JOIN agents a ON a.session_pk = s.pk \
         GROUP BY agent ORDER BY max(s.start_us) DESC LIMIT {MAX_AGENTS}",
        conditions.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(conditions.values()), |row| {
        Ok(AgentSummary {
            name: row.get(0)?,
            sessions: row.get(1)?,
            first_seen_us: row.get(2)?,
            last_seen_us: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
