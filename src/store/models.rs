//! Rows as the store hands them out. Times are Unix milliseconds (UTC); in JSON they
//! are RFC 3339 strings.

use serde::{Serialize, Serializer};

use crate::domain::{ContactStatus, Role, Strategy};

pub(crate) fn ts<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*ms))
}

pub(crate) fn ts_opt<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&format_rfc3339(*ms)),
        None => s.serialize_none(),
    }
}

pub fn format_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub max_load: u32,
    /// Open contacts held now.
    pub load: u32,
    /// Sources it takes traffic from (weight > 0).
    pub sources: u32,
    /// Contacts assigned to it since local midnight.
    pub assigned_today: u32,
    #[serde(serialize_with = "ts")]
    pub created_at: i64,
}

impl Operator {
    /// Why it cannot be deleted (it holds open contacts), if so: the one rule, checked
    /// by the store and by the screens that ask before deleting.
    pub fn in_use(&self) -> Option<super::StoreError> {
        (self.load > 0).then(|| super::StoreError::InUse {
            kind: "operator",
            name: self.name.clone(),
            count: u64::from(self.load),
        })
    }
}

impl Source {
    /// Why it cannot be deleted (it has contacts), if so: the one rule, checked by the
    /// store and by the screens that ask before deleting.
    pub fn in_use(&self) -> Option<super::StoreError> {
        (self.total > 0).then(|| super::StoreError::InUse {
            kind: "source",
            name: self.name.clone(),
            count: u64::from(self.total),
        })
    }
}

impl Operator {
    pub fn is_full(&self) -> bool {
        self.load >= self.max_load
    }
}

/// Fields of an operator to change; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorPatch {
    pub name: Option<String>,
    pub max_load: Option<u32>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub strategy: Strategy,
    /// Contacts waiting for an operator.
    pub waiting: u32,
    /// Contacts received since local midnight.
    pub today: u32,
    /// Contacts received ever.
    pub total: u32,
    #[serde(serialize_with = "ts")]
    pub created_at: i64,
    /// How an older HTTP service named the source (unique where set); `null` if none.
    pub code: Option<String>,
}

/// Fields of a source to change; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub strategy: Option<Strategy>,
    /// `Some(None)` removes the code.
    pub code: Option<Option<String>>,
}

/// An API token as listed: never its secret, nor the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    pub name: String,
    pub role: Role,
    #[serde(serialize_with = "ts")]
    pub created_at: i64,
    /// Who added it (the actor of `token add`).
    pub created_by: String,
    #[serde(serialize_with = "ts_opt")]
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Weight {
    pub operator_id: i64,
    pub operator: String,
    pub source_id: i64,
    pub source: String,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lead {
    pub id: i64,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    #[serde(serialize_with = "ts")]
    pub created_at: i64,
}

impl Lead {
    /// The best short label: name, else external id, phone or email.
    pub fn label(&self) -> String {
        lead_label(
            self.name.as_deref(),
            self.external_id.as_deref(),
            self.phone.as_deref(),
            self.email.as_deref(),
        )
    }
}

pub(crate) fn lead_label(
    name: Option<&str>,
    external_id: Option<&str>,
    phone: Option<&str>,
    email: Option<&str>,
) -> String {
    name.or(external_id)
        .or(phone)
        .or(email)
        .unwrap_or("?")
        .to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub id: i64,
    pub lead_id: i64,
    pub source_id: i64,
    /// Source name.
    pub source: String,
    pub operator_id: Option<i64>,
    /// Operator name, or null while waiting (or if the operator was deleted).
    pub operator: Option<String>,
    pub status: ContactStatus,
    pub message: String,
    pub idempotency_key: Option<String>,
    #[serde(serialize_with = "ts")]
    pub created_at: i64,
    #[serde(serialize_with = "ts_opt")]
    pub assigned_at: Option<i64>,
    #[serde(serialize_with = "ts_opt")]
    pub closed_at: Option<i64>,
    /// `auto` or the name of the person who assigned it.
    pub assigned_by: Option<String>,
    /// Short label of the lead: name, else external id, phone or email.
    pub lead: String,
    /// The lead's fields, where the contact was read from the file (empty in an
    /// intake result, which has the lead's id and label only).
    #[serde(skip)]
    pub lead_fields: LeadFields,
}

/// A lead's identifying fields, for front ends that show the lead inside a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFields {
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

pub(crate) const CONTACT_COLUMNS: &str = "c.id, c.lead_id, c.source_id, s.name, c.operator_id, o.name, c.status, \
     c.message, c.idempotency_key, c.created_at, c.assigned_at, c.closed_at, c.assigned_by, \
     l.name, l.external_id, l.phone, l.email";

pub(crate) const CONTACT_FROM: &str = "contact c JOIN source s ON s.id = c.source_id \
     JOIN lead l ON l.id = c.lead_id LEFT JOIN operator o ON o.id = c.operator_id";

pub(crate) fn contact_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    let status: String = r.get(6)?;
    let status = status.parse::<ContactStatus>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let name: Option<String> = r.get(13)?;
    let ext: Option<String> = r.get(14)?;
    let phone: Option<String> = r.get(15)?;
    let email: Option<String> = r.get(16)?;
    Ok(Contact {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        source_id: r.get(2)?,
        source: r.get(3)?,
        operator_id: r.get(4)?,
        operator: r.get(5)?,
        status,
        message: r.get(7)?,
        idempotency_key: r.get(8)?,
        created_at: r.get(9)?,
        assigned_at: r.get(10)?,
        closed_at: r.get(11)?,
        assigned_by: r.get(12)?,
        lead: lead_label(
            name.as_deref(),
            ext.as_deref(),
            phone.as_deref(),
            email.as_deref(),
        ),
        lead_fields: LeadFields {
            external_id: ext,
            phone,
            email,
            name,
        },
    })
}

pub(crate) fn parse_strategy(idx: usize, s: String) -> rusqlite::Result<Strategy> {
    s.parse::<Strategy>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// One contact by id, inside a transaction.
pub(crate) fn get_contact(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
) -> Result<Contact, super::StoreError> {
    use rusqlite::OptionalExtension;
    tx.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM} WHERE c.id = ?1"
    ))?
    .query_row([id], contact_from_row)
    .optional()?
    .ok_or(super::StoreError::NotFound {
        kind: "contact",
        key: format!("#{id}"),
    })
}
