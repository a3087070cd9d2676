//! Creating and opening the files of a shared database as a group, and the refusal
//! that names the file or folder in the way, its owner and mode, and the command that
//! fixes it.

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::user::{Me, access, group_name, may_create_in, nobody_creates_in, user_name};
use super::{COMPANIONS, Need, Plan, companion, folder, shell_quote};
use crate::store::schema::shown;
use crate::store::{Denied, StoreError};

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
    let (Ok(dbm), Ok(cm)) = (std::fs::metadata(db), std::fs::symlink_metadata(companion)) else {
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
pub(super) fn by(owner_uid: u32) -> String {
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
pub(super) fn companion_fix(me: &Me, file: &Path, meta: &Metadata, db: &Metadata) -> String {
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
