//! The schema, as one ordered list of migrations (a later change is a new entry, never
//! an edit), and the checks that refuse files switchboard must not touch.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};

use super::StoreError;

const V1: &str = r#"
-- CHECKs are written as OR chains, not IN lists: an IN list makes SQLite build an
-- ephemeral table on every INSERT or UPDATE.
CREATE TABLE operator (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active = 0 OR active = 1),
    max_load    INTEGER NOT NULL CHECK (max_load >= 0),
    -- Open contacts held now, kept by the triggers below, so a load is read, never
    -- counted from history.
    load        INTEGER NOT NULL DEFAULT 0 CHECK (load >= 0),
    created_at  INTEGER NOT NULL
);

CREATE TABLE source (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    description TEXT NOT NULL DEFAULT '',
    strategy    TEXT NOT NULL DEFAULT 'weighted' CHECK (strategy = 'weighted' OR strategy = 'capacity'),
    created_at  INTEGER NOT NULL
);

CREATE TABLE weight (
    operator_id INTEGER NOT NULL REFERENCES operator(id) ON DELETE CASCADE,
    source_id   INTEGER NOT NULL REFERENCES source(id) ON DELETE CASCADE,
    weight      INTEGER NOT NULL CHECK (weight > 0),
    PRIMARY KEY (operator_id, source_id)
) WITHOUT ROWID;
CREATE INDEX weight_by_source ON weight(source_id, operator_id, weight);

