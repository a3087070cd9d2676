//! Several real processes on one file: concurrent ingest with closes, concurrent
//! init, and racing manual assignments.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::{Db, assert_no_panic, stderr, stdout};
use serde_json::Value;
use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::{OpenOptions, Store, latest_version};

const LOCKED: &str = "database is locked";

fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard")
}

/// Operators with tight limits and two sources, set up through the library.
fn tight_setup(db: &Db) -> BTreeMap<String, i64> {
    let mut s = Store::open(&db.path, OpenOptions::default()).unwrap();
    s.add_source("web", "", Strategy::Weighted).unwrap();
    s.add_source("tg", "", Strategy::Capacity).unwrap();
    let ops = [
        ("o1", 2, 5),
        ("o2", 3, 1),
        ("o3", 4, 2),
        ("o4", 5, 3),
        ("o5", 2, 4),
    ];
    let mut max = BTreeMap::new();
    for (i, (name, max_load, weight)) in ops.into_iter().enumerate() {
        s.add_operator(name, max_load, true).unwrap();
        s.set_weight(&EntityRef::parse(name), &EntityRef::parse("web"), weight)
            .unwrap();
        if i % 2 == 0 {
            s.set_weight(&EntityRef::parse(name), &EntityRef::parse("tg"), 1)
                .unwrap();
        }
        max.insert(name.to_string(), i64::from(max_load));
    }
    max
}

