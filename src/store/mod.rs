//! Everything that touches SQLite: opening a file (pragmas, checks, migrations), one
//! module per aggregate, the write-transaction helper with its busy retry, and the
//! change watcher. Every front end (CLI, TUI, simulator) calls these functions.

mod audit;
mod check;
mod checkpoint;
mod connection;
mod contacts;
mod day;
mod error;
mod intake;
mod leads;
mod like;
mod migrations;
mod models;
mod open;
mod open_files;
mod operators;
mod roster;
mod schema;
mod sharing;
mod sources;
mod stats;
mod tokens;
pub(crate) mod turn;
mod watch;
mod weights;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::domain::DomainError;

pub use audit::AuditEntry;
pub(crate) use connection::open_connection;
pub(crate) use error::StaleCheck;
pub use error::{ContactAction, Denied, StaleField, StoreError};

pub use check::{Check, CheckReport, LoadRepair, check};
pub use contacts::{Expect, FeedFilter, Outcome, Seen, Skip};
pub use intake::{Intake, NewContact, ValidContact};
pub use leads::LeadWithContacts;
pub(crate) use like::like_pattern;
pub use migrations::latest_version;
pub use models::{
    Contact, Lead, LeadFields, Operator, OperatorPatch, Source, SourcePatch, Token, Weight,
    format_rfc3339,
};
pub use operators::OperatorChange;
pub use stats::{OperatorShare, SourceStats};
pub use tokens::TOKEN_PREFIX;
pub use watch::ChangeWatcher;

/// Reserved `assigned_by` value of automatic routing.
pub const AUTO: &str = "auto";

/// Who makes the changes when `OpenOptions::actor` names nobody.
pub const DEFAULT_ACTOR: &str = "supervisor";

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// synchronous=FULL: an acknowledged contact survives a power cut.
    #[default]
    Full,
    /// synchronous=NORMAL: faster; a power cut may lose the last commits (never corrupts).
    Normal,
}

#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub durability: Durability,
    /// Seed for the routing RNG; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// Who is making changes (audit log, manual assignments); `None` is
    /// [`DEFAULT_ACTOR`].
    pub actor: Option<String>,
    /// Open the file read-only at the SQLite level: no migration, no checkpoint, no
    /// write possible. A file that needs a migration is refused.
    pub read_only: bool,
}

/// A statement prepared on first use and then kept for the rest of a transaction:
/// a batch runs it thousands of times without the statement cache's lookups, and a
/// single contact prepares only what it runs.
pub(crate) struct LazyStatement<'t> {
    tx: &'t Transaction<'t>,
    sql: &'static str,
    stmt: Option<rusqlite::CachedStatement<'t>>,
}

impl<'t> LazyStatement<'t> {
    pub(crate) fn new(tx: &'t Transaction<'t>, sql: &'static str) -> LazyStatement<'t> {
        LazyStatement {
            tx,
            sql,
            stmt: None,
        }
    }

    pub(crate) fn get(&mut self) -> Result<&mut rusqlite::CachedStatement<'t>> {
        if self.stmt.is_none() {
            self.stmt = Some(self.tx.prepare_cached(self.sql)?);
        }
        Ok(self.stmt.as_mut().expect("prepared just above"))
    }
}

/// What a write closure gets besides the transaction.
pub(crate) struct Ctx<'a> {
    pub rng: &'a mut StdRng,
    pub actor: &'a str,
    pub now: i64,
    turn: Option<&'a turn::Turn>,
}

impl Ctx<'_> {
    /// Whether a person's write is waiting for this transaction to end: a batch
    /// commits what it has and lets them go first.
    pub(crate) fn person_waiting(&self) -> bool {
        self.turn.is_some_and(turn::Turn::person_waiting)
    }

    /// Whether any other writer (a person or another intake) waits for the lock.
    pub(crate) fn anyone_waiting(&self) -> bool {
        self.turn.is_some_and(turn::Turn::anyone_waiting)
    }
}