CREATE TABLE lead (
    id          INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    phone       TEXT,
    email       TEXT,
    name        TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX lead_by_phone ON lead(phone) WHERE phone IS NOT NULL;
CREATE INDEX lead_by_email ON lead(email) WHERE email IS NOT NULL;

CREATE TABLE contact (
    id              INTEGER PRIMARY KEY,
    lead_id         INTEGER NOT NULL REFERENCES lead(id),
    source_id       INTEGER NOT NULL REFERENCES source(id),
    operator_id     INTEGER REFERENCES operator(id) ON DELETE SET NULL,
    status          TEXT NOT NULL CHECK (status = 'waiting' OR status = 'active' OR status = 'closed'),
    message         TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    created_at      INTEGER NOT NULL,
    assigned_at     INTEGER,
    closed_at       INTEGER,
    assigned_by     TEXT,
    CHECK (status <> 'waiting' OR operator_id IS NULL),
    CHECK (status <> 'active' OR operator_id IS NOT NULL)
);
CREATE UNIQUE INDEX contact_idempotency ON contact(source_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX contact_by_source ON contact(source_id, id);
CREATE INDEX contact_by_operator ON contact(operator_id, id);
CREATE INDEX contact_by_lead ON contact(lead_id, id);
CREATE INDEX contact_waiting ON contact(source_id, id) WHERE status = 'waiting';
CREATE INDEX contact_open ON contact(operator_id, id) WHERE status = 'active';
CREATE INDEX contact_by_assigned ON contact(assigned_at) WHERE assigned_at IS NOT NULL;

-- operator.load follows every status or operator change of an existing contact
-- (intake adds its new assignments itself, with a conditional UPDATE per operator
-- that must change one row). Automatic routing (assigned_by = 'auto') must never push
-- an operator past max_load or give to an inactive one: the RAISE is the database's
-- own backstop behind the router.
CREATE TRIGGER contact_update_load AFTER UPDATE OF status, operator_id ON contact
BEGIN
    UPDATE operator SET load = load - 1
    WHERE OLD.status = 'active' AND id = OLD.operator_id;
    UPDATE operator SET load = load + 1
    WHERE NEW.status = 'active' AND id = NEW.operator_id;
    SELECT RAISE(ABORT, 'automatic routing would exceed max_load')
    FROM operator
    WHERE NEW.status = 'active' AND OLD.status = 'waiting' AND NEW.assigned_by = 'auto'
      AND id = NEW.operator_id AND (load > max_load OR active = 0);
END;

CREATE TRIGGER contact_delete_load AFTER DELETE ON contact
WHEN OLD.status = 'active'
BEGIN
    UPDATE operator SET load = load - 1 WHERE id = OLD.operator_id;
END;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   INTEGER,
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_by_time ON audit(at);
"#;

/// Version 2: fewer B-tree inserts per routed contact.
/// - "Assigned today" becomes a per-operator counter kept where loads are kept, so
///   `contact_by_assigned` goes.
/// - `contact_by_operator` (operator_id, id) and the partial `contact_open`
///   (operator_id, id) WHERE active become one index, `contact_by_operator`
///   (operator_id, status, id): an operator's open contacts are one range of it, its
///   whole history two (active, closed) merged by id, and deleting an operator still
///   finds its contacts without a scan.
///
/// The day is the local calendar date as YYYYMMDD, computed by SQLite's `localtime`
/// everywhere (here, in intake's load UPDATE and when reading), so writers and
/// readers agree. A day older than the one counted never resets the count.
const V2: &str = r#"
DROP INDEX contact_open;
DROP INDEX contact_by_assigned;
DROP INDEX contact_by_operator;
CREATE INDEX contact_by_operator ON contact(operator_id, status, id);

ALTER TABLE operator ADD COLUMN assigned_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operator ADD COLUMN assigned_day_count INTEGER NOT NULL DEFAULT 0 CHECK (assigned_day_count >= 0);

UPDATE operator SET
    assigned_day = CAST(strftime('%Y%m%d', 'now', 'localtime') AS INTEGER),
    assigned_day_count = (
        SELECT count(*) FROM contact c
        WHERE c.operator_id = operator.id
          AND c.assigned_at >= unixepoch('now', 'localtime', 'start of day', 'utc') * 1000);

DROP TRIGGER contact_update_load;
CREATE TRIGGER contact_update_load AFTER UPDATE OF status, operator_id ON contact
BEGIN
    UPDATE operator SET load = load - 1
    WHERE OLD.status = 'active' AND id = OLD.operator_id;
    -- A new assignment (the contact changes hands) counts for the day it was made;
    -- a reopen gives the contact back to the operator it had and counts nothing.
    UPDATE operator SET
        load = load + 1,
        assigned_day_count = CASE
            WHEN NEW.operator_id IS OLD.operator_id OR NEW.assigned_at IS NULL THEN assigned_day_count
            WHEN CAST(strftime('%Y%m%d', NEW.assigned_at / 1000, 'unixepoch', 'localtime') AS INTEGER) > assigned_day THEN 1
            WHEN CAST(strftime('%Y%m%d', NEW.assigned_at / 1000, 'unixepoch', 'localtime') AS INTEGER) = assigned_day THEN assigned_day_count + 1
            ELSE assigned_day_count END,
        assigned_day = CASE
            WHEN NEW.operator_id IS OLD.operator_id OR NEW.assigned_at IS NULL THEN assigned_day
            ELSE max(assigned_day, CAST(strftime('%Y%m%d', NEW.assigned_at / 1000, 'unixepoch', 'localtime') AS INTEGER)) END
    WHERE NEW.status = 'active' AND id = NEW.operator_id;
    SELECT RAISE(ABORT, 'automatic routing would exceed max_load')
    FROM operator
    WHERE NEW.status = 'active' AND OLD.status = 'waiting' AND NEW.assigned_by = 'auto'
      AND id = NEW.operator_id AND (load > max_load OR active = 0);
END;
"#;

/// Version 3: counts that do not recount history. Everything the lists, the tab
/// titles and `stats` show about a source is a counter kept in the transaction that
/// changes a contact, so reading it costs the same at a million contacts as at ten:
/// - `source.total`, `source.waiting`, and a day counter of contacts received
///   (`received_day`, `received_day_count`: contacts created on the latest local day
///   any contact of the source was created, the way V2 counts an operator's day);
/// - `routed` (source, operator) -> contacts of the source routed to that operator
///   and still counted for it (the actual shares of `stats`). A contact counts as
///   routed once it has an operator or an assignment time; operator 0 collects the
///   contacts of deleted operators. Rows stay at zero when contacts move away.
///
/// Triggers follow every UPDATE and DELETE of `contact`. A contact's source and
/// arrival time never change (a trigger refuses it), so they follow status, operator
/// and assignment only. New contacts are counted by intake itself, once per source
/// and transaction, as it adds loads (`IntakeCache::flush`): an INSERT trigger doubled
/// the instructions per ingested contact and cost ingest about 40% of its throughput
/// (benches/README.md). `source.counted_through` is the newest contact id intake
/// counted for the source; when a transaction's first contact does not follow the
/// largest of them, something stored contacts without counting them, and intake
/// recounts everything ([`RECOUNT`]) before going on.
///
/// The counters are filled from the history here (about 1.5 s for a million
/// contacts).
const V3: &str = r#"
ALTER TABLE source ADD COLUMN total INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0);
ALTER TABLE source ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0 CHECK (waiting >= 0);
ALTER TABLE source ADD COLUMN received_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE source ADD COLUMN received_day_count INTEGER NOT NULL DEFAULT 0 CHECK (received_day_count >= 0);
ALTER TABLE source ADD COLUMN counted_through INTEGER NOT NULL DEFAULT 0;

CREATE TABLE routed (
    source_id   INTEGER NOT NULL REFERENCES source(id) ON DELETE CASCADE,
    -- No foreign key: 0 stands for deleted operators.
    operator_id INTEGER NOT NULL,
    contacts    INTEGER NOT NULL CHECK (contacts >= 0),
    PRIMARY KEY (source_id, operator_id)
) WITHOUT ROWID;

UPDATE source SET total = h.total, waiting = h.waiting, received_day = h.day
FROM (SELECT source_id, count(*) AS total, sum(status = 'waiting') AS waiting,
             CAST(strftime('%Y%m%d', max(created_at) / 1000, 'unixepoch', 'localtime') AS INTEGER) AS day
      FROM contact GROUP BY source_id) AS h
WHERE h.source_id = source.id;
UPDATE source SET received_day_count = (
    SELECT count(*) FROM contact c
    WHERE c.source_id = source.id
      AND CAST(strftime('%Y%m%d', c.created_at / 1000, 'unixepoch', 'localtime') AS INTEGER) = source.received_day)
WHERE total > 0;

INSERT INTO routed (source_id, operator_id, contacts)
SELECT source_id, coalesce(operator_id, 0), count(*) FROM contact
WHERE operator_id IS NOT NULL OR assigned_at IS NOT NULL
GROUP BY source_id, coalesce(operator_id, 0);

UPDATE source SET counted_through = (SELECT coalesce(max(id), 0) FROM contact);

CREATE TRIGGER contact_source_fixed BEFORE UPDATE OF source_id, created_at ON contact
WHEN OLD.source_id IS NOT NEW.source_id OR OLD.created_at IS NOT NEW.created_at
BEGIN
    SELECT RAISE(ABORT, 'a contact''s source and arrival time never change');
END;

CREATE TRIGGER contact_update_waiting AFTER UPDATE OF status ON contact
WHEN (OLD.status = 'waiting') <> (NEW.status = 'waiting')
BEGIN
    UPDATE source SET waiting = waiting + (NEW.status = 'waiting') - (OLD.status = 'waiting')
    WHERE id = NEW.source_id;
END;

-- Also fires when deleting an operator sets its contacts' operator to NULL (a
-- foreign key action): their counts move to operator 0.
CREATE TRIGGER contact_update_routed AFTER UPDATE OF operator_id, assigned_at ON contact
WHEN OLD.operator_id IS NOT NEW.operator_id
  OR (OLD.operator_id IS NOT NULL OR OLD.assigned_at IS NOT NULL)
     <> (NEW.operator_id IS NOT NULL OR NEW.assigned_at IS NOT NULL)
