//! The JSON the API reads and writes. Responses carry the field names of the older
//! services beside ours where they differ (`is_active`, `max_load_limit`,
//! `current_load`, `operator_name`, a nested `lead`, `payload`, ...), and requests
//! accept them as aliases; a field that is neither is refused, never dropped.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::domain::{EntityRef, Strategy};
use crate::store::{
    AuditEntry, LeadWithContacts, Operator, OperatorShare, Source, SourceStats, Weight,
    format_rfc3339,
};

/// An operator or source named by id (a number) or by name (text).
#[derive(Debug, Clone, ToSchema)]
#[serde(untagged)]
pub enum Named {
    Id(i64),
    Name(String),
}

impl<'de> Deserialize<'de> for Named {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64().map(Named::Id).ok_or_else(|| {
                serde::de::Error::custom(format!("{n} is not an id (a whole number)"))
            }),
            Value::String(s) => Ok(Named::Name(s)),
            other => Err(serde::de::Error::custom(format!(
                "expected an id (a number) or a name (text), not {other}"
            ))),
        }
    }
}

impl Named {
    pub fn entity(&self) -> EntityRef {
        match self {
            Named::Id(id) => EntityRef::Id(*id),
            Named::Name(n) => EntityRef::Name(n.trim().to_string()),
        }
    }
}

// ---------------------------------------------------------------- operators

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorOut {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub max_load: u32,
    /// Open contacts held now.
    pub load: u32,
    /// Sources it takes traffic from (weight > 0).
    pub sources: u32,
    pub assigned_today: u32,
    pub created_at: String,
    /// Older services' names for `active`, `max_load` and `load`.
    pub is_active: bool,
    pub max_load_limit: u32,
    pub max_active_leads: u32,
    pub max_active_contacts: u32,
    pub current_load: u32,
}

impl From<Operator> for OperatorOut {
    fn from(o: Operator) -> Self {
        OperatorOut {
            id: o.id,
            active: o.active,
            max_load: o.max_load,
            load: o.load,
            sources: o.sources,
            assigned_today: o.assigned_today,
            created_at: format_rfc3339(o.created_at),
            is_active: o.active,
            max_load_limit: o.max_load,
            max_active_leads: o.max_load,
            max_active_contacts: o.max_load,
            current_load: o.load,
            name: o.name,
        }
    }
}

/// A new operator. `max_load` defaults to 5 and `active` to true.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorIn {
    pub name: String,
    #[serde(default, alias = "is_active")]
    pub active: Option<bool>,
    #[serde(
        default,
        alias = "max_load_limit",
        alias = "max_active_leads",
        alias = "max_active_contacts"
    )]
    pub max_load: Option<u32>,
}

/// Fields to change; absent fields stay. `expected` makes it a compare-and-set: the
/// change is refused (409) if any field it names has another value now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, alias = "is_active")]
    pub active: Option<bool>,
    #[serde(
        default,
        alias = "max_load_limit",
        alias = "max_active_leads",
        alias = "max_active_contacts"
    )]
    pub max_load: Option<u32>,
    #[serde(default)]
    pub expected: Option<OperatorExpected>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorExpected {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, alias = "is_active")]
    pub active: Option<bool>,
    #[serde(default)]
    pub max_load: Option<u32>,
}

// ---------------------------------------------------------------- sources

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceOut {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[schema(value_type = String, example = "weighted")]
    pub strategy: Strategy,
    /// A unique code some integrations name the source by, or null.
    pub code: Option<String>,
    /// Contacts waiting for an operator.
    pub waiting: u32,
    /// Contacts received since local midnight.
    pub today: u32,
    /// Contacts received ever.
    pub total: u32,
    pub created_at: String,
}

impl From<Source> for SourceOut {
    fn from(s: Source) -> Self {
        SourceOut {
            id: s.id,
            name: s.name,
            description: s.description,
            strategy: s.strategy,
            code: s.code,
            waiting: s.waiting,
            today: s.today,
            total: s.total,
            created_at: format_rfc3339(s.created_at),
        }
    }
}

/// A new source. `strategy` is `weighted` (default) or `capacity`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceIn {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub strategy: Option<Strategy>,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub strategy: Option<Strategy>,
    #[serde(default)]
    pub expected: Option<SourceExpected>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceExpected {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub strategy: Option<Strategy>,
}

// ---------------------------------------------------------------- weights

#[derive(Debug, Serialize, ToSchema)]
pub struct WeightOut {
    pub operator_id: i64,
    pub operator: String,
    pub operator_name: String,
    pub source_id: i64,
    pub source: String,
    pub weight: u32,
}

