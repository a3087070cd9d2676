//! Sources: create, edit, delete, list.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::day::local_day;
use super::models::{Source, parse_strategy};
use super::{Result, SourcePatch, StaleCheck, Store, StoreError, audit};
use crate::domain::{
    DomainError, EntityRef, MAX_DESCRIPTION, Strategy, validate_entity_name, validate_source_code,
};

/// Columns of a source; `?1` is the current time in milliseconds. Waiting, today and
/// total are the source's counters (schema V3), never counted from history.
const SOURCE_SELECT: &str = concat!(
    "SELECT s.id, s.name, s.description, s.strategy, s.created_at, s.waiting,
        CASE WHEN s.received_day = ",
    local_day!("?1"),
    " THEN s.received_day_count ELSE 0 END, s.total, s.code
     FROM source s"
);

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
        code: r.get(8)?,
    })
}

/// The source `r` names, with "today" as of `now` (milliseconds).
pub(crate) fn find(tx: &Transaction<'_>, now: i64, r: &EntityRef) -> Result<Source> {
    let found = match r {
        EntityRef::Id(id) => tx
            .prepare_cached(&format!("{SOURCE_SELECT} WHERE s.id = ?2"))?
            .query_row(params![now, id], source_from_row)
            .optional()?,
        EntityRef::Name(name) => tx
            .prepare_cached(&format!("{SOURCE_SELECT} WHERE s.name = ?2"))?
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

fn code_taken(tx: &Transaction<'_>, code: &str, except: Option<i64>) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT id FROM source WHERE code = ?1")?
        .query_row([code], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some_and(|id| Some(id) != except))
}

fn code_in_use(code: &str) -> StoreError {
    StoreError::NameTaken {
        kind: "source code",
        name: code.to_string(),
    }
}

/// The audited fields; `code` only where there is one, so sources without one log
/// as they did before codes existed.
fn snapshot(s: &Source) -> serde_json::Value {
    let mut v = json!({"name": s.name, "description": s.description, "strategy": s.strategy});
    if let Some(code) = &s.code {
        v["code"] = json!(code);
    }
    v
}

impl Store {
    pub fn add_source(
        &mut self,
        name: &str,
        description: &str,
        strategy: Strategy,
    ) -> Result<Source> {
        self.add_source_with_code(name, description, strategy, None)
    }

    /// [`Store::add_source`] with the code an older HTTP service named the source by.
    /// A code another source has is refused ([`StoreError::NameTaken`], kind
    /// `source code`).
    pub fn add_source_with_code(
        &mut self,
        name: &str,
        description: &str,
        strategy: Strategy,
        code: Option<&str>,
    ) -> Result<Source> {
        let name = validate_entity_name("source", name)?;
        let description = check_description(description)?;
        let code = code.map(validate_source_code).transpose()?;
        self.write(|tx, ctx| {
            if name_taken(tx, &name, None)? {
                return Err(StoreError::NameTaken {
                    kind: "source",
                    name: name.to_string(),
                });
            }
            if let Some(code) = &code
                && code_taken(tx, code, None)?
            {
                return Err(code_in_use(code));
            }
            tx.prepare_cached(
                "INSERT INTO source (name, description, strategy, created_at, code)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![name, description, strategy.as_str(), ctx.now, code])?;
            let s = find(tx, ctx.now, &EntityRef::Id(tx.last_insert_rowid()))?;
            audit::record(
                tx,
                ctx,
                "source.create",
                "source",
                Some(s.id),
                None,
                Some(snapshot(&s)),
            )?;
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
        let new_code = patch
            .code
            .as_ref()
            .map(|c| c.as_deref().map(validate_source_code).transpose())
            .transpose()?;
        // Stale checks compare text: no code reads as empty, which no code can be.
        let code_text = |c: &Option<String>| c.clone().unwrap_or_default();
        let seen_code = seen.code.as_ref().map(code_text);
        self.write(|tx, ctx| {
            let before = find(tx, ctx.now, r)?;
            StaleCheck::default()
                .field("name", seen.name.as_ref(), &before.name)
                .field(
                    "description",
                    seen.description.as_ref(),
                    &before.description,
                )
                .field("strategy", seen.strategy.as_ref(), &before.strategy)
                .field("code", seen_code.as_ref(), &code_text(&before.code))
                .result(|| format!("source '{}'", before.name))?;
            if let Some(name) = &new_name
                && name_taken(tx, name, Some(before.id))?
            {
                return Err(StoreError::NameTaken {
                    kind: "source",
                    name: name.to_string(),
                });
            }
            if let Some(Some(code)) = &new_code
                && code_taken(tx, code, Some(before.id))?
            {
                return Err(code_in_use(code));
            }
            let code = match &new_code {
                Some(code) => code.as_deref(),
                None => before.code.as_deref(),
            };
            tx.prepare_cached(
                "UPDATE source SET name = ?1, description = ?2, strategy = ?3, code = ?4
                 WHERE id = ?5",
            )?
            .execute(params![
                new_name.as_deref().unwrap_or(&before.name),
                new_description.as_deref().unwrap_or(&before.description),
                patch.strategy.unwrap_or(before.strategy).as_str(),
                code,
                before.id
            ])?;
            let after = find(tx, ctx.now, &EntityRef::Id(before.id))?;
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
            let s = find(tx, ctx.now, r)?;
            if let Some(e) = s.in_use() {
                return Err(e);
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
        let now = self.now();
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "{SOURCE_SELECT} ORDER BY s.name COLLATE NOCASE, s.id"
            ))?;
            let rows = stmt.query_map([now], source_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn source(&mut self, r: &EntityRef) -> Result<Source> {
        let now = self.now();
        self.read(|tx| find(tx, now, r))
    }

    /// The source an older HTTP service named `code` (trimmed; exact otherwise), if
    /// any.
    pub fn source_by_code(&mut self, code: &str) -> Result<Option<Source>> {
        let code = code.trim();
        let now = self.now();
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!("{SOURCE_SELECT} WHERE s.code = ?2"))?
                .query_row(params![now, code], source_from_row)
                .optional()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OpenOptions;

    fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(dir.path().join("s.db"), OpenOptions::default()).unwrap()
    }

    #[test]
    fn codes_are_kept_found_and_unique() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        let web = s.add_source("web", "", Strategy::Weighted).unwrap();
        assert_eq!(web.code, None);
        let tg = s
            .add_source_with_code("tg", "bot", Strategy::Capacity, Some(" 17 "))
            .unwrap();
        assert_eq!(tg.code.as_deref(), Some("17"));
        assert_eq!(s.source_by_code("17").unwrap(), Some(tg.clone()));
        assert_eq!(s.source_by_code(" 17\n").unwrap(), Some(tg.clone()));
        assert_eq!(s.source_by_code("18").unwrap(), None);
        assert_eq!(s.source_by_code("").unwrap(), None);

        // Taken by another source: refused, typed, nothing stored.
        let e = s
            .add_source_with_code("mail", "", Strategy::Weighted, Some("17"))
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::NameTaken { kind: "source code", name } if name == "17"),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "source code '17' is already in use");
        assert_eq!(s.sources().unwrap().len(), 2);
        let patch = |code: Option<&str>| SourcePatch {
            code: Some(code.map(str::to_string)),
            ..SourcePatch::default()
        };
        let e = s
            .update_source(&"web".into(), &patch(Some("17")))
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::NameTaken {
                    kind: "source code",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = s
            .add_source_with_code("mail", "", Strategy::Weighted, Some(" "))
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");

        // Kept through other changes, given to itself again, moved, removed.
        let renamed = s
            .update_source(
                &"tg".into(),
                &SourcePatch {
                    name: Some("telegram".into()),
                    ..SourcePatch::default()
                },
            )
            .unwrap();
        assert_eq!(renamed.code.as_deref(), Some("17"));
        s.update_source(&"telegram".into(), &patch(Some("17")))
            .unwrap();
        let cleared = s.update_source(&"telegram".into(), &patch(None)).unwrap();
        assert_eq!(cleared.code, None);
        assert_eq!(s.source_by_code("17").unwrap(), None);
        let moved = s.update_source(&"web".into(), &patch(Some("17"))).unwrap();
        assert_eq!(s.source_by_code("17").unwrap(), Some(moved));

        // Codes are audited where there is one.
        let changes: Vec<String> = s
            .audit_log(Some("source"), None, 3)
            .unwrap()
            .iter()
            .map(|e| e.summary())
            .collect();
        assert_eq!(
            changes,
            ["code: — -> 17", "code: 17 -> —", "name: tg -> telegram"]
        );
    }

    #[test]
    fn a_code_changed_meanwhile_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        s.add_source_with_code("web", "", Strategy::Weighted, Some("A"))
            .unwrap();
        let set = SourcePatch {
            code: Some(Some("B".into())),
            ..SourcePatch::default()
        };
        let saw_none = SourcePatch {
            code: Some(None),
            ..SourcePatch::default()
        };
        let e = s
            .update_source_seen(&"web".into(), &set, &saw_none)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "source 'web' was changed meanwhile: code is now 'A' (you saw ''); nothing was saved"
        );
        let saw_a = SourcePatch {
            code: Some(Some("A".into())),
            ..SourcePatch::default()
        };
        let after = s.update_source_seen(&"web".into(), &set, &saw_a).unwrap();
        assert_eq!(after.code.as_deref(), Some("B"));
    }

    #[test]
    fn sources_serialize_their_code() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        let web = s.add_source("web", "", Strategy::Weighted).unwrap();
        let tg = s
            .add_source_with_code("tg", "", Strategy::Weighted, Some("t-1"))
            .unwrap();
        assert_eq!(
            serde_json::to_value(&web).unwrap()["code"],
            serde_json::Value::Null
        );
        assert_eq!(serde_json::to_value(&tg).unwrap()["code"], "t-1");
    }
}
