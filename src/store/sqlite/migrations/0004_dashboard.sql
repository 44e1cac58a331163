-- Dashboard users. Passwords are stored only as Argon2id PHC strings.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    is_admin       INTEGER NOT NULL DEFAULT 0,
    -- Set for a printed one-time password; cleared when the user sets one.
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_us     INTEGER NOT NULL,
    updated_us     INTEGER NOT NULL
);

-- Signed-in browser sessions. The cookie carries 256 random bits; only their
-- SHA-256 is stored, so a copy of the database cannot sign anyone in. The
-- CSRF token is compared with the hidden field of every form.
CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_us  INTEGER NOT NULL,
    expires_us  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- The session list's default order is newest start first; sessions sent
-- without init_timestamp sort by the time the server received them. Keyset
-- paging on (start, pk) reads this index in order and stops after one page.
CREATE INDEX sessions_by_project_start
    ON sessions (project_id, coalesce(init_us, created_us), pk);

-- "Costliest sessions" and the list sorted by cost.
CREATE INDEX sessions_by_project_cost ON sessions (project_id, cost_pd, pk);

-- The links that the SDKs print carry only the session id, not its project.
CREATE INDEX sessions_by_id ON sessions (id);
