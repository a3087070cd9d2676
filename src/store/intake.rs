//! Intake: a contact validated, matched to its lead, routed and stored, alone or in a
//! batch in one IMMEDIATE transaction; and the backlog drain, which routes waiting
//! contacts when capacity frees up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, Transaction, params};

use super::day::local_day;
use super::models::{Contact, Operator, get_contact};
use super::{AUTO, Ctx, LazyStatement, Result, Store, StoreError, Writer, leads, sources};
use crate::domain::{
    ContactStatus, DomainError, EntityRef, LeadIdentity, Strategy, validate_idempotency_key,
    validate_message,
};
use crate::routing::{self, Candidate};

/// An incoming contact as received: raw fields, validated by the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContact {
    pub source: Option<EntityRef>,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub message: Option<String>,
    pub idempotency_key: Option<String>,
}

/// What intake did with one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    pub contact: Contact,
    /// The idempotency key was seen before: this is the original contact, nothing new
    /// was stored.
    pub duplicate: bool,
}

/// A contact whose fields passed validation ([`NewContact::validate`]). Intake
/// takes it as is, so a caller with threads to spare (`ingest` parses and validates
/// beside the writer) keeps that work off the writing thread.
#[derive(Debug, Clone)]
pub struct ValidContact(Valid);

impl NewContact {
    /// Checks and normalizes the fields, as intake would.
    pub fn validate(&self) -> Result<ValidContact> {
        validate(self).map(ValidContact)
    }
}

#[derive(Debug, Clone)]
struct Valid {
    source: EntityRef,
    identity: LeadIdentity,
    message: String,
    key: Option<String>,
}

fn validate(c: &NewContact) -> Result<Valid> {
    let source = c
        .source
        .clone()
        .ok_or_else(|| DomainError::invalid("source", "a contact needs a source"))?;
    let identity = LeadIdentity::parse(
        c.external_id.as_deref(),
        c.phone.as_deref(),
        c.email.as_deref(),
        c.name.as_deref(),
    )?;
    Ok(Valid {
        source,
        identity,
        message: validate_message(c.message.as_deref())?,
        key: validate_idempotency_key(c.idempotency_key.as_deref())?,
    })
}

/// Eligible operators of a source with names. The SQL reads every operator with a
/// weight for the source; the rule itself is [`Candidate::is_eligible`], the one the
/// picker and the force check use too.
fn eligible(tx: &Transaction<'_>, source_id: i64) -> Result<Vec<(Candidate, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT o.id, o.name, w.weight, o.load, o.max_load, o.active
         FROM weight w JOIN operator o ON o.id = w.operator_id
         WHERE w.source_id = ?1
         ORDER BY o.id",
    )?;
    let rows = stmt.query_map([source_id], |r| {
        Ok((
            Candidate {
                operator_id: r.get(0)?,
                active: r.get(5)?,
                weight: r.get(2)?,
                load: r.get(3)?,
                max_load: r.get(4)?,
            },
            r.get::<_, String>(1)?,
        ))
    })?;
    let mut all = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    all.retain(|(c, _)| c.is_eligible());
    Ok(all)
}

