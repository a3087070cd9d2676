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
pub(crate) use unix::{
    create_database, file_findings, match_companions, match_database, plan, why_cannot,
};

#[cfg(unix)]
mod unix {
    use std::ffi::{CStr, CString};
    use std::fs::Metadata;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    use super::super::Denied;
    use super::super::StoreError;
    use super::super::schema::{escape, shown};
    use super::{COMPANIONS, Finding, Need, Plan, companion, folder, shell_quote};

    /// The user this process acts as.
    struct Me {
        uid: u32,
        gid: u32,
        groups: Vec<u32>,
    }

    impl Me {
        fn current() -> Me {
            // SAFETY: geteuid, getegid have no preconditions; getgroups writes at most
            // `n` ids into a buffer of `n`.
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            let mut groups = Vec::new();
            let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
            if n > 0 {
                groups.resize(n as usize, 0);
                let got = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
                groups.truncate(got.max(0) as usize);
            }
            Me { uid, gid, groups }
        }

        fn in_group(&self, gid: u32) -> bool {
            self.gid == gid || self.groups.contains(&gid)
        }

        fn name(&self) -> String {
            user_name(self.uid)
        }
    }

    /// The name of `uid`, escaped, or its number.
    pub(crate) fn user_name(uid: u32) -> String {
        lookup(|buf, out| {
            let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
            let mut result = std::ptr::null_mut();
            // SAFETY: every pointer is valid for the call; buf.len() is its size.
            let rc = unsafe {
                libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result)
            };
            if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
                // SAFETY: pw_name points into buf, NUL-terminated by getpwuid_r.
                *out = Some(
                    unsafe { CStr::from_ptr(pwd.pw_name) }
                        .to_string_lossy()
                        .into(),
                );
            }
            rc
        })
        .unwrap_or_else(|| uid.to_string())
    }

    /// The name of `gid`, escaped, or its number.
    pub(crate) fn group_name(gid: u32) -> String {
        lookup(|buf, out| {
            let mut grp: libc::group = unsafe { std::mem::zeroed() };
            let mut result = std::ptr::null_mut();
            // SAFETY: every pointer is valid for the call; buf.len() is its size.
            let rc = unsafe {
                libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result)
            };
            if rc == 0 && !result.is_null() && !grp.gr_name.is_null() {
                // SAFETY: gr_name points into buf, NUL-terminated by getgrgid_r.
                *out = Some(
                    unsafe { CStr::from_ptr(grp.gr_name) }
                        .to_string_lossy()
                        .into(),
                );
            }
            rc
        })
        .unwrap_or_else(|| gid.to_string())
    }

    /// Runs a `get*_r` call with a buffer that grows while it is too small.
    fn lookup(
        mut call: impl FnMut(&mut [libc::c_char], &mut Option<String>) -> libc::c_int,
    ) -> Option<String> {
        let mut buf = vec![0 as libc::c_char; 1024];
        loop {
            let mut out = None;
            let rc = call(&mut buf, &mut out);
            if rc == libc::ERANGE && buf.len() < 1 << 20 {
                buf.resize(buf.len() * 4, 0);
                continue;
            }
            return out.map(|s| escape(&s));
        }
    }

    /// `faccessat` with the effective ids (the ones the kernel checks on open).
    fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: a valid NUL-terminated path; no memory is written.
        if unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn read_only_fs(path: &Path) -> bool {
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid NUL-terminated path and a statvfs to fill.
        unsafe { libc::statvfs(c.as_ptr(), &mut st) == 0 && st.f_flag & libc::ST_RDONLY != 0 }
    }

    fn may_create_in(dir: &Path) -> bool {
        access(dir, libc::W_OK | libc::X_OK).is_ok()
    }

    /// Creates a new, empty database file before SQLite does, so that it honours the
    /// umask (SQLite creates files 0644 whatever the umask). `O_EXCL`: if another
    /// process creates it first, that file is used as it is.
    pub(crate) fn create_database(db: &Path) -> Result<(), StoreError> {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(db)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(super::missing_folder(db, &e)),
            Err(e) => Err(why_cannot(db, Need::Write)
                .unwrap_or_else(|| StoreError::Io(format!("cannot create {}: {e}", shown(db))))),
        }
    }

    /// Gives `companion` the group and the read/write bits of `db`, when this process
    /// owns `companion` (root gives it the database's owner as well, as SQLite does
    /// for `-wal` and `-shm`). Best effort: a failure leaves the file as it was, and
    /// `switchboard check` reports it.
    pub(crate) fn match_database(db: &Path, companion: &Path) {
        let (Ok(dbm), Ok(cm)) = (std::fs::metadata(db), std::fs::symlink_metadata(companion))
        else {
            return;
        };
        let me = Me::current();
        if cm.uid() != me.uid || !cm.file_type().is_file() {
            return;
        }
        if me.uid == 0 && cm.uid() != dbm.uid() {
            let _ = std::os::unix::fs::chown(companion, Some(dbm.uid()), Some(dbm.gid()));
        } else if cm.gid() != dbm.gid() {
            let _ = std::os::unix::fs::chown(companion, None, Some(dbm.gid()));
        }
        let want = dbm.mode() & 0o666;
        if cm.mode() & 0o7777 != want {
            let _ = std::fs::set_permissions(companion, std::fs::Permissions::from_mode(want));
        }
    }

    /// [`match_database`] for each companion of `db` that exists.
    pub(crate) fn match_companions(db: &Path) {
        for suffix in COMPANIONS {
            match_database(db, &companion(db, suffix));
        }
    }

    /// How to open an existing SQLite file (`wal`: its header says WAL mode) without
    /// leaving anything its writers cannot use.
    ///
    /// With `-wal` and `-shm` both present, SQLite creates nothing. Otherwise it would
    /// create them as this user: fine for a user who may write the file (they get its
    /// group and mode right after), not for one who may only read it (the writers
    /// could not write files that user owns), who is refused with the reason and the
    /// fix, unless nobody at all can create files in the folder.
    pub(crate) fn plan(db: &Path, wal: bool) -> Result<Plan, StoreError> {
        if !wal {
            return Ok(Plan::Normal);
        }
        let wal_file = std::fs::symlink_metadata(companion(db, "-wal")).ok();
        let shm_file = std::fs::symlink_metadata(companion(db, "-shm")).ok();
        if wal_file.is_some() && shm_file.is_some() {
            return Ok(Plan::Normal);
        }
        let dir = folder(db);
        let log_empty = wal_file.as_ref().is_none_or(|m| m.len() == 0);
        if log_empty && nobody_creates_in(&dir) {
            return Ok(Plan::Immutable);
        }
        if access(db, libc::W_OK).is_ok() {
            return Ok(Plan::Normal);
        }
        let missing: Vec<&str> = [("-wal", &wal_file), ("-shm", &shm_file)]
            .into_iter()
            .filter(|(_, m)| m.is_none())
            .map(|(s, _)| s)
            .collect();
        Err(reader_missing(db, &dir, &missing))
    }

    /// Whether no one (root aside) can create a file in `dir`.
    fn nobody_creates_in(dir: &Path) -> bool {
        if read_only_fs(dir) {
            return true;
        }
        std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o222 == 0) && !may_create_in(dir)
    }

    /// The refusal of a user who may only read `db` when its `missing` companions would
    /// have to be created.
    fn reader_missing(db: &Path, dir: &Path, missing: &[&str]) -> StoreError {
        let me = Me::current();
        let names: Vec<String> = missing.iter().map(|s| shown(&companion(db, s))).collect();
        let names = names.join(" and ");
        let mut fix = format!(
            "run `switchboard --db {} init` once as a user who may write it; writers keep {} for readers",
            shell_quote(&shown(db)),
            if missing.len() == 1 { "it" } else { "both" }
        );
        if let Ok(meta) = std::fs::metadata(db)
            && me.in_group(meta.gid())
            && meta.mode() & 0o020 == 0
        {
            // In the file's group, which may not write it: most likely created under
            // umask 022 when it was meant to be shared.
            fix.push_str(&format!(
                "; or, if group {} is to write it: chmod g+rw {} {}",
                group_name(meta.gid()),
                shell_quote(&shown(db)),
                by(meta.uid())
            ));
        }
        let (path, why) = if may_create_in(dir) {
            (
                db.to_path_buf(),
                format!(
                    "not writable by you ({}), and {names} {} missing: files you create there would block its writers",
                    me.name(),
                    if missing.len() == 1 { "is" } else { "are" }
                ),
            )
        } else {
            (
                dir.to_path_buf(),
                format!(
                    "not writable by you ({}), and reading needs {names}, which {} missing",
                    me.name(),
                    if missing.len() == 1 { "is" } else { "are" }
                ),
            )
        };
        permission(&me, "read", db, &path, why, fix)
    }

    /// The first file or folder that keeps this user from `need` on `db` and its
    /// `-wal` and `-shm`: folders on the way, the file, each companion (or, when one is
    /// missing, the folder it is created in). `None` when nothing is in the way.
    pub(crate) fn why_cannot(db: &Path, need: Need) -> Option<StoreError> {
        let me = Me::current();
        if let Some(e) = unreachable(&me, db) {
            return Some(e);
        }
        let dir = folder(db);
        let bits = match need {
            Need::Read => libc::R_OK,
            Need::Write => libc::R_OK | libc::W_OK,
        };
        let action = match need {
            Need::Read => "read",
            Need::Write => "write",
        };
        let db_meta = match std::fs::metadata(db) {
            Ok(m) => m,
            // A missing file is created only by a writer.
            Err(e) if e.kind() == io::ErrorKind::NotFound && need == Need::Write => {
                return folder_denied(&me, db, &dir, None);
            }
            Err(_) => return None,
        };
        if let Err(e) = access(db, bits) {
            return Some(denied(&me, action, db, &db_meta, need, &e, None));
        }
        let writer = access(db, libc::W_OK).is_ok();
        let mut missing = Vec::new();
        for suffix in ["-wal", "-shm"] {
            let c = companion(db, suffix);
            match std::fs::metadata(&c) {
                Ok(m) => {
                    if let Err(e) = access(&c, bits) {
                        return Some(denied(&me, action, &c, &m, need, &e, Some(&db_meta)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(suffix),
                Err(_) => {}
            }
        }
        if missing.is_empty() {
            return None;
        }
        if !writer {
            return Some(reader_missing(db, &dir, &missing));
        }
        folder_denied(&me, &companion(db, missing[0]), &dir, Some(db_meta.gid()))
    }

    /// The highest folder on the way to `db` this user may not search.
    fn unreachable(me: &Me, db: &Path) -> Option<StoreError> {
        let dir = folder(db);
        // Only a refusal: a folder that is missing or not a folder is another matter.
        let refused =
            |p: &Path| access(p, libc::X_OK).is_err_and(|e| e.raw_os_error() == Some(libc::EACCES));
        if !refused(&dir) {
            return None;
        }
        let mut chain: Vec<PathBuf> = dir.ancestors().map(Path::to_path_buf).collect();
        chain.reverse();
        let blocked = chain
            .into_iter()
            .filter(|p| !p.as_os_str().is_empty())
            .find(|p| refused(p))?;
        let meta = std::fs::metadata(&blocked).ok().filter(Metadata::is_dir)?;
        let why = format!("not searchable by you ({})", me.name());
        Some(StoreError::Permission(Box::new(Denied {
            action: "read",
            target: shown(db),
            path: shown(&blocked),
            owner: user_name(meta.uid()),
            group: group_name(meta.gid()),
            mode: meta.mode() & 0o7777,
            why,
            fix: grant(me, &blocked, &meta, "x", meta.gid()),
        })))
    }

    /// Creating `target` in `dir` is refused, if it is; `group` is the one the folder
    /// is to be shared with (the database file's, else the folder's own).
    fn folder_denied(me: &Me, target: &Path, dir: &Path, group: Option<u32>) -> Option<StoreError> {
        let err = access(dir, libc::W_OK | libc::X_OK).err()?;
        let meta = std::fs::metadata(dir).ok()?;
        let (why, fix) = if err.raw_os_error() == Some(libc::EROFS) {
            read_only_fs_words()
        } else {
            (
                format!("not writable by you ({})", me.name()),
                grant(me, dir, &meta, "wx", group.unwrap_or(meta.gid())),
            )
        };
        Some(StoreError::Permission(Box::new(Denied {
            action: "create",
            target: shown(target),
            path: shown(dir),
            owner: user_name(meta.uid()),
            group: group_name(meta.gid()),
            mode: meta.mode() & 0o7777,
            why,
            fix,
        })))
    }

    fn read_only_fs_words() -> (String, String) {
        (
            "on a read-only file system".to_string(),
            "mount it read-write, or copy the file to a writable folder".to_string(),
        )
    }

    /// `file` refuses `need`; for a companion, `db` is the database's metadata, whose
    /// group and mode the fix gives it.
    fn denied(
        me: &Me,
        action: &'static str,
        file: &Path,
        meta: &Metadata,
        need: Need,
        err: &io::Error,
        db: Option<&Metadata>,
    ) -> StoreError {
        let verb = match need {
            Need::Read => "readable",
            Need::Write => "writable",
        };
        let (why, fix) = if err.raw_os_error() == Some(libc::EROFS) {
            read_only_fs_words()
        } else {
            let why = format!("not {verb} by you ({})", me.name());
            let fix = match db {
                Some(db) => companion_fix(me, file, meta, db),
                None => {
                    let mut targets = vec![file.to_path_buf()];
                    targets.extend(
                        COMPANIONS
                            .iter()
                            .map(|s| companion(file, s))
                            .filter(|c| c.exists()),
                    );
                    let bits = if need == Need::Read { "r" } else { "rw" };
                    grant_all(me, &targets, meta, bits, meta.gid())
                }
            };
            (why, fix)
        };
        permission_from(action, file, file, meta, why, fix)
    }

    fn permission(
        me: &Me,
        action: &'static str,
        target: &Path,
        path: &Path,
        why: String,
        fix: String,
    ) -> StoreError {
        match std::fs::metadata(path) {
            Ok(meta) => permission_from(action, target, path, &meta, why, fix),
            Err(_) => StoreError::Permission(Box::new(Denied {
                action,
                target: shown(target),
                path: shown(path),
                owner: me.name(),
                group: group_name(me.gid),
                mode: 0,
                why,
                fix,
            })),
        }
    }

    fn permission_from(
        action: &'static str,
        target: &Path,
        path: &Path,
        meta: &Metadata,
        why: String,
        fix: String,
    ) -> StoreError {
        StoreError::Permission(Box::new(Denied {
            action,
            target: shown(target),
            path: shown(path),
            owner: user_name(meta.uid()),
            group: group_name(meta.gid()),
            mode: meta.mode() & 0o7777,
            why,
            fix,
        }))
    }

    /// "(as u1 or root)", "(as root)".
    fn by(owner_uid: u32) -> String {
        if owner_uid == 0 {
            "(as root)".to_string()
        } else {
            format!("(as {} or root)", user_name(owner_uid))
        }
    }

    /// The command that lets `me` have `bits` (`r`, `rw`, `x`, `wx`) on `path`, shared
    /// through `group` (a file's own group; for a folder, the database file's).
    fn grant(me: &Me, path: &Path, meta: &Metadata, bits: &str, group: u32) -> String {
        grant_all(me, &[path.to_path_buf()], meta, bits, group)
    }

    /// [`grant`] for several files alike (the first one's `meta` decides).
    fn grant_all(me: &Me, paths: &[PathBuf], meta: &Metadata, bits: &str, group: u32) -> String {
        let list: Vec<String> = paths.iter().map(|p| shell_quote(&shown(p))).collect();
        let list = list.join(" ");
        let by = by(meta.uid());
        // A shared folder: group members create files in it, which keep its group.
        let group_bits = if meta.is_dir() && bits.contains('w') {
            "rwxs"
        } else {
            bits
        };
        let class = (meta.mode() >> 3) & 0o7;
        let has = |c: char, bit: u32| !bits.contains(c) || class & bit != 0;
        let group_has_bits = has('r', 4) && has('w', 2) && has('x', 1);
        let mut steps = Vec::new();
        if meta.gid() != group {
            steps.push(format!("chgrp {} {list}", shell_quote(&group_name(group))));
        }
        if meta.gid() != group || !group_has_bits {
            steps.push(format!("chmod g+{group_bits} {list}"));
        }
        if meta.uid() == me.uid {
            format!("chmod u+{bits} {list}")
        } else if bits == "x" && meta.is_dir() && group == 0 {
            // Root's own folder: searching it is what others usually may.
            format!("chmod o+x {list} {by}")
        } else if group == 0 && !me.in_group(0) {
            // Nobody is to join root's group: share it through a group of its own.
            format!(
                "chgrp GROUP {list} && chmod g+{group_bits} {list} {by}, GROUP being a group {} is in",
                me.name()
            )
        } else if me.in_group(group) {
            format!("{} {by}", steps.join(" && "))
        } else {
            let mut fix = format!(
                "usermod -aG {} {} (as root; then log in again)",
                shell_quote(&group_name(group)),
                shell_quote(&me.name())
            );
            if !steps.is_empty() {
                fix.push_str(&format!(", and {} {by}", steps.join(" && ")));
            }
            fix
        }
    }

    /// The command that gives companion `file` the database's group and mode; root's
    /// `chown` when it must change hands (the database is not group-writable, so only
    /// its owner writes, and another user owns the companion).
    fn companion_fix(me: &Me, file: &Path, meta: &Metadata, db: &Metadata) -> String {
        let q = shell_quote(&shown(file));
        let want_mode = db.mode() & 0o666;
        let db_group = group_name(db.gid());
        let shared = db.mode() & 0o020 != 0;
        if meta.uid() != db.uid() && !shared {
            return format!(
                "chown {}:{} {q} && chmod {want_mode:o} {q} (as root)",
                shell_quote(&user_name(db.uid())),
                shell_quote(&db_group)
            );
        }
        let mut steps = Vec::new();
        if meta.gid() != db.gid() {
            steps.push(format!("chgrp {} {q}", shell_quote(&db_group)));
        }
        if meta.mode() & 0o7777 != want_mode {
            steps.push(format!("chmod {want_mode:o} {q}"));
        }
        if steps.is_empty() {
            // It matches the database already: this user lacks what the database's
            // writers have.
            return grant(me, file, meta, "rw", db.gid());
        }
        format!("{} {}", steps.join(" && "), by(meta.uid()))
    }

    /// `switchboard check` of the files: the database file, its folder and each
    /// companion against the file's group and mode.
    pub(crate) fn file_findings(db: &Path) -> Vec<(String, Finding)> {
        let me = Me::current();
        let mut out = Vec::new();
        let dir = folder(db);
        let q = |p: &Path| shell_quote(&shown(p));
        let db_meta = match std::fs::metadata(db) {
            Ok(m) => m,
            Err(e) => {
                let fix = (e.kind() == io::ErrorKind::NotFound)
                    .then(|| format!("switchboard --db {} init", q(db)));
                out.push((
                    "file".to_string(),
                    Finding {
                        ok: false,
                        detail: format!("{}: {e}", shown(db)),
                        fix,
                    },
                ));
                return out;
            }
        };
        let dir_meta = std::fs::metadata(&dir).ok();
        let owner = user_name(db_meta.uid());
        let group = group_name(db_meta.gid());
        let mode = db_meta.mode() & 0o7777;
        let shared = mode & 0o020 != 0;
        let yours = if access(db, libc::W_OK).is_ok() {
            format!("you ({}) may write it", me.name())
        } else {
            format!("you ({}) may only read it", me.name())
        };
        let sharing = if shared {
            format!("group {group} may write it")
        } else {
            format!("only {owner} may write it")
        };
        let file_detail = format!(
            "{}: owned by {owner}:{group} mode {mode:04o}; {sharing}; {yours}",
            shown(db)
        );
        // A folder shared with the file's group holding a file its group may not write:
        // the umask of whoever created it was not 002.
        let folder_shared = dir_meta.as_ref().is_some_and(|d| {
            d.gid() == db_meta.gid() && d.mode() & 0o030 == 0o030 && d.mode() & 0o2000 != 0
        });
        if !db_meta.is_file() {
            out.push((
                "file".into(),
                Finding {
                    ok: false,
                    detail: format!("{}: not a regular file", shown(db)),
                    fix: None,
                },
            ));
            return out;
        } else if folder_shared && !shared {
            let mut targets = vec![q(db)];
            targets.extend(
                COMPANIONS
                    .iter()
                    .map(|s| companion(db, s))
                    .filter(|c| c.exists())
                    .map(|c| q(&c)),
            );
            out.push((
                "file".into(),
                Finding {
                    ok: false,
                    detail: format!(
                        "{file_detail}; its folder is shared with group {group} but the file is not group-writable (created under umask 022?)"
                    ),
                    fix: Some(format!("chmod g+rw {} {}", targets.join(" "), by(db_meta.uid()))),
                },
            ));
        } else {
            out.push((
                "file".into(),
                Finding {
                    ok: true,
                    detail: file_detail,
                    fix: None,
                },
            ));
        }
        out.push((
            "folder".into(),
            folder_finding(&dir, dir_meta.as_ref(), &db_meta),
        ));
        for suffix in COMPANIONS {
            let c = companion(db, suffix);
            out.push((suffix.to_string(), companion_finding(&me, &c, &db_meta)));
        }
        out
    }

    fn folder_finding(dir: &Path, meta: Option<&Metadata>, db: &Metadata) -> Finding {
        let Some(meta) = meta else {
            return Finding {
                ok: false,
                detail: format!("{}: cannot be read", shown(dir)),
                fix: None,
            };
        };
        let owner = user_name(meta.uid());
        let group = group_name(meta.gid());
        let mode = meta.mode() & 0o7777;
        let detail = format!("{}: owned by {owner}:{group} mode {mode:04o}", shown(dir));
        let db_group = group_name(db.gid());
        if db.mode() & 0o020 == 0 {
            return Finding {
                ok: true,
                detail: format!("{detail}; the file is not shared by a group"),
                fix: None,
            };
        }
        let mut wrong = Vec::new();
        if meta.gid() != db.gid() {
            wrong.push(format!("its group is not the file's ({db_group})"));
        }
        if mode & 0o030 != 0o030 {
            wrong.push(format!(
                "group {group} may not create files in it (a missing -wal, -shm or -turn)"
            ));
        }
        if mode & 0o2000 == 0 {
            wrong.push("it is not setgid: files created in it take their creator's group".into());
        }
        if wrong.is_empty() {
            return Finding {
                ok: true,
                detail: format!("{detail}; setgid, group {group} may create files in it"),
                fix: None,
            };
        }
        let q = shell_quote(&shown(dir));
        let mut steps = Vec::new();
        if meta.gid() != db.gid() {
            steps.push(format!("chgrp {} {q}", shell_quote(&db_group)));
        }
        steps.push(format!("chmod g+rwxs {q}"));
        Finding {
            ok: false,
            detail: format!("{detail}; {}", wrong.join("; ")),
            fix: Some(format!("{} {}", steps.join(" && "), by(meta.uid()))),
        }
    }

    fn companion_finding(me: &Me, c: &Path, db: &Metadata) -> Finding {
        let meta = match std::fs::symlink_metadata(c) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Finding {
                    ok: true,
                    detail: format!(
                        "{}: absent; the next writer creates it with the file's group and mode",
                        shown(c)
                    ),
                    fix: None,
                };
            }
            Err(e) => {
                return Finding {
                    ok: false,
                    detail: format!("{}: {e}", shown(c)),
                    fix: None,
                };
            }
        };
        let owner = user_name(meta.uid());
        let group = group_name(meta.gid());
        let mode = meta.mode() & 0o7777;
        let detail = format!("{}: owned by {owner}:{group} mode {mode:04o}", shown(c));
        if !meta.file_type().is_file() {
            let q = shell_quote(&shown(c));
            return Finding {
                ok: false,
                detail: format!("{detail}; not a regular file"),
                fix: Some(format!("mv {q} {q}.moved {}", by(meta.uid()))),
            };
        }
        let want = db.mode() & 0o666;
        let mut wrong = Vec::new();
        if meta.gid() != db.gid() {
            wrong.push(format!(
                "group {group}, not the file's {}",
                group_name(db.gid())
            ));
        }
        if mode != want {
            wrong.push(format!("mode {mode:04o}, not the file's {want:04o}"));
        }
        if meta.uid() != db.uid() && db.mode() & 0o020 == 0 {
            wrong.push(format!(
                "the file is not group-writable, so only its owner {} writes, and cannot write this",
                user_name(db.uid())
            ));
        }
        if wrong.is_empty() {
            return Finding {
                ok: true,
                detail: format!("{detail}; matches the file"),
                fix: None,
            };
        }
        Finding {
            ok: false,
            detail: format!("{detail}; {}", wrong.join("; ")),
            fix: Some(companion_fix(me, c, &meta, db)),
        }
    }
}

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
