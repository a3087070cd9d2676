//! Contacts: create (one, or a batch through one commit), list with filters and
//! keyset paging, get, assign (compare-and-set), close, reopen, status words, drain.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::*;
use crate::domain::{Access, ContactStatus, EntityRef};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::dto::*;
use crate::server::extract::{JsonBody, Path, Query, RawBody};
use crate::server::problem::{ApiError, Problem};
use crate::store::{Expect, FeedFilter, NewContact, StoreError, ValidContact};

/// Turns a request body into a contact: exactly one way of naming the source, lead
/// fields flat or nested (not both with different values), message or payload.
async fn incoming(st: &AppState, body: ContactIn) -> ApiResult<NewContact> {
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
    Ok(NewContact {
        source: Some(source),
        external_id: merge("external_id", external_id, lead.external_id)?,
        phone: merge("phone", phone, lead.phone)?,
        email: merge("email", email, lead.email)?,
        name: merge("name", name, lead.name)?,
        message,
        idempotency_key,
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
    let mut given = incoming(st, body).await?;
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
        let parsed = serde_json::from_value::<ContactIn>(item)
            .map_err(|e| super::super::extract::shape_error(&e));
        let checked = match parsed {
            Ok(body) => match incoming(&st, body).await {
                Ok(c) => c.validate().map_err(ApiError::from),
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
    let b: StatusIn = super::super::extract::parse(body)?;
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
