//! The EPCIS 2.0 query interface on the partner listener (REST binding,
//! `../shared/reference/epcis.md` §3): `GET /epcis/events`, `GET /epcis/events/{eventID}`,
//! `GET /epcis/epcs/{epc}/events`, the listings `/epcis/eventTypes`, `/bizSteps`,
//! `/bizLocations`, `/readPoints`, `/dispositions` with their `/{value}` and
//! `/{value}/events` forms, and the master-data reads ([`masterdata`]).
//!
//! Each handler needs `Authorized<Query>`; the caller's visibility goes into every service
//! call. Answers are EPCIS query documents in JSON-LD (default) or 2.0 XML
//! (`Accept: application/xml`), with EPCs as `GS1-EPC-Format` asks, and the headers
//! `GS1-EPCIS-Version` and `GS1-CBV-Version`. More results are announced with
//! `Link: <…>; rel="next"` and `GS1-Next-Page-Token-Expires`.
//!
//! Value paths use a wildcard segment, so an EPC or location given as a Digital Link is found
//! whether or not the client percent-encoded its slashes.

mod masterdata;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use epcis::Event;
use epcis::encode::{DocumentHead, JsonLdWriter, XmlWriter};
use epcis::model::{DocumentKind, Header};

use super::epcis_problem::{EpcisException, EpcisProblem, add_version_headers};
use super::openapi::{JSON, Operation, Route, Tag};
use crate::auth::{AppState, Authorized, Query};
use crate::services::query::{
    self as service, EpcFormat, Extensions, Listing, NextPage, QueryError, params,
};

/// The JSON-LD context of EPCIS 2.0 listings.
const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Answers of event queries: EPCIS query documents.
const DOCUMENT_MEDIA: &[&str] = &["application/ld+json", "application/json", "application/xml"];

/// Headers and answers every event query shares.
fn event_query(op: Operation) -> Operation {
    op.needs::<Query>()
        .header(
            "GS1-EPC-Format",
            "`Always_GS1_Digital_Link`, `Always_EPC_URN` or `Never_Translates` (the default).",
        )
        .header(
            "GS1-Extensions",
            "Namespace prefixes of extension fields used in parameters.",
        )
        .reply(
            200,
            "An EPCIS query document with the events the caller may see: JSON-LD unless \
             `Accept` asks for `application/xml` (2.0 XML). More results are announced with \
             `Link: <…>; rel=\"next\"`.",
            DOCUMENT_MEDIA,
            None,
        )
        .with_header("Link", "The next page, when there is one.")
        .with_header(
            "GS1-Next-Page-Token-Expires",
            "When the next page's token expires.",
        )
        .with_header("GS1-EPCIS-Version", "`2.0.0`.")
        .epcis_problem(
            400,
            "An unknown parameter or a bad value (`QueryParameterException`).",
        )
        .epcis_problem(
            406,
            "No acceptable representation (`NotAcceptableException`).",
        )
        .epcis_problem(
            413,
            "The result exceeds `maxEventCount` (`QueryTooLargeException`).",
        )
}

/// The query parameters of `GET /epcis/events` (and of the `…/events` resources).
fn query_params(op: Operation) -> Operation {
    op.query(
        "eventType",
        "Event types, comma-separated. Any other SimpleEventQuery parameter of EPCIS 2.0 \
         (`EQ_…`, `GE_…`, `LT_…`, `MATCH_…`, `EXISTS_…`, `WD_…`, `orderBy`, …) is accepted \
         as the standard defines it; an unknown one is a 400.",
    )
    .query("GE_eventTime", "Events at or after this time (RFC 3339).")
    .query("LT_eventTime", "Events before this time (RFC 3339).")
    .query("EQ_bizStep", "Business steps, comma-separated.")
    .query("EQ_disposition", "Dispositions, comma-separated.")
    .query("EQ_bizLocation", "Business locations, comma-separated.")
    .query("MATCH_epc", "EPCs or patterns, comma-separated.")
    .query("MATCH_anyEPC", "EPCs in any role, comma-separated.")
    .query_integer("perPage", "Page size.")
    .query("nextPageToken", "From the previous page's `Link`.")
}