/// An operator as a routing candidate for `source_id` (weight 0 when it has none).
pub(crate) fn candidate(tx: &Transaction<'_>, op: &Operator, source_id: i64) -> Result<Candidate> {
    let weight: u32 = tx
        .prepare_cached("SELECT weight FROM weight WHERE operator_id = ?1 AND source_id = ?2")?
        .query_row(params![op.id, source_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    Ok(Candidate {
        operator_id: op.id,
        active: op.active,
        weight,
        load: op.load,
        max_load: op.max_load,
    })
}

fn pick(
    tx: &Transaction<'_>,
    ctx: &mut Ctx<'_>,
    source_id: i64,
    strategy: Strategy,
) -> Result<Option<(i64, String)>> {
    let cands = eligible(tx, source_id)?;
    let only: Vec<Candidate> = cands.iter().map(|(c, _)| *c).collect();
    Ok(routing::choose(strategy, &only, ctx.rng)
        .map(|i| (cands[i].0.operator_id, cands[i].1.clone())))
}

/// A source's id, name and strategy.
type SourceBrief = (i64, Arc<str>, Strategy);

/// Caches for one intake transaction. While it holds the write lock nobody else can
/// change sources, weights or loads, so source lookups and each source's eligible
/// operators are read once per transaction and loads are then followed in memory.
///
/// New assignments are written to `operator.load` once per operator at the end of the
/// transaction ([`IntakeCache::flush`]), by a conditional UPDATE that must change
/// exactly one row: the backstop that refuses, and rolls back, anything past max_load.
/// (Status changes of existing contacts keep loads through triggers.)
#[derive(Default)]
struct IntakeCache {
    /// Sources looked up so far: a handful per batch, so a list beats hashing every
    /// contact's source name.
    sources: Vec<(EntityRef, SourceBrief)>,
    eligible: HashMap<i64, Vec<(Candidate, Arc<str>)>>,
    /// Contacts assigned per operator in this transaction, not yet in `operator.load`.
    assigned: HashMap<i64, u32>,
    /// Contacts stored in this transaction, not yet in their sources' counters.
    stored: Stored,
}

/// What one intake transaction stored, for the counters of schema V3.
#[derive(Default)]
struct Stored {
    /// Ids of the first and the last contact stored.
    ids: Option<(i64, i64)>,
    /// (source, contacts, of which waiting): a handful of sources per batch.
    sources: Vec<(i64, u32, u32)>,
    /// Contacts routed per (source, operator).
    routed: HashMap<(i64, i64), u32>,
}

impl IntakeCache {
    fn source(&mut self, tx: &Transaction<'_>, r: &EntityRef) -> Result<SourceBrief> {
        if let Some((_, found)) = self.sources.iter().find(|(known, _)| known == r) {
            return Ok(found.clone());
        }
        let (id, name, strategy) = sources::find_brief(tx, r)?;
        let found = (id, Arc::<str>::from(name), strategy);
        self.sources.push((r.clone(), found.clone()));
        Ok(found)
    }

    fn pick(
        &mut self,
        tx: &Transaction<'_>,
        ctx: &mut Ctx<'_>,
        source_id: i64,
        strategy: Strategy,
    ) -> Result<Option<(i64, Arc<str>)>> {
        let list = match self.eligible.entry(source_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let pending = &self.assigned;
                e.insert(
                    eligible(tx, source_id)?
                        .into_iter()
                        .map(|(mut c, name)| {
                            c.load += pending.get(&c.operator_id).copied().unwrap_or(0);
                            (c, Arc::<str>::from(name))
                        })
                        .collect(),
                )
            }
        };
        let only: Vec<Candidate> = list.iter().map(|(c, _)| *c).collect();
        let Some(i) = routing::choose(strategy, &only, ctx.rng) else {
            return Ok(None);
        };
        let (chosen, name) = (list[i].0.operator_id, list[i].1.clone());
        // The operator may take traffic from several cached sources.
        for list in self.eligible.values_mut() {
            for (c, _) in list.iter_mut().filter(|(c, _)| c.operator_id == chosen) {
                c.load += 1;
            }
        }
        *self.assigned.entry(chosen).or_default() += 1;
        Ok(Some((chosen, name)))
    }

    /// Notes a contact this transaction stored, with its operator if routed.
    fn stored(&mut self, id: i64, source_id: i64, operator_id: Option<i64>) {
        let s = &mut self.stored;
        s.ids = Some(s.ids.map_or((id, id), |(first, _)| (first, id)));
        let waiting = u32::from(operator_id.is_none());
        match s.sources.iter_mut().find(|(sid, _, _)| *sid == source_id) {
            Some((_, n, w)) => {
                *n += 1;
                *w += waiting;
            }
            None => s.sources.push((source_id, 1, waiting)),
        }
        if let Some(op) = operator_id {
            *s.routed.entry((source_id, op)).or_default() += 1;
        }
    }

    /// Writes what the transaction did to the operators' loads and day counters and to
    /// the sources' counters.
    fn flush(&mut self, tx: &Transaction<'_>, now: i64) -> Result<()> {
        if self.assigned.is_empty() && self.stored.ids.is_none() {
            return Ok(());
        }
        // The local day of this transaction's contacts, computed by SQLite once for
        // both counters (a `localtime` conversion costs thousands of instructions).
        let day: i64 = tx
            .prepare_cached(concat!("SELECT ", local_day!("?1")))?
            .query_row([now], |r| r.get(0))?;
        self.flush_loads(tx, day)?;
        self.flush_counts(tx, day)
    }

    /// Adds this transaction's contacts to their sources' counters (schema V3): one
    /// UPDATE per source and one per (source, operator) routed to, instead of an
    /// INSERT trigger that would run for every contact.
    ///
    /// The guard: intake stores contacts with consecutive ids, and every source keeps
    /// the newest id counted for it. If the first contact stored here is not the next
    /// id after the newest counted one, contacts were stored since by something that
    /// did not count them: the first source's UPDATE then changes nothing, and every
    /// counter is recounted from `contact` instead (in this transaction, which counts
    /// its own contacts with them).
    fn flush_counts(&mut self, tx: &Transaction<'_>, day: i64) -> Result<()> {
        let stored = std::mem::take(&mut self.stored);
        let Some((first, last)) = stored.ids else {
            return Ok(());
        };
        let mut stmt = tx.prepare_cached(
            "UPDATE source SET total = total + ?2, waiting = waiting + ?3,
                received_day_count = CASE WHEN ?4 > received_day THEN ?2
                    WHEN ?4 = received_day THEN received_day_count + ?2
                    ELSE received_day_count END,
                received_day = max(received_day, ?4),
                counted_through = ?5
             WHERE id = ?1 AND ?6 - 1 <= (SELECT max(counted_through) FROM source)",
        )?;
        for (i, &(source_id, n, waiting)) in stored.sources.iter().enumerate() {
            if stmt.execute(params![source_id, n, waiting, day, last, first])? == 1 {
                continue;
            }
            // The source cannot be gone (its contacts were just stored, under the
            // write lock): the guard refused.
            if i > 0 {
                return Err(StoreError::CountersRefused { source_id });
            }
            tx.execute_batch(super::migrations::RECOUNT)?;
            tx.prepare_cached("UPDATE source SET counted_through = ?1")?
                .execute([last])?;
            return Ok(());
        }
        // Nearly always the row is there: one UPDATE, an INSERT only for a new pair.
        let mut add = tx.prepare_cached(
            "UPDATE routed SET contacts = contacts + ?3 WHERE source_id = ?1 AND operator_id = ?2",
        )?;
        for ((source_id, operator_id), n) in stored.routed {
            if add.execute(params![source_id, operator_id, n])? == 0 {
                tx.prepare_cached(
                    "INSERT INTO routed (source_id, operator_id, contacts) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![source_id, operator_id, n])?;
            }
        }
        Ok(())
    }

    /// Writes this transaction's new assignments to `operator.load` and to the
    /// operator's day counter ("assigned today", schema V2). Each UPDATE must change
    /// exactly one row; otherwise the operator is inactive or would pass max_load, and
    /// the whole transaction is refused.
    fn flush_loads(&mut self, tx: &Transaction<'_>, day: i64) -> Result<()> {
        if self.assigned.is_empty() {
            return Ok(());
        }
        let mut stmt = tx.prepare_cached(
            "UPDATE operator SET load = load + ?2,
                assigned_day_count = CASE WHEN ?3 > assigned_day THEN ?2
                    WHEN ?3 = assigned_day THEN assigned_day_count + ?2
                    ELSE assigned_day_count END,
                assigned_day = max(assigned_day, ?3)
             WHERE id = ?1 AND active = 1 AND load + ?2 <= max_load",
        )?;
        for (&operator_id, &n) in &self.assigned {
            if stmt.execute(params![operator_id, n, day])? != 1 {
                return Err(StoreError::LimitRefused {
                    operator_id,
                    count: n,
                });
            }
        }
        self.assigned.clear();
        Ok(())
    }
}

/// The statements intake runs for every contact, prepared once per transaction on
/// first use.
struct IntakeStatements<'t> {
    leads: leads::LeadStatements<'t>,
    seen: LazyStatement<'t>,
    insert: LazyStatement<'t>,
}

impl<'t> IntakeStatements<'t> {
    fn new(tx: &'t Transaction<'t>) -> IntakeStatements<'t> {
        IntakeStatements {
            leads: leads::LeadStatements::new(tx),
            seen: LazyStatement::new(
                tx,
                "SELECT id FROM contact WHERE source_id = ?1 AND idempotency_key = ?2",
            ),
            // The one INSERT of contact rows in the program, so that the loads and
            // counters of new contacts are kept in one place, `IntakeCache::flush`:
            // an INSERT trigger would more than double intake's instructions per
            // contact (benches/README.md). `tests/counters.rs` fails on another.
            insert: LazyStatement::new(
                tx,
                "INSERT INTO contact (lead_id, source_id, operator_id, status, message, idempotency_key,
                                      created_at, assigned_at, assigned_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            ),
        }
    }
}

