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

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// (device, inode) -> how many stores of this process have the file open.
static OPEN: Mutex<BTreeMap<(u64, u64), usize>> = Mutex::new(BTreeMap::new());

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
#[derive(Debug)]
pub(crate) struct Held(Option<(u64, u64)>);

impl Held {
    pub(crate) fn take(path: &Path) -> Held {
        let k = key(path);
        if let (Some(k), Ok(mut m)) = (k, OPEN.lock()) {
            *m.entry(k).or_default() += 1;
        }
        Held(k)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let (Some(k), Ok(mut m)) = (self.0, OPEN.lock())
            && let Some(n) = m.get_mut(&k)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&k);
            }
        }
    }
}
