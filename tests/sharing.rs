//! One file shared by several Unix users, through the real binary run as each of them.
//!
//! Needs root, to create the users and to act as them: the group `sbtest`, its members
//! `sbu1` and `sbu2` (each with a primary group of its own, as `useradd -U` makes
//! them) and `sbro`, outside the group, who may only read. They are created when
//! missing and reused afterwards. Without root every test says it was skipped.
#![cfg(unix)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{BIN, assert_one_error_line, assert_success, stdout};
use serde_json::Value;

const GROUP: &str = "sbtest";
const U1: &str = "sbu1";
const U2: &str = "sbu2";
/// Outside the group: may read what others may read, nothing more.
const RO: &str = "sbro";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a setup command as root; its failure is the test's.
fn sh(script: &str) -> Output {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    assert_success(&out, &script);
    out
}

fn succeeds(script: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The users and group, made once per process. `Err` says why the tests cannot run.
fn users() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            for tool in ["useradd", "usermod", "groupadd", "setpriv", "id", "getent"] {
                if !succeeds(&format!("command -v {tool}")) {
                    return Err(format!("{tool} is missing"));
                }
            }
            if !succeeds(&format!("getent group {GROUP}")) {
                sh(&format!("groupadd {GROUP}"));
            }
            for user in [U1, U2] {
                if succeeds(&format!("id {user}")) {
                    sh(&format!("usermod -aG {GROUP} {user}"));
                } else {
                    sh(&format!(
                        "useradd -M -U -G {GROUP} -s /usr/sbin/nologin {user}"
                    ));
                }
            }
            if !succeeds(&format!("id {RO}")) {
                sh(&format!("useradd -M -U -s /usr/sbin/nologin {RO}"));
            }
            let groups = |u: &str| stdout(&sh(&format!("id -Gn {u}"))).trim().to_string();
            if groups(RO).split(' ').any(|g| g == GROUP) {
                return Err(format!("{RO} exists and is in {GROUP}; it must not be"));
            }
            for user in [U1, U2] {
                if primary_group(user) == GROUP {
                    return Err(format!(
                        "{user} exists with primary group {GROUP}; these tests need one of its own"
                    ));
                }
            }
            Ok(())
        })
        .clone()
}

fn primary_group(user: &str) -> String {
    stdout(&sh(&format!("id -gn {user}"))).trim().to_string()
}

fn uid(user: &str) -> u32 {
    stdout(&sh(&format!("id -u {user}")))
        .trim()
        .parse()
        .unwrap()
}

fn gid(group: &str) -> u32 {
    let line = stdout(&sh(&format!("getent group {group}")));
    line.split(':').nth(2).unwrap().parse().unwrap()
}

/// `owner:group` and the permission bits of `path`.
fn stat(path: &Path) -> (String, u32) {
    let out = stdout(&sh(&format!("stat -c '%U:%G %a' '{}'", path.display())));
    let (who, mode) = out.trim().split_once(' ').unwrap();
    (who.to_string(), u32::from_str_radix(mode, 8).unwrap())
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

/// Whether every folder on the way to `path` may be searched, and `path` read and run,
/// by users other than its owner.
fn reachable_by_others(path: &Path) -> bool {
    let searchable = path
        .ancestors()
        .skip(1)
        .filter(|p| !p.as_os_str().is_empty())
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.mode() & 0o001 != 0));
    searchable && std::fs::metadata(path).is_ok_and(|m| m.mode() & 0o005 == 0o005)
}

/// A temporary place the test users can reach, removed on drop.
struct Env {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Env {
    /// `None`, with a message saying so, when the test cannot run here.
    fn new(test: &str) -> Option<Env> {
        if !is_root() {
            eprintln!("{test}: skipped: needs root, to create test users and run as them");
            return None;
        }
        if let Err(why) = users() {
            eprintln!("{test}: skipped: {why}");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut bin = PathBuf::from(BIN);
        if !reachable_by_others(&bin) {
            let copy = dir.path().join("switchboard");
            std::fs::copy(&bin, &copy).expect("copy the binary");
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
            bin = copy;
        }
        Some(Env { dir, bin })
    }

    /// A folder `name` owned by `owner:group` with `mode`.
    fn folder(&self, name: &str, owner: &str, group: &str, mode: u32) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(uid(owner)), Some(gid(group))).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// The recommended setup: a folder of the group, setgid, group-writable.
    fn shared_folder(&self) -> PathBuf {
        self.folder("crm", "root", GROUP, 0o2775)
    }

