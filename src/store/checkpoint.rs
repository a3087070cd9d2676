//! Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the
//! COMMIT of whichever transaction crosses the WAL threshold, so one contact in every
//! few dozen pays for copying hundreds of pages into the file. Each process instead runs,
//! once per file however many stores it opens on it (see `open_files.rs`), a PASSIVE
//! checkpoint (it never blocks writers or readers) from a thread of its own
//! every [`INTERVAL`], on its own connection; the automatic checkpoint stays on as a
//! safety net at a higher threshold ([`FALLBACK_PAGES`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rusqlite::OpenFlags;

/// How often the background checkpoint runs.
const INTERVAL: Duration = Duration::from_millis(100);
/// WAL pages after which a committing writer checkpoints itself anyway (SQLite's
/// default is 1000), for when no background checkpoint keeps up.
pub(crate) const FALLBACK_PAGES: u32 = 8000;

pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, or returns `None` (the automatic checkpoint then does the
    /// work, as SQLite would by default).
    pub(crate) fn start(path: &Path) -> Option<Checkpointer> {
        let conn = super::open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        conn.busy_timeout(Duration::from_millis(50)).ok()?;
        // Whichever connection closes last keeps the -wal and -shm for readers.
        super::sharing::keep_companions(&conn).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let handle = thread::Builder::new()
            .name("switchboard-checkpoint".into())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    thread::park_timeout(INTERVAL);
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    // Busy or locked: try again next round.
                    let _ = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
                }
            })
            .ok()?;
        Some(Checkpointer {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}
