//! The counters of schema V3 (`source.total`, `source.waiting`, the sources' day
//! counters, `routed`) against a recount from `contact`: after any sequence of store
//! operations, and after migrating a version 2 file that has history.

mod common;

use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::Strategy as Generate;
use rusqlite::Connection;
use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::{
    Durability, Expect, NewContact, OpenOptions, OperatorPatch, Seen, Store, StoreError,
    create_at_schema_version, latest_version, now_ms,
};

/// The local calendar day (YYYYMMDD) of a millisecond time column, as SQLite computes
/// it for the schema's own day counters.
const DAY: &str =
    "CAST(strftime('%Y%m%d', created_at / 1000, 'unixepoch', 'localtime') AS INTEGER)";

fn open_seeded(path: &Path, seed: u64) -> Store {
    Store::open(
        path,
        OpenOptions {
            seed: Some(seed),
            durability: Durability::Normal,
            actor: Some("tester".into()),
            ..OpenOptions::default()
        },
    )
    .expect("open store")
}

fn r(s: &str) -> EntityRef {
    EntityRef::parse(s)
}

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<i64>> {
    let mut stmt = conn.prepare(sql).expect(sql);
    let n = stmt.column_count();
    stmt.query_map([], |row| (0..n).map(|i| row.get(i)).collect())
        .expect(sql)
        .collect::<rusqlite::Result<_>>()
        .expect(sql)
}

/// Per source: (id, total, waiting, day counted, contacts of that day).
fn source_counters(conn: &Connection) -> Vec<Vec<i64>> {
    rows(
        conn,
        "SELECT id, total, waiting, received_day, received_day_count FROM source ORDER BY id",
    )
}

/// The same, counted from `contact`: the day is the latest day any contact of the
/// source arrived on (0 for none).
fn source_recount(conn: &Connection) -> Vec<Vec<i64>> {
    rows(
        conn,
        &format!(
            "SELECT s.id,
                (SELECT count(*) FROM contact WHERE source_id = s.id),
                (SELECT count(*) FROM contact WHERE source_id = s.id AND status = 'waiting'),
                coalesce((SELECT max({DAY}) FROM contact WHERE source_id = s.id), 0),
                (SELECT count(*) FROM contact WHERE source_id = s.id
                    AND {DAY} = (SELECT max({DAY}) FROM contact WHERE source_id = s.id))
             FROM source s ORDER BY s.id"
        ),
    )
}

/// (source, operator or 0 for deleted operators, contacts) with a count.
fn routed_counters(conn: &Connection) -> Vec<Vec<i64>> {
    rows(
        conn,
        "SELECT source_id, operator_id, contacts FROM routed WHERE contacts > 0 ORDER BY 1, 2",
    )
}

