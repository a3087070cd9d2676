//! Contacts after intake: manual assignment with compare-and-set, close and reopen
//! (one or many, each as the person saw it), and the keyset-paged feed. Intake and the
//! backlog drain are in `intake.rs`.

use rusqlite::{Transaction, params, params_from_iter, types::Value as SqlValue};
use serde_json::json;

use super::intake::{candidate, drain};
use super::models::get_contact as get;
use super::models::{CONTACT_COLUMNS, CONTACT_FROM, Contact, Operator, contact_from_row};
use super::{ContactAction, Ctx, Result, Store, StoreError, audit, roster};
use crate::domain::{ContactStatus, EntityRef};
use crate::routing::{self};

/// What the person assigning believes the contact's state is (compare-and-set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Still waiting: assign only if nobody took it meanwhile.
    Waiting,
    /// Held by this operator: reassign only if it still is.
    Operator(i64),
    /// Waiting or held by anyone: an explicit reassignment.
    Any,
}

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
            let pattern = format!(
                "%{}%",
                t.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
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

fn status_snapshot(c: &Contact) -> serde_json::Value {
    json!({"status": c.status, "operator": c.operator})
}

/// A contact as the person acting saw it on screen: its status and operator. Actions
/// taken from a screen carry it, and the store applies them only where it still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seen {
    pub status: ContactStatus,
    pub operator_id: Option<i64>,
}

impl Seen {
    pub fn of(c: &Contact) -> Seen {
        Seen {
            status: c.status,
            operator_id: c.operator_id,
        }
    }
}

/// What an action on several contacts did with one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
// A bulk action returns one per marked contact (a few hundred at most): boxing would
// buy nothing measurable.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// Applied; the contact as it is now.
    Done(Contact),
    /// Not applied, and why.
    Skipped { id: i64, why: Skip },
}

