//! The single SQLite writer: it commits the records of many requests in one
//! transaction (group commit) and answers each request after the commit.
//!
//! One thread owns the only write connection, so writes never contend for
//! the database lock. Each request's records are applied inside a savepoint,
//! so a failing request rolls back alone and its neighbours still commit.

use std::collections::HashMap;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{dashboard, rows};
use crate::model::{
    AgentRecord, CostSource, EventPatch, EventRecord, Micros, ProjectId, SessionPatch, SessionPk,
    SessionRecord, kind,
};
use crate::store::dashboard::{NewUser, NewWebSession, User, UserId};
use crate::store::{InsertOutcome, Project, SessionRow, StoreError, StoreResult, UpdateOutcome};

/// How many queued requests one transaction takes at most.
const MAX_REQUESTS_PER_COMMIT: usize = 512;
/// How many events one transaction takes at most before it commits.
const MAX_EVENTS_PER_COMMIT: usize = 20_000;

pub(super) enum WriteOp {
    EnsureProject {
        name: String,
    },
    InsertApiKey {
        project: ProjectId,
        key_hash: String,
        prefix: String,
        name: Option<String>,
    },
    RevokeApiKey {
        selector: String,
    },
    CreateSession {
        project: ProjectId,
        session: SessionRecord,
    },
    UpdateSession {
        project: ProjectId,
        session_id: String,
        patch: SessionPatch,
    },
    InsertEvents {
        project: ProjectId,
        session_id: String,
        events: Vec<EventRecord>,
    },
    UpdateEvents {
        project: ProjectId,
        session_id: String,
        patches: Vec<EventPatch>,
    },
    UpsertAgent {
        project: ProjectId,
        session_id: String,
        agent: AgentRecord,
    },
    UpsertThread {
        project: ProjectId,
        session_id: String,
        thread_id: String,
        body: String,
    },
    InsertDeveloperError {
        project: Option<ProjectId>,
        body: String,
    },
    // Dashboard users and browser sessions.
    CreateUser(NewUser),
    SetPassword {
        user: UserId,
        password_hash: String,
        keep_session: Option<String>,
    },
    CreateWebSession(NewWebSession),
    DeleteWebSession {
        id_hash: String,
    },
}

impl WriteOp {
    fn event_count(&self) -> usize {
        match self {
            WriteOp::InsertEvents { events, .. } => events.len(),
            WriteOp::UpdateEvents { patches, .. } => patches.len(),
            _ => 1,
        }
    }
}

pub(super) enum WriteReply {
    Project(Project),
    SessionPk(SessionPk),
    Session(Box<SessionRow>),
    Inserted(InsertOutcome),
    Updated(UpdateOutcome),
    Count(usize),
    User(User),
}

struct Command {
    op: WriteOp,
    reply: oneshot::Sender<StoreResult<WriteReply>>,
}

/// The handle that request handlers use to queue writes.
#[derive(Clone)]
pub(super) struct WriterHandle {
    queue: Sender<Command>,
}