/// One connection to a switchboard file.
pub struct Store {
    conn: Connection,
    rng: StdRng,
    actor: String,
    path: PathBuf,
    /// Fixed "now" for writes and "today" (demo history, tests); `None` reads the clock.
    clock: Option<i64>,
    read_only: bool,
    /// Read as immutable (a WAL file at rest where nobody can create its `-wal`).
    immutable: bool,
    durability: Durability,
    /// How long a write keeps retrying a locked file before [`StoreError::Busy`].
    busy_deadline: Duration,
    /// People's writes go before intake's (see `turn.rs`); `None` without the file.
    turn: Option<turn::Turn>,
    /// Set from another thread to give up a write that is waiting for the file.
    cancel: Option<Arc<AtomicBool>>,
    /// Last: released after the connections above are closed (with the last store of
    /// the file in this process, the background checkpointer stops).
    _open: open_files::Held,
}

/// Whose write it is: a person's (a supervisor at a screen or a CLI command) goes
/// before intake's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    Person,
    Intake,
}

/// How long the busy handler waits inside one attempt (read-only connections).
const BUSY_TIMEOUT: Duration = turn::BUSY_WAIT;
/// How long a write keeps retrying before it reports [`StoreError::Busy`].
const BUSY_DEADLINE: Duration = Duration::from_secs(60);

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn is_busy_store(e: &StoreError) -> bool {
    matches!(e, StoreError::Sqlite(e) if is_busy(e))
}