impl Outcome {
    pub fn id(&self) -> i64 {
        match self {
            Outcome::Done(c) => c.id,
            Outcome::Skipped { id, .. } => *id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Someone changed the contact since it was seen; `now` is how it is.
    Changed { seen: Seen, now: Box<Contact> },
    /// The contact is not in the file any more.
    Gone,
    /// Seen in a state the action does not apply to, e.g. closing a closed contact.
    NotApplicable(String),
}

impl Skip {
    /// "#3581 was assigned to Elif Yilmaz meanwhile: skipped".
    pub fn describe(&self, id: i64) -> String {
        let what = match self {
            Skip::Gone => "is gone from the file".to_string(),
            Skip::NotApplicable(why) => why.clone(),
            Skip::Changed { seen, now } => {
                let op = now.operator.as_deref().unwrap_or("nobody");
                match (seen.status, now.status) {
                    (_, ContactStatus::Closed) => "was closed meanwhile".to_string(),
                    (ContactStatus::Closed, ContactStatus::Active) => {
                        format!("was reopened meanwhile and is with {op}")
                    }
                    (ContactStatus::Closed, ContactStatus::Waiting) => {
                        "was reopened meanwhile and is waiting".to_string()
                    }
                    (ContactStatus::Active, ContactStatus::Waiting) => {
                        "was unassigned meanwhile and is waiting".to_string()
                    }
                    (ContactStatus::Active, ContactStatus::Active) => {
                        format!("was reassigned to {op} meanwhile")
                    }
                    (_, ContactStatus::Active) => format!("was assigned to {op} meanwhile"),
                    (_, ContactStatus::Waiting) => "changed meanwhile".to_string(),
                }
            }
        };
        format!("#{id} {what}: skipped")
    }
}

/// The contact if it is still as `seen`, else why not.
fn still_as_seen(
    tx: &Transaction<'_>,
    id: i64,
    seen: Seen,
) -> Result<std::result::Result<Contact, Skip>> {
    match get(tx, id) {
        Ok(c) if Seen::of(&c) == seen => Ok(Ok(c)),
        Ok(c) => Ok(Err(Skip::Changed {
            seen,
            now: Box::new(c),
        })),
        Err(StoreError::NotFound { .. }) => Ok(Err(Skip::Gone)),
        Err(e) => Err(e),
    }
}

/// Gives `contacts` (waiting or active, none of them with `op` yet) to `op` by hand.
/// The force check is the routing rule for all of them at once: an inactive operator
/// or one without room for every contact needs `force`, and the audit entry of a
/// forced assignment says which limit it went past.
fn assign_checked(
    tx: &Transaction<'_>,
    ctx: &mut Ctx<'_>,
    contacts: &[Contact],
    op: &Operator,
    force: bool,
) -> Result<()> {
    let n = u32::try_from(contacts.len()).unwrap_or(u32::MAX);
    let source = contacts.first().map_or(0, |c| c.source_id);
    let why = candidate(tx, op, source)?.why_not(n);
    let forced = why.needs_force();
    if forced && !force {
        return Err(StoreError::NeedsForce {
            operator: op.name.clone(),
            why: force_reasons(&why, op),
        });
    }
    let mut freed = Vec::new();
    for before in contacts {
        let changed = tx
            .prepare_cached(
                "UPDATE contact SET operator_id = ?1, status = 'active', assigned_at = ?2, assigned_by = ?3
                 WHERE id = ?4 AND status = ?5 AND operator_id IS ?6",
            )?
            .execute(params![
                op.id,
                ctx.now,
                ctx.actor,
                before.id,
                before.status.as_str(),
                before.operator_id
            ])?;
        if changed != 1 {
            return Err(StoreError::AlreadyAssigned {
                contact: before.id,
                operator: get(tx, before.id)?
                    .operator
                    .unwrap_or_else(|| "nobody".into()),
            });
        }
        let after = get(tx, before.id)?;
        let action = if before.status == ContactStatus::Waiting {
            "contact.assign"
        } else {
            "contact.reassign"
        };
        let mut after_json = status_snapshot(&after);
        if forced {
            after_json["forced"] = json!(force_reasons(&why, op));
        }
        audit::record(
            tx,
            ctx,
            action,
            "contact",
            Some(before.id),
            Some(status_snapshot(before)),
            Some(after_json),
        )?;
        if let (ContactStatus::Active, Some(prev)) = (before.status, before.operator_id) {
            freed.push(prev);
        }
    }
    freed.sort_unstable();
    freed.dedup();
    for prev in freed {
        let sources = roster::weighted_sources(tx, prev)?;
        drain(tx, ctx, &sources)?;
    }
    Ok(())
}

/// The limits a forced assignment goes past: "inactive", "full (3/3)",
/// "inactive and room for 2 of 3 (1/3)".
fn force_reasons(why: &routing::Ineligibility, op: &Operator) -> String {
    why.0
        .iter()
        .filter(|r| r.needs_force())
        .map(|r| match r {
            routing::Ineligible::Full { .. } => {
                format!("{} ({}/{})", r.label(), op.load, op.max_load)
            }
            _ => r.label(),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// A status change of one contact: the contact after it, and the sources to drain.
type StatusChange = fn(&Transaction<'_>, &mut Ctx<'_>, &Contact) -> Result<(Contact, Vec<i64>)>;

/// Closes `before`; returns it closed and the sources whose waiting contacts its
/// freed slot may take (the caller drains them, once for a whole set).
fn close_tx(
    tx: &Transaction<'_>,
    ctx: &mut Ctx<'_>,
    before: &Contact,
) -> Result<(Contact, Vec<i64>)> {
    let contact_id = before.id;
    tx.prepare_cached(
        "UPDATE contact SET status = 'closed', closed_at = ?1 WHERE id = ?2 AND status <> 'closed'",
    )?
    .execute(params![ctx.now, contact_id])?;
    let after = get(tx, contact_id)?;
    audit::record(
        tx,
        ctx,
        "contact.close",
        "contact",
        Some(contact_id),
        Some(status_snapshot(before)),
        Some(status_snapshot(&after)),
    )?;
    // The sources the freed slot can take contacts from, for the caller to drain.
    let freed = match (before.status, before.operator_id) {
        (ContactStatus::Active, Some(op)) => roster::weighted_sources(tx, op)?,
        _ => Vec::new(),
    };
    Ok((after, freed))
}

/// Reopens `before`; returns it and the source to drain when it came back waiting.
fn reopen_tx(
    tx: &Transaction<'_>,
    ctx: &mut Ctx<'_>,
    before: &Contact,
) -> Result<(Contact, Vec<i64>)> {
    let contact_id = before.id;
    let has_room = match before.operator_id {
        Some(id) => {
            let op = roster::find(tx, &EntityRef::Id(id))?;
            op.active && !op.is_full()
        }
        None => false,
    };
    if has_room {
        tx.prepare_cached(
            "UPDATE contact SET status = 'active', closed_at = NULL WHERE id = ?1 AND status = 'closed'",
        )?
        .execute([contact_id])?;
    } else {
        tx.prepare_cached(
            "UPDATE contact SET status = 'waiting', operator_id = NULL, assigned_at = NULL,
                    assigned_by = NULL, closed_at = NULL
             WHERE id = ?1 AND status = 'closed'",
        )?
        .execute([contact_id])?;
    }
    let reopened = get(tx, contact_id)?;
    audit::record(
        tx,
        ctx,
        "contact.reopen",
        "contact",
        Some(contact_id),
        Some(status_snapshot(before)),
        Some(status_snapshot(&reopened)),
    )?;
    let waiting = if reopened.status == ContactStatus::Waiting {
        vec![reopened.source_id]
    } else {
        Vec::new()
    };
    Ok((reopened, waiting))
}

impl Store {
    pub fn contact(&mut self, id: i64) -> Result<Contact> {
        self.read(|tx| get(tx, id))
    }

    /// Assigns (or reassigns) a contact by hand. An inactive or full operator needs
    /// `force`. Compare-and-set on `expect`: if another supervisor moved the contact
    /// first, the error names the operator it went to.
    pub fn assign_contact(
        &mut self,
        contact_id: i64,
        operator: &EntityRef,
        force: bool,
        expect: Expect,
    ) -> Result<Contact> {
        self.write(|tx, ctx| {
            let before = get(tx, contact_id)?;
            if before.status == ContactStatus::Closed {
                return Err(StoreError::WrongStatus {
                    contact: contact_id,
                    status: before.status,
                    action: ContactAction::Assign,
                });
            }
            let held_by = || StoreError::AlreadyAssigned {
                contact: contact_id,
                operator: before.operator.clone().unwrap_or_else(|| "nobody".into()),
            };
            match expect {
                Expect::Waiting if before.status != ContactStatus::Waiting => return Err(held_by()),
                Expect::Operator(id) if before.operator_id != Some(id) => {
                    return Err(if before.status == ContactStatus::Waiting {
                        StoreError::Unassigned {
                            contact: contact_id,
                        }
                    } else {
                        held_by()
                    });
                }
                _ => {}
            }
            let op = roster::find(tx, operator)?;
            if before.operator_id == Some(op.id) {
                return Err(held_by());
            }
            assign_checked(tx, ctx, std::slice::from_ref(&before), &op, force)?;
            get(tx, contact_id)
        })
    }

    /// Assigns contacts the supervisor picked on screen, in one transaction, each only
    /// if it is still as `seen`. A contact that changed meanwhile is skipped and
    /// reported with its state now; the rest go to `operator`. An inactive operator,
    /// or one without room for all of them, needs `force` (the error says which and
    /// nothing is changed).
    pub fn assign_contacts(
        &mut self,
        items: &[(i64, Seen)],
        operator: &EntityRef,
        force: bool,
    ) -> Result<Vec<Outcome>> {
        self.write(|tx, ctx| {
            let op = roster::find(tx, operator)?;
            let mut outcomes = Vec::with_capacity(items.len());
            let mut todo = Vec::new();
            for &(id, seen) in items {
                match still_as_seen(tx, id, seen)? {
                    Err(skip) => outcomes.push(Outcome::Skipped { id, why: skip }),
                    Ok(c) if c.status == ContactStatus::Closed => outcomes.push(Outcome::Skipped {
                        id,
                        why: Skip::NotApplicable("is closed; reopen it first".into()),
                    }),
                    Ok(c) if c.operator_id == Some(op.id) => outcomes.push(Outcome::Skipped {
                        id,
                        why: Skip::NotApplicable(format!("is already with {}", op.name)),
                    }),
                    Ok(c) => {
                        outcomes.push(Outcome::Done(c.clone()));
                        todo.push(c);
                    }
                }
            }
            if !todo.is_empty() {
                assign_checked(tx, ctx, &todo, &op, force)?;
            }
            for o in &mut outcomes {
                if let Outcome::Done(c) = o {
                    *c = get(tx, c.id)?;
                }
            }
            Ok(outcomes)
        })
    }

    /// Closes a waiting or active contact; its operator's freed slot drains waiting
    /// contacts in the same transaction.
    pub fn close_contact(&mut self, contact_id: i64) -> Result<Contact> {
        self.write(|tx, ctx| {
            let before = get(tx, contact_id)?;
            if !before.status.can_close() {
                return Err(StoreError::WrongStatus {
                    contact: contact_id,
                    status: before.status,
                    action: ContactAction::Close,
                });
            }
            let (_, freed) = close_tx(tx, ctx, &before)?;
            drain(tx, ctx, &freed)?;
            get(tx, contact_id)
        })
    }

    /// Reopens a closed contact: back to `active` with its operator when that operator
    /// is active and has room; otherwise (no operator, deleted, inactive or full) it
    /// becomes `waiting` and is routed at once if anyone eligible can take it. A reopen
    /// never pushes an operator past max_load.
    pub fn reopen_contact(&mut self, contact_id: i64) -> Result<Contact> {
        self.write(|tx, ctx| {
            let before = get(tx, contact_id)?;
            if !before.status.can_reopen() {
                return Err(StoreError::WrongStatus {
                    contact: contact_id,
                    status: before.status,
                    action: ContactAction::Reopen,
                });
            }
            let (_, waiting) = reopen_tx(tx, ctx, &before)?;
            drain(tx, ctx, &waiting)?;
            get(tx, contact_id)
        })
    }

    /// Closes the contacts the supervisor picked, each only if it is still as `seen`,
    /// in one transaction; the others are skipped and reported.
    pub fn close_contacts(&mut self, items: &[(i64, Seen)]) -> Result<Vec<Outcome>> {
        self.bulk(
            items,
            ContactStatus::can_close,
            "is already closed",
            close_tx,
        )
    }

    /// Reopens the contacts the supervisor picked, each only if it is still as `seen`
    /// (closed), in one transaction; the others are skipped and reported.
    pub fn reopen_contacts(&mut self, items: &[(i64, Seen)]) -> Result<Vec<Outcome>> {
        self.bulk(items, ContactStatus::can_reopen, "is not closed", reopen_tx)
    }

    /// Checks every contact against what was seen first, then applies `apply` to
    /// those still as seen, and drains the sources they free once at the end: the
    /// action's own backlog drain never makes another marked contact look changed.
    fn bulk(
        &mut self,
        items: &[(i64, Seen)],
        applies: fn(ContactStatus) -> bool,
        not_applicable: &str,
        apply: StatusChange,
    ) -> Result<Vec<Outcome>> {
        self.write(|tx, ctx| {
            let mut outcomes = Vec::with_capacity(items.len());
            for &(id, seen) in items {
                outcomes.push(match still_as_seen(tx, id, seen)? {
                    Err(why) => Outcome::Skipped { id, why },
                    Ok(c) if !applies(c.status) => Outcome::Skipped {
                        id,
                        why: Skip::NotApplicable(not_applicable.into()),
                    },
                    Ok(c) => Outcome::Done(c),
                });
            }
            let mut to_drain = Vec::new();
            for o in &mut outcomes {
                if let Outcome::Done(c) = o {
                    let (after, sources) = apply(tx, ctx, c)?;
                    *c = after;
                    to_drain.extend(sources);
                }
            }
            drain(tx, ctx, &to_drain)?;
            for o in &mut outcomes {
                if let Outcome::Done(c) = o {
                    *c = get(tx, c.id)?;
                }
            }
            Ok(outcomes)
        })
    }

    /// Routes the waiting backlog of every source now. Returns how many were assigned.
    pub fn drain_all(&mut self) -> Result<usize> {
        self.write(|tx, ctx| {
            let ids: Vec<i64> = tx
                .prepare_cached("SELECT id FROM source WHERE waiting > 0")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let routed = drain(tx, ctx, &ids)?;
            if routed > 0 {
                audit::record(
                    tx,
                    ctx,
                    "backlog.drain",
                    "contact",
                    None,
                    None,
                    Some(json!({"routed": routed})),
                )?;
            }
            Ok(routed)
        })
    }

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
