//! Dashboard users and signed-in browser sessions. The writes run on the
//! writer thread (see `WriteOp`); the reads on the reader pool.

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use crate::model::Micros;
use crate::store::dashboard::{NewUser, NewWebSession, User, UserCredentials, UserId, WebSession};
use crate::store::{Project, StoreError, StoreResult};

const USER_COLUMNS: &str = "u.id, u.username, u.is_admin, u.must_change_password, u.created_us";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        is_admin: row.get(2)?,
        must_change_password: row.get(3)?,
        created_us: row.get(4)?,
    })
}

pub(super) fn create_user(tx: &Connection, user: &NewUser, now_us: Micros) -> StoreResult<User> {
    let inserted = tx.query_row(
        "INSERT INTO users (username, password_hash, is_admin, must_change_password, \
         created_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
        params![
            user.username,
            user.password_hash,
            user.is_admin,
            user.must_change_password,
            now_us
        ],
        |row| row.get(0),
    );
    match inserted {
        Ok(id) => Ok(User {
            id,
            username: user.username.clone(),
            is_admin: user.is_admin,
            must_change_password: user.must_change_password,
            created_us: now_us,
        }),
        Err(rusqlite::Error::SqliteFailure(err, _))
            if err.code == ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict(format!(
                "user {} exists",
                user.username
            )))
        }
        Err(err) => Err(err.into()),
    }
}

/// Returns how many users changed: 0 when the user does not exist.
pub(super) fn set_password(
    tx: &Connection,
    user: UserId,
    password_hash: &str,
    keep_session: Option<&str>,
    now_us: Micros,
) -> StoreResult<usize> {
    let changed = tx.execute(
        "UPDATE users SET password_hash = ?2, must_change_password = 0, updated_us = ?3 \
         WHERE id = ?1",
        params![user, password_hash, now_us],
    )?;
    tx.execute(
        "DELETE FROM web_sessions WHERE user_id = ?1 AND id_hash IS NOT ?2",
        params![user, keep_session],
    )?;
    Ok(changed)
}

pub(super) fn create_web_session(
    tx: &Connection,
    session: &NewWebSession,
    now_us: Micros,
) -> StoreResult<usize> {
    tx.execute(
        "DELETE FROM web_sessions WHERE expires_us <= ?1",
        params![now_us],
    )?;
    tx.execute(
        "INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_us, expires_us) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            session.id_hash,
            session.user_id,
            session.csrf_token,
            now_us,
            session.expires_us
        ],
    )?;
    Ok(1)
}

pub(super) fn delete_web_session(tx: &Connection, id_hash: &str) -> StoreResult<usize> {
    Ok(tx.execute(
        "DELETE FROM web_sessions WHERE id_hash = ?1",
        params![id_hash],
    )?)
}

pub(super) fn user_credentials(
    conn: &Connection,
    username: &str,
) -> StoreResult<Option<UserCredentials>> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let found = stmt
        .query_row(params![username], |row| {
            Ok(UserCredentials {
                user: user_from_row(row)?,
                password_hash: row.get(5)?,
            })
        })
        .optional()?;
    Ok(found)
}

pub(super) fn list_users(conn: &Connection) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.username");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], user_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn web_session(
    conn: &Connection,
    id_hash: &str,
    now_us: Micros,
) -> StoreResult<Option<WebSession>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, w.csrf_token, w.expires_us FROM web_sessions w \
         JOIN users u ON u.id = w.user_id WHERE w.id_hash = ?1 AND w.expires_us > ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let found = stmt
        .query_row(params![id_hash, now_us], |row| {
            Ok(WebSession {
                user: user_from_row(row)?,
                csrf_token: row.get(5)?,
                expires_us: row.get(6)?,
            })
        })
        .optional()?;
    Ok(found)
}

pub(super) fn list_projects(conn: &Connection) -> StoreResult<Vec<Project>> {
    let mut stmt = conn.prepare_cached("SELECT id, name FROM projects ORDER BY id")?;
    let rows = stmt.query_map([], |row| {
        Ok(Project {
            key_id: None,
            id: row.get(0)?,
            name: row.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
