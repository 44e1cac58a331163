//! The single SQLite writer: it commits the records of many requests in one
//! transaction (group commit) and answers each request after the commit.
//!
//! One thread owns the only write connection, so writes never contend for
//! the database lock. Each request's records are applied inside a savepoint,
//! so a failing request rolls back alone and its neighbours still commit.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::dashboard;
use super::events::{insert_events, recompute_costs, update_events};
use super::sessions::{create_session, ensure_project, require_session, update_session};
use super::traces::{index_spans, merge_trace_session};
use crate::model::{
    AgentRecord, EventPatch, EventRecord, Micros, ProjectId, SessionPatch, SessionPk,
    SessionRecord, TraceRecord,
};
use crate::store::dashboard::{NewUser, NewWebSession, User, UserId};
use crate::store::{
    EventPricer, InsertOutcome, Project, SessionRow, StoreError, StoreResult, UpdateOutcome,
};

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
    IngestTraces {
        project: ProjectId,
        traces: Vec<TraceRecord>,
    },
    PutSessionLog {
        project: ProjectId,
        session_id: String,
        body: String,
    },
    RecomputeCosts {
        project: ProjectId,
        from_us: Micros,
        to_us: Micros,
    },
    SetPriceOverride {
        project: ProjectId,
        model: String,
        /// Per-token prices as JSON; `None` removes the override.
        price: Option<String>,
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
            WriteOp::IngestTraces { traces, .. } => traces.iter().map(|t| t.events.len()).sum(),
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
    pub(super) fn start(
        conn: Connection,
        queue_len: usize,
        pricer: PricerSlot,
    ) -> std::io::Result<Self> {
        let (queue, receiver) = crossbeam_channel::bounded(queue_len);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || Writer::new(conn, pricer).run(receiver))?;
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

/// The pricer the server installs after opening the store; empty in tools
/// that never reprice (the CLI's key commands).
pub(super) type PricerSlot = Arc<OnceLock<Arc<dyn EventPricer>>>;

struct Writer {
    conn: Connection,
    pricer: PricerSlot,
    /// Session primary keys by (project, id); filled only from committed or
    /// in-transaction rows, and cleared when a commit fails.
    session_pks: HashMap<(ProjectId, String), SessionPk>,
}

impl Writer {
    fn new(conn: Connection, pricer: PricerSlot) -> Self {
        Writer {
            conn,
            pricer,
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
            let pricer = self.pricer.get().map(|pricer| pricer.as_ref());
            let result = apply(&savepoint, &mut self.session_pks, pricer, op);
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

pub(super) fn now_us() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

fn apply(
    tx: &Connection,
    pks: &mut HashMap<(ProjectId, String), SessionPk>,
    pricer: Option<&dyn EventPricer>,
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
            update_events(tx, project, pk, patches, pricer).map(WriteReply::Updated)
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
        WriteOp::IngestTraces { project, traces } => {
            let mut total = InsertOutcome::default();
            for trace in traces {
                let pk = merge_trace_session(tx, pks, project, &trace)?;
                let outcome = insert_events(tx, pk, &trace.events)?;
                index_spans(tx, project, pk, &trace.events)?;
                total.inserted += outcome.inserted;
                total.duplicates += outcome.duplicates;
            }
            Ok(WriteReply::Inserted(total))
        }
        WriteOp::PutSessionLog {
            project,
            session_id,
            body,
        } => {
            let placeholder = TraceRecord {
                session: SessionRecord {
                    id: session_id,
                    ..SessionRecord::default()
                },
                ..TraceRecord::default()
            };
            let pk = merge_trace_session(tx, pks, project, &placeholder)?;
            tx.execute(
                "INSERT INTO session_logs (session_pk, body, received_us) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (session_pk) DO UPDATE SET body = excluded.body, \
                 received_us = excluded.received_us",
                params![pk, body, now_us()],
            )?;
            Ok(WriteReply::Count(1))
        }
        WriteOp::RecomputeCosts {
            project,
            from_us,
            to_us,
        } => {
            let pricer = pricer.ok_or_else(|| {
                StoreError::Database("no pricer is installed in this store".into())
            })?;
            recompute_costs(tx, project, from_us, to_us, pricer).map(WriteReply::Count)
        }
        WriteOp::SetPriceOverride {
            project,
            model,
            price,
        } => {
            let changed = match price {
                Some(price) => tx.execute(
                    "INSERT INTO price_overrides (project_id, model, price, updated_us) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (project_id, model) \
                     DO UPDATE SET price = excluded.price, updated_us = excluded.updated_us",
                    params![project, model, price, now_us()],
                )?,
                None => tx.execute(
                    "DELETE FROM price_overrides WHERE project_id = ?1 AND model = ?2",
                    params![project, model],
                )?,
            };
            Ok(WriteReply::Count(changed))
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
