-- Projects own API keys and sessions; everything below a session hangs off
-- its integer key so that one project can never reach another's rows.
CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_us  INTEGER NOT NULL
);

-- API keys are random UUIDs; only their SHA-256 is stored.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    key_hash    TEXT NOT NULL UNIQUE,
    key_prefix  TEXT NOT NULL,
    name        TEXT,
    created_us  INTEGER NOT NULL,
    revoked_us  INTEGER
);

-- One row per session (REST) or trace (OTLP). The aggregate columns are kept
-- up to date by the writer in the same transaction as the events.
CREATE TABLE sessions (
    pk                     INTEGER PRIMARY KEY,
    project_id             INTEGER NOT NULL REFERENCES projects(id),
    id                     TEXT NOT NULL,
    name                   TEXT,
    init_us                INTEGER,
    end_us                 INTEGER,
    end_state              TEXT NOT NULL DEFAULT 'Indeterminate',
    end_state_reason       TEXT,
    tags                   TEXT NOT NULL DEFAULT '[]',
    host_env               TEXT,
    body                   TEXT,
    created_us             INTEGER NOT NULL,
    updated_us             INTEGER NOT NULL,
    event_count            INTEGER NOT NULL DEFAULT 0,
    llm_count              INTEGER NOT NULL DEFAULT 0,
    tool_count             INTEGER NOT NULL DEFAULT 0,
    action_count           INTEGER NOT NULL DEFAULT 0,
    error_count            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens          INTEGER NOT NULL DEFAULT 0,
    completion_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens  INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens       INTEGER NOT NULL DEFAULT 0,
    cost_pd                INTEGER NOT NULL DEFAULT 0,
    unpriced_count         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, id)
);
CREATE INDEX sessions_by_project_time ON sessions (project_id, created_us);

-- Events: one rowid table with one secondary index. (session_pk, id) both
-- deduplicates client retries and serves "all events of a session".
CREATE TABLE events (
    pk                     INTEGER PRIMARY KEY,
    session_pk             INTEGER NOT NULL,
    id                     TEXT NOT NULL,
    kind                   TEXT NOT NULL,
    name                   TEXT,
    init_us                INTEGER NOT NULL,
    end_us                 INTEGER,
    agent_id               TEXT,
    parent_id              TEXT,
    model                  TEXT,
    prompt_tokens          INTEGER,
    completion_tokens      INTEGER,
    cache_read_tokens      INTEGER,
    cache_creation_tokens  INTEGER,
    reasoning_tokens       INTEGER,
    tokens_estimated       INTEGER NOT NULL DEFAULT 0,
    cost_pd                INTEGER,
    cost_source            TEXT,
    price_key              TEXT,
    is_error               INTEGER NOT NULL DEFAULT 0,
    body                   TEXT NOT NULL
);
CREATE UNIQUE INDEX events_by_session ON events (session_pk, id);

CREATE TABLE agents (
    session_pk  INTEGER NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT,
    body        TEXT NOT NULL,
    PRIMARY KEY (session_pk, id)
) WITHOUT ROWID;

CREATE TABLE threads (
    session_pk  INTEGER NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (session_pk, id)
) WITHOUT ROWID;

CREATE TABLE developer_errors (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER,
    received_us  INTEGER NOT NULL,
    body         TEXT NOT NULL
);
