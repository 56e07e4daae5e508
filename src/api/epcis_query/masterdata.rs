//! `GET /masterdata/products/{gtin}` (a GTIN-14, or an NDC-10 with or without hyphens) and
//! `GET /masterdata/locations/{gln}`: the latest captured version of a header master-data
//! record and how many versions exist, as JSON. Who may read which record is the rule of
//! `services::query::masterdata`; a record the caller may not see is a 404 like a missing one.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::api::epcis_problem::EpcisProblem;
use crate::auth::{AppState, Authorized, Query};
use crate::services::query::masterdata;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/masterdata/products/{id}", get(product))
        .route("/masterdata/locations/{gln}", get(location))
}

async fn product(
    auth: Authorized<Query>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, EpcisProblem> {
    let product = masterdata::product(&state.db, &auth.visibility(), &id).await?;
    Ok(Json(product).into_response())
}

async fn location(
    auth: Authorized<Query>,
    State(state): State<AppState>,
    Path(gln): Path<String>,
) -> Result<Response, EpcisProblem> {
    let location = masterdata::location(&state.db, &auth.visibility(), &gln).await?;
    Ok(Json(location).into_response())
}
