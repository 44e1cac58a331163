//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, so the writer thread (and every request waiting on its group
//! commit) would pay for copying pages back into the database file. Here a
//! separate connection runs passive checkpoints, which never block the
//! writer or readers.

use std::path::Path;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use rusqlite::Connection;

/// How often the WAL is copied back into the database file.
const INTERVAL: Duration = Duration::from_millis(500);

/// Stops its thread when dropped.
pub(super) struct Checkpointer {
    stop: Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> std::io::Result<Self> {
        let conn = Connection::open(path).map_err(std::io::Error::other)?;
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
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    match result {
        Ok((wal_pages, copied)) => {
            tracing::trace!(wal_pages, copied, "wal checkpoint");
        }
        Err(err) => tracing::warn!(error = %err, "wal checkpoint failed"),
    }
}