impl WriterHandle {
    /// Starts the writer thread on `conn`. The queue is bounded, so a writer
    /// that falls behind slows its callers down instead of growing memory.
    pub(super) fn start(conn: Connection, queue_len: usize) -> std::io::Result<Self> {
        let (queue, receiver) = crossbeam_channel::bounded(queue_len);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || Writer::new(conn).run(receiver))?;
        Ok(WriterHandle { queue })
    }

    /// Queues `op` and waits until its transaction has committed.
    pub(super) async fn submit(&self, op: WriteOp) -> StoreResult<WriteReply> {
        let (reply, answer) = oneshot::channel();
        let mut command = Command { op, reply };
        loop {
            match self.queue.try_send(command) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    command = back;
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                Err(TrySendError::Disconnected(_)) => return Err(StoreError::Closed),
            }
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

struct Writer {
    conn: Connection,
    /// Session primary keys by (project, id); filled only from committed or
    /// in-transaction rows, and cleared when a commit fails.
    session_pks: HashMap<(ProjectId, String), SessionPk>,
}

impl Writer {
    fn new(conn: Connection) -> Self {
        Writer {
            conn,
            session_pks: HashMap::new(),
        }
    }

    fn run(mut self, receiver: Receiver<Command>) {
        tracing::info!("sqlite writer started");
        while let Ok(first) = receiver.recv() {
            let mut batch = vec![first];
            let mut events = batch[0].op.event_count();
            while batch.len() < MAX_REQUESTS_PER_COMMIT && events < MAX_EVENTS_PER_COMMIT {
                match receiver.try_recv() {
                    Ok(command) => {
                        events += command.op.event_count();
                        batch.push(command);
                    }
                    Err(_) => break,
                }
            }
            self.commit_batch(batch, events);
        }
        tracing::info!("sqlite writer stopped");
    }

    fn commit_batch(&mut self, batch: Vec<Command>, events: usize) {
        let started = Instant::now();
        let (ops, replies): (Vec<WriteOp>, Vec<_>) =
            batch.into_iter().map(|c| (c.op, c.reply)).unzip();

        let results = match self.apply_all(ops) {
            Ok(results) => results,
            Err(err) => {
                tracing::error!(error = %err, requests = replies.len(), "group commit failed");
                self.session_pks.clear();
                let message = err.to_string();
                replies
                    .iter()
                    .map(|_| Err(StoreError::Database(message.clone())))
                    .collect()
            }
        };
        tracing::trace!(
            requests = replies.len(),
            events,
            micros = started.elapsed().as_micros() as u64,
            "group committed"
        );
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that went away (client disconnected) no longer needs
            // the answer; its records are committed all the same.
            let _ = reply.send(result);
        }
    }

    fn apply_all(&mut self, ops: Vec<WriteOp>) -> StoreResult<Vec<StoreResult<WriteReply>>> {
        let mut tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let mut savepoint = tx.savepoint()?;
            let result = apply(&savepoint, &mut self.session_pks, op);
            if result.is_ok() {
                savepoint.commit()?;
            } else {
                savepoint.rollback()?;
                savepoint.commit()?;
            }
            results.push(result);
        }
        tx.commit()?;
        Ok(results)
    }
}

fn now_us() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

fn apply(
    tx: &Connection,
    pks: &mut HashMap<(ProjectId, String), SessionPk>,
    op: WriteOp,
) -> StoreResult<WriteReply> {
    match op {
        WriteOp::EnsureProject { name } => ensure_project(tx, &name).map(WriteReply::Project),
        WriteOp::InsertApiKey {
            project,
            key_hash,
            prefix,
            name,
        } => {
            tx.execute(
                "INSERT INTO api_keys (project_id, key_hash, key_prefix, name, created_us) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![project, key_hash, prefix, name, now_us()],
            )?;
            Ok(WriteReply::Count(1))
        }
        WriteOp::RevokeApiKey { selector } => {
            let changed = tx.execute(
                "UPDATE api_keys SET revoked_us = ?2 WHERE revoked_us IS NULL \
                 AND (key_prefix = ?1 OR CAST(id AS TEXT) = ?1)",
                params![selector, now_us()],
            )?;
            Ok(WriteReply::Count(changed))
        }
        WriteOp::CreateSession { project, session } => {
            create_session(tx, pks, project, session).map(WriteReply::SessionPk)
        }
        WriteOp::UpdateSession {
            project,
            session_id,
            patch,
        } => update_session(tx, pks, project, &session_id, patch)
            .map(|row| WriteReply::Session(Box::new(row))),
        WriteOp::InsertEvents {
            project,
            session_id,
            events,
        } => {
            let pk = require_session(tx, pks, project, &session_id)?;
            insert_events(tx, pk, &events).map(WriteReply::Inserted)
        }
        WriteOp::UpdateEvents {
            project,
            session_id,
            patches,
        } => {
            let pk = require_session(tx, pks, project, &session_id)?;
            update_events(tx, pk, patches).map(WriteReply::Updated)
        }
        WriteOp::UpsertAgent {
            project,
            session_id,
            agent,
        } => {
            let pk = require_session(tx, pks, project, &session_id)?;
            tx.execute(
                "INSERT INTO agents (session_pk, id, name, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (session_pk, id) DO UPDATE SET \
                 name = coalesce(excluded.name, agents.name), body = excluded.body",
                params![pk, agent.id, agent.name, agent.body],
            )?;
            Ok(WriteReply::Count(1))
        }
        WriteOp::UpsertThread {
            project,
            session_id,
            thread_id,
            body,
        } => {
            let pk = require_session(tx, pks, project, &session_id)?;
            tx.execute(
                "INSERT INTO threads (session_pk, id, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (session_pk, id) DO UPDATE SET body = excluded.body",
                params![pk, thread_id, body],
            )?;
            Ok(WriteReply::Count(1))
        }
        WriteOp::InsertDeveloperError { project, body } => {
            tx.execute(
                "INSERT INTO developer_errors (project_id, received_us, body) VALUES (?1, ?2, ?3)",
                params![project, now_us(), body],
            )?;
            Ok(WriteReply::Count(1))
        }
        WriteOp::CreateUser(user) => {
            dashboard::create_user(tx, &user, now_us()).map(WriteReply::User)
        }
        WriteOp::SetPassword {
            user,
            password_hash,
            keep_session,
        } => dashboard::set_password(tx, user, &password_hash, keep_session.as_deref(), now_us())
            .map(WriteReply::Count),
        WriteOp::CreateWebSession(session) => {
            dashboard::create_web_session(tx, &session, now_us()).map(WriteReply::Count)
        }
        WriteOp::DeleteWebSession { id_hash } => {
            dashboard::delete_web_session(tx, &id_hash).map(WriteReply::Count)
        }
    }
}

