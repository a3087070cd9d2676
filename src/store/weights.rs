//! Weights: an operator's share of a source's traffic. 0 removes the row; raising a
//! weight above 0 drains the source's waiting contacts in the same transaction.

use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

use super::models::Weight;
use super::{Result, StaleCheck, Store, audit, intake, roster, sources};
use crate::domain::{DomainError, EntityRef};

/// Largest weight accepted.
pub const MAX_WEIGHT: u32 = 1_000_000;

impl Store {
    /// Sets one cell of the matrix and returns the new weight.
    pub fn set_weight(
        &mut self,
        operator: &EntityRef,
        source: &EntityRef,
        weight: u32,
    ) -> Result<Weight> {
        self.set_weight_inner(operator, source, weight, None)
    }

    /// [`Store::set_weight`] for a change made from a screen that showed the cell as
    /// `seen`: if another writer changed it since, nothing is written.
    pub fn set_weight_seen(
        &mut self,
        operator: &EntityRef,
        source: &EntityRef,
        weight: u32,
        seen: u32,
    ) -> Result<Weight> {
        self.set_weight_inner(operator, source, weight, Some(seen))
    }

    fn set_weight_inner(
        &mut self,
        operator: &EntityRef,
        source: &EntityRef,
        weight: u32,
        seen: Option<u32>,
    ) -> Result<Weight> {
        if weight > MAX_WEIGHT {
            return Err(DomainError::invalid(
                "weight",
                format!("weight must be between 0 and {MAX_WEIGHT}"),
            )
            .into());
        }
        self.write(|tx, ctx| {
            let op = roster::find(tx, ctx.now, operator)?;
            let (source_id, source_name, _) = sources::find_brief(tx, source)?;
            let before: u32 = tx
                .prepare_cached(
                    "SELECT weight FROM weight WHERE operator_id = ?1 AND source_id = ?2",
                )?
                .query_row(params![op.id, source_id], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            StaleCheck::default()
                .field("weight", seen.as_ref(), &before)
                .result(|| format!("weight {} x {source_name}", op.name))?;
            if weight == 0 {
                tx.prepare_cached("DELETE FROM weight WHERE operator_id = ?1 AND source_id = ?2")?
                    .execute(params![op.id, source_id])?;
            } else {
                tx.prepare_cached(
                    "INSERT INTO weight (operator_id, source_id, weight) VALUES (?1, ?2, ?3)
                     ON CONFLICT (operator_id, source_id) DO UPDATE SET weight = excluded.weight",
                )?
                .execute(params![op.id, source_id, weight])?;
            }
            if before != weight {
                audit::record(
                    tx,
                    ctx,
                    "weight.set",
                    "weight",
                    None,
                    Some(json!({"operator": op.name, "source": source_name, "weight": before})),
                    Some(json!({"operator": op.name, "source": source_name, "weight": weight})),
                )?;
            }
            if before == 0 && weight > 0 {
                intake::drain(tx, ctx, &[source_id])?;
            }
            Ok(Weight {
                operator_id: op.id,
                operator: op.name.clone(),
                source_id,
                source: source_name.clone(),
                weight,
            })
        })
    }

    /// Replaces one source's whole set of weights in one transaction: each listed
    /// operator gets its weight, every other operator 0. An operator listed twice, an
    /// unknown operator or a weight out of range changes nothing. Returns the source's
    /// non-zero weights after the change.
    pub fn replace_weights(
        &mut self,
        source: &EntityRef,
        set: &[(EntityRef, u32)],
    ) -> Result<Vec<Weight>> {
        if let Some((_, w)) = set.iter().find(|(_, w)| *w > MAX_WEIGHT) {
            return Err(DomainError::invalid(
                "weight",
                format!("weight {w} is out of range: must be between 0 and {MAX_WEIGHT}"),
            )
            .into());
        }
        self.write(|tx, ctx| {
            let (source_id, source_name, _) = sources::find_brief(tx, source)?;
            let mut wanted: Vec<(super::models::Operator, u32)> = Vec::with_capacity(set.len());
            for (r, w) in set {
                let op = roster::find(tx, ctx.now, r)?;
                if wanted.iter().any(|(o, _)| o.id == op.id) {
                    return Err(DomainError::invalid(
                        "operator_id",
                        format!("operator '{}' is listed twice", op.name),
                    )
                    .into());
                }
                wanted.push((op, *w));
            }
            let before: Vec<(i64, String, u32)> = tx
                .prepare_cached(
                    "SELECT w.operator_id, o.name, w.weight FROM weight w
                     JOIN operator o ON o.id = w.operator_id WHERE w.source_id = ?1
                     ORDER BY w.operator_id",
                )?
                .query_map(params![source_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            tx.prepare_cached("DELETE FROM weight WHERE source_id = ?1")?
                .execute(params![source_id])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO weight (operator_id, source_id, weight) VALUES (?1, ?2, ?3)",
            )?;
            for (op, w) in wanted.iter().filter(|(_, w)| *w > 0) {
                insert.execute(params![op.id, source_id, w])?;
            }
            let shown = |list: Vec<(&str, u32)>| {
                Value::Object(
                    list.into_iter()
                        .map(|(n, w)| (n.to_string(), json!(w)))
                        .collect(),
                )
            };
            let after: Vec<(&str, u32)> = wanted
                .iter()
                .filter(|(_, w)| *w > 0)
                .map(|(o, w)| (o.name.as_str(), *w))
                .collect();
            let was: Vec<(&str, u32)> = before.iter().map(|(_, n, w)| (n.as_str(), *w)).collect();
            let changed = {
                let mut a: Vec<_> = after.iter().map(|(n, w)| (n.to_string(), *w)).collect();
                let mut b: Vec<_> = was.iter().map(|(n, w)| (n.to_string(), *w)).collect();
                a.sort();
                b.sort();
                a != b
            };
            if changed {
                audit::record(
                    tx,
                    ctx,
                    "weight.replace",
                    "source",
                    Some(source_id),
                    Some(json!({"source": source_name, "weights": shown(was)})),
                    Some(json!({"source": source_name, "weights": shown(after)})),
                )?;
                intake::drain(tx, ctx, &[source_id])?;
            }
            let mut out: Vec<Weight> = wanted
                .iter()
                .filter(|(_, w)| *w > 0)
                .map(|(o, w)| Weight {
                    operator_id: o.id,
                    operator: o.name.clone(),
                    source_id,
                    source: source_name.clone(),
                    weight: *w,
                })
                .collect();
            out.sort_by(|a, b| a.operator.cmp(&b.operator));
            Ok(out)
        })
    }

    /// Every non-zero weight, by source then operator name.
    pub fn weights(&mut self) -> Result<Vec<Weight>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT w.operator_id, o.name, w.source_id, s.name, w.weight
                 FROM weight w JOIN operator o ON o.id = w.operator_id JOIN source s ON s.id = w.source_id
                 ORDER BY s.name COLLATE NOCASE, o.name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Weight {
                    operator_id: r.get(0)?,
                    operator: r.get(1)?,
                    source_id: r.get(2)?,
                    source: r.get(3)?,
                    weight: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
