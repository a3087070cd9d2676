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

/// SQL for the local calendar day (YYYYMMDD) of a millisecond timestamp parameter,
/// the same expression the schema's trigger uses.
pub(crate) fn local_day_sql(param: &str) -> String {
    format!("CAST(strftime('%Y%m%d', {param} / 1000, 'unixepoch', 'localtime') AS INTEGER)")
}

/// Tables of schema version 1; a file holding other tables is somebody else's.
const OWN_TABLES: &[&str] = &["operator", "source", "weight", "lead", "contact", "audit"];

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1), M::up(V2)])
}

/// Schema version this build writes.
pub fn latest_version() -> i64 {
    2
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