fn intake_one(
    tx: &Transaction<'_>,
    ctx: &mut Ctx<'_>,
    cache: &mut IntakeCache,
    st: &mut IntakeStatements<'_>,
    v: &Valid,
) -> Result<Intake> {
    let (source_id, source_name, strategy) = cache.source(tx, &v.source)?;
    if let Some(key) = &v.key {
        let seen: Option<i64> = st
            .seen
            .get()?
            .query_row(params![source_id, key], |r| r.get(0))
            .optional()?;
        if let Some(id) = seen {
            return Ok(Intake {
                contact: get_contact(tx, id)?,
                duplicate: true,
            });
        }
    }
    let (lead_id, lead, lead_fields) = leads::match_or_create(&mut st.leads, &v.identity, ctx.now)?;
    let chosen = cache.pick(tx, ctx, source_id, strategy)?;
    let (status, operator_id, operator, assigned_at, assigned_by) = match &chosen {
        Some((id, name)) => (
            ContactStatus::Active,
            Some(*id),
            Some(String::from(&**name)),
            Some(ctx.now),
            Some(AUTO),
        ),
        None => (ContactStatus::Waiting, None, None, None, None),
    };
    let id = st.insert.get()?.insert(params![
        lead_id,
        source_id,
        operator_id,
        status.as_str(),
        v.message,
        v.key,
        ctx.now,
        assigned_at,
        assigned_by
    ])?;
    cache.stored(id, source_id, operator_id);
    Ok(Intake {
        contact: Contact {
            id,
            lead_id,
            source_id,
            source: String::from(&*source_name),
            operator_id,
            operator,
            status,
            message: v.message.clone(),
            idempotency_key: v.key.clone(),
            created_at: ctx.now,
            assigned_at,
            closed_at: None,
            assigned_by: assigned_by.map(str::to_string),
            lead,
            lead_fields,
        },
        duplicate: false,
    })
}

