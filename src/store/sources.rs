//! Sources: create, edit, delete, list.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::models::{Source, parse_strategy};
use super::{Result, SourcePatch, StaleCheck, Store, StoreError, audit, now_ms, schema};
use crate::domain::{DomainError, EntityRef, MAX_DESCRIPTION, Strategy, validate_entity_name};

/// Columns of a source; `?1` is the current time in milliseconds. Waiting, today and
/// total are the source's counters (schema V3), never counted from history.
fn source_select() -> String {
    format!(
        "SELECT s.id, s.name, s.description, s.strategy, s.created_at, s.waiting,
            CASE WHEN s.received_day = {} THEN s.received_day_count ELSE 0 END, s.total
         FROM source s",
        schema::local_day_sql("?1")
    )
}

fn source_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Source> {
    Ok(Source {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        strategy: parse_strategy(3, r.get(3)?)?,
        created_at: r.get(4)?,
        waiting: r.get(5)?,
        today: r.get(6)?,
        total: r.get(7)?,
    })
}

pub(crate) fn find(tx: &Transaction<'_>, r: &EntityRef) -> Result<Source> {
    let now = now_ms();
    let found = match r {
        EntityRef::Id(id) => tx
            .prepare_cached(&format!("{} WHERE s.id = ?2", source_select()))?
            .query_row(params![now, id], source_from_row)
            .optional()?,
        EntityRef::Name(name) => tx
            .prepare_cached(&format!("{} WHERE s.name = ?2", source_select()))?
            .query_row(params![now, name], source_from_row)
            .optional()?,
    };
    found.ok_or_else(|| StoreError::NotFound {
        kind: "source",
        key: r.to_string(),
    })
}

/// Id, name and strategy only: the cheap lookup intake needs per contact.
pub(crate) fn find_brief(tx: &Transaction<'_>, r: &EntityRef) -> Result<(i64, String, Strategy)> {
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, String, Strategy)> {
        Ok((r.get(0)?, r.get(1)?, parse_strategy(2, r.get(2)?)?))
    };
    let found = match r {
        EntityRef::Id(id) => tx
            .prepare_cached("SELECT id, name, strategy FROM source WHERE id = ?1")?
            .query_row([id], row)
            .optional()?,
        EntityRef::Name(name) => tx
            .prepare_cached("SELECT id, name, strategy FROM source WHERE name = ?1")?
            .query_row([name], row)
            .optional()?,
    };
    found.ok_or_else(|| StoreError::NotFound {
        kind: "source",
        key: r.to_string(),
    })
}

fn check_description(d: &str) -> Result<String> {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(DomainError::invalid(
            "description",
            format!("description is longer than {MAX_DESCRIPTION} characters"),
        )
        .into());
    }
    // Descriptions are printed in tables and titles: no terminal control in them.
    crate::domain::refuse_control_chars("description", d, &[])?;
    Ok(d.to_string())
}

fn name_taken(tx: &Transaction<'_>, name: &str, except: Option<i64>) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT id FROM source WHERE name = ?1")?
        .query_row([name], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some_and(|id| Some(id) != except))
}

fn snapshot(s: &Source) -> serde_json::Value {
    json!({"name": s.name, "description": s.description, "strategy": s.strategy})
}

impl Store {
    pub fn add_source(
        &mut self,
        name: &str,
        description: &str,
        strategy: Strategy,
    ) -> Result<Source> {
        let name = validate_entity_name("source", name)?;
        let description = check_description(description)?;
        self.write(|tx, ctx| {
            if name_taken(tx, &name, None)? {
                return Err(StoreError::NameTaken {
                    kind: "source",
                    name: name.to_string(),
                });
            }
            tx.prepare_cached(
                "INSERT INTO source (name, description, strategy, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![name, description, strategy.as_str(), ctx.now])?;
            let s = find(tx, &EntityRef::Id(tx.last_insert_rowid()))?;
            audit::record(tx, ctx, "source.create", "source", Some(s.id), None, Some(snapshot(&s)))?;
            Ok(s)
        })
    }

    pub fn update_source(&mut self, r: &EntityRef, patch: &SourcePatch) -> Result<Source> {
        self.update_source_seen(r, patch, &SourcePatch::default())
    }

    /// [`Store::update_source`] for a change made from a screen: `seen` holds the
    /// values the person saw of the fields they change. If another writer changed one
    /// of those since, nothing is written and the error lists both values.
    pub fn update_source_seen(
        &mut self,
        r: &EntityRef,
        patch: &SourcePatch,
        seen: &SourcePatch,
    ) -> Result<Source> {
        let new_name = patch
            .name
            .as_deref()
            .map(|n| validate_entity_name("source", n))
            .transpose()?;
        let new_description = patch
            .description
            .as_deref()
            .map(check_description)
            .transpose()?;
        self.write(|tx, ctx| {
            let before = find(tx, r)?;
            StaleCheck::default()
                .field("name", seen.name.as_ref(), &before.name)
                .field(
                    "description",
                    seen.description.as_ref(),
                    &before.description,
                )
                .field("strategy", seen.strategy.as_ref(), &before.strategy)
                .result(|| format!("source '{}'", before.name))?;
            if let Some(name) = &new_name
                && name_taken(tx, name, Some(before.id))?
            {
                return Err(StoreError::NameTaken {
                    kind: "source",
                    name: name.to_string(),
                });
            }
            tx.prepare_cached(
                "UPDATE source SET name = ?1, description = ?2, strategy = ?3 WHERE id = ?4",
            )?
            .execute(params![
                new_name.as_deref().unwrap_or(&before.name),
                new_description.as_deref().unwrap_or(&before.description),
                patch.strategy.unwrap_or(before.strategy).as_str(),
                before.id
            ])?;
            let after = find(tx, &EntityRef::Id(before.id))?;
            if snapshot(&before) != snapshot(&after) {
                audit::record(
                    tx,
                    ctx,
                    "source.update",
                    "source",
                    Some(before.id),
                    Some(snapshot(&before)),
                    Some(snapshot(&after)),
                )?;
            }
            Ok(after)
        })
    }

    /// Deletes a source that has never received a contact; its weights go with it.
    pub fn delete_source(&mut self, r: &EntityRef) -> Result<Source> {
        self.write(|tx, ctx| {
            let s = find(tx, r)?;
            if s.total > 0 {
                return Err(StoreError::InUse {
                    kind: "source",
                    name: s.name.clone(),
                    count: u64::from(s.total),
                });
            }
            tx.prepare_cached("DELETE FROM source WHERE id = ?1")?
                .execute([s.id])?;
            audit::record(
                tx,
                ctx,
                "source.delete",
                "source",
                Some(s.id),
                Some(snapshot(&s)),
                None,
            )?;
            Ok(s)
        })
    }

    pub fn sources(&mut self) -> Result<Vec<Source>> {
        let now = now_ms();
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "{} ORDER BY s.name COLLATE NOCASE, s.id",
                source_select()
            ))?;
            let rows = stmt.query_map([now], source_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn source(&mut self, r: &EntityRef) -> Result<Source> {
        self.read(|tx| find(tx, r))
    }
}
