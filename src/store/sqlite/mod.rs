//! The embedded SQLite backend: one writer thread with group commit, and a
//! pool of read-only connections for queries.

mod checkpoint;
mod dashboard;
#[cfg(test)]
mod dashboard_tests;
mod events;
mod functions;
mod listing;
mod metrics;
mod rows;
mod sessions;
mod traces;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

use writer::{WriteOp, WriteReply, WriterHandle};

use crate::model::{
    AgentRecord, EventPatch, EventRecord, Micros, ProjectId, SessionPatch, SessionPk,
    SessionRecord, TraceRecord,
};
use crate::store::dashboard::{
    AgentSummary, Metrics, MetricsQuery, NewUser, NewWebSession, SessionFilter, SessionPage,
    SessionPageRequest, TimelineEvent, User, UserCredentials, UserId, WebSession,
};
use crate::store::{
    AgentRow, ApiKeyInfo, EventPricer, EventRow, InsertOutcome, PriceOverride, Project,
    SessionQuery, SessionRow, Store, StoreError, StoreResult, UpdateOutcome,
};

/// Name of the database file inside the data folder.
pub const DATABASE_FILE: &str = "tracewell.db";

/// How long a connection waits for another process's lock (the CLI writing
/// while the server runs) before it reports the database as busy.
const BUSY_TIMEOUT_MS: u32 = 10_000;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/0001_initial.sql")),
        M::up(include_str!("migrations/0002_traces.sql")),
        M::up(include_str!("migrations/0003_costs.sql")),
        M::up(include_str!("migrations/0004_dashboard.sql")),
    ])
}

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// fsync on every commit: a commit survives power loss.
    #[default]
    Full,
    /// WAL without fsync per commit: a commit survives a process crash
    /// (`kill -9`) but may be lost on power loss.
    Normal,
}

fn configure(conn: &Connection, synchronous: Synchronous) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let level = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", level)?;
    conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // Savepoint journals in memory rather than temporary files: the writer
    // opens one savepoint per request.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // A page cache of 64 MiB keeps the hot parts of the events index in
    // memory, so group commits do not spill and re-read pages.
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Checkpoints run on their own thread (see `checkpoint`), not inside
    // the writer's commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    functions::register(conn)?;
    Ok(())
}

/// Opens the database in `data_dir`, creating and migrating it if needed.
fn open_write_connection(path: &Path, synchronous: Synchronous) -> anyhow::Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&conn, synchronous)?;
    migrations().to_latest(&mut conn)?;
    Ok(conn)
}

pub struct SqliteStore {
    _checkpointer: checkpoint::Checkpointer,
    writer: WriterHandle,
    pricer: writer::PricerSlot,
    readers: Pool<SqliteConnectionManager>,
}

impl SqliteStore {
    /// Opens (and creates or migrates) the database in `data_dir` and starts
    /// its writer thread.
    pub fn open(data_dir: &Path, synchronous: Synchronous) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        let conn = open_write_connection(&path, synchronous)?;
        let pricer = writer::PricerSlot::default();
        let writer = WriterHandle::start(conn, 4096, pricer.clone())?;
        let checkpointer = checkpoint::Checkpointer::start(&path)?;
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|conn| {
                conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
                functions::register(conn)
            });
        let readers = Pool::builder().max_size(8).build(manager)?;
        Ok(SqliteStore {
            writer,
            pricer,
            readers,
            _checkpointer: checkpointer,
        })
    }

    async fn read<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool
                .get()
                .map_err(|err| StoreError::Database(err.to_string()))?;
            query(&conn)
        })
        .await
        .map_err(|err| StoreError::Database(err.to_string()))?
    }

    async fn write(&self, op: WriteOp) -> StoreResult<WriteReply> {
        self.writer.submit(op).await
    }
}