/// Routes the waiting contacts of `source_ids`, oldest first across them, until each
/// source has no waiting contact or nobody eligible. Returns how many were assigned.
pub(crate) fn drain(tx: &Transaction<'_>, ctx: &mut Ctx<'_>, source_ids: &[i64]) -> Result<usize> {
    let next_waiting = |source_id: i64, after: i64| -> Result<Option<i64>> {
        Ok(tx
            .prepare_cached(
                "SELECT id FROM contact WHERE source_id = ?1 AND status = 'waiting' AND id > ?2
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![source_id, after], |r| r.get(0))
            .optional()?)
    };
    let mut ids = source_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // (source, strategy, oldest waiting contact)
    let mut heads: Vec<(i64, Strategy, i64)> = Vec::new();
    for sid in ids {
        if let Some(head) = next_waiting(sid, 0)? {
            let (_, _, strategy) = sources::find_brief(tx, &EntityRef::Id(sid))?;
            heads.push((sid, strategy, head));
        }
    }
    let mut routed = 0;
    while let Some(i) = (0..heads.len()).min_by_key(|&i| heads[i].2) {
        let (sid, strategy, contact_id) = heads[i];
        match pick(tx, ctx, sid, strategy)? {
            None => {
                heads.swap_remove(i);
            }
            Some((operator_id, _)) => {
                let changed = tx
                    .prepare_cached(
                        "UPDATE contact SET status = 'active', operator_id = ?1, assigned_at = ?2,
                                assigned_by = 'auto'
                         WHERE id = ?3 AND status = 'waiting'",
                    )?
                    .execute(params![operator_id, ctx.now, contact_id])?;
                routed += changed;
                match next_waiting(sid, contact_id)? {
                    Some(next) => heads[i].2 = next,
                    None => {
                        heads.swap_remove(i);
                    }
                }
            }
        }
    }
    Ok(routed)
}

