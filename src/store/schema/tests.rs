//! Unit tests of `schema.rs` and of the migrations it checks files against: marks,
//! shapes, and what each version does to a file of the one before.

use super::*;
use crate::store::day::local_day;
use crate::store::migrations::{RECOUNT, V1};
use rusqlite_migration::{M, Migrations};

#[test]
fn migrations_are_valid() {
    migrations().validate().unwrap();
}

/// A file as a build before the mark left it: version 1, no application_id.
fn version_1_file(path: &Path) {
    let mut conn = Connection::open(path).unwrap();
    Migrations::new(vec![M::up(V1)])
        .to_latest(&mut conn)
        .unwrap();
    conn.execute_batch("INSERT INTO operator (name, max_load, created_at) VALUES ('ann', 3, 0);")
        .unwrap();
}

fn application_id(path: &Path) -> i32 {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_version_1_file_of_an_older_build_is_marked_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    version_1_file(&path);
    assert_eq!(application_id(&path), 0);
    let mut store = crate::store::Store::open(&path, Default::default()).unwrap();
    let operators = store.operators().unwrap();
    assert_eq!(operators.len(), 1);
    assert_eq!(operators[0].name, "ann");
    drop(store);
    assert_eq!(application_id(&path), APPLICATION_ID);
    let version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, latest_version());
}

#[test]
fn a_version_1_file_missing_a_column_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    version_1_file(&path);
    Connection::open(&path)
        .unwrap()
        .execute_batch("ALTER TABLE audit DROP COLUMN after;")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = crate::store::Store::open(&path, Default::default())
        .err()
        .expect("refused");
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    let line = err.to_string();
    assert!(line.contains("another program"), "{line}");
    assert!(line.contains("user_version 1"), "{line}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn the_expected_shapes_follow_the_migrations() {
    assert!(expected_shape(0).unwrap().is_empty());
    let operator = |v: i64| -> Vec<String> {
        let shape = expected_shape(v).unwrap();
        let (_, columns) = shape.iter().find(|(t, _)| t == "operator").unwrap();
        columns.iter().map(|c| c.0.clone()).collect()
    };
    assert!(!operator(1).contains(&"assigned_day".to_string()));
    assert!(operator(2).contains(&"assigned_day".to_string()));
    assert!(expected_shape(latest_version() + 1).is_err());
}

