//! The handlers of `/api/v1` (also mounted at `/api` and at the root, where the
//! older services had them). Each checks the caller's role, runs one store call off
//! the async runtime and maps typed store errors to statuses.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::auth::Principal;
use super::dto::*;
use super::extract::{JsonBody, Path, Query, RawBody};
use super::problem::{ApiError, Problem};
use crate::domain::{Access, ContactStatus, EntityRef, Strategy};
use crate::store::{
    Expect, FeedFilter, NewContact, OperatorPatch, SourcePatch, StoreError, ValidContact,
};

type ApiResult<T> = Result<T, ApiError>;

/// Default and largest page of a list.
const PAGE: usize = 100;
const MAX_PAGE: usize = 1000;
/// Contacts in one batch request at most.
pub const MAX_BATCH: usize = 1000;

fn page_size(limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        None => Ok(PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("limit {n} is out of range: 1 to {MAX_PAGE}"),
        )),
    }
}

/// A path segment naming an operator or source: digits are an id, else a name.
fn entity(segment: &str) -> EntityRef {
    EntityRef::parse(segment)
}

fn contact_id(segment: &str) -> ApiResult<i64> {
    segment
        .trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("contact {segment} not found")))
}

/// A JSON list with the keyset of its next page in `X-Next-Before` and `Link`
/// (the body stays a plain list, as the older services' clients expect).
fn page<T: serde::Serialize>(items: Vec<T>, last_id: Option<i64>, full: bool) -> Response {
    let mut r = Json(items).into_response();
    if let (true, Some(id)) = (full, last_id) {
        if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
            r.headers_mut().insert("x-next-before", v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("<?before={id}>; rel=\"next\"")) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    r
}

/// Maps the words of the older services onto ours: `new` is waiting (or, with an
/// operator, active), `in_progress` is active, `completed` is closed.
pub fn parse_status(word: &str) -> ApiResult<ContactStatus> {
    match word.trim().to_ascii_lowercase().as_str() {
        "waiting" | "new" | "unassigned" => Ok(ContactStatus::Waiting),
        "active" | "in_progress" | "assigned" | "open" => Ok(ContactStatus::Active),
        "closed" | "completed" | "done" => Ok(ContactStatus::Closed),
        other => Err(ApiError::invalid(
            "status",
            format!(
                "unknown status '{other}': expected waiting, active or closed (or new, in_progress, completed)"
            ),
        )),
    }
}

// ---------------------------------------------------------------- operators

#[utoipa::path(get, path = "/operators", tag = "operators",
    responses((status = 200, body = [OperatorOut]), (status = 401, body = Problem)))]
