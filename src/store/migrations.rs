//! The schema, as one ordered list of migrations: a later change is a new entry,
//! never an edit.

use rusqlite_migration::{M, Migrations};

use super::day::local_day;

pub(crate) const V1: &str = r#"
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
/// The day is the local calendar date as YYYYMMDD, [`local_day!`] everywhere (here,
/// in intake's load UPDATE and when reading), so writers and readers agree. A day
/// older than the one counted never resets the count. (The fill below first found
/// today's assignments by comparing with local midnight in milliseconds: the same
/// day by a second formula, now the one expression. It runs on version 1 files only.)
const V2: &str = concat!(
    r#"
DROP INDEX contact_open;
DROP INDEX contact_by_assigned;
DROP INDEX contact_by_operator;
CREATE INDEX contact_by_operator ON contact(operator_id, status, id);

ALTER TABLE operator ADD COLUMN assigned_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operator ADD COLUMN assigned_day_count INTEGER NOT NULL DEFAULT 0 CHECK (assigned_day_count >= 0);

UPDATE operator SET
    assigned_day = "#,
    local_day!("unixepoch('now') * 1000"),
    r#",
    assigned_day_count = (
        SELECT count(*) FROM contact c
        WHERE c.operator_id = operator.id
          AND "#,
    local_day!("c.assigned_at"),
    r#" >= "#,
    local_day!("unixepoch('now') * 1000"),
    r#");

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
            WHEN "#,
    local_day!("NEW.assigned_at"),
    r#" > assigned_day THEN 1
            WHEN "#,
    local_day!("NEW.assigned_at"),
    r#" = assigned_day THEN assigned_day_count + 1
            ELSE assigned_day_count END,
        assigned_day = CASE
            WHEN NEW.operator_id IS OLD.operator_id OR NEW.assigned_at IS NULL THEN assigned_day
            ELSE max(assigned_day, "#,
    local_day!("NEW.assigned_at"),
    r#") END
    WHERE NEW.status = 'active' AND id = NEW.operator_id;
    SELECT RAISE(ABORT, 'automatic routing would exceed max_load')
    FROM operator
    WHERE NEW.status = 'active' AND OLD.status = 'waiting' AND NEW.assigned_by = 'auto'
      AND id = NEW.operator_id AND (load > max_load OR active = 0);
END;
"#
);

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
const V3: &str = concat!(
    r#"
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
             "#,
    local_day!("max(created_at)"),
    r#" AS day
      FROM contact GROUP BY source_id) AS h
WHERE h.source_id = source.id;
UPDATE source SET received_day_count = (
    SELECT count(*) FROM contact c
    WHERE c.source_id = source.id
      AND "#,
    local_day!("c.created_at"),
    r#" = source.received_day)
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
            - ("#,
    local_day!("OLD.created_at"),
    r#" = received_day)
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
"#
);

/// Version 4: bearer tokens for the HTTP server, and a kept source `code`.
/// - `api_token`: one row per token, found by the SHA-256 of its secret (the secret
///   itself is never stored). Names compare without ASCII case, as people type them.
///   Revoking deletes the row, so a revoked name can be given again.
/// - `source.code`: how an older HTTP service named a source; unique where set.
const V4: &str = r#"
CREATE TABLE api_token (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
    role         TEXT NOT NULL CHECK (role = 'intake' OR role = 'viewer' OR role = 'supervisor'),
    hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    last_used_at INTEGER
);

ALTER TABLE source ADD COLUMN code TEXT CHECK (code IS NULL OR length(trim(code)) > 0);
CREATE UNIQUE INDEX source_by_code ON source(code) WHERE code IS NOT NULL;
"#;

/// Recounts every counter of V3 from `contact`, inside the caller's transaction (who
/// then moves `counted_through`). What V3's migration fills in, for the schema as it
/// is now: a migration's text never changes, this follows the schema.
pub(crate) const RECOUNT: &str = concat!(
    r#"
UPDATE source SET total = 0, waiting = 0, received_day = 0, received_day_count = 0;
UPDATE source SET total = h.total, waiting = h.waiting, received_day = h.day
FROM (SELECT source_id, count(*) AS total, sum(status = 'waiting') AS waiting,
             "#,
    local_day!("max(created_at)"),
    r#" AS day
      FROM contact GROUP BY source_id) AS h
WHERE h.source_id = source.id;
UPDATE source SET received_day_count = (
    SELECT count(*) FROM contact c
    WHERE c.source_id = source.id
      AND "#,
    local_day!("c.created_at"),
    r#" = source.received_day)
WHERE total > 0;
DELETE FROM routed;
INSERT INTO routed (source_id, operator_id, contacts)
SELECT source_id, coalesce(operator_id, 0), count(*) FROM contact
WHERE operator_id IS NOT NULL OR assigned_at IS NOT NULL
GROUP BY source_id, coalesce(operator_id, 0);
"#
);

/// `PRAGMA application_id` of a switchboard file: ASCII "SWBD". It is set in the
/// transaction that creates the schema, and on an older file recognised by its shape.
pub(crate) const APPLICATION_ID: i32 = 0x5357_4244;

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up_with_hook(V1, mark_as_ours),
        M::up(V2),
        M::up(V3),
        M::up(V4),
    ])
}

/// Schema version this build writes.
pub fn latest_version() -> i64 {
    4
}

/// Hook of the first migration: a new file carries switchboard's mark from the same
/// transaction that creates its schema.
fn mark_as_ours(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    Ok(())
}
