//! Seeing other processes' commits: `PRAGMA data_version` on a long-lived connection
//! of its own changes whenever another connection commits (file mtimes lie in WAL).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{Result, StoreError};

pub struct ChangeWatcher {
    conn: Connection,
    last: i64,
}

impl ChangeWatcher {
    /// `immutable`: the file is read as immutable (nobody can write it), as its store
    /// reads it.
    pub(crate) fn open(path: &Path, immutable: bool) -> Result<ChangeWatcher> {
        let opened = if immutable {
            super::open_connection(
                Path::new(&super::schema::file_uri(path, true)),
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
        } else {
            super::open_connection(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        };
        let conn =
            opened.map_err(|e| StoreError::Io(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let last = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        Ok(ChangeWatcher { conn, last })
    }

    /// True when some other connection committed since the last call. Cheap: no
    /// table is read.
    pub fn changed(&mut self) -> Result<bool> {
        let now: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let changed = now != self.last;
        self.last = now;
        Ok(changed)
    }
}