impl From<Weight> for WeightOut {
    fn from(w: Weight) -> Self {
        WeightOut {
            operator_id: w.operator_id,
            operator_name: w.operator.clone(),
            operator: w.operator,
            source_id: w.source_id,
            source: w.source,
            weight: w.weight,
        }
    }
}

/// One operator's weight in a source's set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightItem {
    /// Operator id or name.
    #[serde(alias = "operator")]
    pub operator_id: Named,
    pub weight: u32,
}

/// A source's whole set: a list, or an object holding the list.
#[derive(Debug, ToSchema)]
pub enum WeightSet {
    List(Vec<WeightItem>),
    Wrapped(WrappedWeights),
}

/// Told apart by the JSON's shape rather than `untagged`, so an item's unknown or
/// bad field is named in the 422 instead of "did not match any variant".
impl<'de> Deserialize<'de> for WeightSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            v @ Value::Array(_) => serde_json::from_value(v).map(WeightSet::List),
            v @ Value::Object(_) => serde_json::from_value(v).map(WeightSet::Wrapped),
            _ => {
                return Err(D::Error::custom(
                    "expected a list of {\"operator_id\", \"weight\"} or {\"weights\": [...]}",
                ));
            }
        }
        .map_err(D::Error::custom)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrappedWeights {
    #[serde(alias = "operators")]
    pub weights: Vec<WeightItem>,
}

impl WeightSet {
    pub fn items(self) -> Vec<WeightItem> {
        match self {
            WeightSet::List(v) => v,
            WeightSet::Wrapped(w) => w.weights,
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightCell {
    #[serde(alias = "operator")]
    pub operator_id: Named,
    #[serde(alias = "source")]
    pub source_id: Named,
    pub weight: u32,
    /// Compare-and-set: the weight the caller saw.
    #[serde(default)]
    pub expected: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightValue {
    pub weight: u32,
    #[serde(default)]
    pub expected: Option<u32>,
}

mod contacts;
pub use contacts::*;

// ---------------------------------------------------------------- leads

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadOut {
    pub id: i64,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub created_at: String,
    pub contacts: Vec<ContactOut>,
}

impl From<LeadWithContacts> for LeadOut {
    fn from(l: LeadWithContacts) -> Self {
        LeadOut {
            id: l.lead.id,
            external_id: l.lead.external_id,
            phone: l.lead.phone,
            email: l.lead.email,
            name: l.lead.name,
            created_at: format_rfc3339(l.lead.created_at),
            contacts: l
                .contacts
                .into_iter()
                .map(|c| ContactOut::new(c, None))
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub before: Option<i64>,
    /// Page size, 1..=1000 (default 100).
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Text in the actor, action or values.
    pub filter: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    #[schema(value_type = Object)]
    pub before: Option<Value>,
    #[schema(value_type = Object)]
    pub after: Option<Value>,
}

impl From<AuditEntry> for AuditOut {
    fn from(a: AuditEntry) -> Self {
        AuditOut {
            id: a.id,
            at: format_rfc3339(a.at),
            actor: a.actor,
            action: a.action,
            entity: a.entity,
            entity_id: a.entity_id,
            before: a.before,
            after: a.after,
        }
    }
}

// ---------------------------------------------------------------- stats

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareOut {
    pub operator_id: i64,
    pub operator: String,
    pub operator_name: String,
    pub weight: u32,
    /// weight / sum of the source's weights (0..=1).
    pub configured_share: f64,
    /// Contacts of this source routed to this operator.
    pub count: u64,
    /// count / routed contacts of this source (0..=1).
    pub actual_share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub source_id: i64,
    pub source: String,
    pub source_name: String,
    #[schema(value_type = String)]
    pub strategy: Strategy,
    pub total: u64,
    pub routed: u64,
    pub waiting: u64,
    pub operators: Vec<ShareOut>,
}

impl From<SourceStats> for StatsOut {
    fn from(s: SourceStats) -> Self {
        StatsOut {
            source_id: s.source_id,
            source_name: s.source.clone(),
            source: s.source,
            strategy: s.strategy,
            total: s.total,
            routed: s.routed,
            waiting: s.waiting,
            operators: s.operators.into_iter().map(ShareOut::from).collect(),
        }
    }
}

impl From<OperatorShare> for ShareOut {
    fn from(o: OperatorShare) -> Self {
        ShareOut {
            operator_id: o.operator_id,
            operator_name: o.operator.clone(),
            operator: o.operator,
            weight: o.weight,
            configured_share: o.configured_share,
            count: o.count,
            actual_share: o.actual_share,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    pub schema_version: i64,
}
