//! Row mapping and the queries that the writer and the readers share.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::model::{CostParts, CostSource, EventRecord, ProjectId, SessionPk, TokenUsage};
use crate::store::{AgentRow, EventRow, SessionRow, SessionTotals, StoreResult};

pub(super) const SESSION_COLUMNS: &str = "pk, project_id, id, name, init_us, end_us, end_state, \
     end_state_reason, tags, host_env, body, created_us, event_count, llm_count, tool_count, \
     action_count, error_count, prompt_tokens, completion_tokens, cache_read_tokens, \
     cache_creation_tokens, reasoning_tokens, cost_pd, unpriced_count, \
     uncached_input_cost_pd, cache_read_cost_pd, cache_creation_cost_pd, output_cost_pd, \
     reasoning_cost_pd";

const EVENT_COLUMNS: &str = "id, kind, name, init_us, end_us, agent_id, parent_id, model, \
     prompt_tokens, completion_tokens, cache_read_tokens, cache_creation_tokens, \
     reasoning_tokens, tokens_estimated, cost_pd, cost_source, price_key, is_error, body, \
     request_model, price, uncached_input_cost_pd, cache_read_cost_pd, cache_creation_cost_pd, \
     output_cost_pd, reasoning_cost_pd";

pub(super) fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let tags: String = row.get(8)?;
    let host_env: Option<String> = row.get(9)?;
    Ok(SessionRow {
        pk: row.get(0)?,
        project_id: row.get(1)?,
        id: row.get(2)?,
        name: row.get(3)?,
        init_us: row.get(4)?,
        end_us: row.get(5)?,
        end_state: row.get(6)?,
        end_state_reason: row.get(7)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        host_env: host_env.and_then(|text| serde_json::from_str(&text).ok()),
        body: row.get(10)?,
        created_us: row.get(11)?,
        totals: SessionTotals {
            events: row.get(12)?,
            llms: row.get(13)?,
            tools: row.get(14)?,
            actions: row.get(15)?,
            errors: row.get(16)?,
            prompt_tokens: row.get(17)?,
            completion_tokens: row.get(18)?,
            cache_read_tokens: row.get(19)?,
            cache_creation_tokens: row.get(20)?,
            reasoning_tokens: row.get(21)?,
            cost_pd: row.get(22)?,
            unpriced: row.get(23)?,
            cost_parts: CostParts {
                uncached_input: row.get(24)?,
                cache_read: row.get(25)?,
                cache_creation: row.get(26)?,
                output: row.get(27)?,
                reasoning: row.get(28)?,
            },
        },
    })
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
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
        cache_read_tokens: row.get(10)?,
        cache_creation_tokens: row.get(11)?,
        reasoning_tokens: row.get(12)?,
        tokens_estimated: row.get(13)?,
        cost_pd: row.get(14)?,
        cost_source: row.get(15)?,
        price_key: row.get(16)?,
        is_error: row.get(17)?,
        body: row.get(18)?,
        request_model: row.get(19)?,
        price: row.get(20)?,
        cost_parts: cost_parts_from_row(row, 21)?,
    })
}

/// Reads five cost columns; `None` when the event has no computed split.
fn cost_parts_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Option<CostParts>> {
    let uncached_input: Option<i64> = row.get(first)?;
    let Some(uncached_input) = uncached_input else {
        return Ok(None);
    };
    Ok(Some(CostParts {
        uncached_input,
        cache_read: row.get::<_, Option<i64>>(first + 1)?.unwrap_or(0),
        cache_creation: row.get::<_, Option<i64>>(first + 2)?.unwrap_or(0),
        output: row.get::<_, Option<i64>>(first + 3)?.unwrap_or(0),
        reasoning: row.get::<_, Option<i64>>(first + 4)?.unwrap_or(0),
    }))
}

pub(super) fn session_by_id(
    conn: &Connection,
    project: ProjectId,
    session_id: &str,
) -> StoreResult<Option<SessionRow>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = ?1 AND id = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt
        .query_row(params![project, session_id], session_from_row)
        .optional()?)
}

