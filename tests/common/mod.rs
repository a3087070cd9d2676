//! Helpers shared by the integration tests: a switchboard file in its own temporary
//! directory, and runs of the real binary against it.
#![allow(dead_code)] // each test crate uses a different subset

/// `switchboard serve` on a test's file, and an HTTP client for it.
#[cfg(unix)]
pub mod server;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// Text that must never reach a user: a panic report.
pub const PANIC_MARKERS: [&str; 3] = ["panicked", "RUST_BACKTRACE", "BACKTRACE"];

/// A switchboard file in a fresh temporary directory (removed on drop).
pub struct Db {
    pub dir: TempDir,
    pub path: PathBuf,
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

impl Db {
    pub fn new() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("switchboard.db");
        Db { dir, path }
    }

    /// A command for the binary on this file, with a fixed routing seed and actor and
    /// without anything from the caller's environment that would change its behaviour.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bare_cmd();
        c.arg("--db").arg(&self.path).args(args);
        c
    }

    /// Runs with empty stdin.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("run switchboard")
    }

    /// Runs, asserts success and no stderr noise, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, &args);
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    }

    /// Runs with `--json`, asserts success, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let s = self.ok(&all);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {s}"))
    }

    /// Runs, asserts a failure reported as exactly one `error:` line on stderr with
    /// nothing on stdout and no panic text; returns (exit code, that line).
    pub fn fail(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        let line = assert_one_error_line(&out, &args);
        (out.status.code().unwrap_or(-1), line)
    }

    /// Runs `ingest` with extra `args`, feeding `input` on stdin.
    pub fn ingest_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut all = vec!["ingest"];
        all.extend_from_slice(args);
        run_with_stdin(self.cmd(&all), input)
    }

    pub fn operators(&self) -> Vec<Value> {
        array(self.json(&["operator", "list"]))
    }

    pub fn operator(&self, name: &str) -> Value {
        self.operators()
            .into_iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no operator {name}"))
    }

    /// Every contact, oldest first.
    pub fn contacts(&self) -> Vec<Value> {
        let mut v = array(self.json(&["contact", "list", "--limit", "100000"]));
        v.reverse();
        v
    }

    pub fn contact(&self, id: i64) -> Value {
        self.contacts()
            .into_iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no contact #{id}"))
    }

    /// Adds a contact by email and returns its JSON.
    pub fn add_contact(&self, source: &str, email: &str) -> Value {
        self.json(&["contact", "add", "--source", source, "--email", email])
    }

    pub fn conn(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(&self.path).expect("open with rusqlite");
        c.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        c
    }
}

/// The binary with a controlled environment and no `--db`.
pub fn bare_cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("SWITCHBOARD_DB")
        .env_remove("SWITCHBOARD_SYNCHRONOUS")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("SWITCHBOARD_SEED", "42")
        .env("USER", "tester")
        .env("NO_COLOR", "1");
    c
}

pub fn run_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // Write from a thread: the child may fill its stdout pipe before reading all input.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for switchboard");
    writer.join().expect("stdin writer");
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_no_panic(text: &str) {
    for marker in PANIC_MARKERS {
        assert!(!text.contains(marker), "panic text {marker:?} in: {text}");
    }
}

pub fn assert_success(out: &Output, what: &dyn std::fmt::Debug) {
    assert!(
        out.status.success(),
        "{what:?} failed ({:?}): stdout={} stderr={}",
        out.status,
        stdout(out),
        stderr(out)
    );
    assert_no_panic(&stderr(out));
}

/// A user mistake: non-zero exit, nothing on stdout, exactly one stderr line that
/// starts with `error:`, no panic text. Returns the line.
pub fn assert_one_error_line(out: &Output, what: &dyn std::fmt::Debug) -> String {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "{what:?} should fail but succeeded: stdout={}",
        stdout(out)
    );
    assert_no_panic(&err);
    assert_no_panic(&stdout(out));
    assert_eq!(stdout(out), "", "{what:?}: stdout should be empty on error");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what:?}: expected one stderr line, got: {err:?}"
    );
    assert!(
        lines[0].starts_with("error: "),
        "{what:?}: stderr line should start with 'error: ': {err:?}"
    );
    lines[0].to_string()
}

pub fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("expected a JSON array, got {other}"),
    }
}

/// Output of `ingest`: one JSON value per line.
pub fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `SELECT count(*) ...` with no parameters.
pub fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every operator as (name, stored load, active contacts, max_load), read in one
/// statement (one snapshot).
pub fn loads(conn: &rusqlite::Connection) -> Vec<(String, i64, i64, i64)> {
    let mut stmt = conn
        .prepare(
            "SELECT o.name, o.load,
                    (SELECT count(*) FROM contact c WHERE c.operator_id = o.id AND c.status = 'active'),
                    o.max_load
             FROM operator o ORDER BY o.id",
        )
        .expect("prepare load check");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query load check");
    rows.map(|r| r.expect("row")).collect()
}

/// Operators whose stored load differs from their active contacts or exceeds
/// max_load.
pub fn load_violations(conn: &rusqlite::Connection) -> Vec<(String, i64, i64, i64)> {
    loads(conn)
        .into_iter()
        .filter(|(_, load, open, max)| load != open || load > max)
        .collect()
}

/// Sources that have a waiting contact while some operator could take it (active,
/// weight > 0, load < max_load): routing left work on the table.
pub fn idle_capacity(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT s.name FROM source s
             WHERE EXISTS (SELECT 1 FROM contact c WHERE c.source_id = s.id AND c.status = 'waiting')
               AND EXISTS (SELECT 1 FROM weight w JOIN operator o ON o.id = w.operator_id
                           WHERE w.source_id = s.id AND o.active = 1 AND o.load < o.max_load)",
        )
        .expect("prepare idle check");
    stmt.query_map([], |r| r.get(0))
        .expect("query idle check")
        .map(|r| r.expect("row"))
        .collect()
}

pub fn file_exists(p: &Path) -> bool {
    std::fs::metadata(p).is_ok()
}