fn ensure_project(tx: &Connection, name: &str) -> StoreResult<Project> {
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
    })
}

fn require_session(
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

fn create_session(
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

fn update_session(
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
    rows::session_by_id(tx, project, session_id)?
        .ok_or_else(|| StoreError::NotFound(format!("session {session_id}")))
}

/// Changes to a session's totals caused by one request.
#[derive(Default)]
struct TotalsDelta {
    events: i64,
    llms: i64,
    tools: i64,
    actions: i64,
    errors: i64,
    prompt: i64,
    completion: i64,
    cache_read: i64,
    cache_creation: i64,
    reasoning: i64,
    cost_pd: i64,
    unpriced: i64,
}

impl TotalsDelta {
    fn add_event(&mut self, event: &EventRecord, sign: i64) {
        self.events += sign;
        match event.kind.as_str() {
            kind::LLM => self.llms += sign,
            kind::TOOL => self.tools += sign,
            kind::ACTION => self.actions += sign,
            _ => {}
        }
        if event.is_error || event.kind == kind::ERROR {
            self.errors += sign;
        }
        self.add_tokens(event, sign);
    }

    fn add_tokens(&mut self, event: &EventRecord, sign: i64) {
        let usage = &event.usage;
        self.prompt += sign * usage.prompt.unwrap_or(0);
        self.completion += sign * usage.completion.unwrap_or(0);
        self.cache_read += sign * usage.cache_read.unwrap_or(0);
        self.cache_creation += sign * usage.cache_creation.unwrap_or(0);
        self.reasoning += sign * usage.reasoning.unwrap_or(0);
        self.cost_pd += sign * event.cost.unwrap_or(0);
        if matches!(event.cost_source, Some(CostSource::Unpriced)) {
            self.unpriced += sign;
        }
    }

    fn apply(&self, tx: &Connection, session: SessionPk) -> StoreResult<()> {
        let mut stmt = tx.prepare_cached(
            "UPDATE sessions SET event_count = event_count + ?2, llm_count = llm_count + ?3, \
             tool_count = tool_count + ?4, action_count = action_count + ?5, \
             error_count = error_count + ?6, prompt_tokens = prompt_tokens + ?7, \
             completion_tokens = completion_tokens + ?8, \
             cache_read_tokens = cache_read_tokens + ?9, \
             cache_creation_tokens = cache_creation_tokens + ?10, \
             reasoning_tokens = reasoning_tokens + ?11, cost_pd = cost_pd + ?12, \
             unpriced_count = unpriced_count + ?13, updated_us = ?14 WHERE pk = ?1",
        )?;
        stmt.execute(params![
            session,
            self.events,
            self.llms,
            self.tools,
            self.actions,
            self.errors,
            self.prompt,
            self.completion,
            self.cache_read,
            self.cache_creation,
            self.reasoning,
            self.cost_pd,
            self.unpriced,
            now_us()
        ])?;
        Ok(())
    }
}

fn cost_source_label(source: &Option<CostSource>) -> (Option<&'static str>, Option<&str>) {
    match source {
        None => (None, None),
        Some(CostSource::Client) => (Some("client"), None),
        Some(CostSource::Computed { price_key }) => (Some("computed"), Some(price_key.as_str())),
        Some(CostSource::Unpriced) => (Some("unpriced"), None),
    }
}

fn insert_events(
    tx: &Connection,
    session: SessionPk,
    events: &[EventRecord],
) -> StoreResult<InsertOutcome> {
    let mut outcome = InsertOutcome::default();
    let mut delta = TotalsDelta::default();
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events (session_pk, id, kind, name, init_us, end_us, agent_id, \
             parent_id, model, prompt_tokens, completion_tokens, cache_read_tokens, \
             cache_creation_tokens, reasoning_tokens, tokens_estimated, cost_pd, cost_source, \
             price_key, is_error, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
             ?17, ?18, ?19, ?20) ON CONFLICT (session_pk, id) DO NOTHING",
        )?;
        for event in events {
            let (source, price_key) = cost_source_label(&event.cost_source);
            let changed = stmt.execute(params![
                session,
                event.id,
                event.kind,
                event.name,
                event.init_us,
                event.end_us,
                event.agent_id,
                event.parent_id,
                event.model,
                event.usage.prompt,
                event.usage.completion,
                event.usage.cache_read,
                event.usage.cache_creation,
                event.usage.reasoning,
                event.usage.estimated,
                event.cost,
                source,
                price_key,
                event.is_error,
                event.body
            ])?;
            if changed == 1 {
                outcome.inserted += 1;
                delta.add_event(event, 1);
            } else {
                outcome.duplicates += 1;
            }
        }
    }
    if outcome.inserted > 0 {
        delta.apply(tx, session)?;
    }
    Ok(outcome)
}