fn routed_recount(conn: &Connection) -> Vec<Vec<i64>> {
    rows(
        conn,
        "SELECT source_id, coalesce(operator_id, 0), count(*) FROM contact
         WHERE operator_id IS NOT NULL OR assigned_at IS NOT NULL
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
}

/// Every counter equals its recount, every operator's load its active contacts, and
/// the store's reads (sources, the waiting count, stats) show the recount. Reads as of
/// the real now, on or after the day of every contact (the clock of writes never
/// passes it): a day counter keeps only the latest day, so it cannot answer for a
/// clock set back across midnight.
fn check(s: &mut Store, after: &dyn std::fmt::Debug) -> Result<(), TestCaseError> {
    s.set_clock(None);
    let now = now_ms();
    let conn = s.connection();
    for (name, load, open, _) in common::loads(conn) {
        prop_assert_eq!(load, open, "load of {} after {:?}", name, after);
    }
    prop_assert_eq!(
        source_counters(conn),
        source_recount(conn),
        "source counters after {:?}",
        after
    );
    prop_assert_eq!(
        routed_counters(conn),
        routed_recount(conn),
        "routed counters after {:?}",
        after
    );
    let stale = common::count(
        conn,
        "SELECT count(*) FROM routed
         WHERE operator_id <> 0 AND operator_id NOT IN (SELECT id FROM operator)",
    );
    prop_assert_eq!(
        stale,
        0,
        "routed rows of deleted operators after {:?}",
        after
    );

    let recount: Vec<Vec<i64>> = rows(
        conn,
        &format!(
            "SELECT s.id,
                (SELECT count(*) FROM contact WHERE source_id = s.id AND status = 'waiting'),
                (SELECT count(*) FROM contact WHERE source_id = s.id
                    AND {DAY} = CAST(strftime('%Y%m%d', {now} / 1000, 'unixepoch', 'localtime') AS INTEGER)),
                (SELECT count(*) FROM contact WHERE source_id = s.id)
             FROM source s ORDER BY s.id"
        ),
    );
    let waiting_all = common::count(
        conn,
        "SELECT count(*) FROM contact WHERE status = 'waiting'",
    );
    let routed = routed_recount(conn);
    let mut listed: Vec<Vec<i64>> = s
        .sources()
        .unwrap()
        .into_iter()
        .map(|x| {
            vec![
                x.id,
                i64::from(x.waiting),
                i64::from(x.today),
                i64::from(x.total),
            ]
        })
        .collect();
    listed.sort();
    prop_assert_eq!(listed, recount.clone(), "sources() after {:?}", after);
    prop_assert_eq!(
        i64::from(s.waiting_count().unwrap()),
        waiting_all,
        "waiting_count() after {:?}",
        after
    );
    for st in s.stats().unwrap() {
        let row = recount.iter().find(|x| x[0] == st.source_id).unwrap();
        prop_assert_eq!(
            (st.waiting as i64, st.total as i64),
            (row[1], row[3]),
            "stats of {} after {:?}",
            st.source,
            after
        );
        let mut shown: Vec<Vec<i64>> = st
            .operators
            .iter()
            .filter(|o| o.count > 0)
            .map(|o| vec![st.source_id, o.operator_id, o.count as i64])
            .collect();
        shown.sort();
        let expected: Vec<Vec<i64>> = routed
            .iter()
            .filter(|x| x[0] == st.source_id)
            .cloned()
            .collect();
        prop_assert_eq!(
            st.routed as i64,
            expected.iter().map(|x| x[2]).sum::<i64>(),
            "routed of {} after {:?}",
            st.source,
            after
        );
        prop_assert_eq!(
            shown,
            expected,
            "stats shares of {} after {:?}",
            st.source,
            after
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- random operations

/// (source, person, idempotency key); source 3 does not exist.
type Arrival = (usize, u8, Option<u8>);

#[derive(Debug, Clone)]
enum Op {
    Add(Arrival),
    /// One transaction; validated beforehand (as `ingest` does) or by the store.
    Batch {
        contacts: Vec<Arrival>,
        prevalidated: bool,
    },
    Close(usize),
    Reopen(usize),
    Assign {
        contact: usize,
        op: usize,
        force: bool,
        any: bool,
    },
    CloseMarked(Vec<usize>),
    ReopenMarked(Vec<usize>),
    AssignMarked {
        contacts: Vec<usize>,
        op: usize,
        force: bool,
    },
    MaxLoad {
        op: usize,
        max: u32,
    },
    Active {
        op: usize,
        on: bool,
    },
    Weight {
        op: usize,
        source: usize,
        weight: u32,
    },
    Drain,
    DeleteOperator(usize),
    AddOperator(usize),
    /// Moves the clock writes use by this many hours (not past the real now).
    Clock(i64),
    /// A contact stored by a plain INSERT, outside intake (waiting, or closed with an
    /// operator), then one through intake: the guard must notice and recount.
    Sneak {
        arrival: Arrival,
        routed: bool,
    },
}

const OPS: [&str; 3] = ["ann", "bob", "cid"];
/// `mail` has no weights at first: its contacts wait.
const SOURCES: [&str; 4] = ["web", "tg", "mail", "nowhere"];

fn arb_arrival() -> impl Generate<Value = Arrival> {
    (
        prop_oneof![6 => 0..3usize, 1 => Just(3usize)],
        0..10u8,
        proptest::option::of(0..6u8),
    )
}

fn arb_op() -> impl Generate<Value = Op> {
    let picks = || proptest::collection::vec(any::<usize>(), 1..4);
    prop_oneof![
        6 => arb_arrival().prop_map(Op::Add),
        2 => (proptest::collection::vec(arb_arrival(), 0..12), any::<bool>())
            .prop_map(|(contacts, prevalidated)| Op::Batch { contacts, prevalidated }),
        3 => any::<usize>().prop_map(Op::Close),
        2 => any::<usize>().prop_map(Op::Reopen),
        2 => (any::<usize>(), 0..3usize, any::<bool>(), any::<bool>())
            .prop_map(|(contact, op, force, any)| Op::Assign { contact, op, force, any }),
        1 => picks().prop_map(Op::CloseMarked),
        1 => picks().prop_map(Op::ReopenMarked),
        1 => (picks(), 0..3usize, any::<bool>())
            .prop_map(|(contacts, op, force)| Op::AssignMarked { contacts, op, force }),
        1 => (0..3usize, 0..4u32).prop_map(|(op, max)| Op::MaxLoad { op, max }),
        1 => (0..3usize, any::<bool>()).prop_map(|(op, on)| Op::Active { op, on }),
        1 => (0..3usize, 0..3usize, 0..3u32)
            .prop_map(|(op, source, weight)| Op::Weight { op, source, weight }),
        1 => Just(Op::Drain),
        1 => (0..3usize).prop_map(Op::DeleteOperator),
        1 => (0..3usize).prop_map(Op::AddOperator),
        2 => (-30..30i64).prop_map(Op::Clock),
        1 => (arb_arrival(), any::<bool>())
            .prop_map(|(arrival, routed)| Op::Sneak { arrival, routed }),
    ]
}

fn new_contact((source, person, key): Arrival) -> NewContact {
    NewContact {
        source: Some(r(SOURCES[source])),
        email: Some(format!("p{person}@x.io")),
        idempotency_key: key.map(|k| format!("k{k}")),
        ..NewContact::default()
    }
}

fn contact_ids(s: &Store) -> Vec<i64> {
    rows(s.connection(), "SELECT id FROM contact ORDER BY id")
        .into_iter()
        .map(|r| r[0])
        .collect()
}

/// An error a random but legal sequence may meet; anything else is a defect.
fn expected_refusal(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::WrongStatus { .. }
            | StoreError::Unassigned { .. }
            | StoreError::InUse { .. }
            | StoreError::NameTaken { .. }
            | StoreError::AlreadyAssigned { .. }
            | StoreError::NeedsForce { .. }
            | StoreError::NotFound { .. }
    )
}

fn apply(s: &mut Store, op: &Op, clock: &mut i64, start: i64) -> Result<(), StoreError> {
    let ids = contact_ids(s);
    let pick = |i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
    let marked = |s: &mut Store, picks: &[usize]| -> Vec<(i64, Seen)> {
        let mut v: Vec<(i64, Seen)> = picks
            .iter()
            .filter_map(|&i| pick(i))
            .map(|id| (id, Seen::of(&s.contact(id).unwrap())))
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v.dedup_by_key(|(id, _)| *id);
        v
    };
    match op {
        Op::Add(a) => match s.add_contact(&new_contact(*a)) {
            Err(StoreError::NotFound { .. }) if a.0 == 3 => Ok(()),
            other => other.map(|_| ()),
        },
        Op::Batch {
            contacts,
            prevalidated,
        } => {
            let batch: Vec<NewContact> = contacts.iter().copied().map(new_contact).collect();
            let results = if *prevalidated {
                let valid: Vec<_> = batch.iter().map(|c| c.validate().unwrap()).collect();
                s.add_valid_contacts(&valid)?
            } else {
                s.add_contacts(&batch)?
            };
            for (res, a) in results.iter().zip(contacts) {
                // Only the unknown source may fail, and only alone.
                assert_eq!(res.is_err(), a.0 == 3, "{res:?} for {a:?}");
            }
            Ok(())
        }
        Op::Close(i) => pick(*i).map_or(Ok(()), |id| s.close_contact(id).map(|_| ())),
        Op::Reopen(i) => pick(*i).map_or(Ok(()), |id| s.reopen_contact(id).map(|_| ())),
        Op::Assign {
            contact,
            op,
            force,
            any,
        } => pick(*contact).map_or(Ok(()), |id| {
            let expect = if *any { Expect::Any } else { Expect::Waiting };
            s.assign_contact(id, &r(OPS[*op]), *force, expect)
                .map(|_| ())
        }),
        Op::CloseMarked(picks) => {
            let items = marked(s, picks);
            s.close_contacts(&items).map(|_| ())
        }
        Op::ReopenMarked(picks) => {
            let items = marked(s, picks);
            s.reopen_contacts(&items).map(|_| ())
        }
        Op::AssignMarked {
            contacts,
            op,
            force,
        } => {
            let items = marked(s, contacts);
            s.assign_contacts(&items, &r(OPS[*op]), *force).map(|_| ())
        }
        Op::MaxLoad { op, max } => s
            .update_operator(
                &r(OPS[*op]),
                &OperatorPatch {
                    max_load: Some(*max),
                    ..OperatorPatch::default()
                },
            )
            .map(|_| ()),
        Op::Active { op, on } => s
            .update_operator(
                &r(OPS[*op]),
                &OperatorPatch {
                    active: Some(*on),
                    ..OperatorPatch::default()
                },
            )
            .map(|_| ()),
        Op::Weight { op, source, weight } => s
            .set_weight(&r(OPS[*op]), &r(SOURCES[*source]), *weight)
            .map(|_| ()),
        Op::Drain => s.drain_all().map(|_| ()),
        Op::DeleteOperator(op) => s.delete_operator(&r(OPS[*op])).map(|_| ()),
        Op::AddOperator(op) => s.add_operator(OPS[*op], 2, true).map(|_| ()),
        Op::Sneak { arrival, routed } => {
            sneak_in(s, arrival.0 % 3, *routed, *clock);
            s.add_contact(&new_contact((arrival.0 % 3, arrival.1, None)))
                .map(|_| ())
        }
        Op::Clock(hours) => {
            *clock = (*clock + hours * 3_600_000).clamp(start, now_ms());
            s.set_clock(Some(*clock));
            Ok(())
        }
    }
}

/// Stores a contact of `SOURCES[source]` with plain SQL, the way no switchboard code
/// does: waiting, or closed by the first operator there is.
fn sneak_in(s: &Store, source: usize, routed: bool, at: i64) {
    let conn = s.connection();
    conn.execute(
        "INSERT INTO lead (email, created_at) VALUES ('sneak@x.io', ?1)",
        [at],
    )
    .unwrap();
    let lead = conn.last_insert_rowid();
    let operator: Option<i64> = if routed {
        conn.query_row("SELECT min(id) FROM operator", [], |r| r.get(0))
            .unwrap()
    } else {
        None
    };
    let status = if operator.is_some() {
        "closed"
    } else {
        "waiting"
    };
    conn.execute(
        "INSERT INTO contact (lead_id, source_id, operator_id, status, created_at, assigned_at, closed_at)
         VALUES (?1, (SELECT id FROM source WHERE name = ?2), ?3, ?4, ?5, ?6, ?6)",
        rusqlite::params![lead, SOURCES[source], operator, status, at, operator.map(|_| at)],
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// After any sequence of intake (single, batch, validated batch), close, reopen,
    /// assignment (waiting, reassign, forced, marked), drain, operator deletion and
    /// re-creation, max_load and weight changes and clock moves across days, every
    /// counter equals a recount from `contact`, and so do the reads built on them.
    #[test]
    fn counters_equal_a_recount(
        seed in any::<u64>(),
        ops in proptest::collection::vec(arb_op(), 1..60),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = open_seeded(&dir.path().join("sb.db"), seed);
        // Three days ago; the clock moves in hours from there, never past now.
        let start = now_ms() - 3 * 86_400_000;
        let mut clock = start;
        s.set_clock(Some(clock));
        for (i, name) in SOURCES[..3].iter().enumerate() {
            let strategy = if i == 1 { Strategy::Capacity } else { Strategy::Weighted };
            s.add_source(name, "", strategy).unwrap();
        }
        for (i, name) in OPS.iter().enumerate() {
            s.add_operator(name, i as u32 + 1, true).unwrap();
            s.set_weight(&r(name), &r(SOURCES[i % 2]), 1).unwrap();
        }
        check(&mut s, &"set-up")?;
        for op in &ops {
            s.set_clock(Some(clock));
            if let Err(e) = apply(&mut s, op, &mut clock, start) {
                prop_assert!(expected_refusal(&e), "{:?} failed unexpectedly: {:?}", op, e);
            }
            check(&mut s, op)?;
        }
    }
}

// ---------------------------------------------------------------- migration

/// A version 2 file with history (several days, waiting, routed, reassigned by hand,
/// closed before anyone took it, reopened, an operator deleted since) migrates to
/// version 3 with every counter equal to its recount; the triggers then keep them.
#[test]
fn a_version_2_file_with_history_gets_its_counters() {
    let db = common::Db::new();
    create_at_schema_version(&db.path, 2).unwrap();
    let day = 86_400_000;
    let now = now_ms();
    {
        let conn = Connection::open(&db.path).unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO operator (id, name, max_load, load, created_at) VALUES
                 (1, 'ann', 50, 0, 0), (2, 'bob', 50, 0, 0), (3, 'cid', 50, 0, 0);
             INSERT INTO source (id, name, created_at) VALUES (1, 'web', 0), (2, 'tg', 0), (3, 'idle', 0);
             INSERT INTO weight (operator_id, source_id, weight) VALUES (1, 1, 3), (2, 1, 1), (3, 2, 1);",
        )
        .unwrap();
        let mut lead = conn
            .prepare("INSERT INTO lead (email, created_at) VALUES (?1, 0)")
            .unwrap();
        let mut contact = conn
            .prepare(
                "INSERT INTO contact (lead_id, source_id, operator_id, status, created_at, assigned_at, closed_at, assigned_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .unwrap();
        // 400 contacts over four days up to now, of every kind.
        for i in 0..400i64 {
            let lead_id = lead.insert([format!("p{}@x.io", i % 37)]).unwrap();
            let at = now - 1_000 - (399 - i) * (4 * day / 400);
            let source = [1, 1, 2, 1, 2][i as usize % 5];
            let (operator, status, assigned, closed, by): (
                Option<i64>,
                &str,
                Option<i64>,
                Option<i64>,
                Option<&str>,
            ) = match i % 9 {
                0 => (None, "waiting", None, None, None),
                1 => (None, "closed", None, Some(at), None),
                2 => (
                    Some(if source == 1 { 2 } else { 3 }),
                    "active",
                    Some(at),
                    None,
                    Some("sam"),
                ),
                3..=5 => (
                    Some(if source == 1 { 1 } else { 3 }),
                    "closed",
                    Some(at),
                    Some(at),
                    Some("auto"),
                ),
                _ => (
                    Some(if source == 1 { 2 } else { 3 }),
                    "closed",
                    Some(at),
                    Some(at),
                    Some("auto"),
                ),
            };
            contact
                .execute(rusqlite::params![
                    lead_id, source, operator, status, at, assigned, closed, by
                ])
                .unwrap();
        }
        // Loads as the V2 triggers would have kept them; then cid goes, its closed
        // contacts keep their assignment time without an operator.
        conn.execute_batch(
            "UPDATE operator SET load = (SELECT count(*) FROM contact c WHERE c.operator_id = operator.id AND c.status = 'active');
             UPDATE contact SET status = 'closed', closed_at = created_at WHERE operator_id = 3;
             UPDATE operator SET load = 0 WHERE id = 3;
             DELETE FROM weight WHERE operator_id = 3;
             DELETE FROM operator WHERE id = 3;",
        )
        .unwrap();
        let orphans = common::count(
            &conn,
            "SELECT count(*) FROM contact WHERE operator_id IS NULL AND assigned_at IS NOT NULL",
        );
        assert!(orphans > 30, "history has contacts of a deleted operator");
    }

    let mut s = open_seeded(&db.path, 3);
    let version: i64 = s
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, latest_version());
    check(&mut s, &"migration").unwrap();
    let web = s.source(&r("web")).unwrap();
    assert!(web.total > 200 && web.waiting > 10, "{web:?}");
    let counted_days = common::count(
        s.connection(),
        "SELECT count(*) FROM source WHERE received_day > 0 AND received_day_count > 0",
    );
    assert_eq!(counted_days, 2, "web and tg count their latest day");
    let idle = s.source(&r("idle")).unwrap();
    assert_eq!((idle.total, idle.waiting, idle.today), (0, 0, 0));
    let tg = s
        .stats()
        .unwrap()
        .into_iter()
        .find(|x| x.source == "tg")
        .unwrap();
    assert_eq!(
        tg.operators
            .iter()
            .map(|o| (o.operator.as_str(), o.count > 0))
            .collect::<Vec<_>>(),
        [("(deleted operators)", true)]
    );

    // The migrated file's triggers keep counting: intake, drain, reassign, close,
    // reopen, deleting an operator.
    s.set_clock(None);
    for i in 0..20 {
        s.add_contact(&new_contact((i % 2, i as u8, None))).unwrap();
    }
    check(&mut s, &"intake after migration").unwrap();
    s.drain_all().unwrap();
    let open = s.open_contacts(2, 5).unwrap();
    for c in &open {
        s.assign_contact(c.id, &r("ann"), true, Expect::Any)
            .unwrap();
    }
    s.close_contact(open[0].id).unwrap();
    s.reopen_contact(open[0].id).unwrap();
    check(&mut s, &"edits after migration").unwrap();
    let bob = s.operator(&r("bob")).unwrap();
    for c in s.open_contacts(bob.id, 1_000).unwrap() {
        s.close_contact(c.id).unwrap();
    }
    s.update_operator(
        &r("bob"),
        &OperatorPatch {
            active: Some(false),
            ..OperatorPatch::default()
        },
    )
    .unwrap();
    for c in s.open_contacts(bob.id, 1_000).unwrap() {
        s.close_contact(c.id).unwrap();
    }
    s.delete_operator(&r("bob")).unwrap();
    check(&mut s, &"operator deleted after migration").unwrap();
}

// ---------------------------------------------------------------- the Sources chart

/// The chart of a source's last N routed contacts looks at its newest 5 x N contacts
/// only: a backlog of waiting contacts newer than the routed ones shortens the window
/// instead of being read on every refresh.
#[test]
fn the_chart_of_recent_routing_reads_a_bounded_window() {
    let db = common::Db::new();
    let mut s = open_seeded(&db.path, 5);
    s.add_source("web", "", Strategy::Weighted).unwrap();
    s.add_operator("ann", 100, true).unwrap();
    s.set_weight(&r("ann"), &r("web"), 1).unwrap();
    for i in 0..10 {
        s.add_contact(&new_contact((0, i, None))).unwrap();
    }
    s.update_operator(
        &r("ann"),
        &OperatorPatch {
            active: Some(false),
            ..OperatorPatch::default()
        },
    )
    .unwrap();
    for i in 0..30 {
        s.add_contact(&new_contact((0, i, None))).unwrap();
    }
    let web = s.source(&r("web")).unwrap().id;
    let shown = |s: &mut Store, n: usize| {
        let chart = s.recent_shares(web, n).unwrap().unwrap();
        (chart.routed, chart.waiting)
    };
    // The newest 25 contacts all wait: nothing routed among them.
    assert_eq!(shown(&mut s, 5), (0, 30));
    // The newest 50 reach back to all ten routed ones.
    assert_eq!(shown(&mut s, 10), (10, 30));
    assert_eq!(shown(&mut s, 200), (10, 30));
}

/// `switchboard check` compares every counter with the contacts, and `--repair`
/// recounts them (audited).
#[test]
fn check_finds_a_wrong_counter_and_repair_recounts() {
    let db = common::Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["operator", "add", "ann"]);
    db.ok(&["weight", "set", "ann", "web", "1"]);
    for i in 0..3 {
        db.ok(&[
            "contact",
            "add",
            "--source",
            "web",
            "--email",
            &format!("p{i}@x.io"),
        ]);
    }
    assert!(db.run(&["check"]).status.success());
    db.conn()
        .execute_batch(
            "UPDATE source SET total = total + 5, waiting = 2; UPDATE routed SET contacts = 9",
        )
        .unwrap();
    let out = db.run(&["check"]);
    assert!(!out.status.success());
    let text = common::stdout(&out);
    assert!(
        text.contains("PROBLEM  counters") && text.contains("check --repair"),
        "{text}"
    );
    let out = db.run(&["check", "--repair"]);
    assert!(out.status.success(), "{}", common::stdout(&out));
    assert_eq!(
        common::count(&db.conn(), "SELECT total FROM source WHERE name = 'web'"),
        3
    );
    assert_eq!(
        common::count(
            &db.conn(),
            "SELECT count(*) FROM audit WHERE action = 'source.recount'"
        ),
        1
    );
}

// ---------------------------------------------------------------- one place per rule

/// The code of every `.rs` file under `src/`, by path relative to it, without unit
/// tests (a `#[cfg(test)]` module to the end of its file, or a file of one), which
/// store rows with plain SQL on purpose.
fn src_code() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel.ends_with("/tests.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = match text.find("#[cfg(test)]\nmod ") {
                    Some(i) => text[..i].to_string(),
                    None => text,
                };
                out.push((rel, code));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    assert!(out.len() > 50, "src/ read: {} files", out.len());
    out
}

/// Where `needle` (lower case, words separated by single spaces) occurs in the code
/// of `src/` as a whole word, in any case and spacing: (file, count).
fn occurrences(needle: &str) -> Vec<(String, usize)> {
    src_code()
        .into_iter()
        .filter_map(|(file, code)| {
            // `\n` and `\t` escapes in a string literal separate SQL words too.
            let flat = code
                .replace("\\n", " ")
                .replace("\\t", " ")
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let n = flat
                .match_indices(needle)
                .filter(|(i, _)| {
                    !word(flat[..*i].chars().last())
                        && !word(flat[i + needle.len()..].chars().next())
                })
                .count();
            (n > 0).then_some((file, n))
        })
        .collect()
}

/// Intake is the one code that stores contact rows, so loads and counters of new
/// contacts are kept in one place (`IntakeCache::flush`, not by a trigger; see
/// benches/README.md): no other `INSERT INTO contact` in `src/`.
#[test]
fn contacts_are_inserted_in_one_place() {
    let mut found = occurrences("into contact");
    found.extend(occurrences("into \"contact\""));
    assert_eq!(
        found,
        [("store/intake.rs".to_string(), 1)],
        "contact rows are stored only by intake, which adds their loads and counters"
    );
}

/// The day of "today" is decided by one expression (`store/day.rs`): no other
/// SQL `'localtime'` or `'start of day'`, and no milliseconds-per-day arithmetic, in
/// `src/`.
#[test]
fn today_is_decided_in_one_place() {
    for needle in [
        "'localtime'",
        "'start of day'",
        "86400",
        "86_400",
        "86_400_000",
    ] {
        let found = occurrences(needle);
        let expected: &[(String, usize)] = if needle == "'localtime'" {
            &[("store/day.rs".to_string(), 1)]
        } else {
            &[]
        };
        assert_eq!(found, expected, "{needle}");
    }
}
