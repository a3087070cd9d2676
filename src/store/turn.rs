//! Writers yield to people. SQLite's busy handler has no fairness: a writer that takes
//! the lock again at once can win every time, so a supervisor's edit could wait behind
//! intake batch after batch. Beside the database sits a small turn file,
//! `<db>-turn`, locked with `flock` (never with the `fcntl` locks SQLite uses, so the
//! two cannot disturb each other):
//! - a person's write holds it exclusively from before `BEGIN IMMEDIATE` to the end of
//!   its transaction;
//! - intake, once it holds the write lock, checks whether a person holds the turn,
//!   and if so rolls back at once and waits for the turn to pass before it tries again.
//!
//! So a supervisor waits at most for the intake transaction already running, which
//! commits early once it sees them, never behind the next ones. Every writer also
//! marks itself as waiting while it waits for the lock (a shared lock on byte 1 of
//! the same file); a batch whose time bound has passed then commits and lets it in.
//! An intake alone runs its batches to their count. A process that cannot open
//! the turn file (a user who may only read) writes nothing, so it needs none.
//!
//! The busy handler polls every few milliseconds instead of SQLite's default back-off
//! (which sleeps up to 100 ms), and stops when the write is cancelled.

use std::cell::RefCell;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long one attempt's busy handler waits for the lock.
pub(crate) const BUSY_WAIT: Duration = Duration::from_secs(5);

thread_local! {
    /// The cancel flag of the write running on this thread, if it can be cancelled.
    static CANCEL: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
    /// When this thread's current wait for the lock began.
    static WAIT_STARTED: RefCell<Option<Instant>> = const { RefCell::new(None) };
}

/// Whether the write running on this thread was cancelled.
pub(crate) fn cancelled() -> bool {
    CANCEL.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    })
}

/// Installs `flag` as this thread's cancel flag while the returned guard lives.
pub(crate) fn with_cancel(flag: Option<Arc<AtomicBool>>) -> impl Drop {
    struct Reset(Option<Arc<AtomicBool>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            CANCEL.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CANCEL.with(|c| std::mem::replace(&mut *c.borrow_mut(), flag));
    Reset(previous)
}

/// The busy handler of every connection: short polls, up to [`BUSY_WAIT`] per attempt,
/// and none once the write was cancelled.
pub(crate) fn busy(count: i32) -> bool {
    if cancelled() {
        return false;
    }
    let started = WAIT_STARTED.with(|w| {
        let mut w = w.borrow_mut();
        if count == 0 || w.is_none() {
            *w = Some(Instant::now());
        }
        w.unwrap_or_else(Instant::now)
    });
    if started.elapsed() >= BUSY_WAIT {
        return false;
    }
    thread::sleep(Duration::from_millis(if count < 20 { 1 } else { 3 }));
    true
}

/// `<db>-turn`.
pub(crate) fn turn_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-turn");
    PathBuf::from(p)
}

/// The open turn file of one store.
pub(crate) struct Turn {
    file: File,
}

impl Turn {
    /// Opens (creating if missing) the turn file beside `db`. `None` if it cannot be:
    /// then this process's writes simply take no turns.
    pub(crate) fn open(db: &Path) -> Option<Turn> {
        let path = turn_path(db);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .or_else(|_| File::open(&path))
            .ok()?;
        super::sharing::match_database(db, &path);
        Some(Turn { file })
    }

