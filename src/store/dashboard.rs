//! Types of the dashboard's store methods: users, signed-in browser
//! sessions, the filtered session list and the project metrics.

use serde::Serialize;

use crate::model::{Micros, Picodollars, ProjectId, SessionPk};
use crate::store::SessionRow;

pub type UserId = i64;

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub is_admin: bool,
    /// True while the user still has the one-time password printed on the
    /// first start; the dashboard then shows only the password page.
    pub must_change_password: bool,
    pub created_us: Micros,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    /// Argon2 PHC string of the password.
    pub password_hash: String,
    pub is_admin: bool,
    pub must_change_password: bool,
}

/// A user with the Argon2 PHC string of their password, for signing in.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

/// A signed-in browser session that has not expired.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub csrf_token: String,
    pub expires_us: Micros,
}

/// A browser session to store: `id_hash` is the SHA-256 of the cookie value.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    pub id_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub expires_us: Micros,
}

/// Filters of the session list and of the metrics; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub project: ProjectId,
    /// Inclusive lower bound of the session start, in microseconds.
    pub from_us: Option<Micros>,
    /// Exclusive upper bound of the session start, in microseconds.
    pub to_us: Option<Micros>,
    /// Sessions carrying this exact tag.
    pub tag: Option<String>,
    pub end_state: Option<String>,
    /// Sessions with at least one event of this model.
    pub model: Option<String>,
    /// Sessions with an agent of this name or id.
    pub agent: Option<String>,
    /// Case-insensitive (ASCII) text in the stored body of an LLM event,
    /// which holds its prompt and completion.
    pub text: Option<String>,
}

/// Columns the session list sorts by. Each maps to a non-null SQL value, so
/// keyset paging never meets a NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionSort {
    /// Start time: `init_timestamp`, or the time the server received the
    /// session when the client sent none.
    #[default]
    Start,
    /// End minus start; sessions without an end sort as -1.
    Duration,
    Name,
    Events,
    Errors,
    Cost,
    EndState,
}

/// The sort value of the last row of a page, where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Integer(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCursor {
    pub key: SortKey,
    pub pk: SessionPk,
}

#[derive(Debug, Clone, Default)]
pub struct SessionPageRequest {
    pub filter: SessionFilter,
    pub sort: SessionSort,
    pub descending: bool,
    /// Start after this row, in the sort order.
    pub after: Option<SessionCursor>,
    pub limit: usize,
}

/// How many sessions, in list order, a model or text filter examines for
/// one page before it returns what it found. These filters read the events
/// of each session, which no index covers.
pub const MAX_SCANNED_SESSIONS: usize = 5_000;

#[derive(Debug, Clone, Default)]
pub struct SessionPage {
    pub sessions: Vec<SessionRow>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<SessionCursor>,
    /// True when a model or text filter stopped after examining its maximum
    /// number of sessions before the page was full; `next` then continues
    /// the search after the last session examined.
    pub scan_limited: bool,
}

/// One event of a session without its body: what the replay waterfall needs.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEvent {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
    pub init_us: Micros,
    pub end_us: Option<Micros>,
    pub agent_id: Option<String>,
    pub parent_id: Option<String>,
    pub model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub cost_pd: Option<Picodollars>,
    pub is_error: bool,
}

/// An agent name of a project, over all its sessions.
#[derive(Debug, Clone, Serialize)]
pub struct AgentSummary {
    pub name: String,
    pub sessions: i64,
    pub first_seen_us: Micros,
    pub last_seen_us: Micros,
}

/// Width of a metrics bucket. Buckets start at whole UTC hours, days, or
/// weeks starting on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Hour,
    #[default]
    Day,
    Week,
}

impl Granularity {
    pub const fn width_us(self) -> Micros {
        match self {
            Granularity::Hour => 3_600_000_000,
            Granularity::Day => 86_400_000_000,
            Granularity::Week => 7 * 86_400_000_000,
        }
    }

    /// The instant buckets are aligned to: the Unix epoch, or for weeks
    /// Monday 1970-01-05 00:00 UTC.
    pub const fn origin_us(self) -> Micros {
        match self {
            Granularity::Week => 4 * 86_400_000_000,
            _ => 0,
        }
    }

    /// Start of the bucket that contains `instant`.
    pub fn bucket_start(self, instant: Micros) -> Micros {
        let origin = self.origin_us();
        (instant - origin).div_euclid(self.width_us()) * self.width_us() + origin
    }
}

/// Session figures of one bucket, or of the whole range.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionFigures {
    pub sessions: i64,
    /// Sessions with at least one error event.
    pub sessions_with_errors: i64,
    pub events: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_pd: Picodollars,
    /// Session count per end state, ordered by end state.
    pub end_states: Vec<(String, i64)>,
}

/// Usage of one model in one bucket, or in the whole range.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModelFigures {
    pub model: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_pd: Picodollars,
    /// Calls whose model has no price, so they add nothing to `cost_pd`.
    pub unpriced: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsBucket {
    pub start_us: Micros,
    pub figures: SessionFigures,
    pub models: Vec<ModelFigures>,
}

/// Project metrics. Every figure is grouped by the start time of its
/// session, so a session and all its events fall in one bucket.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub totals: SessionFigures,
    pub models: Vec<ModelFigures>,
    /// Only buckets that have sessions, in time order.
    pub buckets: Vec<MetricsBucket>,
}

#[derive(Debug, Clone)]
pub struct MetricsQuery {
    pub filter: SessionFilter,
    pub granularity: Granularity,
}