BEGIN
    UPDATE routed SET contacts = contacts - 1
    WHERE (OLD.operator_id IS NOT NULL OR OLD.assigned_at IS NOT NULL)
      AND source_id = OLD.source_id AND operator_id = coalesce(OLD.operator_id, 0);
    INSERT INTO routed (source_id, operator_id, contacts)
    SELECT NEW.source_id, coalesce(NEW.operator_id, 0), 1
    WHERE NEW.operator_id IS NOT NULL OR NEW.assigned_at IS NOT NULL
    ON CONFLICT (source_id, operator_id) DO UPDATE SET contacts = contacts + 1;
END;

CREATE TRIGGER contact_delete_counts AFTER DELETE ON contact
BEGIN
    UPDATE source SET
        total = total - 1,
        waiting = waiting - (OLD.status = 'waiting'),
        received_day_count = received_day_count
            - (CAST(strftime('%Y%m%d', OLD.created_at / 1000, 'unixepoch', 'localtime') AS INTEGER) = received_day)
    WHERE id = OLD.source_id;
    UPDATE routed SET contacts = contacts - 1
    WHERE (OLD.operator_id IS NOT NULL OR OLD.assigned_at IS NOT NULL)
      AND source_id = OLD.source_id AND operator_id = coalesce(OLD.operator_id, 0);