    /// A person's write: waits for the turn (other people's writes) until `deadline`,
    /// polling so that a cancel is seen. `None` when the deadline passed or the write
    /// was cancelled; the caller goes on without the turn then.
    pub(crate) fn take(&self, deadline: Instant) -> Option<Held<'_>> {
        loop {
            match flock(&self.file, Lock::ExclusiveNow) {
                Ok(true) => return Some(Held(self)),
                Ok(false) if Instant::now() < deadline && !cancelled() => {
                    thread::sleep(Duration::from_millis(2))
                }
                _ => return None,
            }
        }
    }

    /// For intake, holding the write lock: whether a person is waiting for it.
    pub(crate) fn person_waiting(&self) -> bool {
        match flock(&self.file, Lock::SharedNow) {
            Ok(true) => {
                let _ = flock(&self.file, Lock::Unlock);
                false
            }
            Ok(false) => true,
            Err(_) => false,
        }
    }

    /// For intake, after it stepped back: waits until no person holds the turn (at
    /// most `limit`).
    pub(crate) fn wait_for_people(&self, limit: Duration) {
        let until = Instant::now() + limit;
        while self.person_waiting() && Instant::now() < until {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Turn {
    /// Marks this writer as waiting for the write lock until the guard drops: a shared
    /// lock on byte 1 of the turn file (Linux open-file-description locks, which
    /// neither `flock` nor SQLite's own locks see).
    pub(crate) fn announce(&self) -> Announced<'_> {
        let held = ofd_lock(&self.file, OfdLock::Shared).unwrap_or(false);
        Announced(self, held)
    }

    /// For a batch holding the write lock: whether any other writer waits for it.
    pub(crate) fn anyone_waiting(&self) -> bool {
        match ofd_lock(&self.file, OfdLock::Exclusive) {
            Ok(true) => {
                let _ = ofd_lock(&self.file, OfdLock::Unlock);
                false
            }
            Ok(false) => true,
            Err(_) => false,
        }
    }
}

/// Another writer that waits for the lock for as long as it lives (tests of the
/// batches' time bound).
#[cfg(test)]
pub(crate) struct Waiter {
    _turn: Turn,
}

#[cfg(test)]
impl Waiter {
    pub(crate) fn new(db: &Path) -> Waiter {
        let turn = Turn::open(db).expect("turn file");
        assert!(ofd_lock(&turn.file, OfdLock::Shared).unwrap_or(false));
        Waiter { _turn: turn }
    }
}

/// A writer waiting for the lock, until dropped.
pub(crate) struct Announced<'a>(&'a Turn, bool);

impl Drop for Announced<'_> {
    fn drop(&mut self) {
        if self.1 {
            let _ = ofd_lock(&self.0.file, OfdLock::Unlock);
        }
    }
}

enum OfdLock {
    Shared,
    Exclusive,
    Unlock,
}

/// A non-blocking open-file-description lock on byte 1: true if taken (or released).
#[cfg(target_os = "linux")]
fn ofd_lock(file: &File, lock: OfdLock) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero `flock` is a valid value; the fields that matter are set.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = match lock {
        OfdLock::Shared => libc::F_RDLCK,
        OfdLock::Exclusive => libc::F_WRLCK,
        OfdLock::Unlock => libc::F_UNLCK,
    } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 1;
    fl.l_len = 1;
    loop {
        // SAFETY: fcntl with F_OFD_SETLK reads the `flock` we own for the call.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN | libc::EACCES) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// Elsewhere nobody is seen waiting: batches run to their count.
#[cfg(not(target_os = "linux"))]
fn ofd_lock(_file: &File, _lock: OfdLock) -> std::io::Result<bool> {
    Ok(false)
}

/// The turn, held by a person's write until dropped.
pub(crate) struct Held<'a>(&'a Turn);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = flock(&self.0.file, Lock::Unlock);
    }
}

enum Lock {
    ExclusiveNow,
    SharedNow,
    Unlock,
}

/// `flock` without blocking: true if taken (or released).
#[cfg(unix)]
fn flock(file: &File, lock: Lock) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let op = match lock {
        Lock::ExclusiveNow => libc::LOCK_EX | libc::LOCK_NB,
        Lock::SharedNow => libc::LOCK_SH | libc::LOCK_NB,
        Lock::Unlock => libc::LOCK_UN,
    };
    loop {
        // SAFETY: flock on a descriptor this File owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

#[cfg(not(unix))]
fn flock(_file: &File, _lock: Lock) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_holding_the_turn_is_seen_by_intake() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let person = Turn::open(&db).unwrap();
        let intake = Turn::open(&db).unwrap();
        assert!(!intake.person_waiting());
        let held = person
            .take(Instant::now() + Duration::from_secs(1))
            .unwrap();
        assert!(intake.person_waiting());
        // A second person waits for the first.
        let other = Turn::open(&db).unwrap();
        assert!(
            other
                .take(Instant::now() + Duration::from_millis(20))
                .is_none()
        );
        drop(held);
        assert!(!intake.person_waiting());
        assert!(other.take(Instant::now()).is_some());
    }

    #[test]
    fn a_writer_waiting_for_the_lock_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let holder = Turn::open(&db).unwrap();
        let waiter = Turn::open(&db).unwrap();
        let other = Turn::open(&db).unwrap();
        assert!(!holder.anyone_waiting());
        let a = waiter.announce();
        let b = other.announce();
        assert!(holder.anyone_waiting());
        drop(a);
        assert!(holder.anyone_waiting(), "one still waits");
        drop(b);
        assert!(!holder.anyone_waiting());
    }

    #[test]
    fn a_cancelled_write_stops_waiting() {
        let flag = Arc::new(AtomicBool::new(false));
        let _guard = with_cancel(Some(Arc::clone(&flag)));
        assert!(busy(0));
        flag.store(true, Ordering::Relaxed);
        assert!(!busy(1));
    }
}