/// The three resources of a listing: `/epcis/{listing}`, `/epcis/{listing}/{value}` and
/// `/epcis/{listing}/{value}/events`.
macro_rules! listing_routes {
    ($routes:ident; $($segment:literal, $capture:literal, $name:literal, $list:ident, $item:ident;)+) => {$(
        $routes.push(
            Route::new(concat!("/epcis/", $segment)).get(
                $list,
                Operation::new(concat!("epcisList_", $segment), Tag::Query, concat!("The ", $segment, " with events the caller may see"))
                    .needs::<Query>()
                    .query_integer("perPage", "Page size.")
                    .query("nextPageToken", "From the previous page's `Link`.")
                    .reply(200, "A JSON-LD `Collection` whose `member`s are the values.", JSON, None)
                    .with_header("Link", "The next page, when there is one.")
                    .epcis_problem(400, "An unknown parameter or a bad value (`QueryParameterException`)."),
            ),
        );
        $routes.push(
            Route::new(concat!("/epcis/", $segment, "/{*rest}"))
                .get(
                    $item,
                    Operation::new(concat!("epcisItem_", $segment), Tag::Query, concat!("One of the ", $segment))
                        .at(concat!("/epcis/", $segment, "/", $capture))
                        .needs::<Query>()
                        .path_param($name, "The value, as the listing gives it (percent-encoded).")
                        .reply(200, "A JSON-LD `Collection` of the value's sub-resources (`events`).", JSON, None)
                        .epcis_problem(400, "A malformed value (`QueryParameterException`).")
                        .epcis_problem(404, "No event the caller may see has this value (`NoSuchResourceException`)."),
                )
                .also_get(
                    query_params(event_query(
                        Operation::new(concat!("epcisItemEvents_", $segment), Tag::Query, concat!("The events of one of the ", $segment))
                            .at(concat!("/epcis/", $segment, "/", $capture, "/events"))
                            .path_param($name, "The value, as the listing gives it (percent-encoded)."),
                    )),
                ),
        );
    )+};
}

/// The routes: events, an event, an EPC's events, the listings, master data.
pub(super) fn routes() -> Vec<Route> {
    let mut routes = vec![
        Route::new("/epcis/events").get(
            events,
            query_params(event_query(Operation::new(
                "epcisEvents",
                Tag::Query,
                "Query events",
            ))),
        ),
        Route::new("/epcis/events/{*event_id}").get(
            event,
            event_query(
                Operation::new("epcisEvent", Tag::Query, "One event by its ID")
                    .at("/epcis/events/{eventID}")
                    .path_param(
                        "eventID",
                        "The event ID (a `ni:` hash URI or a UUID URN), percent-encoded.",
                    ),
            )
            .epcis_problem(
                404,
                "No such event the caller may see (`NoSuchResourceException`).",
            ),
        ),
        Route::new("/epcis/epcs/{*rest}").get(
            epc_events,
            query_params(event_query(
                Operation::new("epcisEpcEvents", Tag::Query, "The events of one EPC")
                    .at("/epcis/epcs/{epc}/events")
                    .path_param(
                        "epc",
                        "An EPC URN or a GS1 Digital Link (slashes may stay unencoded).",
                    ),
            ))
            .epcis_problem(
                404,
                "Not a resource of this path (`NoSuchResourceException`).",
            ),
        ),
    ];
    listing_routes!(routes;
        "eventTypes", "{eventType}", "eventType", list_event_types, item_event_types;
        "bizSteps", "{bizStep}", "bizStep", list_biz_steps, item_biz_steps;
        "bizLocations", "{bizLocation}", "bizLocation", list_biz_locations, item_biz_locations;
        "readPoints", "{readPoint}", "readPoint", list_read_points, item_read_points;
        "dispositions", "{disposition}", "disposition", list_dispositions, item_dispositions;
    );
    routes.extend(masterdata::routes());
    routes
}