pub(super) fn session_pk(
    conn: &Connection,
    project: ProjectId,
    session_id: &str,
) -> StoreResult<Option<SessionPk>> {
    let mut stmt =
        conn.prepare_cached("SELECT pk FROM sessions WHERE project_id = ?1 AND id = ?2")?;
    Ok(stmt
        .query_row(params![project, session_id], |row| row.get(0))
        .optional()?)
}

pub(super) fn session_events(conn: &Connection, session: SessionPk) -> StoreResult<Vec<EventRow>> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE session_pk = ?1 ORDER BY init_us, id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![session], event_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn session_agents(conn: &Connection, session: SessionPk) -> StoreResult<Vec<AgentRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, body FROM agents WHERE session_pk = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![session], |row| {
        Ok(AgentRow {
            id: row.get(0)?,
            name: row.get(1)?,
            body: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn list_sessions(
    conn: &Connection,
    project: Option<ProjectId>,
    limit: usize,
    before: Option<(i64, SessionPk)>,
) -> StoreResult<Vec<SessionRow>> {
    let (before_us, before_pk) = before.unwrap_or((i64::MAX, i64::MAX));
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions \
         WHERE (?1 IS NULL OR project_id = ?1) AND (created_us, pk) < (?2, ?3) \
         ORDER BY created_us DESC, pk DESC LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![project, before_us, before_pk, limit as i64],
        session_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Reads one event back as a record, for merging an update into it.
pub(super) fn event_by_id(
    conn: &Connection,
    session: SessionPk,
    event_id: &str,
) -> StoreResult<Option<EventRecord>> {
    Ok(event_row_by_id(conn, session, event_id)?.map(EventRow::into_record))
}

pub(super) fn event_row_by_id(
    conn: &Connection,
    session: SessionPk,
    event_id: &str,
) -> StoreResult<Option<EventRow>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE session_pk = ?1 AND id = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt
        .query_row(params![session, event_id], event_from_row)
        .optional()?)
}

impl EventRow {
    pub fn into_record(self) -> EventRecord {
        let cost_source = match self.cost_source.as_deref() {
            Some("client") => Some(CostSource::Client),
            Some("computed") => Some(CostSource::Computed {
                price_key: self.price_key.clone().unwrap_or_default(),
            }),
            Some("unpriced") => Some(CostSource::Unpriced),
            _ => None,
        };
        EventRecord {
            id: self.id,
            kind: self.kind,
            name: self.name,
            init_us: self.init_us,
            end_us: self.end_us,
            agent_id: self.agent_id,
            parent_id: self.parent_id,
            model: self.model,
            request_model: self.request_model,
            cost_parts: self.cost_parts,
            price: self.price,
            usage: TokenUsage {
                prompt: self.prompt_tokens,
                completion: self.completion_tokens,
                cache_read: self.cache_read_tokens,
                cache_creation: self.cache_creation_tokens,
                reasoning: self.reasoning_tokens,
                estimated: self.tokens_estimated,
            },
            cost: self.cost_pd,
            cost_source,
            is_error: self.is_error,
            body: self.body,
        }
    }
}

pub(super) fn session_log(conn: &Connection, session: SessionPk) -> StoreResult<Option<String>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM session_logs WHERE session_pk = ?1")?;
    Ok(stmt
        .query_row(params![session], |row| row.get(0))
        .optional()?)
}

pub(super) fn find_span(
    conn: &Connection,
    project: ProjectId,
    span_id: &str,
) -> StoreResult<Option<(SessionRow, EventRow)>> {
    let session_sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE pk = \
         (SELECT session_pk FROM span_index WHERE project_id = ?1 AND span_id = ?2 LIMIT 1)"
    );
    let session = conn
        .prepare_cached(&session_sql)?
        .query_row(params![project, span_id], session_from_row)
        .optional()?;
    let Some(session) = session else {
        return Ok(None);
    };
    let event_sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE session_pk = ?1 AND id = ?2");
    let event = conn
        .prepare_cached(&event_sql)?
        .query_row(params![session.pk, span_id], event_from_row)
        .optional()?;
    Ok(event.map(|event| (session, event)))
}