    /// Runs `sh -c script` as `user` (its primary group and its groups), with `umask`.
    fn command_as(&self, user: &str, umask: &str, script: &str, args: &[&str]) -> Command {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            user,
            "--regid",
            &primary_group(user),
            "--init-groups",
        ])
        .args(["--", "sh", "-c"])
        .arg(format!("umask {umask}; {script}"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("USER", user)
        .env("NO_COLOR", "1")
        .env("SWITCHBOARD_SEED", "42")
        .current_dir(self.dir.path())
        .stdin(Stdio::null());
        c
    }

    /// The binary as `user` under `umask` on `db`.
    fn run(&self, user: &str, umask: &str, db: &Path, args: &[&str]) -> Output {
        let db = db.to_str().unwrap();
        let bin = self.bin.to_str().unwrap();
        let mut all = vec![bin, "--db", db];
        all.extend_from_slice(args);
        self.command_as(user, umask, r#"exec "$0" "$@""#, &all)
            .output()
            .expect("run switchboard")
    }

    fn ok(&self, user: &str, db: &Path, args: &[&str]) -> String {
        let out = self.run(user, "002", db, args);
        assert_success(&out, &(user, args));
        stdout(&out)
    }

    /// A failure in one `error:` line; returns the line.
    fn fail(&self, user: &str, db: &Path, args: &[&str]) -> String {
        let out = self.run(user, "002", db, args);
        assert_one_error_line(&out, &(user, args))
    }

    /// A shell command as `user`, which must succeed (a fix the binary printed).
    fn shell_as(&self, user: &str, script: &str) {
        let out = self.command_as(user, "002", script, &[]).output().unwrap();
        assert_success(&out, &(user, script));
    }

    /// `switchboard check` as `user`: exit code and stdout.
    fn check(&self, user: &str, db: &Path) -> (i32, String) {
        let out = self.run(user, "002", db, &["check"]);
        common::assert_no_panic(&common::stderr(&out));
        (out.status.code().unwrap_or(-1), stdout(&out))
    }
}

/// The check's line about `name`.
fn line_of<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{report}"))
}

/// The command of a fix: the text after "fix: " without "(as … or root)".
fn fix_of(line: &str) -> String {
    let fix = line.split_once("fix: ").expect("a fix").1;
    fix.rsplit_once(" (as ")
        .map_or(fix, |(cmd, _)| cmd)
        .to_string()
}

/// The issue's sequence: a member of the group reads first, then the other writes
/// again; someone outside the group reads too. Nothing anyone left blocks a writer.
#[test]
fn a_reader_does_not_lock_the_writers_out() {
    let Some(env) = Env::new("a_reader_does_not_lock_the_writers_out") else {
        return;
    };
    let dir = env.shared_folder();
    let db = dir.join("crm.db");
    env.ok(U1, &db, &["init"]);
    env.ok(U1, &db, &["operator", "add", "ann"]);
    assert!(env.ok(U2, &db, &["operator", "list"]).contains("ann"));
    env.ok(U1, &db, &["operator", "add", "bob"]);
    assert!(env.ok(RO, &db, &["operator", "list"]).contains("bob"));
    assert!(
        env.ok(RO, &db, &["--read-only", "operator", "list"])
            .contains("bob")
    );
    env.ok(U1, &db, &["operator", "add", "carl"]);
    env.ok(U2, &db, &["operator", "add", "dan"]);
    assert_eq!(
        listing(&dir),
        ["crm.db", "crm.db-shm", "crm.db-turn", "crm.db-wal"]
    );
    for name in listing(&dir) {
        let (who, mode) = stat(&dir.join(&name));
        assert!(who.ends_with(&format!(":{GROUP}")), "{name}: {who}");
        assert!(!who.starts_with(RO), "{name}: {who}");
        assert_eq!(mode, 0o664, "{name}");
    }
    // Writers keep -wal, emptied, and -shm when they close, for readers.
    assert_eq!(
        std::fs::metadata(with_suffix(&db, "-wal")).unwrap().len(),
        0
    );
    let (code, report) = env.check(U2, &db);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn new_files_honour_the_umask() {
    let Some(env) = Env::new("new_files_honour_the_umask") else {
        return;
    };
    let dir = env.shared_folder();
    for (umask, want) in [("002", 0o664), ("022", 0o644), ("077", 0o600)] {
        let db = dir.join(format!("u{umask}.db"));
        let out = env.run(U1, umask, &db, &["init"]);
        assert_success(&out, &umask);
        for suffix in ["", "-wal", "-shm", "-turn"] {
            let (who, mode) = stat(&with_suffix(&db, suffix));
            assert_eq!(mode, want, "umask {umask}: {suffix}");
            assert_eq!(who, format!("{U1}:{GROUP}"), "umask {umask}: {suffix}");
        }
    }
}

/// Without a setgid folder, companions start with their creator's primary group;
/// switchboard gives them the file's group and mode at once.
#[test]
fn companions_take_the_file_group_whoever_creates_them() {
    let Some(env) = Env::new("companions_take_the_file_group_whoever_creates_them") else {
        return;
    };
    let dir = env.folder("plain", "root", GROUP, 0o775);
    let db = dir.join("crm.db");
    env.ok(U1, &db, &["init"]);
    assert_eq!(stat(&db), (format!("{U1}:{}", primary_group(U1)), 0o664));
    // The admin shares it with the group; nobody has it open, so the companions can
    // go, and sbu2 is the first to open it again.
    std::os::unix::fs::chown(&db, None, Some(gid(GROUP))).unwrap();
    for suffix in ["-wal", "-shm", "-turn"] {
        std::fs::remove_file(with_suffix(&db, suffix)).unwrap();
    }
    env.ok(U2, &db, &["operator", "add", "ann"]);
    for suffix in ["-wal", "-shm", "-turn"] {
        assert_eq!(
            stat(&with_suffix(&db, suffix)),
            (format!("{U2}:{GROUP}"), 0o664),
            "{suffix}"
        );
    }
    env.ok(U1, &db, &["operator", "add", "bob"]);
    // The folder works, but is not what the README asks for: check says so.
    let (code, report) = env.check(U1, &db);
    assert_eq!(code, 1, "{report}");
    let folder = line_of(&report, "folder");
    assert!(folder.starts_with("PROBLEM"), "{folder}");
    assert!(folder.contains("not setgid"), "{folder}");
    assert_eq!(fix_of(folder), format!("chmod g+rwxs {}", dir.display()));
    sh(&fix_of(folder));
    let (code, report) = env.check(U1, &db);
    assert_eq!(code, 0, "{report}");
}

/// A `-wal` or `-shm` owned by another user with mode 0644, as older builds left them:
/// the writer's error names the file, its owner and mode, and the fix, which works.
#[test]
fn a_companion_that_keeps_a_writer_out_is_named_with_its_fix() {
    let Some(env) = Env::new("a_companion_that_keeps_a_writer_out_is_named_with_its_fix") else {
        return;
    };
    let dir = env.shared_folder();
    let db = dir.join("crm.db");
    env.ok(U1, &db, &["init"]);
    for (n, suffix) in ["-wal", "-shm"].into_iter().enumerate() {
        let file = with_suffix(&db, suffix);
        std::os::unix::fs::chown(&file, Some(uid(U2)), Some(gid(&primary_group(U2)))).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let f = file.display();
        let line = env.fail(U1, &db, &["operator", "add", &format!("op{n}")]);
        assert_eq!(
            line,
            format!(
                "error: cannot write {f}: owned by {U2}:{U2g} mode 0644, not writable by you ({U1}); \
                 fix: chgrp {GROUP} {f} && chmod 664 {f} (as {U2} or root)",
                U2g = primary_group(U2)
            )
        );
        let (code, report) = env.check(U1, &db);
        assert_eq!(code, 1, "{report}");
        let found = line_of(&report, suffix);
        assert!(found.starts_with("PROBLEM"), "{found}");
        assert!(found.contains("mode 0644, not the file's 0664"), "{found}");
        assert_eq!(fix_of(found), fix_of(&line));
        // The fix, run by the user it names.
        env.shell_as(U2, &fix_of(&line));
        env.ok(U1, &db, &["operator", "add", &format!("op{n}")]);
        assert_eq!(env.check(U1, &db).0, 0);
    }
}

/// `init` on a file this user may not write fails and says why; reading it still
/// works and leaves nothing behind.
#[test]
fn init_on_a_file_it_cannot_write_fails_and_says_why() {
    let Some(env) = Env::new("init_on_a_file_it_cannot_write_fails_and_says_why") else {
        return;
    };
    let dir = env.shared_folder();
    let db = dir.join("crm.db");
    let out = env.run(U1, "022", &db, &["init"]);
    assert_success(&out, &"init under umask 022");
    env.ok(U1, &db, &["operator", "add", "ann"]);
    let d = db.display();
    let line = env.fail(U2, &db, &["init"]);
    assert_eq!(
        line,
        format!(
            "error: cannot write {d}: owned by {U1}:{GROUP} mode 0644, not writable by you ({U2}); \
             fix: chmod g+rw {d} {d}-wal {d}-shm {d}-turn (as {U1} or root)"
        )
    );
    let line = env.fail(RO, &db, &["init"]);
    assert!(
        line.contains(&format!(
            "not writable by you ({RO}); fix: usermod -aG {GROUP} {RO} (as root; then log in again)"
        )),
        "{line}"
    );
    // Reading is fine, and creates nothing.
    let before = listing(&dir);
    assert!(env.ok(U2, &db, &["operator", "list"]).contains("ann"));
    assert!(env.ok(RO, &db, &["operator", "list"]).contains("ann"));
    assert_eq!(listing(&dir), before);
    for name in &before {
        assert!(stat(&dir.join(name)).0.starts_with(U1), "{name}");
    }
    // Without -wal and -shm, a member of the group who may only read would have to
    // create them: refused, with both ways out.
    for suffix in ["-wal", "-shm"] {
        std::fs::remove_file(with_suffix(&db, suffix)).unwrap();
    }
    let line = env.fail(U2, &db, &["operator", "list"]);
    assert_eq!(
        line,
        format!(
            "error: cannot read {d}: owned by {U1}:{GROUP} mode 0644, not writable by you ({U2}), \
             and {d}-wal and {d}-shm are missing: files you create there would block its writers; \
             fix: run `switchboard --db {d} init` once as a user who may write it; writers keep both \
             for readers; or, if group {GROUP} is to write it: chmod g+rw {d} (as {U1} or root)"
        )
    );
    assert_eq!(listing(&dir), ["crm.db", "crm.db-turn"]);
    // The first fix of the first error, by the owner: now sbu2 may write.
    let fix = format!("chmod g+rw {d} {d}-turn");
    env.shell_as(U1, &fix);
    env.ok(U2, &db, &["init"]);
    env.ok(U2, &db, &["operator", "add", "bob"]);
    // A new file in a folder this user may not write.
    let new = dir.join("new.db");
    let line = env.fail(RO, &new, &["init"]);
    assert_eq!(
        line,
        format!(
            "error: cannot create {}: folder {} owned by root:{GROUP} mode 2775, not writable by you ({RO}); \
             fix: usermod -aG {GROUP} {RO} (as root; then log in again)",
            new.display(),
            dir.display()
        )
    );
    assert!(!new.exists());
}

/// A folder nobody may write: a file at rest in it is read as it is. A shared folder
/// whose `-wal` and `-shm` are gone: a reader who may not create them is told why and
/// how to get them back.
#[test]
fn reading_in_a_read_only_folder_works_or_says_why_not() {
    let Some(env) = Env::new("reading_in_a_read_only_folder_works_or_says_why_not") else {
        return;
    };
    let shared = env.shared_folder();
    let db = shared.join("crm.db");
    env.ok(U1, &db, &["init"]);
    env.ok(U1, &db, &["operator", "add", "ann"]);

    let frozen = env.folder("frozen", "root", "root", 0o755);
    let copy = frozen.join("crm.db");
    std::fs::copy(&db, &copy).unwrap();
    std::os::unix::fs::chown(&copy, Some(uid(U1)), Some(gid(GROUP))).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o664)).unwrap();
    std::fs::set_permissions(&frozen, std::fs::Permissions::from_mode(0o555)).unwrap();
    for user in [U1, RO] {
        assert!(env.ok(user, &copy, &["operator", "list"]).contains("ann"));
        assert!(
            env.ok(user, &copy, &["--read-only", "operator", "list"])
                .contains("ann")
        );
    }
    let line = env.fail(U1, &copy, &["operator", "add", "bob"]);
    assert_eq!(
        line,
        format!(
            "error: cannot create {c}-wal: folder {f} owned by root:root mode 0555, not writable by you ({U1}); \
             fix: chgrp {GROUP} {f} && chmod g+rwxs {f} (as root)",
            c = copy.display(),
            f = frozen.display()
        )
    );
    assert_eq!(listing(&frozen), ["crm.db"]);

