//! The database files this process has open through a [`super::Store`].
//!
//! POSIX record locks belong to a process, not to a descriptor, and closing *any*
//! descriptor of a file drops them all. SQLite keeps its own descriptors open for
//! that reason, but the checks before opening (the header read, the immutable look)
//! open and close the file outside SQLite's bookkeeping. Done in a process that
//! already has the file open (the TUI's writer beside its reader, a simulator thread),
//! they would silently drop the first connection's shared lock; another process,
//! closing and believing itself the last, would then delete the WAL and shared memory
//! under it, and the two would no longer exclude each other's writes. So those checks
//! run only for a file this process does not have open yet.
//!
//! The registry also holds the process's one background checkpointer per file, started
//! by the first store that writes it and stopped with the last store: the TUI's reader
//! and writer, a simulator thread and the demo's closer share it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use super::checkpoint::Checkpointer;

/// One file this process has open.
struct Entry {
    /// How many stores have it open.
    stores: usize,
    checkpointer: Option<Checkpointer>,
}

/// (device, inode) -> the file's entry.
static OPEN: Mutex<BTreeMap<(u64, u64), Entry>> = Mutex::new(BTreeMap::new());

fn key(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // stat, never open: a look must not touch the file's locks.
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether a store of this process has the file at `path` open.
pub(crate) fn open_here(path: &Path) -> bool {
    key(path).is_some_and(|k| OPEN.lock().map(|m| m.contains_key(&k)).unwrap_or(true))
}

/// One store's hold on its file, released when dropped (after its connections).
pub(crate) struct Held {
    key: Option<(u64, u64)>,
    /// Where the file has no key (not Unix), the store runs its own checkpointer.
    _own: Option<Checkpointer>,
}

impl Held {
    /// Registers a store of `path`. `checkpoint` starts the background checkpointer
    /// if this store writes the file and none runs for it in this process yet. Returns
    /// whether one runs.
    pub(crate) fn take(
        path: &Path,
        checkpoint: Option<fn(&Path) -> Option<Checkpointer>>,
    ) -> (Held, bool) {
        let key = key(path);
        let (Some(k), Ok(mut m)) = (key, OPEN.lock()) else {
            let own = checkpoint.and_then(|start| start(path));
            let runs = own.is_some();
            return (
                Held {
                    key: None,
                    _own: own,
                },
                runs,
            );
        };
        let entry = m.entry(k).or_insert(Entry {
            stores: 0,
            checkpointer: None,
        });
        entry.stores += 1;
        if entry.checkpointer.is_none()
            && let Some(start) = checkpoint
        {
            entry.checkpointer = start(path);
        }
        let runs = entry.checkpointer.is_some();
        (Held { key, _own: None }, runs)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(k) = self.key else { return };
        let last = match OPEN.lock() {
            Ok(mut m) => match m.get_mut(&k) {
                Some(e) if e.stores > 1 => {
                    e.stores -= 1;
                    None
                }
                Some(_) => m.remove(&k),
                None => None,
            },
            Err(_) => None,
        };
        // The checkpointer's thread is joined outside the lock.
        drop(last);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static STARTED: AtomicUsize = AtomicUsize::new(0);

    fn counting(path: &Path) -> Option<Checkpointer> {
        STARTED.fetch_add(1, Ordering::SeqCst);
        Checkpointer::start(path)
    }

    /// Stores of one file in one process share one checkpointer; it stops with the
    /// last of them, and the next store starts a new one.
    #[test]
    fn one_checkpointer_per_file_and_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x);")
            .unwrap();
        let (reader, runs) = Held::take(&path, None);
        assert!(!runs, "a store that only reads starts none");
        let (writer, runs) = Held::take(&path, Some(counting));
        assert!(runs);
        let (other, runs) = Held::take(&path, Some(counting));
        assert!(runs);
        assert_eq!(
            STARTED.load(Ordering::SeqCst),
            1,
            "shared, not started again"
        );
        drop((reader, writer, other));
        assert!(!open_here(&path));
        let (_again, runs) = Held::take(&path, Some(counting));
        assert!(runs);
        assert_eq!(STARTED.load(Ordering::SeqCst), 2);
    }
}
