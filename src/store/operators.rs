//! Operators: create, edit, delete, list. Raising capacity drains waiting contacts in
//! the same transaction.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::models::Operator;
use super::roster::{OPERATOR_SELECT, find, operator_from_row, weighted_sources};
use super::{Ctx, OperatorPatch, Result, StaleCheck, Store, StoreError, audit, intake};
use crate::domain::{DomainError, EntityRef, validate_entity_name};

/// Largest max_load accepted.
pub const MAX_MAX_LOAD: u32 = 100_000;

fn check_max_load(max_load: u32) -> Result<()> {
    if max_load > MAX_MAX_LOAD {
        return Err(DomainError::invalid(
            "max_load",
            format!("max load must be at most {MAX_MAX_LOAD}"),
        )
        .into());
    }
    Ok(())
}

fn name_taken(tx: &Transaction<'_>, name: &str, except: Option<i64>) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT id FROM operator WHERE name = ?1")?
        .query_row([name], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some_and(|id| Some(id) != except))
}

fn snapshot(op: &Operator) -> serde_json::Value {
    json!({"name": op.name, "active": op.active, "max_load": op.max_load})
}

impl Store {
    pub fn add_operator(&mut self, name: &str, max_load: u32, active: bool) -> Result<Operator> {
        let name = validate_entity_name("operator", name)?;
        check_max_load(max_load)?;
        self.write(|tx, ctx| {
            if name_taken(tx, &name, None)? {
                return Err(StoreError::NameTaken {
                    kind: "operator",
                    name: name.to_string(),
                });
            }
            tx.prepare_cached(
                "INSERT INTO operator (name, active, max_load, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![name, active, max_load, ctx.now])?;
            let op = find(tx, ctx.now, &EntityRef::Id(tx.last_insert_rowid()))?;
            audit::record(
                tx,
                ctx,
                "operator.create",
                "operator",
                Some(op.id),
                None,
                Some(snapshot(&op)),
            )?;
            Ok(op)
        })
    }

    /// Changes an operator. Activating it or raising its max_load routes waiting
    /// contacts of its sources in the same transaction.
    pub fn update_operator(&mut self, r: &EntityRef, patch: &OperatorPatch) -> Result<Operator> {
        self.update_operator_seen(r, patch, &OperatorPatch::default())
    }

    /// [`Store::update_operator`] for a change made from a screen: `seen` holds the
    /// values the person saw of the fields they change. If another writer changed one
    /// of those since, nothing is written and the error lists both values.
    pub fn update_operator_seen(
        &mut self,
        r: &EntityRef,
        patch: &OperatorPatch,
        seen: &OperatorPatch,
    ) -> Result<Operator> {
        self.change_operator_seen(r, patch, seen)
            .map(|c| c.operator)
    }

    /// [`Store::update_operator_seen`] that also says how many waiting contacts the
    /// change routed (activating an operator or raising its limit drains the backlog
    /// of its sources, to it or to others now eligible).
    pub fn change_operator_seen(
        &mut self,
        r: &EntityRef,
        patch: &OperatorPatch,
        seen: &OperatorPatch,
    ) -> Result<OperatorChange> {
        let new_name = patch
            .name
            .as_deref()
            .map(|n| validate_entity_name("operator", n))
            .transpose()?;
        if let Some(m) = patch.max_load {
            check_max_load(m)?;
        }
        self.write(|tx, ctx| {
            update_operator_tx(tx, ctx, r, new_name.as_deref(), patch, seen)
                .map(|(operator, routed)| OperatorChange { operator, routed })
        })
    }

    /// Deletes an operator that holds no open contacts. Its weights go with it; its
    /// closed contacts stay, without an operator.
    pub fn delete_operator(&mut self, r: &EntityRef) -> Result<Operator> {
        self.write(|tx, ctx| {
            let op = find(tx, ctx.now, r)?;
            if let Some(e) = op.in_use() {
                return Err(e);
            }
            tx.prepare_cached("DELETE FROM operator WHERE id = ?1")?
                .execute([op.id])?;
            audit::record(
                tx,
                ctx,
                "operator.delete",
                "operator",
                Some(op.id),
                Some(snapshot(&op)),
                None,
            )?;
            Ok(op)
        })
    }

    pub fn operators(&mut self) -> Result<Vec<Operator>> {
        let now = self.now();
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "{OPERATOR_SELECT} ORDER BY o.name COLLATE NOCASE, o.id"
            ))?;
            let rows = stmt.query_map([now], operator_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn operator(&mut self, r: &EntityRef) -> Result<Operator> {
        let now = self.now();
        self.read(|tx| find(tx, now, r))
    }
}

/// An operator after a change, and how many waiting contacts the change routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorChange {
    pub operator: Operator,
    pub routed: usize,
}

pub(crate) fn update_operator_tx(
    tx: &Transaction<'_>,
    ctx: &mut Ctx<'_>,
    r: &EntityRef,
    new_name: Option<&str>,
    patch: &OperatorPatch,
    seen: &OperatorPatch,
) -> Result<(Operator, usize)> {
    let before = find(tx, ctx.now, r)?;
    let word = |a: bool| if a { "active" } else { "inactive" };
    StaleCheck::default()
        .field("name", seen.name.as_ref(), &before.name)
        .field("max load", seen.max_load.as_ref(), &before.max_load)
        .field(
            "active",
            seen.active.map(word).as_ref(),
            &word(before.active),
        )
        .result(|| format!("operator '{}'", before.name))?;
    if let Some(name) = new_name
        && name_taken(tx, name, Some(before.id))?
    {
        return Err(StoreError::NameTaken {
            kind: "operator",
            name: name.to_string(),
        });
    }
    let name = new_name.unwrap_or(&before.name);
    let active = patch.active.unwrap_or(before.active);
    let max_load = patch.max_load.unwrap_or(before.max_load);
    tx.prepare_cached("UPDATE operator SET name = ?1, active = ?2, max_load = ?3 WHERE id = ?4")?
        .execute(params![name, active, max_load, before.id])?;
    let gained = active && (!before.active || max_load > before.max_load);
    let mut routed = 0;
    if gained {
        let sources = weighted_sources(tx, before.id)?;
        routed = intake::drain(tx, ctx, &sources)?;
    }
    let after = find(tx, ctx.now, &EntityRef::Id(before.id))?;
    if snapshot(&before) != snapshot(&after) {
        audit::record(
            tx,
            ctx,
            "operator.update",
            "operator",
            Some(before.id),
            Some(snapshot(&before)),
            Some(snapshot(&after)),
        )?;
    }
    Ok((after, routed))
}
