//! `switchboard check`: what a file shared by several users and processes needs, one
//! finding each: the file, its folder and companions against the file's group and
//! mode, SQLite's integrity check, and each counter the triggers keep against the rows
//! it counts. Only what can be verified exactly is checked.

use std::path::Path;

use rusqlite::{Transaction, params};
use serde::Serialize;
use serde_json::json;

use super::schema::shown;
use super::{OpenOptions, Result, Store, StoreError, audit, intake, roster, sharing};

/// One finding of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was looked at: `file`, `folder`, `-wal`, `-shm`, `-turn`, `schema` (or
    /// `open` when it could not be opened), `integrity`, `loads`.
    pub name: String,
    pub ok: bool,
    /// What was found, for people.
    pub detail: String,
    /// For a problem: the command that fixes it, and who may run it.
    pub fix: Option<String>,
}

/// Everything [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub path: String,
    /// No problem found.
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl CheckReport {
    /// The findings that are problems.
    pub fn problems(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

/// An operator's load that disagreed with its active contacts, as
/// [`Store::repair_loads`] found and set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadRepair {
    pub operator_id: i64,
    pub operator: String,
    /// The load the file held.
    pub was: i64,
    /// Its active contacts: the load now.
    pub now: i64,
}

impl Check {
    fn ok(name: &str, detail: String) -> Check {
        Check {
            name: name.into(),
            ok: true,
            detail,
            fix: None,
        }
    }

    fn problem(name: &str, detail: String, fix: Option<String>) -> Check {
        Check {
            name: name.into(),
            ok: false,
            detail,
            fix,
        }
    }
}

/// Checks the file at `path` without writing to it (it is opened read-only; a user who
/// may write it creates a missing `-wal` and `-shm`, with the file's group and mode, as
/// any of their commands would). Never fails: what cannot be looked at is a problem.
pub fn check(path: &Path, options: OpenOptions) -> CheckReport {
    let options = OpenOptions {
        read_only: true,
        ..options
    };
    let opened = std::fs::symlink_metadata(path)
        .is_ok()
        .then(|| Store::open(path, options));
    let mut checks: Vec<Check> = sharing::file_findings(path)
        .into_iter()
        .map(|(name, f)| Check {
            name,
            ok: f.ok,
            detail: f.detail,
            fix: f.fix,
        })
        .collect();
    match opened {
        None => {}
        Some(Err(e)) => checks.push(open_problem(path, e)),
        Some(Ok(mut store)) => match store.check_contents() {
            Ok(found) => checks.extend(found),
            Err(e) => checks.push(Check::problem("open", e.to_string(), None)),
        },
    }
    CheckReport {
        path: shown(path),
        ok: checks.iter().all(|c| c.ok),
        checks,
    }
}

fn open_problem(path: &Path, e: StoreError) -> Check {
    let quoted = sharing::shell_quote(&shown(path));
    match e {
        StoreError::Permission(denied) => {
            Check::problem("open", denied.problem(), Some(denied.fix.clone()))
        }
        e @ StoreError::NeedsMigration { .. } => Check::problem(
            "open",
            e.to_string(),
            Some(format!("switchboard --db {quoted} init")),
        ),
        e => Check::problem("open", e.to_string(), None),
    }
}

/// Operators whose load is not their count of active contacts.
/// Each per-source counter that disagrees with a recount of the contacts, described.
fn counter_mismatches(tx: &Transaction<'_>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stmt = tx.prepare(
        "SELECT s.id, s.name, s.total, s.waiting,
                (SELECT count(*) FROM contact c WHERE c.source_id = s.id) AS t,
                (SELECT count(*) FROM contact c WHERE c.source_id = s.id AND c.status = 'waiting') AS w
         FROM source s WHERE s.total <> t OR s.waiting <> w ORDER BY s.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(format!(
            "source #{} '{}' counts total {} and waiting {}, its contacts {} and {}",
            r.get::<_, i64>(0)?,
            crate::domain::escape_control(&r.get::<_, String>(1)?),
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?
        ))
    })?;
    for row in rows {
        out.push(row?);
    }
    // Routed counts per (source, operator; 0 for deleted operators), both ways.
    let routed: i64 = tx.query_row(
        "SELECT (SELECT count(*) FROM (
                    SELECT source_id, coalesce(operator_id, 0), count(*) FROM contact
                    WHERE operator_id IS NOT NULL OR assigned_at IS NOT NULL GROUP BY 1, 2
                    EXCEPT SELECT source_id, operator_id, contacts FROM routed WHERE contacts > 0))
              + (SELECT count(*) FROM (
                    SELECT source_id, operator_id, contacts FROM routed WHERE contacts > 0
                    EXCEPT SELECT source_id, coalesce(operator_id, 0), count(*) FROM contact
                    WHERE operator_id IS NOT NULL OR assigned_at IS NOT NULL GROUP BY 1, 2))",
        [],
        |r| r.get(0),
    )?;
    if routed > 0 {
        out.push(format!(
            "{routed} routed count(s) per source and operator differ from the contacts"
        ));
    }
    Ok(out)
}

