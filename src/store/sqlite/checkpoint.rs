//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, so the writer thread (and every request waiting on its group
//! commit) would pay for copying pages back into the database file. Here a
//! separate connection runs passive checkpoints, which do not block the
//! writer or readers. Only when the WAL passes `RESTART_PAGES` does it run a
//! restart checkpoint, and the writer then waits for that one.

use std::path::Path;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use rusqlite::Connection;

/// How often the WAL is copied back into the database file.
const INTERVAL: Duration = Duration::from_millis(500);

/// WAL size, in pages, past which a checkpoint also makes the writer start
/// the WAL over. Passive checkpoints alone never reset a WAL that is written
/// without pause, so under sustained load it would grow without bound.
const RESTART_PAGES: i64 = 16_384;

/// Stops its thread when dropped.
pub(super) struct Checkpointer {
    stop: Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> std::io::Result<Self> {
        let conn = Connection::open(path).map_err(std::io::Error::other)?;
        // A restart checkpoint waits for the writer's current commit.
        conn.pragma_update(None, "busy_timeout", 2_000)
            .map_err(std::io::Error::other)?;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    checkpoint(&conn);
                }
            })?;
        Ok(Checkpointer { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.try_send(());
    }
}

fn checkpoint(conn: &Connection) {
    match run(conn, "PASSIVE") {
        Ok((wal_pages, copied)) => {
            tracing::trace!(wal_pages, copied, "wal checkpoint");
            if wal_pages > RESTART_PAGES
                && let Err(err) = run(conn, "RESTART")
            {
                tracing::warn!(error = %err, wal_pages, "wal restart checkpoint failed");
            }
        }
        Err(err) => tracing::warn!(error = %err, "wal checkpoint failed"),
    }
}

/// Runs one checkpoint; returns the WAL's size and the pages copied.
fn run(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    })
}