/// A problem of one of the query interface's kinds, with the status the standard pairs with it.
fn problem(kind: EpcisException, detail: impl Into<String>) -> EpcisProblem {
    let status = match kind {
        EpcisException::QueryParameter => StatusCode::BAD_REQUEST,
        EpcisException::QueryTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        EpcisException::NoSuchResource => StatusCode::NOT_FOUND,
        EpcisException::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    EpcisProblem::new(kind, status, detail)
}

impl From<QueryError> for EpcisProblem {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Parameter(m) => problem(EpcisException::QueryParameter, m),
            e @ QueryError::TooLarge { .. } => {
                problem(EpcisException::QueryTooLarge, e.to_string())
            }
            QueryError::NoSuchResource(m) => problem(EpcisException::NoSuchResource, m),
            QueryError::Storage(e) => Self::internal(e),
        }
    }
}

/// Which syntax the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    JsonLd,
    Xml,
}

/// The first media range of `Accept` this server can produce (no header: JSON-LD).
fn negotiate(headers: &HeaderMap) -> Result<Syntax, EpcisProblem> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(Syntax::JsonLd);
    };
    let accept = accept.to_str().unwrap_or("");
    for range in accept.split(',') {
        let media = range.split(';').next().unwrap_or("").trim();
        match media {
            "application/json" | "application/ld+json" | "application/*" | "*/*" => {
                return Ok(Syntax::JsonLd);
            }
            "application/xml" | "text/xml" => return Ok(Syntax::Xml),
            _ => {}
        }
    }
    Err(problem(
        EpcisException::NotAcceptable,
        format!(
            "Accept: {accept:?}: this resource is available as application/ld+json, \
             application/json or application/xml"
        ),
    ))
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, EpcisProblem> {
    headers
        .get(name)
        .map(|v| {
            v.to_str().map_err(|_| {
                problem(
                    EpcisException::QueryParameter,
                    format!("{name}: the header is not visible ASCII"),
                )
            })
        })
        .transpose()
}

/// `Link` and `GS1-Next-Page-Token-Expires` for the next page: the same path and parameters,
/// with the new token in place of the old.
fn next_headers(response: &mut Response, uri: &Uri, next: &NextPage) {
    let mut query: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("nextPageToken="))
        .collect();
    let token = format!("nextPageToken={}", next.token);
    query.push(&token);
    let link = format!("<{}?{}>; rel=\"next\"", uri.path(), query.join("&"));
    let expires = crate::stored::time_text(next.expires.saturating_mul(1_000_000));
    for (name, value) in [("link", link), ("GS1-Next-Page-Token-Expires", expires)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
}

/// The events as an EPCIS query document.
fn document(
    mut events: Vec<Event>,
    syntax: Syntax,
    format: EpcFormat,
) -> Result<Response, EpcisProblem> {
    service::format_epcs(&mut events, format);
    let header = Header::default();
    let created = crate::storage::now_text();
    let head = DocumentHead {
        kind: DocumentKind::Query,
        creation_date: Some(&created),
        header: &header,
        query_name: Some("SimpleEventQuery"),
        subscription_id: None,
        hash_ignore: &[],
        namespaces: Vec::new(),
    }
    .declaring(&events);
    let mut out = Vec::with_capacity(1024 * (events.len() + 1));
    let content_type = match syntax {
        Syntax::JsonLd => {
            let mut w = JsonLdWriter::new(&mut out, &head).map_err(EpcisProblem::internal)?;
            for e in &events {
                w.event(e).map_err(EpcisProblem::internal)?;
            }
            w.finish().map_err(EpcisProblem::internal)?;
            "application/ld+json"
        }
        Syntax::Xml => {
            let mut w = XmlWriter::new(&mut out, &head, epcis::EpcisVersion::V2_0)
                .map_err(EpcisProblem::internal)?;
            for e in &events {
                w.event(e).map_err(EpcisProblem::internal)?;
            }
            w.finish().map_err(EpcisProblem::internal)?;
            "application/xml"
        }
    };
    let mut response = Response::new(Body::from(out));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    add_version_headers(response.headers_mut());
    Ok(response)
}

