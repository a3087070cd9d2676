//! The feed: contacts matching a filter, newest first, paged by id (keyset, never
//! OFFSET), with the split into per-index pieces that keeps every page cheap.

use rusqlite::{Transaction, params_from_iter, types::Value as SqlValue};

use crate::domain::ContactStatus;
use crate::store::models::{CONTACT_COLUMNS, CONTACT_FROM, Contact, contact_from_row};
use crate::store::{Result, Store, like_pattern};

/// Which contacts a list or the feed shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFilter {
    pub status: Option<ContactStatus>,
    pub source_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub lead_id: Option<i64>,
    /// Case-insensitive text in the lead's name, external id, phone, email or the message.
    pub text: Option<String>,
}

impl FeedFilter {
    pub fn is_empty(&self) -> bool {
        *self == FeedFilter::default()
    }

    /// WHERE clause (without `WHERE`) and its parameters. Only present conditions are
    /// written, so SQLite can pick the matching index.
    fn clause(&self) -> (String, Vec<SqlValue>) {
        let mut parts = Vec::new();
        let mut values = Vec::new();
        if let Some(s) = self.status {
            // A literal, not a parameter: SQLite uses the partial index contact_waiting
            // only when the query names its condition literally, and a literal lets it
            // read contact_by_operator (operator_id, status, id) in id order. The value
            // is one of three constants.
            parts.push(format!("c.status = '{}'", s.as_str()));
        }
        if let Some(id) = self.source_id {
            parts.push("c.source_id = ?".to_string());
            values.push(SqlValue::Integer(id));
        }
        if let Some(id) = self.operator_id {
            parts.push("c.operator_id = ?".to_string());
            values.push(SqlValue::Integer(id));
        }
        if let Some(id) = self.lead_id {
            parts.push("c.lead_id = ?".to_string());
            values.push(SqlValue::Integer(id));
        }
        if let Some(t) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let pattern = like_pattern(t);
            parts.push(
                "(l.name LIKE ? ESCAPE '\\' OR l.external_id LIKE ? ESCAPE '\\' OR l.phone LIKE ? ESCAPE '\\' \
                 OR l.email LIKE ? ESCAPE '\\' OR c.message LIKE ? ESCAPE '\\')"
                    .to_string(),
            );
            for _ in 0..5 {
                values.push(SqlValue::Text(pattern.clone()));
            }
        }
        if parts.is_empty() {
            ("1".to_string(), values)
        } else {
            (parts.join(" AND "), values)
        }
    }

    /// The filter as several pieces that each read one index in id order, merged by
    /// the caller, where a single query could not:
    /// - waiting contacts of every source: one piece per source. A small or old
    ///   backlog is then read through `contact_waiting` (source_id, id) instead of
    ///   walking the whole history by rowid until enough waiting rows turn up;
    /// - one operator's contacts of any status: one piece per status an assigned
    ///   contact can have (active, closed), each read through `contact_by_operator`
    ///   (operator_id, status, id).
    fn split(&self, tx: &Transaction<'_>) -> Result<Option<Vec<FeedFilter>>> {
        if self.status == Some(ContactStatus::Waiting) && self.source_id.is_none() {
            let ids: Vec<i64> = tx
                .prepare_cached("SELECT id FROM source ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            return Ok(Some(
                ids.into_iter()
                    .map(|id| FeedFilter {
                        source_id: Some(id),
                        ..self.clone()
                    })
                    .collect(),
            ));
        }
        if self.operator_id.is_some() && self.status.is_none() {
            return Ok(Some(
                [ContactStatus::Active, ContactStatus::Closed]
                    .into_iter()
                    .map(|status| FeedFilter {
                        status: Some(status),
                        ..self.clone()
                    })
                    .collect(),
            ));
        }
        Ok(None)
    }
}

/// Runs a keyset page query for `filter` (split when that is faster, see
/// [`FeedFilter::split`]) and
/// returns its rows newest first, at most `limit`.
fn feed_page(
    tx: &Transaction<'_>,
    filter: &FeedFilter,
    limit: usize,
    sql: impl Fn(&str) -> String,
    bound: i64,
) -> Result<Vec<Contact>> {
    let filters = filter.split(tx)?.unwrap_or_else(|| vec![filter.clone()]);
    let mut rows = Vec::new();
    for f in &filters {
        let (clause, mut values) = f.clause();
        values.push(SqlValue::Integer(bound));
        values.push(SqlValue::Integer(limit.min(i64::MAX as usize) as i64));
        let mut stmt = tx.prepare_cached(&sql(&clause))?;
        let page = stmt.query_map(params_from_iter(values), contact_from_row)?;
        for c in page {
            rows.push(c?);
        }
    }
    rows.sort_unstable_by_key(|c| std::cmp::Reverse(c.id));
    Ok(rows)
}

