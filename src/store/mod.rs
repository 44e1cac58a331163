//! Storage: the `Store` trait that handlers talk to, and its backends.
//!
//! Every write method returns only after its records are committed, so an
//! acknowledged request survives a crash of the process.

pub mod dashboard;
pub mod sqlite;

use async_trait::async_trait;
use serde::Serialize;

use crate::model::{
    AgentRecord, CostParts, EventPatch, EventRecord, Micros, ProjectId, SessionPatch, SessionPk,
    SessionRecord, TraceRecord,
};
use dashboard::{
    AgentSummary, Metrics, MetricsQuery, NewUser, NewWebSession, SessionFilter, SessionPage,
    SessionPageRequest, TimelineEvent, User, UserCredentials, UserId, WebSession,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage is shutting down")]
    Closed,
    #[error("database error: {0}")]
    Database(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("row".into()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    /// Row id of the API key the project was found by, when it was.
    #[serde(skip)]
    pub key_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub project: String,
    /// The first eight characters of the key, enough to tell keys apart.
    pub prefix: String,
    pub name: Option<String>,
    pub created_us: Micros,
    pub revoked_us: Option<Micros>,
}

/// Per-session totals, maintained by the writer as events arrive.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionTotals {
    pub events: i64,
    pub llms: i64,
    pub tools: i64,
    pub actions: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_creation_tokens: i64,
    pub reasoning_tokens: i64,
    /// Sum of priced events' costs, in picodollars.
    pub cost_pd: i64,
    /// Sum of the computed costs by token kind (client-sent costs have no
    /// split, so these may add up to less than `cost_pd`).
    pub cost_parts: CostParts,
    /// LLM events whose model has no price.
    pub unpriced: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    pub pk: SessionPk,
    pub project_id: ProjectId,
    pub id: String,
    pub name: Option<String>,
    pub init_us: Option<Micros>,
    pub end_us: Option<Micros>,
    pub end_state: String,
    pub end_state_reason: Option<String>,
    pub tags: Vec<String>,
    pub host_env: Option<serde_json::Value>,
    pub body: Option<String>,
    pub created_us: Micros,
    pub totals: SessionTotals,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
    pub init_us: Micros,
    pub end_us: Option<Micros>,
    pub agent_id: Option<String>,
    pub parent_id: Option<String>,
    pub model: Option<String>,
    pub request_model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub cache_read_tokens: Option<i64>,
    pub cache_creation_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub tokens_estimated: bool,
    pub cost_pd: Option<i64>,
    pub cost_source: Option<String>,
    pub price_key: Option<String>,
    /// Per-token prices used, as JSON.
    pub price: Option<String>,
    pub cost_parts: Option<CostParts>,
    pub is_error: bool,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    pub id: String,
    pub name: Option<String>,
    pub body: String,
}

/// Which sessions to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    pub limit: usize,
    /// Keyset cursor: only sessions created before this (created_us, pk).
    pub before: Option<(Micros, SessionPk)>,
}

/// Result of inserting a batch of events into one session.
#[derive(Debug, Clone, Default)]
pub struct InsertOutcome {
    /// Events that were new.
    pub inserted: usize,
    /// Events whose id the session already had; they were left unchanged.
    pub duplicates: usize,
}

/// Result of `update_events`: the ids that matched no event of the session.
#[derive(Debug, Clone, Default)]
pub struct UpdateOutcome {
    pub updated: usize,
    pub missing: Vec<String>,
}

/// Prices an event from its model and token counts, with the prices in force
/// for its project. The store calls it when an update changes what an
/// event's cost depends on, and on an explicit recompute.
pub trait EventPricer: Send + Sync {
    fn price(&self, project: ProjectId, event: &mut EventRecord);
}