/// The input of process `p`: its own lines with keys unique to it, and every shared
/// line (same key, same content in every process) in an order of its own.
fn ingest_input(p: usize, own: usize, shared: usize) -> (String, usize) {
    let mut lines = Vec::new();
    let mut shared_order: Vec<usize> = (0..shared).collect();
    shared_order.rotate_left(p * shared / 6);
    if p % 2 == 1 {
        shared_order.reverse();
    }
    let mut next_shared = shared_order.into_iter();
    for i in 0..own {
        let source = if i % 3 == 0 { "tg" } else { "web" };
        // People come back: the email repeats within a process, the phone across them.
        let who = if i % 5 == 0 {
            format!(r#""phone":"+1 555 {:04}""#, i % 300)
        } else {
            format!(r#""email":"p{p}-{}@x.io""#, i % 400)
        };
        lines.push(format!(
            r#"{{"source":"{source}",{who},"message":"m{i}","idempotency_key":"p{p}-{i}"}}"#
        ));
        if i % 13 == 0
            && let Some(j) = next_shared.next()
        {
            lines.push(format!(
                r#"{{"source":"web","email":"shared{j}@x.io","idempotency_key":"shared-{j}"}}"#
            ));
        }
    }
    for j in next_shared {
        lines.push(format!(
            r#"{{"source":"web","email":"shared{j}@x.io","idempotency_key":"shared-{j}"}}"#
        ));
    }
    let n = lines.len();
    (lines.join("\n") + "\n", n)
}

#[test]
fn concurrent_ingest_with_closes_keeps_limits_and_stores_each_line_once() {
    const PROCESSES: usize = 6;
    const OWN: usize = 3000;
    const SHARED: usize = 200;
    let db = Db::new();
    let max_loads = tight_setup(&db);

    // Each process reads its lines from a pipe: the first half at once, the rest
    // when the gate opens. Until then it is running and waiting for input, so what
    // happens before the gate opens happens during the ingest, however fast it is.
    let mut expected_lines = Vec::new();
    let mut runs = Vec::new();
    let mut gates = Vec::new();
    for p in 0..PROCESSES {
        let (input, n) = ingest_input(p, OWN, SHARED);
        expected_lines.push(n);
        let mut cmd = db.cmd(&["ingest", "--batch", "40"]);
        cmd.env("SWITCHBOARD_SEED", p.to_string());
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard");
        let mut stdin = child.stdin.take().unwrap();
        let (open, gate) = mpsc::channel::<()>();
        gates.push(open);
        let feeder = thread::spawn(move || {
            let half = input[..input.len() / 2].rfind('\n').unwrap() + 1;
            stdin.write_all(&input.as_bytes()[..half]).unwrap();
            // Nothing is ever sent: the gate opens when the test drops its end (also
            // when it fails, so the process is not left waiting).
            gate.recv().ok();
            stdin.write_all(&input.as_bytes()[half..]).unwrap();
            // Dropping stdin ends the input.
        });
        // Read while it runs, so a full stdout pipe never stalls it.
        let output = thread::spawn(move || child.wait_with_output().unwrap());
        runs.push((feeder, output));
    }

    let done = Arc::new(AtomicBool::new(false));
    let snapshots = Arc::new(AtomicU32::new(0));
    let closes = Arc::new(AtomicU32::new(0));
    // Watches the file while the writers run: every snapshot must be consistent.
    let observer = {
        let done = done.clone();
        let snapshots = snapshots.clone();
        let path = db.path.clone();
        thread::spawn(move || {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut bad = Vec::new();
            while !done.load(Ordering::Relaxed) {
                bad.extend(common::load_violations(&conn));
                snapshots.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(3));
            }
            bad
        })
    };
    // Closes active contacts from separate processes while intake goes on.
    let closer = {
        let done = done.clone();
        let closes = closes.clone();
        let path = db.path.clone();
        let db_arg = db.path.clone();
        thread::spawn(move || {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut closed = 0u32;
            let mut problems = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let id: Option<i64> = conn
                    .query_row(
                        "SELECT id FROM contact WHERE status = 'active' ORDER BY random() LIMIT 1",
                        [],
                        |r| r.get(0),
                    )
                    .ok();
                let Some(id) = id else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let mut cmd = common::bare_cmd();
                cmd.arg("--db")
                    .arg(&db_arg)
                    .args(["contact", "close", &id.to_string()]);
                let out = cmd.stdin(Stdio::null()).output().unwrap();
                let err = stderr(&out);
                if out.status.success() {
                    if stdout(&out).trim() == format!("contact #{id} closed: closed") {
                        closed += 1;
                        closes.fetch_add(1, Ordering::Relaxed);
                    } else {
                        problems.push(format!("close {id}: {}", stdout(&out)));
                    }
                } else if !err.contains("already closed") || err.contains(LOCKED) {
                    problems.push(format!("close {id}: {err}"));
                }
            }
            (closed, problems)
        })
    };

    // The gate opens once a few closes landed and the observer looked, all while
    // every ingest still waits for the rest of its input.
    const CLOSES_FIRST: u32 = 5;
    let deadline = Instant::now() + Duration::from_secs(120);
    while closes.load(Ordering::Relaxed) < CLOSES_FIRST || snapshots.load(Ordering::Relaxed) == 0 {
        assert!(
            Instant::now() < deadline,
            "{} closes and {} snapshots during the ingest after 120 s",
            closes.load(Ordering::Relaxed),
            snapshots.load(Ordering::Relaxed)
        );
        thread::sleep(Duration::from_millis(10));
    }
    for (p, (_, output)) in runs.iter().enumerate() {
        assert!(
            !output.is_finished(),
            "ingest {p} ended before its input did"
        );
    }
    drop(gates);
    let outputs: Vec<Output> = runs
        .into_iter()
        .map(|(feeder, output)| {
            feeder.join().unwrap();
            output.join().unwrap()
        })
        .collect();
    done.store(true, Ordering::Relaxed);
    let bad = observer.join().unwrap();
    let (closed, problems) = closer.join().unwrap();

    eprintln!(
        "{closed} closes, {} snapshots observed",
        snapshots.load(Ordering::Relaxed)
    );
    assert!(problems.is_empty(), "close problems: {problems:?}");
    assert!(closed >= CLOSES_FIRST);
    assert!(bad.is_empty(), "inconsistent snapshots: {bad:?}");

    // Every line acknowledged, in order, exactly once per process.
    let mut ids_by_key: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    let mut created_by_key: BTreeMap<String, u32> = BTreeMap::new();
    for (p, out) in outputs.iter().enumerate() {
        let text = stdout(out);
        let err = stderr(out);
        assert!(!text.contains(LOCKED) && !err.contains(LOCKED), "{err}");
        assert_no_panic(&err);
        assert!(out.status.success(), "ingest {p} failed: {err}");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), expected_lines[p], "process {p}");
        for (i, v) in lines.iter().enumerate() {
            assert_eq!(v["line"], i as u64 + 1, "process {p}: {v}");
            let id = v["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("process {p} line {}: {v}", i + 1));
            let key = v["idempotency_key"].as_str().unwrap().to_string();
            ids_by_key.entry(key.clone()).or_default().insert(id);
            if v["duplicate"] == false {
                *created_by_key.entry(key).or_default() += 1;
            }
        }
    }
    let distinct = PROCESSES * OWN + SHARED;
    assert_eq!(ids_by_key.len(), distinct);
    for (key, ids) in &ids_by_key {
        assert_eq!(ids.len(), 1, "key {key} got contacts {ids:?}");
        assert_eq!(
            created_by_key.get(key),
            Some(&1),
            "key {key}: exactly one line must have created it"
        );
    }

    // The file holds exactly the acknowledged contacts.
    let conn = db.conn();
    assert_eq!(
        common::count(&conn, "SELECT count(*) FROM contact"),
        distinct as i64
    );
    let mut stmt = conn
        .prepare("SELECT idempotency_key, id FROM contact")
        .unwrap();
    let stored: BTreeMap<String, i64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(stored.len(), distinct, "an idempotency key appears twice");
    for (key, ids) in &ids_by_key {
        assert_eq!(
            stored.get(key),
            ids.iter().next(),
            "key {key} acknowledged as another contact"
        );
    }

    // Limits and bookkeeping at the end, and no work left on the table.
    let loads = common::loads(&conn);
    assert_eq!(loads.len(), max_loads.len());
    for (name, load, open, max) in &loads {
        assert_eq!(load, open, "{name}");
        assert_eq!(Some(max), max_loads.get(name));
        assert!(load <= max, "{name} over its max_load: {load}/{max}");
    }
    assert!(common::idle_capacity(&conn).is_empty());
    // Concurrent intake of one person never made two leads of them.
    for column in ["phone", "email", "external_id"] {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM lead WHERE {column} IS NOT NULL
             GROUP BY {column} HAVING count(*) > 1)"
        );
        assert_eq!(common::count(&conn, &sql), 0, "two leads share a {column}");
    }
    assert_eq!(
        common::count(&conn, "SELECT count(DISTINCT phone) FROM lead"),
        60
    );
    assert_eq!(
        common::count(
            &conn,
            "SELECT count(*) FROM contact WHERE status = 'closed'"
        ),
        i64::from(closed)
    );
}

