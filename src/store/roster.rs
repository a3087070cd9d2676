//! The operator roster as a transaction reads it: finding an operator and where it
//! takes traffic. Below both the operator edits and contact routing, which use it.

use rusqlite::{OptionalExtension, Transaction, params};

use super::day::local_day;
use super::models::Operator;
use super::{Result, StoreError};
use crate::domain::EntityRef;

/// Columns of an operator; `?1` is the current time in milliseconds. "Assigned today"
/// is the operator's day counter when that day is today (see schema V2).
pub(crate) const OPERATOR_SELECT: &str = concat!(
    "SELECT o.id, o.name, o.active, o.max_load, o.load, o.created_at,
        (SELECT count(*) FROM weight w WHERE w.operator_id = o.id),
        CASE WHEN o.assigned_day = ",
    local_day!("?1"),
    " THEN o.assigned_day_count ELSE 0 END
     FROM operator o"
);

pub(crate) fn operator_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Operator> {
    Ok(Operator {
        id: r.get(0)?,
        name: r.get(1)?,
        active: r.get(2)?,
        max_load: r.get(3)?,
        load: r.get(4)?,
        created_at: r.get(5)?,
        sources: r.get(6)?,
        assigned_today: r.get(7)?,
    })
}

/// The operator `r` names, with "assigned today" as of `now` (milliseconds).
pub(crate) fn find(tx: &Transaction<'_>, now: i64, r: &EntityRef) -> Result<Operator> {
    let found = match r {
        EntityRef::Id(id) => tx
            .prepare_cached(&format!("{OPERATOR_SELECT} WHERE o.id = ?2"))?
            .query_row(params![now, id], operator_from_row)
            .optional()?,
        EntityRef::Name(name) => tx
            .prepare_cached(&format!("{OPERATOR_SELECT} WHERE o.name = ?2"))?
            .query_row(params![now, name], operator_from_row)
            .optional()?,
    };
    found.ok_or_else(|| StoreError::NotFound {
        kind: "operator",
        key: r.to_string(),
    })
}

/// Sources in which the operator takes traffic: where its freed capacity can drain.
pub(crate) fn weighted_sources(tx: &Transaction<'_>, operator_id: i64) -> Result<Vec<i64>> {
    let mut stmt = tx.prepare_cached("SELECT source_id FROM weight WHERE operator_id = ?1")?;
    let ids = stmt
        .query_map([operator_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(ids)
}