impl Store {
    /// Takes in one contact: idempotency check, lead matching and routing, in one
    /// IMMEDIATE transaction.
    pub fn add_contact(&mut self, c: &NewContact) -> Result<Intake> {
        let v = validate(c)?;
        self.write_as(Writer::Intake, |tx, ctx| {
            let mut cache = IntakeCache::default();
            let mut st = IntakeStatements::new(tx);
            let intake = intake_one(tx, ctx, &mut cache, &mut st, &v)?;
            drop(st);
            cache.flush(tx, ctx.now)?;
            Ok(intake)
        })
    }

    /// Takes in a batch in one transaction. A contact that fails validation or names
    /// an unknown source gets its own error; the others go through.
    pub fn add_contacts(&mut self, batch: &[NewContact]) -> Result<Vec<Result<Intake>>> {
        let valid: Vec<Result<Valid>> = batch.iter().map(validate).collect();
        self.intake_batch(
            valid.iter().map(|v| v.as_ref().map_err(|e| e.to_string())),
            None,
        )
    }

    /// [`Store::add_contacts`] for contacts validated beforehand.
    pub fn add_valid_contacts(&mut self, batch: &[ValidContact]) -> Result<Vec<Result<Intake>>> {
        self.intake_batch(batch.iter().map(|v| Ok(&v.0)), None)
    }

    /// [`Store::add_valid_contacts`] that gives the write lock up early: at once when
    /// a person waits for it, after `budget` when another writer does. It commits the
    /// contacts taken in by then and returns their results, a prefix of `batch` (never
    /// empty when `batch` is not). The caller offers the rest again.
    pub fn add_valid_contacts_within(
        &mut self,
        batch: &[ValidContact],
        budget: Duration,
    ) -> Result<Vec<Result<Intake>>> {
        self.intake_batch(batch.iter().map(|v| Ok(&v.0)), Some(budget))
    }

    fn intake_batch<'v>(
        &mut self,
        batch: impl Iterator<Item = std::result::Result<&'v Valid, String>> + Clone,
        budget: Option<Duration>,
    ) -> Result<Vec<Result<Intake>>> {
        self.write_as(Writer::Intake, |tx, ctx| {
            let started = Instant::now();
            let mut cache = IntakeCache::default();
            let mut st = IntakeStatements::new(tx);
            let mut out = Vec::with_capacity(batch.size_hint().0);
            for v in batch.clone() {
                // Every 32 contacts (a few microseconds of work each) the batch commits
                // what it has taken in when a person waits for the lock, or when its
                // time is up and any other writer waits. Alone, it runs to its end:
                // large batches write each index page to the WAL once, not per slice.
                // (Only a caller that takes a prefix gives a budget.)
                if out.len() % 32 == 31
                    && budget.is_some_and(|b| {
                        ctx.person_waiting() || (started.elapsed() >= b && ctx.anyone_waiting())
                    })
                {
                    break;
                }
                out.push(match v {
                    Err(e) => Err(StoreError::Invalid(DomainError::new(e))),
                    Ok(v) => match intake_one(tx, ctx, &mut cache, &mut st, v) {
                        Ok(i) => Ok(i),
                        Err(e @ StoreError::NotFound { .. }) => Err(e),
                        Err(e) => return Err(e),
                    },
                });
            }
            drop(st);
            cache.flush(tx, ctx.now)?;
            Ok(out)
        })
    }
}
