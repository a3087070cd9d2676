//! Only switchboard's own files are opened for writing: other programs' SQLite files,
//! FIFOs, devices and folders are refused in one line and left exactly as they were,
//! through the real binary.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Db, assert_one_error_line, assert_success, bare_cmd, stderr};
use switchboard::store::latest_version;

/// switchboard's `PRAGMA application_id`, "SWBD". Written out here on purpose: files
/// in the field carry this value, so it must never change.
const SWITCHBOARD_ID: i32 = 0x5357_4244;

/// Every way in that opens the file: headless commands, and the TUI (which must refuse
/// before it touches the terminal).
const ENTRY_POINTS: [&[&str]; 6] = [
    &["init"],
    &["operator", "list"],
    &["contact", "list"],
    &["operator", "add", "ann"],
    &[],
    &["--read-only"],
];

/// Runs to completion, or fails the test if the binary is still running after a while
/// (a FIFO opened for reading would block forever).
fn run_bounded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().expect("wait for switchboard").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("switchboard still running after 30 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run_on(path: &Path, args: &[&str]) -> Output {
    let mut cmd = bare_cmd();
    cmd.arg("--db").arg(path).args(args);
    run_bounded(cmd)
}

/// Runs every entry point on `path`; each must fail with one `error:` line naming the
/// path. Returns the lines.
fn refusals(path: &Path) -> Vec<String> {
    ENTRY_POINTS
        .iter()
        .map(|args| {
            let out = run_on(path, args);
            let line = assert_one_error_line(&out, &(path, args));
            assert!(
                line.contains(&path.display().to_string()),
                "{args:?}: the line should name {}: {line}",
                path.display()
            );
            assert!(line.contains("untouched"), "{args:?}: {line}");
            assert!(!line.chars().any(char::is_control), "{line:?}");
            line
        })
        .collect()
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

fn pragma(path: &Path, name: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap()
}

/// A SQLite file made by another program (rollback journal, as SQLite's default).
fn foreign_file(db: &Db, sql: &str) {
    rusqlite::Connection::open(&db.path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

/// Refused by every entry point as another program's file, never as a newer
/// switchboard; byte for byte the same afterwards, with nothing created beside it.
fn assert_refused_as_foreign(db: &Db, mentions: &[&str]) {
    let before = std::fs::read(&db.path).unwrap();
    let names = listing(db.dir.path());
    for line in refusals(&db.path) {
        assert!(line.contains("another program"), "{line}");
        assert!(line.contains("expected a switchboard file"), "{line}");
        assert!(!line.contains("newer"), "{line}");
        for m in mentions {
            assert!(line.contains(m), "should mention {m:?}: {line}");
        }
    }
    assert!(
        std::fs::read(&db.path).unwrap() == before,
        "the file was changed"
    );
    assert_eq!(
        listing(db.dir.path()),
        names,
        "no -wal, -shm or journal left"
    );
}

#[test]
fn a_file_whose_first_table_is_lead_is_refused() {
    let db = Db::new();
    foreign_file(
        &db,
        "CREATE TABLE lead (id INTEGER PRIMARY KEY, title TEXT);
         CREATE TABLE deal (id INTEGER PRIMARY KEY, lead_id INTEGER, amount REAL);
         INSERT INTO lead VALUES (1, 'big one');",
    );
    assert_refused_as_foreign(
        &db,
        &["application_id 0x00000000", "user_version 0", "lead, deal"],
    );
}

#[test]
fn a_file_whose_first_table_is_audit_is_refused() {
    let db = Db::new();
    foreign_file(
        &db,
        "CREATE TABLE audit (at INTEGER, who TEXT, what TEXT);
         INSERT INTO audit VALUES (1, 'root', 'login');",
    );
    assert_refused_as_foreign(&db, &["tables: audit)"]);
}

#[test]
fn foreign_files_with_switchboard_versions_are_refused() {
    for version in [1, 2] {
        let db = Db::new();
        foreign_file(
            &db,
            &format!(
                "CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT);
                 CREATE TABLE sessions (user_id INTEGER, token TEXT);
                 PRAGMA user_version = {version};"
            ),
        );
        assert_refused_as_foreign(
            &db,
            &[&format!("user_version {version}"), "users, sessions"],
        );
    }
}

#[test]
fn a_foreign_file_of_a_higher_version_is_never_a_newer_switchboard() {
    let db = Db::new();
    foreign_file(
        &db,
        "CREATE TABLE operator (id INTEGER PRIMARY KEY, callsign TEXT);
         PRAGMA user_version = 7;",
    );
    assert_refused_as_foreign(&db, &["user_version 7", "tables: operator)"]);
}

#[test]
fn a_file_marked_by_another_program_is_refused_even_when_empty() {
    let db = Db::new();
    foreign_file(&db, "PRAGMA application_id = 42;");
    assert_refused_as_foreign(&db, &["application_id 0x0000002a", "no tables"]);
}

#[test]
fn names_from_a_foreign_file_are_escaped_and_few() {
    let db = Db::new();
    let mut sql = String::from("CREATE TABLE \"evil\x1b[2J\nname\" (x);");
    for i in 0..9 {
        sql.push_str(&format!("CREATE TABLE t{i} (x);"));
    }
    foreign_file(&db, &sql);
    assert_refused_as_foreign(
        &db,
        &[
            "evil\\e[2J\\nname, t0, t1, t2, t3, … (10 in all)",
            "user_version 0",
        ],
    );
}

#[test]
fn a_foreign_path_with_a_newline_stays_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("for\neign?#%.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY);")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let out = run_on(&path, &["init"]);
    let line = assert_one_error_line(&out, &"init");
    assert!(line.contains("for\\neign?#%.db"), "{line}");
    assert!(line.contains("invoices"), "{line}");
    assert!(std::fs::read(&path).unwrap() == before);
    assert_eq!(listing(dir.path()).len(), 1);
}

/// A file made by switchboard, then changed by hand.
fn switchboard_file(db: &Db, change: &str) {
    db.ok(&["source", "add", "web"]);
    db.ok(&["operator", "add", "ann"]);
    db.ok(&["weight", "set", "ann", "web", "1"]);
    db.ok(&["contact", "add", "--source", "web", "--email", "a@x.io"]);
    // The last connection to close folds the WAL back into the file.
    db.conn().execute_batch(change).unwrap();
    // switchboard keeps a zero-byte turn file beside its own files; this one is no
    // longer switchboard's.
    std::fs::remove_file(db.dir.path().join("switchboard.db-turn")).unwrap();
    assert_eq!(listing(db.dir.path()), ["switchboard.db"]);
}

#[test]
fn a_switchboard_look_alike_missing_one_column_is_refused() {
    let db = Db::new();
    switchboard_file(
        &db,
        "PRAGMA application_id = 0; ALTER TABLE audit DROP COLUMN after;",
    );
    assert_refused_as_foreign(
        &db,
        &[
            &format!("user_version {}", latest_version()),
            "tables: operator, source, weight, lead, contact, …",
        ],
    );
}

#[test]
fn a_switchboard_look_alike_with_one_more_table_is_refused() {
    let db = Db::new();
    switchboard_file(
        &db,
        "PRAGMA application_id = 0; CREATE TABLE notes (id INTEGER PRIMARY KEY);",
    );
    // switchboard's tables and `notes`.
    let tables = common::count(
        &db.conn(),
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
    );
    assert_refused_as_foreign(&db, &[&format!("({tables} in all)")]);
}

#[test]
fn a_newer_switchboard_file_says_so() {
    let db = Db::new();
    switchboard_file(&db, "PRAGMA user_version = 7;");
    let before = std::fs::read(&db.path).unwrap();
    for line in refusals(&db.path) {
        assert!(
            line.contains(&format!(
                "newer switchboard (schema version 7, this build knows up to {})",
                latest_version()
            )),
            "{line}"
        );
    }
    assert!(std::fs::read(&db.path).unwrap() == before);
    assert_eq!(listing(db.dir.path()), ["switchboard.db"]);
    // The same shape without switchboard's mark is nobody's newer switchboard.
    db.conn()
        .execute_batch("PRAGMA application_id = 0;")
        .unwrap();
    assert_refused_as_foreign(&db, &["user_version 7"]);
}

#[test]
fn new_and_empty_files_get_the_mark() {
    let db = Db::new();
    db.ok(&["init"]);
    assert_eq!(
        pragma(&db.path, "application_id"),
        i64::from(SWITCHBOARD_ID)
    );
    let empty = Db::new();
    std::fs::write(&empty.path, b"").unwrap();
    empty.ok(&["operator", "add", "ann"]);
    assert_eq!(
        pragma(&empty.path, "application_id"),
        i64::from(SWITCHBOARD_ID)
    );
    assert_eq!(pragma(&empty.path, "user_version"), latest_version());
}

/// Files written before the mark existed (application_id 0, the latest schema) keep
/// working and get the mark, even when several processes open one at once.
#[test]
fn files_of_earlier_builds_keep_working_and_get_the_mark() {
    let db = Db::new();
    switchboard_file(&db, "PRAGMA application_id = 0;");
    assert_eq!(pragma(&db.path, "application_id"), 0);
    let children: Vec<_> = (0..4)
        .map(|_| {
            db.cmd(&["--json", "operator", "list"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn switchboard")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out, &"operator list on an unmarked file");
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
    assert_eq!(
        pragma(&db.path, "application_id"),
        i64::from(SWITCHBOARD_ID)
    );
    assert_eq!(db.operator("ann")["load"], 1);
    assert_eq!(db.contacts().len(), 1);
    db.ok(&["init"]);
    assert_eq!(pragma(&db.path, "user_version"), latest_version());
}

/// Another program's WAL file while that program has it open: the check reads
/// through its WAL (the table is only there) and neither checkpoints nor changes a
/// byte of either file.
#[test]
fn a_foreign_wal_file_in_use_is_read_through_its_log_and_left_alone() {
    let db = Db::new();
    let other = rusqlite::Connection::open(&db.path).unwrap();
    other
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    other
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);")
        .unwrap();
    let wal = db.dir.path().join("switchboard.db-wal");
    let before = (
        std::fs::read(&db.path).unwrap(),
        std::fs::read(&wal).unwrap(),
    );
    for line in refusals(&db.path) {
        assert!(line.contains("tables: invoices)"), "{line}");
    }
    let after = (
        std::fs::read(&db.path).unwrap(),
        std::fs::read(&wal).unwrap(),
    );
    assert!(after == before, "the file or its WAL changed");
    let total: f64 = other
        .query_row("SELECT total FROM invoices", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, 9.5);
}

/// The same file when nobody has it open: read without creating `-wal` or `-shm`.
#[test]
fn a_foreign_wal_file_at_rest_gets_no_companions() {
    let db = Db::new();
    {
        let other = rusqlite::Connection::open(&db.path).unwrap();
        other
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        other
            .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY);")
            .unwrap();
    }
    assert_eq!(listing(db.dir.path()), ["switchboard.db"]);
    assert_refused_as_foreign(&db, &["tables: invoices)"]);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_at_once() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.db");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    for line in refusals(&fifo) {
        assert!(line.contains("is a FIFO, not a database file"), "{line}");
    }
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(listing(dir.path()), ["pipe.db"]);
}

#[test]
fn a_folder_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("data.db");
    std::fs::create_dir(&folder).unwrap();
    for line in refusals(&folder) {
        assert!(
            line.contains("is a directory, not a database file"),
            "{line}"
        );
    }
    assert!(listing(&folder).is_empty());
    assert_eq!(listing(dir.path()), ["data.db"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_device_is_refused_at_once() {
    for line in refusals(Path::new("/dev/null")) {
        assert!(
            line.contains("is a character device, not a database file"),
            "{line}"
        );
    }
}