pub async fn list_operators(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<OperatorOut>>> {
    p.require(Access::Read)?;
    let ops = st.db.read(|s| s.operators()).await?;
    Ok(Json(ops.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/operators", tag = "operators", request_body = OperatorIn,
    responses((status = 201, body = OperatorOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_operator(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<OperatorIn>,
) -> ApiResult<(StatusCode, Json<OperatorOut>)> {
    p.require(Access::Write)?;
    let op = st
        .db
        .write(&p.actor(), move |s| {
            s.add_operator(
                &body.name,
                body.max_load.unwrap_or(5),
                body.active.unwrap_or(true),
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(op.into())))
}

#[utoipa::path(get, path = "/operators/{id}", tag = "operators",
    params(("id" = String, Path, description = "Operator id or name")),
    responses((status = 200, body = OperatorOut), (status = 404, body = Problem)))]
pub async fn get_operator(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<OperatorOut>> {
    p.require(Access::Read)?;
    let op = st.db.read(move |s| s.operator(&entity(&id))).await?;
    Ok(Json(op.into()))
}

#[utoipa::path(patch, path = "/operators/{id}", tag = "operators", request_body = OperatorUpdate,
    params(("id" = String, Path, description = "Operator id or name")),
    responses((status = 200, body = OperatorOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update_operator(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OperatorUpdate>,
) -> ApiResult<Json<OperatorOut>> {
    p.require(Access::Write)?;
    let patch = OperatorPatch {
        name: body.name,
        max_load: body.max_load,
        active: body.active,
    };
    let op = st
        .db
        .write(&p.actor(), move |s| match body.expected {
            None => s.update_operator(&entity(&id), &patch),
            Some(e) => s.update_operator_seen(
                &entity(&id),
                &patch,
                &OperatorPatch {
                    name: e.name,
                    max_load: e.max_load,
                    active: e.active,
                },
            ),
        })
        .await?;
    Ok(Json(op.into()))
}

#[utoipa::path(delete, path = "/operators/{id}", tag = "operators",
    params(("id" = String, Path, description = "Operator id or name")),
    responses((status = 200, body = OperatorOut, description = "The deleted operator"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_operator(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<OperatorOut>> {
    p.require(Access::Write)?;
    let op = st
        .db
        .write(&p.actor(), move |s| s.delete_operator(&entity(&id)))
        .await?;
    Ok(Json(op.into()))
}

// ---------------------------------------------------------------- sources

#[utoipa::path(get, path = "/sources", tag = "sources",
    responses((status = 200, body = [SourceOut])))]
pub async fn list_sources(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<SourceOut>>> {
    p.require(Access::Read)?;
    let list = st.db.read(|s| s.sources()).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/sources", tag = "sources", request_body = SourceIn,
    responses((status = 201, body = SourceOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_source(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<SourceIn>,
) -> ApiResult<(StatusCode, Json<SourceOut>)> {
    p.require(Access::Write)?;
    let src = st
        .db
        .write(&p.actor(), move |s| {
            s.add_source_with_code(
                &body.name,
                body.description.as_deref().unwrap_or(""),
                body.strategy.unwrap_or(Strategy::Weighted),
                body.code.as_deref(),
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(src.into())))
}

#[utoipa::path(get, path = "/sources/{id}", tag = "sources",
    params(("id" = String, Path, description = "Source id or name")),
    responses((status = 200, body = SourceOut), (status = 404, body = Problem)))]
pub async fn get_source(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<SourceOut>> {
    p.require(Access::Read)?;
    let src = st.db.read(move |s| s.source(&entity(&id))).await?;
    Ok(Json(src.into()))
}

#[utoipa::path(patch, path = "/sources/{id}", tag = "sources", request_body = SourceUpdate,
    params(("id" = String, Path, description = "Source id or name")),
    responses((status = 200, body = SourceOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update_source(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SourceUpdate>,
) -> ApiResult<Json<SourceOut>> {
    p.require(Access::Write)?;
    let patch = SourcePatch {
        name: body.name,
        description: body.description,
        strategy: body.strategy,
        ..SourcePatch::default()
    };
    let src = st
        .db
        .write(&p.actor(), move |s| match body.expected {
            None => s.update_source(&entity(&id), &patch),
            Some(e) => s.update_source_seen(
                &entity(&id),
                &patch,
                &SourcePatch {
                    name: e.name,
                    description: e.description,
                    strategy: e.strategy,
                    ..SourcePatch::default()
                },
            ),
        })
        .await?;
    Ok(Json(src.into()))
}

#[utoipa::path(delete, path = "/sources/{id}", tag = "sources",
    params(("id" = String, Path, description = "Source id or name")),
    responses((status = 200, body = SourceOut, description = "The deleted source"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_source(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<SourceOut>> {
    p.require(Access::Write)?;
    let src = st
        .db
        .write(&p.actor(), move |s| s.delete_source(&entity(&id)))
        .await?;
    Ok(Json(src.into()))
}

// ---------------------------------------------------------------- weights

async fn all_weights(st: &AppState, p: &Principal) -> ApiResult<Json<Vec<WeightOut>>> {
    p.require(Access::Read)?;
    let list = st.db.read(|s| s.weights()).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

async fn one_cell(st: &AppState, p: &Principal, cell: WeightCell) -> ApiResult<Json<WeightOut>> {
    p.require(Access::Write)?;
    let w = st
        .db
        .write(&p.actor(), move |s| {
            let (op, src) = (cell.operator_id.entity(), cell.source_id.entity());
            match cell.expected {
                None => s.set_weight(&op, &src, cell.weight),
                Some(seen) => s.set_weight_seen(&op, &src, cell.weight, seen),
            }
        })
        .await?;
    Ok(Json(w.into()))
}

async fn source_set(st: &AppState, p: &Principal, id: String) -> ApiResult<Json<Vec<WeightOut>>> {
    p.require(Access::Read)?;
    let list = st
        .db
        .read(move |s| {
            let src = s.source(&entity(&id))?;
            Ok(s.weights()?
                .into_iter()
                .filter(|w| w.source_id == src.id)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

async fn replace_set(
    st: &AppState,
    p: &Principal,
    id: String,
    set: WeightSet,
) -> ApiResult<Json<Vec<WeightOut>>> {
    p.require(Access::Write)?;
    let items: Vec<(EntityRef, u32)> = set
        .items()
        .into_iter()
        .map(|i| (i.operator_id.entity(), i.weight))
        .collect();
    let list = st
        .db
        .write(&p.actor(), move |s| s.replace_weights(&entity(&id), &items))
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/weights", tag = "weights",
    responses((status = 200, body = [WeightOut], description = "Every non-zero weight")))]
pub async fn list_weights(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    all_weights(&st, &p).await
}

#[utoipa::path(post, path = "/weights", tag = "weights", request_body = WeightCell,
    responses((status = 200, body = WeightOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn set_weight(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(cell): JsonBody<WeightCell>,
) -> ApiResult<Json<WeightOut>> {
    one_cell(&st, &p, cell).await
}

#[utoipa::path(get, path = "/sources/{id}/weights", tag = "weights",
    params(("id" = String, Path, description = "Source id or name")),
    responses((status = 200, body = [WeightOut]), (status = 404, body = Problem)))]
pub async fn get_source_weights(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    source_set(&st, &p, id).await
}

#[utoipa::path(put, path = "/sources/{id}/weights", tag = "weights", request_body = Vec<WeightItem>,
    params(("id" = String, Path, description = "Source id or name")),
    description = "Replaces the source's whole set at once: operators not listed get 0.",
    responses((status = 200, body = [WeightOut]), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_source_weights(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(set): JsonBody<WeightSet>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    replace_set(&st, &p, id, set).await
}

#[utoipa::path(post, path = "/sources/{id}/weights", tag = "weights", request_body = Vec<WeightItem>,
    params(("id" = String, Path, description = "Source id or name")),
    description = "The same as PUT (seed 004's form).",
    responses((status = 200, body = [WeightOut]), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn post_source_weights(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(set): JsonBody<WeightSet>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    replace_set(&st, &p, id, set).await
}

#[utoipa::path(put, path = "/sources/{id}/operators", tag = "weights", request_body = Vec<WeightItem>,
    params(("id" = String, Path, description = "Source id or name")),
    description = "Replaces the source's whole set (seed 003's form).",
    responses((status = 200, body = [WeightOut]), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_source_operators(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(set): JsonBody<WeightSet>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    replace_set(&st, &p, id, set).await
}

#[utoipa::path(post, path = "/sources/{id}/operators", tag = "weights", request_body = Vec<WeightItem>,
    params(("id" = String, Path, description = "Source id or name")),
    description = "Replaces the source's whole set (seed 001's form).",
    responses((status = 200, body = [WeightOut]), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn post_source_operators(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(set): JsonBody<WeightSet>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    replace_set(&st, &p, id, set).await
}

#[utoipa::path(get, path = "/sources/{id}/operators", tag = "weights",
    params(("id" = String, Path, description = "Source id or name")),
    responses((status = 200, body = [WeightOut]), (status = 404, body = Problem)))]
pub async fn get_source_operators(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    source_set(&st, &p, id).await
}

#[utoipa::path(put, path = "/sources/{id}/weights/{operator}", tag = "weights", request_body = WeightValue,
    params(("id" = String, Path, description = "Source id or name"), ("operator" = String, Path, description = "Operator id or name")),
    responses((status = 200, body = WeightOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn put_weight_cell(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path((id, operator)): Path<(String, String)>,
    JsonBody(v): JsonBody<WeightValue>,
) -> ApiResult<Json<WeightOut>> {
    let cell = WeightCell {
        operator_id: named(&operator),
        source_id: named(&id),
        weight: v.weight,
        expected: v.expected,
    };
    one_cell(&st, &p, cell).await
}

fn named(segment: &str) -> Named {
    match entity(segment) {
        EntityRef::Id(id) => Named::Id(id),
        EntityRef::Name(n) => Named::Name(n),
    }
}

#[utoipa::path(get, path = "/operator-weights", tag = "weights",
    responses((status = 200, body = [WeightOut], description = "Every non-zero weight (seed 002's form)")))]
pub async fn list_operator_weights(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<WeightOut>>> {
    all_weights(&st, &p).await
}

#[utoipa::path(post, path = "/operator-weights", tag = "weights", request_body = WeightCell,
    description = "Sets one cell (seed 002's form).",
    responses((status = 200, body = WeightOut), (status = 404, body = Problem)))]
pub async fn post_operator_weight(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(cell): JsonBody<WeightCell>,
) -> ApiResult<Json<WeightOut>> {
    one_cell(&st, &p, cell).await
}

// ---------------------------------------------------------------- contacts

/// A contact to validate, with the lead fields it gave (for the answer's `lead`).
struct Incoming {
    contact: NewContact,
}

/// Turns a request body into a contact: exactly one way of naming the source, lead
/// fields flat or nested (not both with different values), message or payload.
async fn incoming(st: &AppState, body: ContactIn) -> ApiResult<Incoming> {
    let ContactIn {
        source,
        source_id,
        source_code,
        external_id,
        phone,
        email,
        name,
        lead,
        message,
        payload,
        idempotency_key,
    } = body;
    let given = [source.is_some(), source_id.is_some(), source_code.is_some()]
        .iter()
        .filter(|g| **g)
        .count();
    if given > 1 {
        return Err(ApiError::invalid(
            "source",
            "name the source once: `source`, `source_id` or `source_code`",
        ));
    }
    let source = match (source.or(source_id), source_code) {
        (Some(n), _) => n.entity(),
        (None, Some(code)) => {
            let c = code.clone();
            let found = st.db.read(move |s| s.source_by_code(&c)).await?;
            match found {
                Some(s) => EntityRef::Id(s.id),
                None => {
                    return Err(ApiError::invalid(
                        "source_code",
                        format!("no source has code '{code}'"),
                    ));
                }
            }
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "source",
                "missing field `source` (or `source_id`, `source_code`)",
            ));
        }
    };
    let lead = lead.unwrap_or_default();
    let merge = |field: &str, flat: Option<String>, nested: Option<String>| match (flat, nested) {
        (Some(a), Some(b)) if a.trim() != b.trim() => Err(ApiError::invalid(
            field,
            format!("`{field}` and `lead.{field}` differ; give it once"),
        )),
        (a, b) => Ok(a.or(b)),
    };
    let message = match (message, payload) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "payload",
                "give `message` or `payload`, not both",
            ));
        }
        (Some(m), None) => Some(m),
        (None, Some(Value::String(s))) => Some(s),
        (None, Some(Value::Null)) | (None, None) => None,
        (None, Some(v)) => Some(v.to_string()),
    };
    Ok(Incoming {
        contact: NewContact {
            source: Some(source),
            external_id: merge("external_id", external_id, lead.external_id)?,
            phone: merge("phone", phone, lead.phone)?,
            email: merge("email", email, lead.email)?,
            name: merge("name", name, lead.name)?,
            message,
            idempotency_key,
        },
    })
}

fn idempotency_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Intake's answer for one contact: 201 (or 200 for a replay) and the contact.
fn intake_answer(
    r: Result<crate::store::Intake, StoreError>,
) -> Result<(StatusCode, ContactOut), ApiError> {
    match r {
        Ok(i) => {
            let c = i.contact;
            let status = if i.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((status, ContactOut::new(c, Some(i.duplicate))))
        }
        // The source named in the body: the body is at fault, not the URL.
        Err(StoreError::NotFound {
            kind: "source",
            key,
        }) => Err(ApiError::invalid(
            "source",
            format!("source {key} not found"),
        )),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn create_one(
    st: &AppState,
    p: &Principal,
    headers: &HeaderMap,
    body: ContactIn,
) -> ApiResult<(StatusCode, Json<ContactOut>)> {
    p.require(Access::CreateContacts)?;
    let mut given = incoming(st, body).await?.contact;
    if given.idempotency_key.is_none() {
        given.idempotency_key = idempotency_header(headers);
    }
    let valid = given.validate()?;
    let mut results = st.db.intake(vec![valid]).await?;
    let r = results
        .pop()
        .ok_or_else(|| ApiError::internal("intake gave no result"))?;
    if r.is_ok() {
        st.metrics
            .contact_taken(r.as_ref().is_ok_and(|i| i.contact.operator_id.is_some()));
    }
    let (status, out) = intake_answer(r)?;
    Ok((status, Json(out)))
}

#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = ContactIn,
    description = "Takes in one contact and routes it. 201 with the contact (`operator_id` null when nobody can take it: it waits); 200 with the original when the idempotency key (body or `Idempotency-Key` header) was seen before.",
    responses((status = 201, body = ContactOut), (status = 200, body = ContactOut), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn create_contact(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ContactIn>,
) -> ApiResult<(StatusCode, Json<ContactOut>)> {
    create_one(&st, &p, &headers, body).await
}

#[utoipa::path(post, path = "/contacts/batch", tag = "contacts", request_body = Vec<ContactIn>,
    description = "Takes in up to 1000 contacts in one commit; each item gets its own result, and a bad item does not keep the others out.",
    responses((status = 200, body = BatchOut), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn create_contacts_batch(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(items): JsonBody<Vec<Value>>,
) -> ApiResult<Json<BatchOut>> {
    p.require(Access::CreateContacts)?;
    if items.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("{} contacts in one batch; at most {MAX_BATCH}", items.len()),
        ));
    }
    let mut results: Vec<Option<BatchItem>> = Vec::with_capacity(items.len());
    let mut valid: Vec<ValidContact> = Vec::new();
    let mut given: Vec<usize> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let parsed =
            serde_json::from_value::<ContactIn>(item).map_err(|e| super::extract::shape_error(&e));
        let checked = match parsed {
            Ok(body) => match incoming(&st, body).await {
                Ok(inc) => inc.contact.validate().map_err(ApiError::from),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match checked {
            Ok(v) => {
                valid.push(v);
                given.push(index);
                results.push(None);
            }
            Err(e) => results.push(Some(BatchItem {
                index,
                status: e.status.as_u16(),
                contact: None,
                error: Some(e.problem()),
            })),
        }
    }
    let stored = if valid.is_empty() {
        Vec::new()
    } else {
        st.db.intake(valid).await?
    };
    for (index, r) in given.into_iter().zip(stored) {
        if let Ok(i) = &r {
            st.metrics.contact_taken(i.contact.operator_id.is_some());
        }
        results[index] = Some(match intake_answer(r) {
            Ok((status, out)) => BatchItem {
                index,
                status: status.as_u16(),
                contact: Some(out),
                error: None,
            },
            Err(e) => BatchItem {
                index,
                status: e.status.as_u16(),
                contact: None,
                error: Some(e.problem()),
            },
        });
    }
    let results: Vec<BatchItem> = results.into_iter().flatten().collect();
    Ok(Json(BatchOut {
        created: results.iter().filter(|r| r.status == 201).count(),
        replayed: results.iter().filter(|r| r.status == 200).count(),
        failed: results.iter().filter(|r| r.status >= 400).count(),
        results,
    }))
}

pub(super) async fn list(st: &AppState, p: &Principal, q: ContactQuery) -> ApiResult<Response> {
    p.require(Access::Read)?;
    let limit = page_size(q.limit)?;
    let status = q.status.as_deref().map(parse_status).transpose()?;
    let source = q.source.clone();
    let operator = q.operator.clone();
    let rows = st
        .db
        .read(move |s| {
            let source_id = match (q.source_id, source) {
                (Some(id), _) => Some(id),
                (None, Some(r)) => Some(s.source(&entity(&r))?.id),
                (None, None) => None,
            };
            let operator_id = match (q.operator_id, operator) {
                (Some(id), _) => Some(id),
                (None, Some(r)) => Some(s.operator(&entity(&r))?.id),
                (None, None) => None,
            };
            let filter = FeedFilter {
                status,
                source_id,
                operator_id,
                lead_id: q.lead_id.or(q.lead),
                text: None,
            };
            s.contacts(&filter, q.before, limit)
        })
        .await
        .map_err(|e| {
            // A filter naming an unknown source or operator is the query's fault.
            if e.status == StatusCode::NOT_FOUND {
                let mut e = e;
                e.status = StatusCode::UNPROCESSABLE_ENTITY;
                e
            } else {
                e
            }
        })?;
    let full = rows.len() == limit;
    let last = rows.last().map(|c| c.id);
    let out: Vec<ContactOut> = rows.into_iter().map(|c| ContactOut::new(c, None)).collect();
    Ok(page(out, last, full))
}

#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ContactQuery),
    description = "Newest first. The next page: `?before=` the value of the `X-Next-Before` header.",
    responses((status = 200, body = [ContactOut]), (status = 422, body = Problem)))]
pub async fn list_contacts(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ContactQuery>,
) -> ApiResult<Response> {
    list(&st, &p, q).await
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path)),
    responses((status = 200, body = ContactOut), (status = 404, body = Problem)))]
pub async fn get_contact(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactOut>> {
    p.require(Access::Read)?;
    let id = contact_id(&id)?;
    let c = st.db.read(move |s| s.contact(id)).await?;
    Ok(Json(ContactOut::new(c, None)))
}

#[utoipa::path(post, path = "/contacts/{id}/assign", tag = "contacts", request_body = AssignIn,
    params(("id" = i64, Path)),
    responses((status = 200, body = ContactOut), (status = 404, body = Problem), (status = 409, body = Problem, description = "Needs force, moved meanwhile (names who holds it), or closed")))]
pub async fn assign_contact(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AssignIn>,
) -> ApiResult<Json<ContactOut>> {
    p.require(Access::Write)?;
    let id = contact_id(&id)?;
    let expect = match body.expect_operator {
        Some(None) => Expect::Waiting,
        Some(Some(op)) => Expect::Operator(op),
        None if body.reassign => Expect::Any,
        None => Expect::Waiting,
    };
    let op = body.operator_id.entity();
    let c = st
        .db
        .write(&p.actor(), move |s| {
            s.assign_contact(id, &op, body.force, expect)
        })
        .await?;
    Ok(Json(ContactOut::new(c, None)))
}

#[utoipa::path(post, path = "/contacts/{id}/close", tag = "contacts",
    params(("id" = i64, Path)),
    responses((status = 200, body = ContactOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn close_contact(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactOut>> {
    p.require(Access::Write)?;
    let id = contact_id(&id)?;
    let c = st
        .db
        .write(&p.actor(), move |s| s.close_contact(id))
        .await?;
    Ok(Json(ContactOut::new(c, None)))
}

#[utoipa::path(post, path = "/contacts/{id}/reopen", tag = "contacts",
    params(("id" = i64, Path)),
    responses((status = 200, body = ContactOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reopen_contact(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactOut>> {
    p.require(Access::Write)?;
    let id = contact_id(&id)?;
    let c = st
        .db
        .write(&p.actor(), move |s| s.reopen_contact(id))
        .await?;
    Ok(Json(ContactOut::new(c, None)))
}

/// Sets a status by word: closed/completed closes; active/in_progress/new reopens a
/// closed contact and leaves an open one as it is (seed 002's `new` is any open
/// contact, with an operator or not; only `waiting` itself refuses an active one).
pub(super) async fn set_status(
    st: &AppState,
    p: &Principal,
    id: String,
    word: Option<String>,
) -> ApiResult<Json<ContactOut>> {
    p.require(Access::Write)?;
    let id = contact_id(&id)?;
    let Some(word) = word else {
        return Err(ApiError::invalid("status", "missing field `status`"));
    };
    let target = parse_status(&word)?;
    let open = word.trim().eq_ignore_ascii_case("new");
    let c = st
        .db
        .write(&p.actor(), move |s| {
            let now = s.contact(id)?;
            match (target, now.status) {
                (ContactStatus::Closed, _) => s.close_contact(id),
                (_, ContactStatus::Closed) => s.reopen_contact(id),
                (ContactStatus::Waiting, ContactStatus::Active) if !open => Err(StoreError::Invalid(
                    crate::domain::DomainError::invalid(
                        "status",
                        format!(
                            "contact #{id} is active with an operator; it cannot go back to waiting (close or reassign it)"
                        ),
                    ),
                )),
                _ => Ok(now),
            }
        })
        .await?;
    Ok(Json(ContactOut::new(c, None)))
}

#[utoipa::path(patch, path = "/contacts/{id}/status", tag = "contacts", request_body = StatusIn,
    params(("id" = i64, Path), StatusQuery),
    description = "The older services' status change: `status` in the body or the query; closed/completed closes, active/in_progress/new reopens a closed contact.",
    responses((status = 200, body = ContactOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_contact_status(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
    RawBody(body): RawBody,
) -> ApiResult<Json<ContactOut>> {
    let word = status_word(q, &body)?;
    set_status(&st, &p, id, word).await
}

/// The status from the query, else from a JSON body (which may be absent).
pub(super) fn status_word(q: StatusQuery, body: &[u8]) -> ApiResult<Option<String>> {
    if q.status.is_some() {
        return Ok(q.status);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let b: StatusIn = super::extract::parse(body)?;
    Ok(b.status)
}

#[utoipa::path(post, path = "/contacts/drain", tag = "contacts",
    description = "Routes the waiting contacts of every source now.",
    responses((status = 200, body = DrainOut)))]
pub async fn drain(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<DrainOut>> {
    p.require(Access::Write)?;
    let routed = st.db.write(&p.actor(), |s| s.drain_all()).await?;
    Ok(Json(DrainOut { routed }))
}

// ---------------------------------------------------------------- leads, stats, audit

pub(super) async fn leads(st: &AppState, p: &Principal, q: PageQuery) -> ApiResult<Response> {
    p.require(Access::Read)?;
    let limit = page_size(q.limit)?;
    let list = st.db.read(move |s| s.leads_before(q.before, limit)).await?;
    let full = list.len() == limit;
    let last = list.last().map(|l| l.lead.id);
    let out: Vec<LeadOut> = list.into_iter().map(Into::into).collect();
    Ok(page(out, last, full))
}

#[utoipa::path(get, path = "/leads", tag = "leads", params(PageQuery),
    description = "Leads newest first, each with its contacts. Next page: `?before=` the `X-Next-Before` header.",
    responses((status = 200, body = [LeadOut])))]
pub async fn list_leads(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    leads(&st, &p, q).await
}

#[utoipa::path(get, path = "/leads/{id}", tag = "leads", params(("id" = i64, Path)),
    responses((status = 200, body = LeadOut), (status = 404, body = Problem)))]
pub async fn get_lead(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<LeadOut>> {
    p.require(Access::Read)?;
    let id = id
        .trim()
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("lead {id} not found")))?;
    let l = st.db.read(move |s| s.lead(id)).await?;
    Ok(Json(l.into()))
}

pub(super) async fn stats_of(st: &AppState, p: &Principal) -> ApiResult<Json<Vec<StatsOut>>> {
    p.require(Access::Read)?;
    let list = st.db.read(|s| s.stats()).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/stats", tag = "stats",
    description = "Per source: contacts in all, routed and waiting, and each operator's configured and actual share.",
    responses((status = 200, body = [StatsOut])))]
pub async fn stats(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<StatsOut>>> {
    stats_of(&st, &p).await
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = [AuditOut])))]
pub async fn audit(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    p.require(Access::Read)?;
    let limit = page_size(q.limit)?;
    let list = st
        .db
        .read(move |s| s.audit_log(q.filter.as_deref(), q.before, limit))
        .await?;
    let full = list.len() == limit;
    let last = list.last().map(|a| a.id);
    let out: Vec<AuditOut> = list.into_iter().map(Into::into).collect();
    Ok(page(out, last, full))
}

// ---------------------------------------------------------------- seed 004's /requests

#[utoipa::path(post, path = "/requests", tag = "compatibility", request_body = ContactIn,
    description = "Seed 004's name for POST /contacts.",
    responses((status = 201, body = ContactOut), (status = 422, body = Problem)))]
pub async fn create_request(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ContactIn>,
) -> ApiResult<(StatusCode, Json<ContactOut>)> {
    create_one(&st, &p, &headers, body).await
}

#[utoipa::path(get, path = "/requests", tag = "compatibility", params(ContactQuery),
    description = "Seed 004's name for GET /contacts.",
    responses((status = 200, body = [ContactOut])))]
pub async fn list_requests(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ContactQuery>,
) -> ApiResult<Response> {
    list(&st, &p, q).await
}

#[utoipa::path(get, path = "/requests/{id}", tag = "compatibility", params(("id" = i64, Path)),
    responses((status = 200, body = ContactOut), (status = 404, body = Problem)))]
pub async fn get_request(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactOut>> {
    get_contact(State(st), Extension(p), Path(id)).await
}

#[utoipa::path(patch, path = "/requests/{id}/status", tag = "compatibility",
    params(("id" = i64, Path), StatusQuery), request_body = StatusIn,
    description = "Seed 004's status change (`?status=closed`).",
    responses((status = 200, body = ContactOut), (status = 404, body = Problem)))]
pub async fn patch_request_status(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
    RawBody(body): RawBody,
) -> ApiResult<Json<ContactOut>> {
    let word = status_word(q, &body)?;
    set_status(&st, &p, id, word).await
}

#[utoipa::path(get, path = "/requests/leads/all", tag = "compatibility", params(PageQuery),
    description = "Seed 004's name for GET /leads.",
    responses((status = 200, body = [LeadOut])))]
pub async fn requests_leads(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    leads(&st, &p, q).await
}

#[utoipa::path(get, path = "/requests/distribution/stats", tag = "compatibility",
    description = "Seed 004's name for GET /stats.",
    responses((status = 200, body = [StatsOut])))]
pub async fn requests_stats(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<StatsOut>>> {
    stats_of(&st, &p).await
}
