//! The JSON of contacts: what a new contact may carry (ours and the older services'
//! names), a contact as answered, batches, the list's filters, assignment.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::store::{Contact, LeadFields, format_rfc3339};

/// The lead inside a contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadRef {
    pub id: i64,
    /// Name, else external id, phone or email.
    pub label: String,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub id: i64,
    pub lead_id: i64,
    pub source_id: i64,
    pub source: String,
    pub operator_id: Option<i64>,
    pub operator: Option<String>,
    pub operator_name: Option<String>,
    /// `waiting`, `active` or `closed`.
    pub status: String,
    pub message: String,
    /// The same as `message`; one given as a JSON object or array (seed 003's
    /// `payload`) comes back as that JSON.
    #[schema(value_type = Value)]
    pub payload: Value,
    pub idempotency_key: Option<String>,
    pub created_at: String,
    pub assigned_at: Option<String>,
    pub closed_at: Option<String>,
    /// `auto` or who assigned it.
    pub assigned_by: Option<String>,
    pub lead: LeadRef,
    pub lead_external_id: Option<String>,
    /// On create: the idempotency key was seen before and this is the original.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
}

impl ContactOut {
    pub fn new(c: Contact, duplicate: Option<bool>) -> ContactOut {
        let LeadFields {
            external_id,
            phone,
            email,
            name,
        } = c.lead_fields;
        ContactOut {
            id: c.id,
            lead_id: c.lead_id,
            source_id: c.source_id,
            source: c.source,
            operator_id: c.operator_id,
            operator_name: c.operator.clone(),
            operator: c.operator,
            status: c.status.as_str().to_string(),
            payload: payload_of(&c.message),
            message: c.message,
            idempotency_key: c.idempotency_key,
            created_at: format_rfc3339(c.created_at),
            assigned_at: c.assigned_at.map(format_rfc3339),
            closed_at: c.closed_at.map(format_rfc3339),
            assigned_by: c.assigned_by,
            lead_external_id: external_id.clone(),
            lead: LeadRef {
                id: c.lead_id,
                label: c.lead,
                external_id,
                phone,
                email,
                name,
            },
            duplicate,
        }
    }
}

/// A message as `payload`: JSON text of an object or array is that JSON (how a
/// structured payload was stored), anything else the text itself.
fn payload_of(message: &str) -> Value {
    if message.trim_start().starts_with(['{', '['])
        && let Ok(v @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(message)
    {
        return v;
    }
    Value::String(message.to_string())
}

/// The lead fields of a new contact, nested.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadIn {
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A new contact: the fields of an `ingest` line. The source by `source` (name or
/// id) or `source_id` or `source_code`; the lead by at least one of external_id,
/// phone, email (flat, `lead_`-prefixed, or in `lead`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    #[serde(default)]
    pub source: Option<Named>,
    #[serde(default)]
    pub source_id: Option<Named>,
    #[serde(default)]
    pub source_code: Option<String>,
    #[serde(default, alias = "lead_external_id")]
    pub external_id: Option<String>,
    #[serde(default, alias = "lead_phone")]
    pub phone: Option<String>,
    #[serde(default, alias = "lead_email")]
    pub email: Option<String>,
    #[serde(default, alias = "lead_name")]
    pub name: Option<String>,
    #[serde(default)]
    pub lead: Option<LeadIn>,
    #[serde(default)]
    pub message: Option<String>,
    /// The message, as text or as any JSON (stored as its JSON text).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Option<Value>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// One item's result in a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    pub index: usize,
    /// 201 stored, 200 a replay of a stored one, 4xx refused.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::server::problem::Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    pub created: usize,
    pub replayed: usize,
    pub failed: usize,
    pub results: Vec<BatchItem>,
}

/// Filters and keyset paging of the contact list (newest first).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// waiting, active or closed (also new, in_progress, completed).
    pub status: Option<String>,
    /// Source id or name.
    pub source: Option<String>,
    pub source_id: Option<i64>,
    /// Operator id or name.
    pub operator: Option<String>,
    pub operator_id: Option<i64>,
    pub lead: Option<i64>,
    pub lead_id: Option<i64>,
    /// Only contacts with ids below this (the `next_before` of the last page).
    pub before: Option<i64>,
    /// Page size, 1..=1000 (default 100).
    pub limit: Option<usize>,
}

/// Assign by hand. Without `expect_operator`, assigns only a waiting contact unless
/// `reassign` is true; with it, only if the contact is still with that operator
/// (null: still waiting).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    #[serde(alias = "operator")]
    pub operator_id: Named,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub reassign: bool,
    #[serde(default, deserialize_with = "some_value")]
    #[schema(value_type = Option<i64>)]
    pub expect_operator: Option<Option<i64>>,
}

/// Present-but-null becomes `Some(None)`.
fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// A status change the older services' way.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrainOut {
    /// Waiting contacts that got an operator.
    pub routed: usize,
}
