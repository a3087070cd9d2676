//! Files of one database shared by the Unix users of a group. The database file is the
//! reference: the companions SQLite and switchboard keep beside it (`-wal`, `-shm`,
//! `-turn`) take its group and mode whoever creates them, a user who may only read it
//! never creates one, and when a file or folder keeps this user out, the error names
//! it, its owner and mode, and the command that fixes it.
//!
//! Writers keep `-wal` and `-shm` when they close (SQLite's persistent WAL, the WAL
//! truncated to nothing): a user who may only read, and so must not create them, can
//! then always read.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode};

use super::StoreError;
use super::schema::shown;

/// The companions of a database file, in the order they are checked.
pub(crate) const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-turn"];

/// `db` with `suffix` appended: `crm.db-wal`.
pub(crate) fn companion(db: &Path, suffix: &str) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// The folder holding `db` (`.` for a bare file name).
pub(crate) fn folder(db: &Path) -> PathBuf {
    match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The WAL size a writer truncates `-wal` to after a checkpoint reset it, and the
/// size it leaves when it closes (none: a persistent WAL is emptied on close). Larger
/// than the WAL ever grows between checkpoints (the fallback checkpoint runs at 8000
/// pages, 32 MiB), so it costs nothing while running.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Makes the last writer to close keep `-wal` (emptied) and `-shm` instead of deleting
/// them, for readers who may not create them. Set on every connection that may write.
pub(crate) fn keep_companions(conn: &Connection) -> rusqlite::Result<()> {
    let mut on: std::ffi::c_int = 1;
    // SAFETY: the handle is this open connection's; SQLITE_FCNTL_PERSIST_WAL takes a
    // pointer to one int, which lives across the call; "main" is NUL-terminated.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut on).cast(),
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rc),
            Some("cannot keep the WAL files".into()),
        ));
    }
    conn.query_row(
        &format!("PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}"),
        [],
        |r| r.get::<_, i64>(0),
    )?;
    Ok(())
}

/// How a file is to be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// As SQLite does: it creates `-wal` and `-shm` if they are missing.
    Normal,
    /// A WAL file at rest in a folder where nobody can create files (or on a read-only
    /// file system): read as immutable, which needs neither companion. Nobody can
    /// write it meanwhile: a writer would need a `-wal` it cannot create.
    Immutable,
}

/// What a process needs of the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Read,
    Write,
}

/// A problem in one line, for `switchboard check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub ok: bool,
    pub detail: String,
    pub fix: Option<String>,
}

/// `err` in terms of the files: when SQLite could not open or write them and a file,
/// a companion or a folder keeps this user out, the [`StoreError::Permission`] that
/// names it. A read-only refusal nothing here explains says where to look.
pub(crate) fn explain(db: &Path, err: StoreError) -> StoreError {
    let StoreError::Sqlite(e) = &err else {
        return err;
    };
    let moved = matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_READONLY_DBMOVED);
    let need = match e.sqlite_error_code() {
        // The file was moved or removed while open: nothing to do with permissions.
        Some(ErrorCode::ReadOnly) if moved => return err,
        Some(ErrorCode::ReadOnly) => Need::Write,
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => Need::Read,
        _ => return err,
    };
    if let Some(found) = why_cannot(db, need) {
        return found;
    }
    if need == Need::Write {
        return StoreError::Io(format!(
            "cannot write {}: {e} (it, its -wal or -shm was read-only when this process opened it); `switchboard --db {} check` shows what is in the way",
            shown(db),
            shell_quote(&shown(db))
        ));
    }
    err
}

/// `text` as one shell word.
pub(crate) fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(unix)]
mod access;
#[cfg(unix)]
mod report;
#[cfg(unix)]
mod user;

#[cfg(unix)]
pub(crate) use access::{create_database, match_companions, match_database, plan, why_cannot};
#[cfg(unix)]
pub(crate) use report::file_findings;

/// A file that cannot be created because its folder is missing: names the folder.
fn missing_folder(db: &Path, e: &std::io::Error) -> StoreError {
    let folder = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if folder.exists() {
        return StoreError::Io(format!("cannot create {}: {e}", shown(db)));
    }
    StoreError::Io(format!(
        "cannot create {}: the folder {} does not exist (create it first, e.g. mkdir -p {})",
        shown(db),
        shown(folder),
        shown(folder)
    ))
}

#[cfg(not(unix))]
pub(crate) fn create_database(db: &Path) -> Result<(), StoreError> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(db)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(missing_folder(db, &e)),
        Err(e) => Err(StoreError::Io(format!("cannot create {}: {e}", shown(db)))),
    }
}

#[cfg(not(unix))]
pub(crate) fn match_database(_db: &Path, _companion: &Path) {}

#[cfg(not(unix))]
pub(crate) fn match_companions(_db: &Path) {}

#[cfg(not(unix))]
pub(crate) fn plan(_db: &Path, _wal: bool) -> Result<Plan, StoreError> {
    Ok(Plan::Normal)
}

#[cfg(not(unix))]
pub(crate) fn why_cannot(_db: &Path, _need: Need) -> Option<StoreError> {
    None
}

#[cfg(not(unix))]
pub(crate) fn file_findings(db: &Path) -> Vec<(String, Finding)> {
    vec![(
        "file".into(),
        Finding {
            ok: true,
            detail: format!(
                "{}: owners and modes are not checked on this system",
                shown(db)
            ),
            fix: None,
        },
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Denied;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/srv/crm/crm.db-wal"), "/srv/crm/crm.db-wal");
        assert_eq!(shell_quote("/srv/my crm/x.db"), "'/srv/my crm/x.db'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn a_permission_message_names_the_file_or_its_folder() {
        let error = |target: &str, path: &str, fix: &str| {
            StoreError::Permission(Box::new(Denied {
                action: "write",
                target: target.into(),
                path: path.into(),
                owner: "u2".into(),
                group: "u2".into(),
                mode: 0o644,
                why: "not writable by you (u1)".into(),
                fix: fix.into(),
            }))
        };
        let wal = "/srv/crm/crm.db-wal";
        assert_eq!(
            error(
                wal,
                wal,
                "chgrp crm /srv/crm/crm.db-wal && chmod 664 /srv/crm/crm.db-wal (as u2 or root)"
            )
            .to_string(),
            "cannot write /srv/crm/crm.db-wal: owned by u2:u2 mode 0644, not writable by you (u1); \
             fix: chgrp crm /srv/crm/crm.db-wal && chmod 664 /srv/crm/crm.db-wal (as u2 or root)"
        );
        let dir = error(wal, "/srv/crm", "x").to_string();
        assert!(
            dir.starts_with(
                "cannot write /srv/crm/crm.db-wal: folder /srv/crm owned by u2:u2 mode 0644"
            ),
            "{dir}"
        );
    }

    #[test]
    fn companions_are_named_after_the_file() {
        assert_eq!(
            companion(Path::new("/a/b.db"), "-wal"),
            PathBuf::from("/a/b.db-wal")
        );
        assert_eq!(folder(Path::new("b.db")), PathBuf::from("."));
        assert_eq!(folder(Path::new("/a/b.db")), PathBuf::from("/a"));
    }
}
