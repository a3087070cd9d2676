//! `ingest` killed with SIGKILL at random points, over and over, on one file: after
//! each kill `switchboard check` passes (the file is whole, loads match the open
//! contacts), and every line whose
//! result `ingest` printed (an acknowledged line) is in the file, once.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Db, count, load_violations};
use serde_json::Value;

/// A small deterministic generator (the test needs no crate for it).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn input(round: usize, lines: usize) -> String {
    (0..lines)
        .map(|i| {
            let source = if i % 4 == 0 { "tg" } else { "web" };
            format!(
                r#"{{"source":"{source}","email":"p{}@x.io","message":"r{round} m{i}","idempotency_key":"r{round}-{i}"}}"#,
                i % 700
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn ingest_killed_at_random_points_loses_no_acknowledged_line() {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["source", "add", "tg"]);
    for (name, max) in [("ann", "40"), ("bob", "25")] {
        db.ok(&["operator", "add", name, "--max-load", max]);
        db.ok(&["weight", "set", name, "web", "3"]);
    }
    db.ok(&["weight", "set", "bob", "tg", "1"]);
    let mut rng = Lcg(0x5EED);
    // idempotency key -> contact id, of every acknowledged line so far.
    let mut acknowledged: BTreeMap<String, i64> = BTreeMap::new();
    for round in 0..10 {
        let path = db.dir.path().join(format!("round-{round}.jsonl"));
        std::fs::write(&path, input(round, 4_000)).unwrap();
        let mut child = db
            .cmd(&["ingest", path.to_str().unwrap(), "--batch-ms", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        // Somewhere between before the first commit and well into the run.
        let at = Duration::from_millis(rng.below(400));
        let started = Instant::now();
        while started.elapsed() < at {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        // A result line is complete only with its newline; `lines()` yields a torn last
        // line too, so anything that is not whole JSON is ignored.
        for line in rx.try_iter() {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if let (Some(key), Some(id)) = (v["idempotency_key"].as_str(), v["id"].as_i64()) {
                acknowledged.insert(key.to_string(), id);
            }
        }
        // `switchboard check` passes: integrity, loads, the companion files.
        let check = db.run(&["check"]);
        assert!(
            check.status.success(),
            "round {round}: {}",
            common::stdout(&check)
        );
        let conn = db.conn();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "round {round}");
        assert!(load_violations(&conn).is_empty(), "round {round}");
        let mut stored: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut stmt = conn
            .prepare("SELECT idempotency_key, id FROM contact")
            .unwrap();
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .unwrap()
        {
            let (key, id) = row.unwrap();
            stored.entry(key).or_default().push(id);
        }
        for (key, id) in &acknowledged {
            assert_eq!(
                stored.get(key),
                Some(&vec![*id]),
                "round {round}: line {key}"
            );
        }
        assert_eq!(
            count(&conn, "SELECT count(*) FROM contact") as usize,
            count(&conn, "SELECT count(DISTINCT idempotency_key) FROM contact") as usize,
            "no line stored twice"
        );
    }
    assert!(
        acknowledged.len() > 1_000,
        "the kills should land mid-run, after some commits: {} acknowledged",
        acknowledged.len()
    );
}
