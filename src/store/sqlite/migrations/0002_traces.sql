-- OpenTelemetry traces. A trace is a session whose id is the trace id; its
-- root span (or a span of kind session) is authoritative for the session's
-- name, times, tags and end state, and spans seen before it only widen the
-- provisional times.
ALTER TABLE sessions ADD COLUMN root_seen INTEGER NOT NULL DEFAULT 0;

-- Finds a span's session from its id alone, for the public span endpoint.
-- Only spans are indexed here, so REST ingestion pays nothing for it.
CREATE TABLE span_index (
    project_id  INTEGER NOT NULL,
    span_id     TEXT NOT NULL,
    session_pk  INTEGER NOT NULL,
    PRIMARY KEY (project_id, span_id, session_pk)
) WITHOUT ROWID;

-- Terminal output of a run, uploaded once by SDK 0.4.
CREATE TABLE session_logs (
    session_pk   INTEGER PRIMARY KEY,
    body         TEXT NOT NULL,
    received_us  INTEGER NOT NULL
);
