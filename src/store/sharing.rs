//! Files of one database shared by the Unix users of a group: the companion files
//! switchboard and SQLite create beside it (`-wal`, `-shm`, `-turn`) take the
//! database file's group and mode, whoever creates them.

use std::path::Path;

/// Gives `companion` the group and the read/write bits of `db`, when this process
/// owns `companion` (it just created it). Best effort: a failure leaves the file as
/// the umask made it, and `switchboard check` reports it.
#[cfg(unix)]
pub(crate) fn match_database(db: &Path, companion: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (Ok(dbm), Ok(cm)) = (std::fs::metadata(db), std::fs::metadata(companion)) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if cm.uid() != me {
        return;
    }
    if cm.gid() != dbm.gid() {
        let _ = std::os::unix::fs::chown(companion, None, Some(dbm.gid()));
    }
    let want = dbm.mode() & 0o666;
    if cm.mode() & 0o777 != want {
        let _ = std::fs::set_permissions(companion, std::fs::Permissions::from_mode(want));
    }
}

#[cfg(not(unix))]
pub(crate) fn match_database(_db: &Path, _companion: &Path) {}
