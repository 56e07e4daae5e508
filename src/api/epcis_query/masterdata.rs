//! `GET /masterdata/products/{gtin}` (a GTIN-14, or an NDC-10 with or without hyphens) and
//! `GET /masterdata/locations/{gln}`: the latest captured version of a header master-data
//! record and how many versions exist, as JSON. Who may read which record is the rule of
//! `services::query::masterdata`; a record the caller may not see is a 404 like a missing one.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::api::epcis_problem::EpcisProblem;
use crate::api::openapi::{JSON, Operation, Route, Tag, schema};
use crate::auth::{AppState, Authorized, Query};
use crate::services::query::masterdata;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/masterdata/products/{id}").get(
            product,
            Operation::new(
                "masterdataProduct",
                Tag::MasterData,
                "A product's master data",
            )
            .describe("The latest captured version and how many versions exist.")
            .needs::<Query>()
            .path_param("id", "A GTIN-14, or an NDC-10 with or without hyphens.")
            .reply(
                200,
                "The product.",
                JSON,
                Some(schema::<masterdata::Product>),
            )
            .epcis_problem(400, "Not a GTIN or NDC (`QueryParameterException`).")
            .epcis_problem(
                404,
                "No record the caller may see (`NoSuchResourceException`).",
            ),
        ),
        Route::new("/masterdata/locations/{gln}").get(
            location,
            Operation::new(
                "masterdataLocation",
                Tag::MasterData,
                "A location's master data",
            )
            .describe("The latest captured version and how many versions exist.")
            .needs::<Query>()
            .path_param("gln", "A 13-digit GLN.")
            .reply(
                200,
                "The location.",
                JSON,
                Some(schema::<masterdata::Location>),
            )
            .epcis_problem(400, "Not a GLN (`QueryParameterException`).")
            .epcis_problem(
                404,
                "No record the caller may see (`NoSuchResourceException`).",
            ),
        ),
    ]
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