/// A per-project price override as stored: per-token prices as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct PriceOverride {
    pub project_id: ProjectId,
    pub model: String,
    pub price: String,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // Projects and API keys.
    async fn ensure_project(&self, name: &str) -> StoreResult<Project>;
    async fn insert_api_key(
        &self,
        project: ProjectId,
        key_hash: &str,
        prefix: &str,
        name: Option<&str>,
    ) -> StoreResult<()>;
    /// Finds the project of a key that is not revoked.
    async fn project_for_key(&self, key_hash: &str) -> StoreResult<Option<Project>>;
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyInfo>>;
    /// Whether the key with this row id exists and is not revoked.
    async fn api_key_active(&self, key_id: i64) -> StoreResult<bool>;
    /// Revokes the keys whose prefix or row id is `selector`; returns how many.
    async fn revoke_api_key(&self, selector: &str) -> StoreResult<usize>;
    async fn count_projects(&self) -> StoreResult<i64>;
    /// The project's name; `None` when the project was deleted.
    async fn project_name(&self, project: ProjectId) -> StoreResult<Option<String>>;

    // Sessions, events and agents. Writes commit before they return.
    /// Creates the session, or returns the existing one with that id
    /// unchanged.
    async fn create_session(
        &self,
        project: ProjectId,
        session: SessionRecord,
    ) -> StoreResult<SessionPk>;
    async fn update_session(
        &self,
        project: ProjectId,
        session_id: &str,
        patch: SessionPatch,
    ) -> StoreResult<SessionRow>;
    async fn insert_events(
        &self,
        project: ProjectId,
        session_id: &str,
        events: Vec<EventRecord>,
    ) -> StoreResult<InsertOutcome>;
    async fn update_events(
        &self,
        project: ProjectId,
        session_id: &str,
        patches: Vec<EventPatch>,
    ) -> StoreResult<UpdateOutcome>;
    async fn upsert_agent(
        &self,
        project: ProjectId,
        session_id: &str,
        agent: AgentRecord,
    ) -> StoreResult<()>;
    async fn upsert_thread(
        &self,
        project: ProjectId,
        session_id: &str,
        thread_id: &str,
        body: String,
    ) -> StoreResult<()>;
    async fn insert_developer_error(
        &self,
        project: Option<ProjectId>,
        body: String,
    ) -> StoreResult<()>;

    // OpenTelemetry traces.
    /// Merges each trace into its session (created on first sight) and
    /// stores its spans as events; a span already stored is left unchanged.
    async fn ingest_traces(
        &self,
        project: ProjectId,
        traces: Vec<TraceRecord>,
    ) -> StoreResult<InsertOutcome>;
    /// Stores the terminal output of a run, replacing an earlier upload;
    /// creates the session when no span of it has arrived yet.
    async fn put_session_log(
        &self,
        project: ProjectId,
        session_id: &str,
        body: String,
    ) -> StoreResult<()>;
    async fn session_log(&self, session: SessionPk) -> StoreResult<Option<String>>;
    /// Finds a span by its id within a project.
    async fn find_span(
        &self,
        project: ProjectId,
        span_id: &str,
    ) -> StoreResult<Option<(SessionRow, EventRow)>>;

    // Prices.
    /// Installs the pricer used by updates and recomputes; the first one
    /// installed stays.
    fn set_pricer(&self, pricer: std::sync::Arc<dyn EventPricer>);
    /// Prices again the events of the project's sessions that started in
    /// `[from_us, to_us)`; returns how many events changed cost.
    async fn recompute_costs(
        &self,
        project: ProjectId,
        from_us: Micros,
        to_us: Micros,
    ) -> StoreResult<usize>;
    /// Sets (or with `None` removes) a project's price for a model.
    async fn set_price_override(
        &self,
        project: ProjectId,
        model: &str,
        price: Option<String>,
    ) -> StoreResult<usize>;
    async fn price_overrides(&self) -> StoreResult<Vec<PriceOverride>>;

    // Reads.
    async fn session(
        &self,
        project: ProjectId,
        session_id: &str,
    ) -> StoreResult<Option<SessionRow>>;
    /// All events of a session, ordered by init time then id.
    async fn session_events(&self, session: SessionPk) -> StoreResult<Vec<EventRow>>;
    async fn session_agents(&self, session: SessionPk) -> StoreResult<Vec<AgentRow>>;
    async fn list_sessions(
        &self,
        project: Option<ProjectId>,
        query: SessionQuery,
    ) -> StoreResult<Vec<SessionRow>>;

    // Dashboard: users, web sessions, listing and metrics.
    async fn count_users(&self) -> StoreResult<i64>;
    /// Creates a user; `Conflict` when the username is taken.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Replaces a user's password hash, clears `must_change_password`, and
    /// ends their other browser
    /// sessions; the one whose hash is `keep_session` stays signed in.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep_session: Option<&str>,
    ) -> StoreResult<()>;
    /// Stores a browser session and deletes the expired ones.
    async fn create_web_session(&self, session: NewWebSession) -> StoreResult<()>;
    /// Finds the browser session with this id hash unless it expired
    /// before `now_us`.
    async fn web_session(&self, id_hash: &str, now_us: Micros) -> StoreResult<Option<WebSession>>;
    async fn delete_web_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Lists all projects, ordered by id.
    async fn list_projects(&self) -> StoreResult<Vec<Project>>;
    /// Finds the sessions with this canonical id in any project, ordered by
    /// project id.
    async fn sessions_by_id(&self, session_id: &str) -> StoreResult<Vec<SessionRow>>;
    /// Lists one page of a project's sessions, filtered and sorted (keyset
    /// paging).
    async fn session_page(&self, request: SessionPageRequest) -> StoreResult<SessionPage>;
    /// Lists a session's events without their bodies, ordered by init time
    /// then id.
    async fn session_timeline(&self, session: SessionPk) -> StoreResult<Vec<TimelineEvent>>;
    async fn session_event(
        &self,
        session: SessionPk,
        event_id: &str,
    ) -> StoreResult<Option<EventRow>>;
    /// Agent names of the sessions that start in the filter's project and
    /// time range, most recently seen first; other filter fields are ignored.
    async fn list_agents(&self, filter: SessionFilter) -> StoreResult<Vec<AgentSummary>>;
    /// Session, token and cost figures of a project by time bucket and by
    /// model. The filter's `text` is ignored.
    async fn metrics(&self, query: MetricsQuery) -> StoreResult<Metrics>;
}
