//! Opening a file: judging what is there before the first write, creating it so it
//! honours the umask, the pragmas of every connection, migrations that two processes
//! cannot both apply, and the sessions a process hands out from one open store.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::*;

/// Opens the main connection of a store as `plan` says.
fn open_planned(path: &Path, plan: sharing::Plan, read_only: bool) -> Result<Connection> {
    let opened = match plan {
        // No SQLITE_OPEN_URI: `path` is the file that was just checked, never a URI.
        sharing::Plan::Normal => open_connection(
            path,
            if read_only {
                OpenFlags::SQLITE_OPEN_READ_ONLY
            } else {
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
            } | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
        sharing::Plan::Immutable => open_connection(
            Path::new(&schema::file_uri(path, true)),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        ),
    };
    opened.map_err(|e| match sharing::explain(path, StoreError::Sqlite(e)) {
        StoreError::Sqlite(e) => {
            StoreError::Io(format!("cannot open {}: {e}", schema::shown(path)))
        }
        other => other,
    })
}

/// A failed migration in one line: the SQLite error, without the migration's SQL.
fn migration_failed(e: &rusqlite_migration::Error) -> StoreError {
    let text = match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => err.to_string(),
        other => other.to_string(),
    };
    StoreError::Migration(schema::escape(&text.replace('\n', " ")))
}

/// Page size of new files (SQLite's default, stated so it cannot drift). Measured
/// against 8 KiB: bulk ingest was about 10% faster with 8 KiB pages, but one contact
/// per transaction (the way most contacts arrive) appended twice the bytes to the WAL
/// per commit and took 15-25% more CPU, and the 1M-history rate fell further behind
/// the 10k one. Existing files keep the size they were created with.
const PAGE_SIZE: u32 = 4096;

pub(crate) fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    conn.busy_handler(Some(turn::busy))?;
    // A connection SQLite could open only for reading (this user may not write the
    // file) sets nothing that writes.
    if !conn.is_readonly(rusqlite::MAIN_DB)? {
        // Only takes effect on a file with no pages yet, before WAL mode is set.
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))?;
        // journal_mode needs a lock of its own; retry like any write.
        let deadline = Instant::now() + BUSY_DEADLINE;
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(20))
                }
                Err(e) => return Err(e.into()),
            }
        }
        sharing::keep_companions(conn)?;
    }
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync}; PRAGMA temp_store = MEMORY;\n         PRAGMA cache_size = -16384;"
    ))?;
    Ok(())
}

impl Store {
    /// Opens (creating if missing) and migrates a switchboard file.
    ///
    /// Only switchboard's own files are written: what is at `path` is judged before the
    /// first write (`schema::inspect`), and anything else is refused in one line
    /// and left as it was.
    pub fn open(path: impl AsRef<Path>, mut options: OpenOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        // A bad actor is refused before the file is touched.
        if let Some(a) = &options.actor {
            options.actor = Some(checked_actor(a)?);
        }
        let opened = if options.read_only {
            Self::open_read_only(path.clone(), options)
        } else {
            Self::open_read_write(path.clone(), options)
        };
        match opened {
            Ok(store) => {
                // What this process created beside the file (SQLite's -wal and -shm,
                // the turn file) takes the file's group and mode.
                sharing::match_companions(&path);
                Ok(store)
            }
            // A file or folder that keeps this user out is named, with the fix.
            Err(e @ StoreError::Io(_)) => {
                Err(sharing::why_cannot(&path, sharing::Need::Read).unwrap_or(e))
            }
            Err(e) => Err(sharing::explain(&path, e)),
        }
    }