fn update_events(
    tx: &Connection,
    session: SessionPk,
    patches: Vec<EventPatch>,
) -> StoreResult<UpdateOutcome> {
    let mut outcome = UpdateOutcome::default();
    let mut delta = TotalsDelta::default();
    for patch in patches {
        let stored = rows::event_by_id(tx, session, &patch.id)?;
        let Some(old) = stored else {
            outcome.missing.push(patch.id);
            continue;
        };
        let new = merge_event(&old, patch);
        delta.add_tokens(&old, -1);
        delta.add_tokens(&new, 1);
        let (source, price_key) = cost_source_label(&new.cost_source);
        tx.prepare_cached(
            "UPDATE events SET end_us = ?3, model = ?4, prompt_tokens = ?5, \
             completion_tokens = ?6, cache_read_tokens = ?7, cache_creation_tokens = ?8, \
             reasoning_tokens = ?9, tokens_estimated = ?10, cost_pd = ?11, cost_source = ?12, \
             price_key = ?13, body = ?14 WHERE session_pk = ?1 AND id = ?2",
        )?
        .execute(params![
            session,
            new.id,
            new.end_us,
            new.model,
            new.usage.prompt,
            new.usage.completion,
            new.usage.cache_read,
            new.usage.cache_creation,
            new.usage.reasoning,
            new.usage.estimated,
            new.cost,
            source,
            price_key,
            new.body
        ])?;
        outcome.updated += 1;
    }
    if outcome.updated > 0 {
        delta.apply(tx, session)?;
    }
    Ok(outcome)
}

/// Applies `patch` over a stored event: fields the patch leaves `None` keep
/// their stored value, and the patch's extra fields are merged into the body.
fn merge_event(old: &EventRecord, patch: EventPatch) -> EventRecord {
    let mut new = old.clone();
    new.end_us = patch.end_us.or(old.end_us);
    new.model = patch.model.or_else(|| old.model.clone());
    let usage = patch.usage;
    let usage_changed = usage.prompt.is_some()
        || usage.completion.is_some()
        || usage.cache_read.is_some()
        || usage.cache_creation.is_some()
        || usage.reasoning.is_some();
    if usage_changed {
        new.usage.prompt = usage.prompt.or(old.usage.prompt);
        new.usage.completion = usage.completion.or(old.usage.completion);
        new.usage.cache_read = usage.cache_read.or(old.usage.cache_read);
        new.usage.cache_creation = usage.cache_creation.or(old.usage.cache_creation);
        new.usage.reasoning = usage.reasoning.or(old.usage.reasoning);
        new.usage.estimated = false;
    }
    if let Some(cost) = patch.cost {
        new.cost = Some(cost);
        new.cost_source = Some(CostSource::Client);
    }
    if !patch.fields.is_empty() {
        let mut body: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&old.body).unwrap_or_default();
        for (key, value) in patch.fields {
            body.insert(key, value);
        }
        new.body = serde_json::Value::Object(body).to_string();
    }
    new
}
