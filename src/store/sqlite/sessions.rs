//! Writes of projects and sessions, applied by the writer thread.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::rows;
use super::writer::now_us;
use crate::model::{ProjectId, SessionPatch, SessionPk, SessionRecord};
use crate::store::{Project, SessionRow, StoreError, StoreResult};

pub(super) fn ensure_project(tx: &Connection, name: &str) -> StoreResult<Project> {
    tx.execute(
        "INSERT INTO projects (name, created_us) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, now_us()],
    )?;
    let id = tx.query_row(
        "SELECT id FROM projects WHERE name = ?1",
        params![name],
        |row| row.get(0),
    )?;
    Ok(Project {
        id,
        name: name.to_owned(),
        key_id: None,
    })
}

pub(super) fn require_session(
    tx: &Connection,
    pks: &mut HashMap<(ProjectId, String), SessionPk>,
    project: ProjectId,
    session_id: &str,
) -> StoreResult<SessionPk> {
    if let Some(pk) = pks.get(&(project, session_id.to_owned())) {
        return Ok(*pk);
    }
    let pk = rows::session_pk(tx, project, session_id)?
        .ok_or_else(|| StoreError::NotFound(format!("session {session_id}")))?;
    pks.insert((project, session_id.to_owned()), pk);
    Ok(pk)
}

pub(super) fn create_session(
    tx: &Connection,
    pks: &mut HashMap<(ProjectId, String), SessionPk>,
    project: ProjectId,
    session: SessionRecord,
) -> StoreResult<SessionPk> {
    let now = now_us();
    let tags = serde_json::to_string(&session.tags.unwrap_or_default())
        .map_err(|err| StoreError::Database(err.to_string()))?;
    let host_env = session.host_env.map(|value| value.to_string());
    let pk: Option<SessionPk> = tx
        .query_row(
            "INSERT INTO sessions (project_id, id, name, init_us, end_us, end_state, \
             end_state_reason, tags, host_env, body, created_us, updated_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, 'Indeterminate'), ?7, ?8, ?9, ?10, ?11, ?11) \
             ON CONFLICT (project_id, id) DO NOTHING RETURNING pk",
            params![
                project,
                session.id,
                session.name,
                session.init_us,
                session.end_us,
                session.end_state,
                session.end_state_reason,
                tags,
                host_env,
                session.body,
                now
            ],
            |row| row.get(0),
        )
        .optional()?;
    let pk = match pk {
        Some(pk) => pk,
        None => rows::session_pk(tx, project, &session.id)?
            .ok_or_else(|| StoreError::NotFound(format!("session {}", session.id)))?,
    };
    pks.insert((project, session.id), pk);
    Ok(pk)
}

pub(super) fn update_session(
    tx: &Connection,
    pks: &mut HashMap<(ProjectId, String), SessionPk>,
    project: ProjectId,
    session_id: &str,
    patch: SessionPatch,
) -> StoreResult<SessionRow> {
    let pk = require_session(tx, pks, project, session_id)?;
    let tags = match patch.tags {
        Some(tags) => {
            Some(serde_json::to_string(&tags).map_err(|e| StoreError::Database(e.to_string()))?)
        }
        None => None,
    };
    tx.execute(
        "UPDATE sessions SET end_us = coalesce(?2, end_us), end_state = coalesce(?3, end_state), \
         end_state_reason = coalesce(?4, end_state_reason), tags = coalesce(?5, tags), \
         updated_us = ?6 WHERE pk = ?1",
        params![
            pk,
            patch.end_us,
            patch.end_state,
            patch.end_state_reason,
            tags,
            now_us()
        ],
    )?;
    if !patch.fields.is_empty() {
        merge_session_body(tx, pk, patch.fields)?;
    }
    rows::session_by_id(tx, project, session_id)?
        .ok_or_else(|| StoreError::NotFound(format!("session {session_id}")))
}

fn merge_session_body(
    tx: &Connection,
    pk: SessionPk,
    fields: serde_json::Map<String, serde_json::Value>,
) -> StoreResult<()> {
    let body: Option<String> = tx.query_row(
        "SELECT body FROM sessions WHERE pk = ?1",
        params![pk],
        |row| row.get(0),
    )?;
    let mut object: serde_json::Map<String, serde_json::Value> = body
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    object.extend(fields);
    let text = serde_json::Value::Object(object).to_string();
    tx.execute(
        "UPDATE sessions SET body = ?2 WHERE pk = ?1",
        params![pk, text],
    )?;
    Ok(())
}