/// Runs an event query given by the path's implicit parameters plus the query string.
async fn run_query(
    auth: &Authorized<Query>,
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    implicit: Vec<(String, String)>,
    raw: Option<&str>,
) -> Result<Response, EpcisProblem> {
    let syntax = negotiate(headers)?;
    let format = EpcFormat::parse(header_text(headers, "GS1-EPC-Format")?)?;
    let ext = Extensions::parse(header_text(headers, "GS1-Extensions")?)?;
    let mut pairs = implicit;
    pairs.extend(params::pairs(raw)?);
    let query = params::parse(&pairs, &ext)?;
    let page = service::events(&state.db, &auth.visibility(), &query).await?;
    let mut response = document(page.events, syntax, format)?;
    if let Some(next) = &page.next {
        next_headers(&mut response, uri, next);
    }
    Ok(response)
}

async fn events(
    auth: Authorized<Query>,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, EpcisProblem> {
    run_query(&auth, &state, &headers, &uri, Vec::new(), raw.as_deref()).await
}

async fn event(
    auth: Authorized<Query>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
) -> Result<Response, EpcisProblem> {
    let syntax = negotiate(&headers)?;
    let format = EpcFormat::parse(header_text(&headers, "GS1-EPC-Format")?)?;
    let events = service::event(&state.db, &auth.visibility(), &event_id).await?;
    document(events, syntax, format)
}

/// `{value}/events` → the value; anything else after the value is not a resource.
fn value_events(rest: &str) -> Option<&str> {
    rest.strip_suffix("/events").filter(|v| !v.is_empty())
}

async fn epc_events(
    auth: Authorized<Query>,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(rest): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, EpcisProblem> {
    let epc = value_events(&rest).ok_or_else(|| no_resource(&uri))?;
    let implicit = vec![("MATCH_anyEPC".to_owned(), epc.to_owned())];
    run_query(&auth, &state, &headers, &uri, implicit, raw.as_deref()).await
}

fn no_resource(uri: &Uri) -> EpcisProblem {
    problem(
        EpcisException::NoSuchResource,
        format!("no resource at {}", uri.path()),
    )
}

/// `perPage` and `nextPageToken`, the only parameters of a listing.
fn listing_params(raw: Option<&str>) -> Result<(i64, Option<String>), EpcisProblem> {
    let mut per_page = params::DEFAULT_PER_PAGE;
    let mut token = None;
    for (name, value) in params::pairs(raw)? {
        match name.as_str() {
            "perPage" => {
                per_page = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=params::MAX_PER_PAGE).contains(n))
                    .ok_or_else(|| {
                        problem(
                            EpcisException::QueryParameter,
                            format!(
                                "perPage={value:?}: an integer from 1 to {} is required",
                                params::MAX_PER_PAGE
                            ),
                        )
                    })?;
            }
            "nextPageToken" => token = Some(value),
            _ => {
                return Err(problem(
                    EpcisException::QueryParameter,
                    format!("{name}: a listing takes only perPage and nextPageToken"),
                ));
            }
        }
    }
    Ok((per_page, token))
}

async fn list(
    listing: Listing,
    auth: Authorized<Query>,
    state: AppState,
    uri: Uri,
    raw: Option<String>,
) -> Result<Response, EpcisProblem> {
    let (per_page, token) = listing_params(raw.as_deref())?;
    let page = service::listing(
        &state.db,
        &auth.visibility(),
        listing,
        per_page,
        token.as_deref(),
    )
    .await?;
    let members: Vec<String> = page.values.iter().map(|v| listing.shown(v)).collect();
    let mut response = axum::Json(serde_json::json!({
        "@context": CONTEXT,
        "type": "Collection",
        "member": members,
    }))
    .into_response();
    add_version_headers(response.headers_mut());
    if let Some(next) = &page.next {
        next_headers(&mut response, &uri, next);
    }
    Ok(response)
}

