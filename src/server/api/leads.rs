//! Leads with their contacts, stats and the audit log.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::Response;

use super::*;
use crate::domain::Access;
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::dto::*;
use crate::server::extract::{Path, Query};
use crate::server::problem::{ApiError, Problem};

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