    for suffix in ["-wal", "-shm"] {
        std::fs::remove_file(with_suffix(&db, suffix)).unwrap();
    }
    let before = listing(&shared);
    let line = env.fail(RO, &db, &["operator", "list"]);
    let d = db.display();
    assert_eq!(
        line,
        format!(
            "error: cannot read {d}: folder {s} owned by root:{GROUP} mode 2775, not writable by you ({RO}), \
             and reading needs {d}-wal and {d}-shm, which are missing; \
             fix: run `switchboard --db {d} init` once as a user who may write it; writers keep both for readers",
            s = shared.display()
        )
    );
    assert_eq!(listing(&shared), before);
    env.ok(U1, &db, &["init"]);
    assert!(env.ok(RO, &db, &["operator", "list"]).contains("ann"));
}

#[test]
fn check_passes_on_a_good_setup_and_names_each_problem_with_its_fix() {
    let Some(env) = Env::new("check_passes_on_a_good_setup_and_names_each_problem_with_its_fix")
    else {
        return;
    };
    let dir = env.shared_folder();
    let db = dir.join("crm.db");
    let d = db.display();
    for args in [
        &["init"][..],
        &["operator", "add", "ann"],
        &["source", "add", "web"],
        &["weight", "set", "ann", "web", "1"],
        &["contact", "add", "--source", "web", "--email", "a@x.io"],
    ] {
        env.ok(U1, &db, args);
    }
    let (code, report) = env.check(U2, &db);
    assert_eq!(code, 0, "{report}");
    assert!(
        report.lines().rev().skip(1).all(|l| l.starts_with("ok ")),
        "{report}"
    );
    assert!(
        report.ends_with(&format!("{d}: all 9 checks passed\n")),
        "{report}"
    );
    assert!(line_of(&report, "integrity").ends_with("PRAGMA integrity_check: ok"));
    let json: Value = serde_json::from_str(&env.ok(U2, &db, &["--json", "check"])).unwrap();
    assert_eq!(json["ok"], true);
    let names: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "file",
            "folder",
            "-wal",
            "-shm",
            "-turn",
            "schema",
            "integrity",
            "loads",
            "counters"
        ]
    );

    // A -wal with another group (its owner is not the one who checks, who cannot fix it).
    let wal = with_suffix(&db, "-wal");
    std::os::unix::fs::chown(&wal, Some(uid(U2)), Some(gid(&primary_group(U2)))).unwrap();
    let (code, report) = env.check(U1, &db);
    assert_eq!(code, 1, "{report}");
    let found = line_of(&report, "-wal");
    assert_eq!(
        found,
        format!(
            "PROBLEM  -wal      {w}: owned by {U2}:{g} mode 0664; group {g}, not the file's {GROUP}; \
             fix: chgrp {GROUP} {w} (as {U2} or root)",
            w = wal.display(),
            g = primary_group(U2)
        )
    );
    let json: Value =
        serde_json::from_str(&stdout(&env.run(U1, "002", &db, &["--json", "check"]))).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["checks"][2]["ok"], false);
    assert_eq!(
        json["checks"][2]["fix"],
        format!("chgrp {GROUP} {} (as {U2} or root)", wal.display())
    );
    env.shell_as(U2, &fix_of(found));
    assert_eq!(env.check(U1, &db).0, 0);

    // A load changed by hand.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE operator SET load = 3 WHERE name = 'ann'", [])
        .unwrap();
    let (code, report) = env.check(U1, &db);
    assert_eq!(code, 1, "{report}");
    let found = line_of(&report, "loads");
    assert_eq!(
        found,
        format!(
            "PROBLEM  loads     operator #1 'ann' has load 3 but holds 1 active contact(s); \
             fix: switchboard --db {d} check --repair"
        )
    );
    let repaired = env.ok(U1, &db, &["check", "--repair"]);
    assert!(
        repaired.starts_with("repaired  operator #1 'ann': load 3 -> 1\n"),
        "{repaired}"
    );
    assert!(repaired.ends_with("all 9 checks passed\n"), "{repaired}");
    assert!(
        env.ok(U1, &db, &["audit"])
            .contains("operator.repair_load #1")
    );

    // The file made without group write in the group's folder.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, report) = env.check(U1, &db);
    assert_eq!(code, 1, "{report}");
    let found = line_of(&report, "file");
    assert!(found.starts_with("PROBLEM"), "{found}");
    assert_eq!(
        fix_of(found),
        format!("chmod g+rw {d} {d}-wal {d}-shm {d}-turn")
    );
    // The companions this user owns followed the file; the one fix covers them all.
    assert!(line_of(&report, "-wal").starts_with("ok"), "{report}");
    assert_eq!(stat(&with_suffix(&db, "-wal")).1, 0o644);
    env.shell_as(U1, &fix_of(found));
    let (code, report) = env.check(U1, &db);
    assert_eq!(code, 0, "{report}");
}
