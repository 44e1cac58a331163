//! Writes of OpenTelemetry traces, applied by the writer thread.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::writer::now_us;
use crate::model::{EventRecord, ProjectId, SessionPk, TraceRecord};
use crate::store::{StoreError, StoreResult};

/// Creates or updates the session of a trace. Fields from the root span win
/// (name, times, end state and its reason, tags, host environment); other
/// spans only fill a missing name and widen the provisional times until the
/// root arrives, and a nested session span's fields hold until then.
pub(super) fn merge_trace_session(
    tx: &Connection,
    pks: &mut HashMap<(ProjectId, String), SessionPk>,
    project: ProjectId,
    trace: &TraceRecord,
) -> StoreResult<SessionPk> {
    let session = &trace.session;
    let tags = match &session.tags {
        Some(tags) => {
            Some(serde_json::to_string(tags).map_err(|e| StoreError::Database(e.to_string()))?)
        }
        None => None,
    };
    let host_env = session.host_env.as_ref().map(|value| value.to_string());
    let now = now_us();
    let pk: SessionPk = tx
        .prepare_cached(
            "INSERT INTO sessions (project_id, id, name, init_us, end_us, end_state, tags, \
             body, created_us, updated_us, root_seen, end_state_reason, host_env) \
             VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, 'Indeterminate'), coalesce(?7, '[]'), \
             ?8, ?9, ?9, ?10, ?11, ?12) \
             ON CONFLICT (project_id, id) DO UPDATE SET \
             name = CASE WHEN ?10 = 1 OR sessions.name IS NULL \
                 THEN coalesce(excluded.name, sessions.name) ELSE sessions.name END, \
             init_us = CASE WHEN ?10 = 1 THEN coalesce(excluded.init_us, sessions.init_us) \
                 WHEN sessions.root_seen = 1 THEN sessions.init_us \
                 ELSE min(coalesce(sessions.init_us, excluded.init_us), \
                          coalesce(excluded.init_us, sessions.init_us)) END, \
             end_us = CASE WHEN ?10 = 1 THEN coalesce(excluded.end_us, sessions.end_us) \
                 WHEN sessions.root_seen = 1 THEN sessions.end_us \
                 ELSE max(coalesce(sessions.end_us, excluded.end_us), \
                          coalesce(excluded.end_us, sessions.end_us)) END, \
             end_state = CASE WHEN ?6 IS NOT NULL AND (?10 = 1 OR sessions.root_seen = 0) \
                 THEN ?6 ELSE sessions.end_state END, \
             tags = CASE WHEN ?7 IS NOT NULL AND (?10 = 1 OR sessions.root_seen = 0) \
                 THEN ?7 ELSE sessions.tags END, \
             end_state_reason = CASE WHEN ?11 IS NOT NULL AND (?10 = 1 OR sessions.root_seen = 0) \
                 THEN ?11 ELSE sessions.end_state_reason END, \
             host_env = CASE WHEN ?12 IS NOT NULL AND (?10 = 1 OR sessions.root_seen = 0) \
                 THEN ?12 ELSE sessions.host_env END, \
             body = coalesce(excluded.body, sessions.body), \
             root_seen = max(sessions.root_seen, ?10), updated_us = ?9 \
             RETURNING pk",
        )?
        .query_row(
            params![
                project,
                session.id,
                session.name,
                session.init_us,
                session.end_us,
                session.end_state,
                tags,
                session.body,
                now,
                trace.from_root,
                session.end_state_reason,
                host_env
            ],
            |row| row.get(0),
        )?;
    pks.insert((project, session.id.clone()), pk);
    Ok(pk)
}

pub(super) fn index_spans(
    tx: &Connection,
    project: ProjectId,
    session: SessionPk,
    events: &[EventRecord],
) -> StoreResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO span_index (project_id, span_id, session_pk) VALUES (?1, ?2, ?3) \
         ON CONFLICT DO NOTHING",
    )?;
    for event in events {
        stmt.execute(params![project, event.id, session])?;
    }
    Ok(())
}