#[test]
fn eight_concurrent_inits_on_a_fresh_file_all_succeed() {
    for round in 0..4 {
        let db = Db::new();
        let children: Vec<Child> = (0..8).map(|_| spawn(db.cmd(&["init"]))).collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}, init {i}: {}",
                stderr(&out)
            );
            assert_eq!(
                stdout(&out).trim(),
                format!(
                    "{} is ready (schema version {})",
                    db.path.display(),
                    latest_version()
                )
            );
        }
        let conn = db.conn();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, latest_version());
        assert_eq!(
            common::count(
                &conn,
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN
                 ('operator', 'source', 'weight', 'lead', 'contact', 'audit')"
            ),
            6
        );
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        db.ok(&["operator", "add", "ann"]);
        assert_eq!(db.operators().len(), 1);
    }
}

#[test]
fn racing_assignments_of_one_waiting_contact_have_one_winner() {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    let names: Vec<String> = (1..=8).map(|i| format!("op{i}")).collect();
    for n in &names {
        db.ok(&["operator", "add", n, "--max-load", "5"]);
    }
    for round in 0..3 {
        // Nobody has a weight for web, so the contact waits for a person.
        let c = db.add_contact("web", &format!("race{round}@x.io"));
        assert_eq!(c["status"], "waiting");
        let id = c["id"].as_i64().unwrap().to_string();
        let children: Vec<Child> = names
            .iter()
            .map(|n| spawn(db.cmd(&["contact", "assign", &id, n])))
            .collect();
        let outs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let winners: Vec<usize> = (0..outs.len())
            .filter(|&i| outs[i].status.success())
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let winner = &names[winners[0]];
        assert_eq!(
            stdout(&outs[winners[0]]).trim(),
            format!("contact #{id} assigned: active (operator {winner})")
        );
        for (i, out) in outs.iter().enumerate() {
            if i == winners[0] {
                continue;
            }
            let line = common::assert_one_error_line(out, &format!("assign to {}", names[i]));
            assert!(
                line.contains(&format!("contact #{id} was already assigned to {winner}")),
                "loser {} got: {line}",
                names[i]
            );
            assert!(!line.contains(LOCKED));
        }
        let stored = db.contact(id.parse().unwrap());
        assert_eq!(stored["operator"], winner.as_str());
        assert_eq!(
            db.operator(winner)["load"].as_u64(),
            Some(round_load(&db, winner))
        );
    }
    let total: u64 = db
        .operators()
        .iter()
        .map(|o| o["load"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3, "one assignment per contact");
    assert!(common::load_violations(&db.conn()).is_empty());
}

/// Active contacts of `operator`, counted from the contact list.
fn round_load(db: &Db, operator: &str) -> u64 {
    db.contacts()
        .iter()
        .filter(|c| c["operator"] == operator && c["status"] == "active")
        .count() as u64
}

/// A supervisor's writes (real CLI processes) while four `ingest` processes run with
/// batches bounded in time: every write lands and is audited, every acknowledged line
/// is stored once, nobody is past a limit. (How long the writes wait is measured in
/// benches/fairness.rs, not here.)
#[test]
fn supervisor_writes_during_concurrent_ingests_all_land() {
    let db = Db::new();
    tight_setup(&db);
    let mut children = Vec::new();
    let mut inputs = 0;
    for p in 0..4 {
        let (input, n) = ingest_input(p, 1_500, 0);
        inputs += n;
        let path = db.dir.path().join(format!("in-{p}.jsonl"));
        std::fs::write(&path, input).unwrap();
        children.push(spawn(db.cmd(&[
            "ingest",
            path.to_str().unwrap(),
            "--batch-ms",
            "5",
        ])));
    }
    // The supervisor edits a source's description while they run.
    let writes = 20;
    for i in 0..writes {
        let out = db.run(&[
            "source",
            "set",
            "web",
            "--description",
            &format!("edit {i}"),
        ]);
        assert!(out.status.success(), "write {i}: {}", stderr(&out));
    }
    let mut acknowledged = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_no_panic(&stderr(&out));
        acknowledged += stdout(&out)
            .lines()
            .filter(|l| !l.contains("\"error\""))
            .count();
    }
    assert_eq!(acknowledged, inputs, "every line acknowledged");
    let conn = db.conn();
    assert_eq!(
        common::count(&conn, "SELECT count(*) FROM contact") as usize,
        inputs,
        "each line stored once"
    );
    assert!(common::load_violations(&conn).is_empty());
    let updates = common::count(
        &conn,
        "SELECT count(*) FROM audit WHERE action = 'source.update'",
    );
    assert_eq!(updates, writes, "every write of the supervisor landed");
}

