//! Leads: matching an incoming identity to a person (external id, then phone, then
//! email), filling in what a lead lacked, and listing leads with their contacts.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::models::{
    CONTACT_COLUMNS, CONTACT_FROM, Contact, Lead, LeadFields, contact_from_row, lead_label,
};
use super::{LazyStatement, Result, Store, StoreError};
use crate::domain::LeadIdentity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadWithContacts {
    #[serde(flatten)]
    pub lead: Lead,
    pub contacts: Vec<Contact>,
}

const LEAD_COLUMNS: &str = "id, external_id, phone, email, name, created_at";

fn lead_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lead> {
    Ok(Lead {
        id: r.get(0)?,
        external_id: r.get(1)?,
        phone: r.get(2)?,
        email: r.get(3)?,
        name: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// Lookups of a lead by one identifier (the oldest lead, where several share it).
const BY_EXTERNAL_ID: &str =
    "SELECT id, external_id, phone, email, name, created_at FROM lead WHERE external_id = ?1";
const BY_PHONE: &str = "SELECT id, external_id, phone, email, name, created_at FROM lead
     WHERE phone = ?1 ORDER BY id LIMIT 1";
const BY_EMAIL: &str = "SELECT id, external_id, phone, email, name, created_at FROM lead
     WHERE email = ?1 ORDER BY id LIMIT 1";

/// The statements of lead matching, prepared once per intake transaction: a batch
/// of thousands of contacts then skips the statement cache's lookups.
pub(crate) struct LeadStatements<'t> {
    by_external_id: LazyStatement<'t>,
    by_phone: LazyStatement<'t>,
    by_email: LazyStatement<'t>,
    insert: LazyStatement<'t>,
    update: LazyStatement<'t>,
}

#[derive(Clone, Copy)]
enum By {
    ExternalId,
    Phone,
    Email,
}

impl<'t> LeadStatements<'t> {
    pub(crate) fn new(tx: &'t Transaction<'t>) -> LeadStatements<'t> {
        LeadStatements {
            by_external_id: LazyStatement::new(tx, BY_EXTERNAL_ID),
            by_phone: LazyStatement::new(tx, BY_PHONE),
            by_email: LazyStatement::new(tx, BY_EMAIL),
            insert: LazyStatement::new(
                tx,
                "INSERT INTO lead (external_id, phone, email, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            ),
            update: LazyStatement::new(
                tx,
                "UPDATE lead SET external_id = ?1, phone = ?2, email = ?3, name = ?4 WHERE id = ?5",
            ),
        }
    }

    fn by(&mut self, by: By, value: &str) -> Result<Option<Lead>> {
        let stmt = match by {
            By::ExternalId => &mut self.by_external_id,
            By::Phone => &mut self.by_phone,
            By::Email => &mut self.by_email,
        };
        Ok(stmt.get()?.query_row([value], lead_from_row).optional()?)
    }
}

/// Finds the lead for `identity` or creates it; returns its id and short label.
///
/// The first match by external id, then phone, then email wins. A match gets the
/// identifiers it lacked, unless another lead already has that identifier: two leads
/// are never merged, and an identifier never comes to name two leads through us.
pub(crate) fn match_or_create(
    st: &mut LeadStatements<'_>,
    identity: &LeadIdentity,
    now: i64,
) -> Result<(i64, String, LeadFields)> {
    let mut by_ext = None;
    let mut by_phone = None;
    let mut by_email = None;
    let mut found = None;
    if let Some(x) = &identity.external_id {
        by_ext = st.by(By::ExternalId, x)?;
        found = by_ext.clone();
    }
    if found.is_none()
        && let Some(p) = &identity.phone
    {
        by_phone = st.by(By::Phone, p)?;
        found = by_phone.clone();
    }
    if found.is_none()
        && let Some(e) = &identity.email
    {
        by_email = st.by(By::Email, e)?;
        found = by_email.clone();
    }
    let Some(lead) = found else {
        let id = st.insert.get()?.insert(params![
            identity.external_id,
            identity.phone,
            identity.email,
            identity.name,
            now
        ])?;
        let label = lead_label(
            identity.name.as_deref(),
            identity.external_id.as_deref(),
            identity.phone.as_deref(),
            identity.email.as_deref(),
        );
        let fields = LeadFields {
            external_id: identity.external_id.clone(),
            phone: identity.phone.clone(),
            email: identity.email.clone(),
            name: identity.name.clone(),
        };
        return Ok((id, label, fields));
    };

    // Fill in what the lead lacks, if nobody else holds it.
    let mut external_id = lead.external_id.clone();
    if external_id.is_none() && identity.external_id.is_some() && by_ext.is_none() {
        external_id = identity.external_id.clone();
    }
    let mut phone = lead.phone.clone();
    if phone.is_none()
        && let Some(p) = &identity.phone
    {
        let owner = match &by_phone {
            Some(l) => Some(l.id),
            None => st.by(By::Phone, p)?.map(|l| l.id),
        };
        if owner.is_none() {
            phone = Some(p.clone());
        }
    }
    let mut email = lead.email.clone();
    if email.is_none()
        && let Some(e) = &identity.email
    {
        let owner = match &by_email {
            Some(l) => Some(l.id),
            None => st.by(By::Email, e)?.map(|l| l.id),
        };
        if owner.is_none() {
            email = Some(e.clone());
        }
    }
    let name = lead.name.clone().or_else(|| identity.name.clone());
    if (&external_id, &phone, &email, &name)
        != (&lead.external_id, &lead.phone, &lead.email, &lead.name)
    {
        st.update
            .get()?
            .execute(params![external_id, phone, email, name, lead.id])?;
    }
    let label = lead_label(
        name.as_deref(),
        external_id.as_deref(),
        phone.as_deref(),
        email.as_deref(),
    );
    Ok((
        lead.id,
        label,
        LeadFields {
            external_id,
            phone,
            email,
            name,
        },
    ))
}

impl Store {
    /// Leads newest first, each with its contacts (newest first).
    pub fn leads(&mut self, limit: usize) -> Result<Vec<LeadWithContacts>> {
        self.leads_before(None, limit)
    }

    /// Leads with ids below `before_id`, newest first, with their contacts (keyset
    /// paging: a long listing reads page by page in flat memory).
    pub fn leads_before(
        &mut self,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LeadWithContacts>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {LEAD_COLUMNS} FROM lead WHERE id < ?2 ORDER BY id DESC LIMIT ?1"
            ))?;
            let leads = stmt
                .query_map(
                    rusqlite::params![
                        limit.min(i64::MAX as usize) as i64,
                        before_id.unwrap_or(i64::MAX)
                    ],
                    lead_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            leads
                .into_iter()
                .map(|lead| {
                    let contacts = lead_contacts(tx, lead.id)?;
                    Ok(LeadWithContacts { lead, contacts })
                })
                .collect()
        })
    }

    /// A lead picked at random (for the simulator's returning leads), or `None` if
    /// there are none.
    pub fn random_lead(&mut self, rng: &mut impl rand::Rng) -> Result<Option<Lead>> {
        use rand::RngExt;
        self.read(|tx| {
            let (lo, hi): (Option<i64>, Option<i64>) =
                tx.query_row("SELECT min(id), max(id) FROM lead", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Ok(None);
            };
            let at = rng.random_range(lo..=hi);
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {LEAD_COLUMNS} FROM lead WHERE id >= ?1 ORDER BY id LIMIT 1"
                ))?
                .query_row([at], lead_from_row)
                .optional()?)
        })
    }

    /// One lead with every contact it made, across sources.
    pub fn lead(&mut self, id: i64) -> Result<LeadWithContacts> {
        self.read(|tx| {
            let lead = tx
                .prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM lead WHERE id = ?1"))?
                .query_row([id], lead_from_row)
                .optional()?
                .ok_or(StoreError::NotFound {
                    kind: "lead",
                    key: format!("#{id}"),
                })?;
            let contacts = lead_contacts(tx, id)?;
            Ok(LeadWithContacts { lead, contacts })
        })
    }
}

fn lead_contacts(tx: &Transaction<'_>, lead_id: i64) -> Result<Vec<Contact>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM} WHERE c.lead_id = ?1 ORDER BY c.id DESC"
    ))?;
    let rows = stmt.query_map([lead_id], contact_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