#[test]
fn a_foreign_file_is_described_in_one_escaped_line() {
    let tables: Vec<String> = ["a\u{1b}[31mred", "two\nlines", "c", "d", "e", "f", "g"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let why = foreign(-1, 7, &tables);
    assert_eq!(
        why,
        "it is a SQLite database of another program (application_id 0xffffffff, user_version 7, \
         tables: a\\e[31mred, two\\nlines, c, d, e, … (7 in all)); expected a switchboard file"
    );
    assert!(!why.chars().any(char::is_control));
    assert!(foreign(0, 0, &[]).contains("no tables"));
    let long = foreign(0, 0, &["x".repeat(100)]);
    assert!(long.contains(&format!("{}…", "x".repeat(40))), "{long}");
}

/// Contacts stored by plain INSERTs are counted by [`RECOUNT`]; the V3 counters
/// then follow a deleted contact, and a contact's source or arrival time cannot
/// change (the counters would no longer say where it came from).
#[test]
fn recount_then_counters_follow_deletes_and_contacts_keep_their_source() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrations().to_latest(&mut conn).unwrap();
    let now = crate::store::now_ms();
    conn.execute_batch(&format!(
        "INSERT INTO operator (id, name, max_load, created_at) VALUES (1, 'ann', 9, 0);
         INSERT INTO source (id, name, created_at) VALUES (1, 'web', 0), (2, 'tg', 0);
         INSERT INTO lead (id, email, created_at) VALUES (1, 'a@x.io', 0);
         INSERT INTO contact (id, lead_id, source_id, operator_id, status, created_at, assigned_at, assigned_by)
         VALUES (1, 1, 1, 1, 'closed', {now}, {now}, 'auto'),
                (2, 1, 1, NULL, 'waiting', {now}, NULL, NULL),
                (3, 1, 1, NULL, 'waiting', {now}, NULL, NULL);"
    ))
    .unwrap();
    let counters = |conn: &Connection| -> (i64, i64, i64, i64) {
        conn.query_row(
            "SELECT total, waiting, received_day_count,
                    (SELECT coalesce(sum(contacts), 0) FROM routed WHERE source_id = 1)
             FROM source WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    };
    assert_eq!(
        counters(&conn),
        (0, 0, 0, 0),
        "intake counts, not a trigger"
    );
    conn.execute_batch(RECOUNT).unwrap();
    assert_eq!(counters(&conn), (3, 2, 3, 1));
    conn.execute_batch("DELETE FROM contact WHERE id IN (1, 2)")
        .unwrap();
    assert_eq!(counters(&conn), (1, 1, 1, 0));
    for sql in [
        "UPDATE contact SET source_id = 2 WHERE id = 3",
        "UPDATE contact SET created_at = created_at - 1 WHERE id = 3",
    ] {
        let err = conn.execute_batch(sql).unwrap_err();
        assert!(err.to_string().contains("never change"), "{sql}: {err}");
    }
    assert_eq!(counters(&conn), (1, 1, 1, 0));
}

/// A version 3 file migrates to version 4: its sources keep everything and have no
/// code; tokens and codes follow the new constraints.
#[test]
fn version_3_files_get_tokens_and_source_codes() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrations().to_version(&mut conn, 3).unwrap();
    conn.execute_batch(
        "INSERT INTO source (id, name, description, created_at) VALUES (1, 'web', 'site', 5);",
    )
    .unwrap();
    migrations().to_latest(&mut conn).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let row: (String, String, i64, Option<String>) = conn
        .query_row(
            "SELECT name, description, created_at, code FROM source WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(row, ("web".into(), "site".into(), 5, None));
    let fails = |sql: &str| conn.execute_batch(sql).is_err();
    // Codes: unique where set, any number of sources without one.
    conn.execute_batch(
        "INSERT INTO source (name, created_at) VALUES ('a', 0), ('b', 0);
         UPDATE source SET code = 'X' WHERE name = 'a';",
    )
    .unwrap();
    assert!(fails("UPDATE source SET code = 'X' WHERE name = 'b'"));
    assert!(fails("UPDATE source SET code = ' ' WHERE name = 'b'"));
    // Tokens: one name in any ASCII case, a known role, a 32-byte hash used once.
    let hash = |b: u8| format!("x'{}'", format!("{b:02x}").repeat(32));
    conn.execute_batch(&format!(
        "INSERT INTO api_token (name, role, hash, created_at, created_by)
         VALUES ('Form', 'intake', {}, 0, 'sam')",
        hash(1)
    ))
    .unwrap();
    let token = |name: &str, role: &str, hash: &str| {
        format!(
            "INSERT INTO api_token (name, role, hash, created_at, created_by)
             VALUES ('{name}', '{role}', {hash}, 0, 'sam')"
        )
    };
    assert!(fails(&token("FORM", "viewer", &hash(2))));
    assert!(fails(&token("wall", "admin", &hash(2))));
    assert!(fails(&token("wall", "viewer", &hash(1))));
    assert!(fails(&token("wall", "viewer", "x'00'")));
    assert!(fails(&token(" ", "viewer", &hash(2))));
    conn.execute_batch(&token("wall", "viewer", &hash(2)))
        .unwrap();
}

/// A version 1 file migrates to version 2: today's assignments are counted from
/// the history, the two indexes are gone and the new trigger counts.
#[test]
fn version_1_files_get_the_day_counter() {
    let mut conn = Connection::open_in_memory().unwrap();
    Migrations::new(vec![M::up(V1)])
        .to_latest(&mut conn)
        .unwrap();
    let now = crate::store::now_ms();
    let old = now - 3 * 86_400_000;
    conn.execute_batch(&format!(
        "INSERT INTO operator (id, name, max_load, created_at) VALUES (1, 'ann', 9, 0), (2, 'bob', 9, 0);
         INSERT INTO source (id, name, created_at) VALUES (1, 'web', 0);
         INSERT INTO lead (id, email, created_at) VALUES (1, 'a@x.io', 0);
         INSERT INTO contact (lead_id, source_id, operator_id, status, created_at, assigned_at, assigned_by)
         VALUES (1, 1, 1, 'closed', {old}, {old}, 'auto'),
                (1, 1, 1, 'closed', {now}, {now}, 'auto'),
                (1, 1, 1, 'active', {now}, {now}, 'auto'),
                (1, 1, NULL, 'waiting', {now}, NULL, NULL);"
    ))
    .unwrap();
    migrations().to_latest(&mut conn).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, latest_version());
    let today = |conn: &Connection| -> Vec<(i64, i64)> {
        conn.prepare(concat!(
            "SELECT id, CASE WHEN assigned_day = ",
            local_day!("?1"),
            " THEN assigned_day_count ELSE 0 END FROM operator ORDER BY id"
        ))
        .unwrap()
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    };
    assert_eq!(today(&conn), vec![(1, 2), (2, 0)]);
    let gone: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('contact_open', 'contact_by_assigned')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_info('contact_by_operator') ORDER BY seqno")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(columns, ["operator_id", "status", "id"]);
    // The waiting contact assigned to bob by hand counts for bob; load follows.
    conn.execute(
        "UPDATE contact SET status = 'active', operator_id = 2, assigned_at = ?1, assigned_by = 'sam'
         WHERE status = 'waiting'",
        [now],
    )
    .unwrap();
    assert_eq!(today(&conn), vec![(1, 2), (2, 1)]);
    let load: i64 = conn
        .query_row("SELECT load FROM operator WHERE id = 2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(load, 1);
}
