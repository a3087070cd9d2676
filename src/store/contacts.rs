//! Contacts after intake: manual assignment with compare-and-set, close and reopen
//! (one or many, each as the person saw it), and the backlog drain on demand. The
//! keyset-paged feed is in `contacts/feed.rs`; intake and the drain itself are in
//! `intake.rs`.

mod feed;

use rusqlite::{Transaction, params};
use serde_json::json;

pub use feed::FeedFilter;

use super::intake::{candidate, drain};
use super::models::get_contact as get;
use super::models::{Contact, Operator};
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
            let op = roster::find(tx, ctx.now, &EntityRef::Id(id))?;
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
            let op = roster::find(tx, ctx.now, operator)?;
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
            let op = roster::find(tx, ctx.now, operator)?;
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
}