impl Store {
    /// Contacts matching `filter`, newest first, with ids below `before_id` (keyset
    /// paging: no OFFSET, so any page costs the same).
    pub fn contacts(
        &mut self,
        filter: &FeedFilter,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Contact>> {
        let sql = |clause: &str| {
            format!(
                "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM} WHERE {clause} AND c.id < ? ORDER BY c.id DESC LIMIT ?"
            )
        };
        self.read(|tx| {
            let mut rows = feed_page(tx, filter, limit, sql, before_id.unwrap_or(i64::MAX))?;
            rows.truncate(limit);
            Ok(rows)
        })
    }

    /// Contacts matching `filter`, newest first, with ids above `after_id`, at most
    /// `limit` (the rows above a scrolled feed).
    pub fn contacts_after(
        &mut self,
        filter: &FeedFilter,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<Contact>> {
        let sql = |clause: &str| {
            format!(
                "SELECT * FROM (SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM} WHERE {clause} AND c.id > ?
                 ORDER BY c.id ASC LIMIT ?) ORDER BY 1 DESC"
            )
        };
        self.read(|tx| {
            let rows = feed_page(tx, filter, limit, sql, after_id)?;
            // The `limit` rows just above `after_id`: the oldest of the merged pages.
            let skip = rows.len().saturating_sub(limit);
            Ok(rows.into_iter().skip(skip).collect())
        })
    }

    /// How many contacts matching `filter` have ids above `after_id`, counting at most
    /// `cap` (the feed's "N new").
    pub fn count_newer(&mut self, filter: &FeedFilter, after_id: i64, cap: usize) -> Result<usize> {
        self.read(|tx| {
            let filters = filter
                .split(tx)?
                .unwrap_or_else(|| vec![filter.clone()]);
            let mut total = 0usize;
            for f in &filters {
                let (clause, mut values) = f.clause();
                values.push(SqlValue::Integer(after_id));
                values.push(SqlValue::Integer(cap as i64));
                let sql = format!(
                    "SELECT count(*) FROM (SELECT 1 FROM {CONTACT_FROM} WHERE {clause} AND c.id > ? LIMIT ?)"
                );
                total += tx
                    .prepare_cached(&sql)?
                    .query_row(params_from_iter(values), |r| r.get::<_, i64>(0))?
                    as usize;
            }
            Ok(total.min(cap))
        })
    }

    /// Contacts waiting for an operator, across sources: the sum of the sources'
    /// counters (schema V3), whatever the size of the backlog.
    pub fn waiting_count(&mut self) -> Result<u32> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT coalesce(sum(waiting), 0) FROM source")?
                .query_row([], |r| r.get(0))?)
        })
    }

    /// The open (active) contacts of one operator, newest first.
    pub fn open_contacts(&mut self, operator_id: i64, limit: usize) -> Result<Vec<Contact>> {
        self.contacts(
            &FeedFilter {
                status: Some(ContactStatus::Active),
                operator_id: Some(operator_id),
                ..FeedFilter::default()
            },
            None,
            limit,
        )
    }
}

#[cfg(test)]
mod feed_tests {
    use super::*;
    use crate::domain::Strategy;
    use crate::store::{NewContact, OpenOptions};

    fn ids(v: Vec<Contact>) -> Vec<i64> {
        v.into_iter().map(|c| c.id).collect()
    }

    /// Pages of `f` (before, after, counts) must be exactly `matching` (ids, newest
    /// first) however they are cut.
    fn assert_pages(s: &mut Store, f: &FeedFilter, matching: &[i64]) {
        let top = matching.first().copied().unwrap_or(0);
        for (before, limit) in [(None, 10), (Some(top / 2), 7), (Some(3), 10), (None, 1_000)] {
            let expect: Vec<i64> = matching
                .iter()
                .copied()
                .filter(|id| before.is_none_or(|b| *id < b))
                .take(limit)
                .collect();
            assert_eq!(
                ids(s.contacts(f, before, limit).unwrap()),
                expect,
                "{f:?} before {before:?} limit {limit}"
            );
        }
        for (after, limit) in [(0, 5), (top / 2, 8), (top.saturating_sub(1), 10)] {
            let mut expect: Vec<i64> = matching.iter().copied().filter(|id| *id > after).collect();
            expect.reverse();
            expect.truncate(limit);
            expect.reverse();
            assert_eq!(
                ids(s.contacts_after(f, after, limit).unwrap()),
                expect,
                "{f:?} after {after}"
            );
            let newer = matching.iter().filter(|id| **id > after).count();
            assert_eq!(s.count_newer(f, after, 1_000).unwrap(), newer);
            assert_eq!(s.count_newer(f, after, 3).unwrap(), newer.min(3));
        }
    }