/// `/{listing}/{value}` (the sub-resources of a value: `events`) or `/{listing}/{value}/events`.
async fn item(
    listing: Listing,
    auth: Authorized<Query>,
    state: AppState,
    headers: HeaderMap,
    uri: Uri,
    rest: String,
    raw: Option<String>,
) -> Result<Response, EpcisProblem> {
    if let Some(value) = value_events(&rest) {
        let implicit = vec![(listing.parameter().to_owned(), value.to_owned())];
        return run_query(&auth, &state, &headers, &uri, implicit, raw.as_deref()).await;
    }
    if !service::has_value(&state.db, &auth.visibility(), listing, &rest).await? {
        return Err(no_resource(&uri));
    }
    let mut response = (
        StatusCode::OK,
        axum::Json(serde_json::json!({
            "@context": CONTEXT,
            "type": "Collection",
            "member": ["events"],
        })),
    )
        .into_response();
    add_version_headers(response.headers_mut());
    Ok(response)
}

macro_rules! listing_handlers {
    ($($list:ident, $item:ident => $listing:ident;)+) => {$(
        async fn $list(
            auth: Authorized<Query>,
            State(state): State<AppState>,
            uri: Uri,
            RawQuery(raw): RawQuery,
        ) -> Result<Response, EpcisProblem> {
            list(Listing::$listing, auth, state, uri, raw).await
        }

        async fn $item(
            auth: Authorized<Query>,
            State(state): State<AppState>,
            headers: HeaderMap,
            uri: Uri,
            Path(rest): Path<String>,
            RawQuery(raw): RawQuery,
        ) -> Result<Response, EpcisProblem> {
            item(Listing::$listing, auth, state, headers, uri, rest, raw).await
        }
    )+};
}

listing_handlers! {
    list_event_types, item_event_types => EventTypes;
    list_biz_steps, item_biz_steps => BizSteps;
    list_biz_locations, item_biz_locations => BizLocations;
    list_read_points, item_read_points => ReadPoints;
    list_dispositions, item_dispositions => Dispositions;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn content_negotiation_prefers_the_first_supported_range() {
        assert_eq!(negotiate(&HeaderMap::new()).unwrap(), Syntax::JsonLd);
        assert_eq!(negotiate(&accept("application/xml")).unwrap(), Syntax::Xml);
        assert_eq!(
            negotiate(&accept("text/html, text/xml;q=0.9")).unwrap(),
            Syntax::Xml
        );
        assert_eq!(negotiate(&accept("*/*")).unwrap(), Syntax::JsonLd);
        assert!(negotiate(&accept("text/html")).is_err());
    }

    #[test]
    fn the_next_link_replaces_the_token_and_keeps_the_rest() {
        let mut response = Response::new(Body::empty());
        let uri: Uri = "/epcis/events?EQ_bizStep=shipping&nextPageToken=old&perPage=2"
            .parse()
            .unwrap();
        next_headers(
            &mut response,
            &uri,
            &NextPage {
                token: "abc".into(),
                expires: 0,
            },
        );
        assert_eq!(
            response.headers()["link"],
            "</epcis/events?EQ_bizStep=shipping&perPage=2&nextPageToken=abc>; rel=\"next\""
        );
        assert_eq!(
            response.headers()["GS1-Next-Page-Token-Expires"],
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn value_paths_end_in_events() {
        assert_eq!(
            value_events("https://id.gs1.org/01/1/21/2/events"),
            Some("https://id.gs1.org/01/1/21/2")
        );
        assert_eq!(value_events("shipping"), None);
        assert_eq!(value_events("/events"), None);
    }
}