END;

-- A deleted operator's counts have moved to operator 0 (see above); its own rows go,
-- so an operator that later gets the same id starts from nothing.
CREATE TRIGGER operator_delete_routed AFTER DELETE ON operator
BEGIN
    DELETE FROM routed WHERE operator_id = OLD.id;
END;
"#;

/// Recounts every counter of V3 from `contact`, inside the caller's transaction (who
/// then moves `counted_through`). What V3's migration fills in, for the schema as it
/// is now: a migration's text never changes, this follows the schema.
pub(crate) const RECOUNT: &str = r#"
UPDATE source SET total = 0, waiting = 0, received_day = 0, received_day_count = 0;
UPDATE source SET total = h.total, waiting = h.waiting, received_day = h.day
FROM (SELECT source_id, count(*) AS total, sum(status = 'waiting') AS waiting,
             CAST(strftime('%Y%m%d', max(created_at) / 1000, 'unixepoch', 'localtime') AS INTEGER) AS day
      FROM contact GROUP BY source_id) AS h
WHERE h.source_id = source.id;
UPDATE source SET received_day_count = (
    SELECT count(*) FROM contact c
    WHERE c.source_id = source.id
      AND CAST(strftime('%Y%m%d', c.created_at / 1000, 'unixepoch', 'localtime') AS INTEGER) = source.received_day)
WHERE total > 0;
DELETE FROM routed;
INSERT INTO routed (source_id, operator_id, contacts)
SELECT source_id, coalesce(operator_id, 0), count(*) FROM contact
WHERE operator_id IS NOT NULL OR assigned_at IS NOT NULL
GROUP BY source_id, coalesce(operator_id, 0);
"#;

/// SQL for the local calendar day (YYYYMMDD) of a millisecond timestamp parameter,
/// the same expression the schema's trigger uses.
pub(crate) fn local_day_sql(param: &str) -> String {
    format!("CAST(strftime('%Y%m%d', {param} / 1000, 'unixepoch', 'localtime') AS INTEGER)")
}

/// Tables of schema version 1; a file holding other tables is somebody else's.
const OWN_TABLES: &[&str] = &["operator", "source", "weight", "lead", "contact", "audit"];

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1), M::up(V2), M::up(V3)])
}

/// Schema version this build writes.
pub fn latest_version() -> i64 {
    3
}

/// Refuses, before SQLite opens it, a file that exists and is not a SQLite database.
pub(crate) fn check_file_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(StoreError::Io(format!(
                "cannot open {}: {e}",
                path.display()
            )));
        }
    };
    if file
        .metadata()
        .map_err(|e| StoreError::Io(format!("cannot read {}: {e}", path.display())))?
        .is_dir()
    {
        return Err(StoreError::NotADatabase {
            path: path.display().to_string(),
            why: "it is a directory".into(),
        });
    }
    let mut header = [0u8; 16];
    let n = file
        .read(&mut header)
        .map_err(|e| StoreError::Io(format!("cannot read {}: {e}", path.display())))?;
    if n == 0 {
        return Ok(()); // an empty file is a new database
    }
    if n < 16 || &header != b"SQLite format 3\0" {
        return Err(StoreError::NotADatabase {
            path: path.display().to_string(),
            why: "it is not a SQLite database".into(),
        });
    }
    Ok(())
}

/// Checks the version and the tables before migrating: a newer schema or somebody
/// else's database is refused and left as it is.
pub(crate) fn check_schema(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > latest_version() {
        return Err(StoreError::NewerSchema {
            path: path.display().to_string(),
            found: version,
            known: latest_version(),
        });
    }
    if version == 0 {
        let foreign: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(table) = foreign.filter(|t| !OWN_TABLES.contains(&t.as_str())) {
            return Err(StoreError::NotADatabase {
                path: path.display().to_string(),
                why: format!(
                    "it is a SQLite database of another program (it has a table '{table}')"
                ),
            });
        }
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
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
            conn.prepare(&format!(
                "SELECT id, CASE WHEN assigned_day = {} THEN assigned_day_count ELSE 0 END
                 FROM operator ORDER BY id",
                local_day_sql("?1")
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
}