fn load_mismatches(tx: &Transaction<'_>) -> Result<Vec<LoadRepair>> {
    let mut stmt = tx.prepare(
        "SELECT o.id, o.name, o.load, (SELECT count(*) FROM contact c
                                       WHERE c.operator_id = o.id AND c.status = 'active') AS open
         FROM operator o WHERE o.load <> open ORDER BY o.id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(LoadRepair {
                operator_id: r.get(0)?,
                operator: r.get(1)?,
                was: r.get(2)?,
                now: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// How many findings of one kind a line lists before it counts the rest.
const LISTED: usize = 5;

impl Store {
    /// The findings about what the file holds: its schema, SQLite's integrity check,
    /// and each operator's load against its active contacts. (The day counter of
    /// assignments is not checked: a reassignment to the same operator and the time
    /// zone of each writer make it unverifiable from the contacts.)
    fn check_contents(&mut self) -> Result<Vec<Check>> {
        let quoted = sharing::shell_quote(&shown(&self.path));
        let mut out = Vec::new();
        let version: i64 =
            self.read(|tx| Ok(tx.query_row("PRAGMA user_version", [], |r| r.get(0))?))?;
        out.push(Check::ok(
            "schema",
            format!("a switchboard file, schema version {version}"),
        ));

        let integrity: Vec<String> = self.read(|tx| {
            let mut stmt = tx.prepare(&format!("PRAGMA integrity_check({})", LISTED + 1))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        if integrity.len() == 1 && integrity[0] == "ok" {
            out.push(Check::ok("integrity", "PRAGMA integrity_check: ok".into()));
        } else {
            let mut listed: Vec<String> = integrity.iter().take(LISTED).cloned().collect();
            if integrity.len() > LISTED {
                listed.push("…".into());
            }
            out.push(Check::problem(
                "integrity",
                format!("PRAGMA integrity_check: {}", listed.join("; ")),
                Some(format!(
                    "restore the file from a backup, or save what is readable: sqlite3 {quoted} .recover | sqlite3 recovered.db"
                )),
            ));
        }

        let (operators, wrong) = self.read(|tx| {
            let n: i64 = tx.query_row("SELECT count(*) FROM operator", [], |r| r.get(0))?;
            Ok((n, load_mismatches(tx)?))
        })?;
        if wrong.is_empty() {
            out.push(Check::ok(
                "loads",
                format!("{operators} operator(s): each load equals its active contacts"),
            ));
        } else {
            let mut listed: Vec<String> = wrong
                .iter()
                .take(LISTED)
                .map(|w| {
                    format!(
                        "operator #{} '{}' has load {} but holds {} active contact(s)",
                        w.operator_id, w.operator, w.was, w.now
                    )
                })
                .collect();
            if wrong.len() > LISTED {
                listed.push(format!("… ({} operators in all)", wrong.len()));
            }
            out.push(Check::problem(
                "loads",
                listed.join("; "),
                Some(format!("switchboard --db {quoted} check --repair")),
            ));
        }
        let counters = self.read(counter_mismatches)?;
        if counters.is_empty() {
            out.push(Check::ok(
                "counters",
                "every source's total, waiting and routed counts equal its contacts".into(),
            ));
        } else {
            let mut listed: Vec<String> = counters.iter().take(LISTED).cloned().collect();
            if counters.len() > LISTED {
                listed.push(format!("… ({} in all)", counters.len()));
            }
            out.push(Check::problem(
                "counters",
                listed.join("; "),
                Some(format!("switchboard --db {quoted} check --repair")),
            ));
        }
        Ok(out)
    }

    /// Sets every operator's load that disagrees with its active contacts to their
    /// count, in one transaction, with an audit entry each; a load that went down
    /// routes the waiting contacts of that operator's sources, as freed capacity does.
    pub fn repair_loads(&mut self) -> Result<Vec<LoadRepair>> {
        self.write(|tx, ctx| {
            let wrong = load_mismatches(tx)?;
            let mut freed = Vec::new();
            for w in &wrong {
                tx.execute(
                    "UPDATE operator SET load = ?1 WHERE id = ?2 AND load = ?3",
                    params![w.now, w.operator_id, w.was],
                )?;
                audit::record(
                    tx,
                    ctx,
                    "operator.repair_load",
                    "operator",
                    Some(w.operator_id),
                    Some(json!({ "name": w.operator, "load": w.was })),
                    Some(json!({ "name": w.operator, "load": w.now })),
                )?;
                if w.now < w.was {
                    freed.extend(roster::weighted_sources(tx, w.operator_id)?);
                }
            }
            freed.sort_unstable();
            freed.dedup();
            intake::drain(tx, ctx, &freed)?;
            // The per-source counters (schema V3), recounted from the contacts when any
            // disagrees.
            let counters = counter_mismatches(tx)?;
            if !counters.is_empty() {
                tx.execute_batch(super::migrations::RECOUNT)?;
                tx.execute(
                    "UPDATE source SET counted_through = (SELECT coalesce(max(id), 0) FROM contact)",
                    [],
                )?;
                audit::record(
                    tx,
                    ctx,
                    "source.recount",
                    "source",
                    None,
                    Some(json!({ "wrong": counters })),
                    None,
                )?;
            }
            Ok(wrong)
        })
    }
}
