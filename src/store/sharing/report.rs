//! `switchboard check` of the files: the database file, its folder and each companion
//! against the file's group and mode, each with the command that fixes it.

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::access::{by, companion_fix};
use super::user::{Me, access, group_name, user_name};
use super::{COMPANIONS, Finding, companion, folder, shell_quote};
use crate::store::schema::shown;

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