    /// Waiting contacts spread over three sources among routed ones; the split-by-source
    /// pages must equal a plain filter over everything.
    #[test]
    fn waiting_pages_split_by_source_match_a_plain_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("f.db"), OpenOptions::default()).unwrap();
        s.add_operator("Ann", 1_000, true).unwrap();
        for name in ["a", "b", "c"] {
            s.add_source(name, "", Strategy::Weighted).unwrap();
        }
        s.set_weight(&"Ann".into(), &"a".into(), 1).unwrap();
        for i in 0..90 {
            // a routes; b and c wait.
            let src = ["a", "b", "c", "a", "a", "b"][i % 6];
            s.add_contact(&NewContact {
                source: Some(src.into()),
                external_id: Some(format!("x{i}")),
                ..NewContact::default()
            })
            .unwrap();
        }
        let all = s.contacts(&FeedFilter::default(), None, 1_000).unwrap();
        let waiting: Vec<i64> = all
            .iter()
            .filter(|c| c.status == ContactStatus::Waiting)
            .map(|c| c.id)
            .collect();
        assert_eq!(waiting.len(), 45);
        let f = FeedFilter {
            status: Some(ContactStatus::Waiting),
            ..FeedFilter::default()
        };
        assert_pages(&mut s, &f, &waiting);
        // With a source named, one query; with text too.
        let b = FeedFilter {
            source_id: Some(s.source(&"b".into()).unwrap().id),
            text: Some("x1".into()),
            ..f.clone()
        };
        assert!(
            s.contacts(&b, None, 100)
                .unwrap()
                .iter()
                .all(|c| c.source == "b" && c.status == ContactStatus::Waiting)
        );
    }

    /// One operator's contacts, open and closed interleaved (the split by status), with
    /// and without a status or source named, page exactly like a plain filter.
    #[test]
    fn operator_pages_split_by_status_match_a_plain_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("o.db"), OpenOptions::default()).unwrap();
        let ann = s.add_operator("Ann", 1_000, true).unwrap().id;
        s.add_operator("Bob", 1_000, true).unwrap();
        for name in ["a", "b"] {
            s.add_source(name, "", Strategy::Weighted).unwrap();
            s.set_weight(&"Ann".into(), &name.into(), 1).unwrap();
            s.set_weight(&"Bob".into(), &name.into(), 1).unwrap();
        }
        for i in 0..120 {
            let c = s
                .add_contact(&NewContact {
                    source: Some(["a", "b"][i % 2].into()),
                    phone: Some(format!("+1555{i:04}")),
                    ..NewContact::default()
                })
                .unwrap()
                .contact;
            if i % 3 != 0 {
                s.close_contact(c.id).unwrap();
            }
        }
        let all = s.contacts(&FeedFilter::default(), None, 1_000).unwrap();
        let of = |pred: &dyn Fn(&Contact) -> bool| -> Vec<i64> {
            all.iter().filter(|c| pred(c)).map(|c| c.id).collect()
        };
        let b = s.source(&"b".into()).unwrap().id;
        for (f, matching) in [
            (
                FeedFilter {
                    operator_id: Some(ann),
                    ..FeedFilter::default()
                },
                of(&|c| c.operator_id == Some(ann)),
            ),
            (
                FeedFilter {
                    operator_id: Some(ann),
                    status: Some(ContactStatus::Active),
                    ..FeedFilter::default()
                },
                of(&|c| c.operator_id == Some(ann) && c.status == ContactStatus::Active),
            ),
            (
                FeedFilter {
                    operator_id: Some(ann),
                    source_id: Some(b),
                    ..FeedFilter::default()
                },
                of(&|c| c.operator_id == Some(ann) && c.source_id == b),
            ),
        ] {
            assert!(matching.len() > 10, "{f:?}: too few to page");
            assert_pages(&mut s, &f, &matching);
        }
        let open: Vec<i64> = ids(s.open_contacts(ann, 1_000).unwrap());
        assert_eq!(
            open,
            of(&|c| c.operator_id == Some(ann) && c.status == ContactStatus::Active)
        );
    }
}
