//! Sources: list, create (with a kept `code`), get, update, delete.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::*;
use crate::domain::{Access, Strategy};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::dto::*;
use crate::server::extract::{JsonBody, Path};
use crate::server::problem::Problem;
use crate::store::SourcePatch;

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
