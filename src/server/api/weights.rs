//! Weights: all of them, one source's set (replaced at once), one cell; the older
//! services' forms of each.

use axum::Extension;
use axum::Json;
use axum::extract::State;

use super::*;
use crate::domain::{Access, EntityRef};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::dto::*;
use crate::server::extract::{JsonBody, Path};
use crate::server::problem::Problem;

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
