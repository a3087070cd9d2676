//! Seed 004's `/requests` paths, answered by the contact and lead handlers.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::*;
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::dto::*;
use crate::server::extract::{JsonBody, Path, Query, RawBody};
use crate::server::problem::Problem;

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