fn unexpected_reply() -> StoreError {
    StoreError::Database("writer returned an unexpected reply".into())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ensure_project(&self, name: &str) -> StoreResult<Project> {
        let name = name.to_owned();
        match self.write(WriteOp::EnsureProject { name }).await? {
            WriteReply::Project(project) => Ok(project),
            _ => Err(unexpected_reply()),
        }
    }

    async fn insert_api_key(
        &self,
        project: ProjectId,
        key_hash: &str,
        prefix: &str,
        name: Option<&str>,
    ) -> StoreResult<()> {
        let op = WriteOp::InsertApiKey {
            project,
            key_hash: key_hash.to_owned(),
            prefix: prefix.to_owned(),
            name: name.map(str::to_owned),
        };
        self.write(op).await.map(|_| ())
    }

    async fn project_for_key(&self, key_hash: &str) -> StoreResult<Option<Project>> {
        let key_hash = key_hash.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT p.id, p.name, k.id FROM api_keys k JOIN projects p ON p.id = k.project_id \
                 WHERE k.key_hash = ?1 AND k.revoked_us IS NULL",
            )?;
            let project = stmt
                .query_row(params![key_hash], |row| {
                    Ok(Project {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        key_id: row.get(2)?,
                    })
                })
                .optional()?;
            Ok(project)
        })
        .await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyInfo>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT k.id, p.name, k.key_prefix, k.name, k.created_us, k.revoked_us \
                 FROM api_keys k JOIN projects p ON p.id = k.project_id ORDER BY k.id",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok(ApiKeyInfo {
                    id: row.get(0)?,
                    project: row.get(1)?,
                    prefix: row.get(2)?,
                    name: row.get(3)?,
                    created_us: row.get(4)?,
                    revoked_us: row.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn api_key_active(&self, key_id: i64) -> StoreResult<bool> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT count(*) FROM api_keys WHERE id = ?1 AND revoked_us IS NULL",
            )?;
            let count: i64 = stmt.query_row(params![key_id], |row| row.get(0))?;
            Ok(count > 0)
        })
        .await
    }

    async fn revoke_api_key(&self, selector: &str) -> StoreResult<usize> {
        let selector = selector.to_owned();
        match self.write(WriteOp::RevokeApiKey { selector }).await? {
            WriteReply::Count(count) => Ok(count),
            _ => Err(unexpected_reply()),
        }
    }

    async fn count_projects(&self) -> StoreResult<i64> {
        self.read(|conn| Ok(conn.query_row("SELECT count(*) FROM projects", [], |r| r.get(0))?))
            .await
    }

    async fn project_name(&self, project: ProjectId) -> StoreResult<Option<String>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT name FROM projects WHERE id = ?1")?;
            Ok(stmt
                .query_row(params![project], |row| row.get(0))
                .optional()?)
        })
        .await
    }

    async fn create_session(
        &self,
        project: ProjectId,
        session: SessionRecord,
    ) -> StoreResult<SessionPk> {
        match self
            .write(WriteOp::CreateSession { project, session })
            .await?
        {
            WriteReply::SessionPk(pk) => Ok(pk),
            _ => Err(unexpected_reply()),
        }
    }

    async fn update_session(
        &self,
        project: ProjectId,
        session_id: &str,
        patch: SessionPatch,
    ) -> StoreResult<SessionRow> {
        let op = WriteOp::UpdateSession {
            project,
            session_id: session_id.to_owned(),
            patch,
        };
        match self.write(op).await? {
            WriteReply::Session(row) => Ok(*row),
            _ => Err(unexpected_reply()),
        }
    }

    async fn insert_events(
        &self,
        project: ProjectId,
        session_id: &str,
        events: Vec<EventRecord>,
    ) -> StoreResult<InsertOutcome> {
        let op = WriteOp::InsertEvents {
            project,
            session_id: session_id.to_owned(),
            events,
        };
        match self.write(op).await? {
            WriteReply::Inserted(outcome) => Ok(outcome),
            _ => Err(unexpected_reply()),
        }
    }

    async fn update_events(
        &self,
        project: ProjectId,
        session_id: &str,
        patches: Vec<EventPatch>,
    ) -> StoreResult<UpdateOutcome> {
        let op = WriteOp::UpdateEvents {
            project,
            session_id: session_id.to_owned(),
            patches,
        };
        match self.write(op).await? {
            WriteReply::Updated(outcome) => Ok(outcome),
            _ => Err(unexpected_reply()),
        }
    }

    async fn upsert_agent(
        &self,
        project: ProjectId,
        session_id: &str,
        agent: AgentRecord,
    ) -> StoreResult<()> {
        let op = WriteOp::UpsertAgent {
            project,
            session_id: session_id.to_owned(),
            agent,
        };
        self.write(op).await.map(|_| ())
    }

    async fn upsert_thread(
        &self,
        project: ProjectId,
        session_id: &str,
        thread_id: &str,
        body: String,
    ) -> StoreResult<()> {
        let op = WriteOp::UpsertThread {
            project,
            session_id: session_id.to_owned(),
            thread_id: thread_id.to_owned(),
            body,
        };
        self.write(op).await.map(|_| ())
    }

    async fn insert_developer_error(
        &self,
        project: Option<ProjectId>,
        body: String,
    ) -> StoreResult<()> {
        self.write(WriteOp::InsertDeveloperError { project, body })
            .await
            .map(|_| ())
    }

    async fn ingest_traces(
        &self,
        project: ProjectId,
        traces: Vec<TraceRecord>,
    ) -> StoreResult<InsertOutcome> {
        match self
            .write(WriteOp::IngestTraces { project, traces })
            .await?
        {
            WriteReply::Inserted(outcome) => Ok(outcome),
            _ => Err(unexpected_reply()),
        }
    }

    async fn put_session_log(
        &self,
        project: ProjectId,
        session_id: &str,
        body: String,
    ) -> StoreResult<()> {
        let op = WriteOp::PutSessionLog {
            project,
            session_id: session_id.to_owned(),
            body,
        };
        self.write(op).await.map(|_| ())
    }

    async fn session_log(&self, session: SessionPk) -> StoreResult<Option<String>> {
        self.read(move |conn| rows::session_log(conn, session))
            .await
    }

    async fn find_span(
        &self,
        project: ProjectId,
        span_id: &str,
    ) -> StoreResult<Option<(SessionRow, EventRow)>> {
        let span_id = span_id.to_owned();
        self.read(move |conn| rows::find_span(conn, project, &span_id))
            .await
    }

    fn set_pricer(&self, pricer: std::sync::Arc<dyn EventPricer>) {
        let _ = self.pricer.set(pricer);
    }

    async fn recompute_costs(
        &self,
        project: ProjectId,
        from_us: Micros,
        to_us: Micros,
    ) -> StoreResult<usize> {
        let op = WriteOp::RecomputeCosts {
            project,
            from_us,
            to_us,
        };
        match self.write(op).await? {
            WriteReply::Count(count) => Ok(count),
            _ => Err(unexpected_reply()),
        }
    }

    async fn set_price_override(
        &self,
        project: ProjectId,
        model: &str,
        price: Option<String>,
    ) -> StoreResult<usize> {
        let op = WriteOp::SetPriceOverride {
            project,
            model: model.to_owned(),
            price,
        };
        match self.write(op).await? {
            WriteReply::Count(count) => Ok(count),
            _ => Err(unexpected_reply()),
        }
    }

    async fn price_overrides(&self) -> StoreResult<Vec<PriceOverride>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT project_id, model, price FROM price_overrides ORDER BY project_id, model",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok(PriceOverride {
                    project_id: row.get(0)?,
                    model: row.get(1)?,
                    price: row.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn session(
        &self,
        project: ProjectId,
        session_id: &str,
    ) -> StoreResult<Option<SessionRow>> {
        let session_id = session_id.to_owned();
        self.read(move |conn| rows::session_by_id(conn, project, &session_id))
            .await
    }

    async fn session_events(&self, session: SessionPk) -> StoreResult<Vec<EventRow>> {
        self.read(move |conn| rows::session_events(conn, session))
            .await
    }

    async fn session_agents(&self, session: SessionPk) -> StoreResult<Vec<AgentRow>> {
        self.read(move |conn| rows::session_agents(conn, session))
            .await
    }

    async fn list_sessions(
        &self,
        project: Option<ProjectId>,
        query: SessionQuery,
    ) -> StoreResult<Vec<SessionRow>> {
        self.read(move |conn| rows::list_sessions(conn, project, query.limit, query.before))
            .await
    }

    async fn count_users(&self) -> StoreResult<i64> {
        self.read(|conn| Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?))
            .await
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        match self.write(WriteOp::CreateUser(user)).await? {
            WriteReply::User(user) => Ok(user),
            _ => Err(unexpected_reply()),
        }
    }

    async fn user_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>> {
        let username = username.to_owned();
        self.read(move |conn| dashboard::user_credentials(conn, &username))
            .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(dashboard::list_users).await
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep_session: Option<&str>,
    ) -> StoreResult<()> {
        let op = WriteOp::SetPassword {
            user,
            password_hash: password_hash.to_owned(),
            keep_session: keep_session.map(str::to_owned),
        };
        match self.write(op).await? {
            WriteReply::Count(0) => Err(StoreError::NotFound(format!("user {user}"))),
            _ => Ok(()),
        }
    }

    async fn create_web_session(&self, session: NewWebSession) -> StoreResult<()> {
        self.write(WriteOp::CreateWebSession(session))
            .await
            .map(|_| ())
    }

    async fn web_session(&self, id_hash: &str, now_us: Micros) -> StoreResult<Option<WebSession>> {
        let id_hash = id_hash.to_owned();
        self.read(move |conn| dashboard::web_session(conn, &id_hash, now_us))
            .await
    }

    async fn delete_web_session(&self, id_hash: &str) -> StoreResult<()> {
        let id_hash = id_hash.to_owned();
        self.write(WriteOp::DeleteWebSession { id_hash })
            .await
            .map(|_| ())
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        self.read(dashboard::list_projects).await
    }

    async fn sessions_by_id(&self, session_id: &str) -> StoreResult<Vec<SessionRow>> {
        let session_id = session_id.to_owned();
        self.read(move |conn| listing::sessions_by_id(conn, &session_id))
            .await
    }

    async fn session_page(&self, request: SessionPageRequest) -> StoreResult<SessionPage> {
        self.read(move |conn| listing::session_page(conn, &request))
            .await
    }

    async fn session_timeline(&self, session: SessionPk) -> StoreResult<Vec<TimelineEvent>> {
        self.read(move |conn| listing::session_timeline(conn, session))
            .await
    }

    async fn session_event(
        &self,
        session: SessionPk,
        event_id: &str,
    ) -> StoreResult<Option<EventRow>> {
        let event_id = event_id.to_owned();
        self.read(move |conn| rows::event_row_by_id(conn, session, &event_id))
            .await
    }

    async fn list_agents(&self, filter: SessionFilter) -> StoreResult<Vec<AgentSummary>> {
        self.read(move |conn| listing::list_agents(conn, &filter))
            .await
    }

    async fn metrics(&self, query: MetricsQuery) -> StoreResult<Metrics> {
        self.read(move |conn| metrics::metrics(conn, &query)).await
    }
}

#[cfg(test)]
mod tests;
