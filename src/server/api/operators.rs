//! Operators: list, create, get (with load), update (compare-and-set with `expected`), delete.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::*;
use crate::domain::Access;
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::dto::*;
use crate::server::extract::{JsonBody, Path};
use crate::server::problem::Problem;
use crate::store::OperatorPatch;

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