impl Store {
    /// Ok when this process can write the file: the file, its `-wal` and `-shm` and
    /// the folder they are created in let it, and SQLite opened them for writing; else
    /// the error that names what is in the way ([`StoreError::Permission`]). Takes the
    /// write lock for a moment and writes nothing.
    pub fn ensure_writable(&mut self) -> Result<()> {
        // SQLite opens a file this user may not write read-only, and then takes an
        // IMMEDIATE transaction as a read: ask it first.
        if !self.read_only && self.conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(
                sharing::why_cannot(&self.path, sharing::Need::Write).unwrap_or_else(|| {
                    StoreError::Io(format!(
                        "cannot write {}: SQLite opened it read-only",
                        schema::shown(&self.path)
                    ))
                }),
            );
        }
        // A -wal or -shm SQLite could open only for reading refuses the write lock.
        self.write(|_, _| Ok(()))
    }

    /// Whether the file was opened read-only (`--read-only`).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether this store can write the file: not `--read-only`, not read as
    /// immutable, and SQLite opened it for writing (a user who may only read gets it
    /// read-only).
    pub fn can_write(&self) -> bool {
        !self.read_only
            && !self.immutable
            && !self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Sets who makes the following changes. `auto` is reserved for routing.
    pub fn set_actor(&mut self, actor: &str) -> Result<()> {
        self.actor = checked_actor(actor)?;
        Ok(())
    }

    /// Fixes the time writes record and "today" is read against (`None`: the real
    /// clock). For loading history, and for tests of "today".
    pub fn set_clock(&mut self, now_ms: Option<i64>) {
        self.clock = now_ms;
    }

    /// The store's now: the fixed clock if one is set ([`Store::set_clock`]), else the
    /// real one.
    pub(crate) fn now(&self) -> i64 {
        self.clock.unwrap_or_else(now_ms)
    }

    /// How long a write of this store keeps retrying while the file is locked before
    /// it gives up with [`StoreError::Busy`] (a minute unless set; a server answering
    /// requests wants less).
    pub fn set_busy_deadline(&mut self, deadline: Duration) {
        self.busy_deadline = deadline;
    }

    /// Re-seeds the routing RNG (tests, `SWITCHBOARD_SEED`).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// A watcher on its own connection that tells when any process committed a change.
    pub fn watcher(&self) -> Result<ChangeWatcher> {
        ChangeWatcher::open(&self.path, self.immutable)
    }

    /// A flag that, once set (from any thread), makes a write of this store that is
    /// waiting for the file give up with [`StoreError::Cancelled`].
    pub fn cancel_flag(&mut self) -> Arc<AtomicBool> {
        Arc::clone(
            self.cancel
                .get_or_insert_with(|| Arc::new(AtomicBool::new(false))),
        )
    }

    /// Runs a person's `f` in one IMMEDIATE transaction (see [`Store::write_as`]).
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnMut(&Transaction<'_>, &mut Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_as(Writer::Person, f)
    }

    /// Runs `f` in one IMMEDIATE transaction, retrying the whole of it while the file
    /// is locked by another process, up to [`BUSY_DEADLINE`]. A person's write takes
    /// the turn first; intake steps back while a person waits (see `turn.rs`).
    pub(crate) fn write_as<T>(
        &mut self,
        writer: Writer,
        mut f: impl FnMut(&Transaction<'_>, &mut Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        if self.read_only {
            return Err(StoreError::ReadOnly(self.path.display().to_string()));
        }
        let started = Instant::now();
        let _cancel = turn::with_cancel(self.cancel.clone());
        let is_cancelled =
            |c: &Option<Arc<AtomicBool>>| c.as_ref().is_some_and(|f| f.load(Ordering::Relaxed));
        let _held = match (writer, &self.turn) {
            (Writer::Person, Some(t)) => t.take(started + self.busy_deadline),
            _ => None,
        };
        let mut backoff = Duration::from_millis(2);
        loop {
            if is_cancelled(&self.cancel) {
                return Err(StoreError::Cancelled);
            }
            let turn = self.turn.as_ref();
            let attempt = (|| {
                // While it waits for the lock, this writer counts as waiting: a batch
                // holding the lock then stops at its time bound (see `turn.rs`).
                let announced = turn.map(turn::Turn::announce);
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                drop(announced);
                if writer == Writer::Intake && turn.is_some_and(turn::Turn::person_waiting) {
                    // Let the person go first: roll back before doing anything.
                    drop(tx);
                    return Err(StoreError::Yielded);
                }
                let mut ctx = Ctx {
                    rng: &mut self.rng,
                    actor: &self.actor,
                    now: self.clock.unwrap_or_else(now_ms),
                    turn: if writer == Writer::Intake { turn } else { None },
                };
                let value = f(&tx, &mut ctx)?;
                tx.commit()?;
                Ok(value)
            })();
            match attempt {
                Err(StoreError::Yielded) => {
                    if let Some(t) = &self.turn {
                        t.wait_for_people(self.busy_deadline);
                    }
                }
                Err(e) if is_busy_store(&e) && is_cancelled(&self.cancel) => {
                    let _ = e;
                    return Err(StoreError::Cancelled);
                }
                Err(e) if is_busy_store(&e) => {
                    if started.elapsed() > self.busy_deadline {
                        return Err(StoreError::Busy(started.elapsed()));
                    }
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(200));
                }
                other => return other.map_err(|e| sharing::explain(&self.path, e)),
            }
        }
    }

    /// Runs read-only `f` in one short read transaction (a consistent snapshot).
    pub(crate) fn read<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let value = self.read_snapshot(f);
        value.map_err(|e| sharing::explain(&self.path, e))
    }

    fn read_snapshot<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = f(&tx)?;
        tx.finish()?;
        Ok(value)
    }

    /// Raw connection, for benchmarks that compare against plain inserts.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Whether the file holds no operators, sources or contacts.
    pub fn is_empty(&mut self) -> Result<bool> {
        self.read(|tx| {
            Ok(tx.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM operator) AND NOT EXISTS (SELECT 1 FROM source)
                    AND NOT EXISTS (SELECT 1 FROM contact)",
                [],
                |r| r.get(0),
            )?)
        })
    }
}

/// Creates a switchboard file at an older schema `version` (1 = the first
/// migration only), as an older build would have left it: for tests of migration
/// and of `--read-only` on a file that needs one.
#[doc(hidden)]
pub fn create_at_schema_version(path: &Path, version: usize) -> Result<()> {
    let mut conn = open_connection(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
    migrations::migrations()
        .to_version(&mut conn, version)
        .map_err(|e| StoreError::Migration(e.to_string()))
}

/// A valid actor name that is not `auto` (reserved for routing).
fn checked_actor(actor: &str) -> Result<String> {
    let a = crate::domain::validate_actor(actor)?;
    if a.eq_ignore_ascii_case(AUTO) {
        return Err(DomainError::invalid(
            "actor",
            "actor name 'auto' is reserved for automatic routing",
        )
        .into());
    }
    Ok(a)
}