    fn open_read_write(path: PathBuf, options: OpenOptions) -> Result<Store> {
        // A file this process has open already was checked then; looking again through
        // descriptors of our own would drop its locks (see `open_files.rs`).
        let plan = if open_files::open_here(&path) {
            sharing::plan(&path, true)?
        } else {
            let mut on_disk = schema::check_file(&path)?;
            if on_disk == schema::OnDisk::New && std::fs::symlink_metadata(&path).is_err() {
                // Created here, not by SQLite, so that it honours the umask. Looked at
                // again: another process may have created and filled it meanwhile.
                sharing::create_database(&path)?;
                on_disk = schema::check_file(&path)?;
            }
            match on_disk {
                schema::OnDisk::Sqlite { wal } => {
                    let plan = sharing::plan(&path, wal)?;
                    schema::check_existing(&path, wal)?;
                    plan
                }
                schema::OnDisk::New => sharing::Plan::Normal,
            }
        };
        let mut conn = open_planned(&path, plan, false)?;
        // The file may have been replaced since the look above; look again on this
        // connection, which has written nothing yet.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        schema::inspect(&conn, &path)?;
        configure(&conn, options.durability)?;
        Self::migrate(&mut conn, &path)?;
        let rng = match options.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng::<StdRng>(),
        };
        let actor = options.actor.unwrap_or_else(|| DEFAULT_ACTOR.to_string());
        // A user who may only read the file takes no turns and runs no checkpoints,
        // and so creates no turn file.
        let writable = !conn.is_readonly(rusqlite::MAIN_DB)?;
        let turn = writable.then(|| turn::Turn::open(&path)).flatten();
        let (held, checkpointing) = open_files::Held::take(
            &path,
            writable.then_some(checkpoint::Checkpointer::start as fn(&Path) -> _),
        );
        if checkpointing {
            conn.execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {}",
                checkpoint::FALLBACK_PAGES
            ))?;
        }
        Ok(Store {
            conn,
            rng,
            actor,
            path,
            clock: None,
            read_only: false,
            immutable: plan == sharing::Plan::Immutable,
            durability: options.durability,
            busy_deadline: BUSY_DEADLINE,
            _open: held,
            turn,
            cancel: None,
        })
    }

    /// Opens an existing file with SQLite's read-only flag: nothing here can write to
    /// it (no WAL switch, no migration, no checkpoint), and a file whose schema is
    /// older than this build's is refused rather than migrated.
    fn open_read_only(path: PathBuf, options: OpenOptions) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Io(format!(
                "{} does not exist; --read-only opens an existing switchboard file",
                schema::shown(&path)
            )));
        }
        let plan = if open_files::open_here(&path) {
            sharing::plan(&path, true)?
        } else {
            let on_disk = schema::check_file(&path)?;
            let schema::OnDisk::Sqlite { wal } = on_disk else {
                return Err(StoreError::Io(format!(
                    "{} is empty; --read-only opens an existing switchboard file",
                    schema::shown(&path)
                )));
            };
            let plan = sharing::plan(&path, wal)?;
            schema::check_existing(&path, wal)?;
            plan
        };
        let conn = open_planned(&path, plan, true)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let state = schema::inspect(&conn, &path)?;
        if state.version < latest_version() {
            return Err(StoreError::NeedsMigration {
                path: schema::shown(&path),
                found: state.version,
                latest: latest_version(),
            });
        }
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")?;
        let (held, _) = open_files::Held::take(&path, None);
        let rng = match options.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng::<StdRng>(),
        };
        Ok(Store {
            conn,
            rng,
            actor: options.actor.unwrap_or_else(|| DEFAULT_ACTOR.to_string()),
            path,
            clock: None,
            read_only: true,
            immutable: plan == sharing::Plan::Immutable,
            durability: options.durability,
            busy_deadline: BUSY_DEADLINE,
            _open: held,
            turn: None,
            cancel: None,
        })
    }

    /// Another connection to this store's file, for another thread of the same process
    /// (an intake writer, a screen's writer, a request handler), making changes as
    /// `actor` (`None`: this store's actor). The file was checked and migrated when
    /// this store opened it, and this store keeps it open, so nothing is checked or
    /// migrated again, and the process keeps its one checkpointer. A read-only store
    /// hands out read-only sessions.
    pub fn session(&self, actor: Option<&str>) -> Result<Store> {
        let actor = match actor {
            Some(a) => checked_actor(a)?,
            None => self.actor.clone(),
        };
        self.connect(actor, self.read_only || self.immutable)
    }

    /// A read-only session: SQLite's query_only, no turn, never a write. For readers
    /// beside a writer (a server's request handlers).
    pub fn reader(&self) -> Result<Store> {
        self.connect(self.actor.clone(), true)
    }

    fn connect(&self, actor: String, read_only: bool) -> Result<Store> {
        let plan = if self.immutable {
            sharing::Plan::Immutable
        } else {
            sharing::Plan::Normal
        };
        let conn = open_planned(&self.path, plan, read_only)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if read_only {
            conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")?;
        } else {
            configure(&conn, self.durability)?;
        }
        let writable = !read_only && !conn.is_readonly(rusqlite::MAIN_DB)?;
        let (held, _) = open_files::Held::take(&self.path, None);
        if writable {
            conn.execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {}",
                checkpoint::FALLBACK_PAGES
            ))?;
        }
        Ok(Store {
            conn,
            rng: rand::make_rng::<StdRng>(),
            actor,
            path: self.path.clone(),
            clock: self.clock,
            read_only: self.read_only || read_only,
            immutable: self.immutable,
            durability: self.durability,
            busy_deadline: BUSY_DEADLINE,
            turn: writable.then(|| turn::Turn::open(&self.path)).flatten(),
            cancel: None,
            _open: held,
        })
    }

    /// Marks a file of an older build and brings it to the latest schema. Each step
    /// runs in one IMMEDIATE transaction that first judges the file again, so two
    /// processes starting at once cannot both apply one: the loser's transaction fails
    /// and rolls back, and it then re-reads the version, which the winner has brought
    /// to the latest. A new file gets the mark in the transaction that creates its
    /// schema.
    fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        let migrations = migrations::migrations();
        let deadline = Instant::now() + BUSY_DEADLINE;
        loop {
            let state = schema::inspect(conn, path)?;
            // A file SQLite could open only for reading (no write permission) is used
            // as it is, unmarked, as before.
            if !state.marked && state.version > 0 && !conn.is_readonly(rusqlite::MAIN_DB)? {
                match Self::mark(conn, path) {
                    Ok(()) => continue,
                    Err(e) if is_busy_store(&e) && Instant::now() < deadline => {
                        thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if state.version == latest_version() {
                break;
            }
            match migrations.to_latest(conn) {
                Ok(()) => break,
                Err(e) => {
                    // Another process moved the file on: judge it again.
                    if schema::inspect(conn, path)? != state {
                        continue;
                    }
                    let busy = matches!(&e, rusqlite_migration::Error::RusqliteError { err, .. } if is_busy(err));
                    if !busy || Instant::now() > deadline {
                        return Err(migration_failed(&e));
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
        conn.set_transaction_behavior(TransactionBehavior::Deferred);
        Ok(())
    }

    /// Sets switchboard's mark on a file recognised by its tables and columns, judging
    /// it again inside the write transaction.
    fn mark(conn: &mut Connection, path: &Path) -> Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state = schema::inspect(&tx, path)?;
        if !state.marked {
            tx.pragma_update(None, "application_id", migrations::APPLICATION_ID)?;
        }
        tx.commit()?;
        Ok(())
    }
}