/// Two stores on one file in one process (the TUI's reader and writer, a simulator
/// thread): opening the second must not drop the first one's locks. POSIX locks belong
/// to the process and go when any descriptor of the file is closed, so a look at the
/// file through a descriptor of its own (the header check) would let another process,
/// closing last as it believes, delete the WAL and shared memory under the first.
#[test]
fn a_second_store_in_one_process_keeps_the_first_ones_locks() {
    let db = Db::new();
    db.ok(&["operator", "add", "ann"]);
    let mut first = Store::open(&db.path, OpenOptions::default()).unwrap();
    first.operators().unwrap();
    let wal = db.dir.path().join("switchboard.db-wal");
    let shm = db.dir.path().join("switchboard.db-shm");
    assert!(wal.exists() && shm.exists());
    let inode = |p: &std::path::Path| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).unwrap().ino()
    };
    let shm_before = inode(&shm);
    // The POSIX locks this process holds on the database file (Linux).
    let my_locks_on_db = || {
        let me = std::process::id().to_string();
        let ino = format!(":{}", inode(&db.path));
        std::fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.get(1) == Some(&"POSIX")
                    && f.get(4) == Some(&me.as_str())
                    && f.get(5).is_some_and(|d| d.ends_with(&ino))
            })
            .count()
    };
    assert!(
        my_locks_on_db() > 0,
        "an open store holds a shared lock on the file"
    );
    let mut second = Store::open(&db.path, OpenOptions::default()).unwrap();
    second.operators().unwrap();
    assert!(
        my_locks_on_db() > 0,
        "opening a second store dropped the process's lock on the file"
    );
    // Another process opens and closes the file: it must see it is not the last.
    db.ok(&["operator", "list"]);
    assert!(wal.exists(), "the WAL was deleted under two open stores");
    assert_eq!(inode(&shm), shm_before, "the shared memory was replaced");
    // And the two stores still exclude another process's writer.
    first.add_operator("bob", 1, true).unwrap();
    db.ok(&["operator", "add", "cid"]);
    assert_eq!(second.operators().unwrap().len(), 3);
}
