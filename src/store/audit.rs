//! The audit log: every change a person makes, with actor, time and before -> after.

use rusqlite::{Transaction, params};
use serde::Serialize;
use serde_json::Value;

use super::models::ts;
use super::{Ctx, Result, Store, like_pattern};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(serialize_with = "ts")]
    pub at: i64,
    pub actor: String,
    /// e.g. `operator.update`, `contact.assign`.
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl AuditEntry {
    /// `field: old -> new` for each field that differs, for one-line display.
    pub fn summary(&self) -> String {
        let empty = serde_json::Map::new();
        let before = self
            .before
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let after = self
            .after
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
        keys.sort();
        keys.dedup();
        let show = |v: Option<&Value>| match v {
            None | Some(Value::Null) => "—".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        let parts: Vec<String> = keys
            .into_iter()
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| format!("{k}: {} -> {}", show(before.get(k)), show(after.get(k))))
            .collect();
        let changes = parts.join(", ");
        // A weight names its cell, which does not change.
        match (
            after.get("operator").or(before.get("operator")),
            after.get("source").or(before.get("source")),
        ) {
            (Some(Value::String(o)), Some(Value::String(s))) if self.entity == "weight" => {
                format!("{o} x {s}: {changes}")
            }
            _ => changes,
        }
    }
}

pub(crate) fn record(
    tx: &Transaction<'_>,
    ctx: &Ctx<'_>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, action, entity, entity_id, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        ctx.now,
        ctx.actor,
        action,
        entity,
        entity_id,
        before.map(|v| v.to_string()),
        after.map(|v| v.to_string()),
    ])?;
    Ok(())
}

impl Store {
    /// Audit entries newest first, optionally only those whose text contains `filter`
    /// (case-insensitive), older than `before_id` (keyset paging).
    pub fn audit_log(
        &mut self,
        filter: Option<&str>,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let pattern = filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(like_pattern);
        // `554` or `#554` also finds the entries of contact #554 by id.
        let contact = filter
            .map(str::trim)
            .map(|f| f.strip_prefix('#').unwrap_or(f))
            .and_then(|f| f.parse::<i64>().ok());
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id, at, actor, action, entity, entity_id, before, after FROM audit
                 WHERE id < ?1
                   AND (?2 IS NULL OR actor LIKE ?2 ESCAPE '\\' OR action LIKE ?2 ESCAPE '\\'
                        OR before LIKE ?2 ESCAPE '\\' OR after LIKE ?2 ESCAPE '\\'
                        OR (entity = 'contact' AND entity_id = ?4))
                 ORDER BY id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![
                    before_id.unwrap_or(i64::MAX),
                    pattern,
                    limit as i64,
                    contact
                ],
                |r| {
                    let before: Option<String> = r.get(6)?;
                    let after: Option<String> = r.get(7)?;
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        entity: r.get(4)?,
                        entity_id: r.get(5)?,
                        before: before.and_then(|s| serde_json::from_str(&s).ok()),
                        after: after.and_then(|s| serde_json::from_str(&s).ok()),
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
