//! Contacts: intake (idempotency, lead matching, routing) in one IMMEDIATE
//! transaction per contact or per batch, the backlog drain, manual assignment with
//! compare-and-set, close and reopen, and the keyset-paged feed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{
    OptionalExtension, Transaction, params, params_from_iter, types::Value as SqlValue,
};
use serde_json::json;

use super::models::{CONTACT_COLUMNS, CONTACT_FROM, Contact, Operator, contact_from_row};
use super::{
    AUTO, ContactAction, Ctx, LazyStatement, Result, Store, StoreError, Writer, audit, leads,
    roster, sources,
};
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

pub(crate) fn get(tx: &Transaction<'_>, id: i64) -> Result<Contact> {
    tx.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM} WHERE c.id = ?1"
    ))?
    .query_row([id], contact_from_row)
    .optional()?
    .ok_or(StoreError::NotFound {
        kind: "contact",
        key: format!("#{id}"),
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

/// Caches for one intake transaction. While it holds the write lock nobody else can
/// change sources, weights or loads, so source lookups and each source's eligible
/// operators are read once per transaction and loads are then followed in memory.
///
/// New assignments are written to `operator.load` once per operator at the end of the
/// transaction ([`IntakeCache::flush`]), by a conditional UPDATE that must change
/// exactly one row: the backstop that refuses, and rolls back, anything past max_load.
/// (Status changes of existing contacts keep loads through triggers.)
/// A source's id, name and strategy.
type SourceBrief = (i64, Arc<str>, Strategy);

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
            .prepare_cached(&format!("SELECT {}", super::schema::local_day_sql("?1")))?
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
            tx.execute_batch(super::schema::RECOUNT)?;
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
                contact: get(tx, id)?,
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
    use crate::store::OpenOptions;

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
