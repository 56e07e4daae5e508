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

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use epcis::Event;
use epcis::encode::{DocumentHead, JsonLdWriter, XmlWriter};
use epcis::model::{DocumentKind, Header};

use super::epcis_problem::{EpcisException, EpcisProblem, add_version_headers};
use crate::auth::{AppState, Authorized, Query};
use crate::services::query::{
    self as service, EpcFormat, Extensions, Listing, NextPage, QueryError, params,
};

/// The JSON-LD context of EPCIS 2.0 listings.
const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/epcis/events", get(events))
        .route("/epcis/events/{*event_id}", get(event))
        .route("/epcis/epcs/{*rest}", get(epc_events))
        .route("/epcis/eventTypes", get(list_event_types))
        .route("/epcis/eventTypes/{*rest}", get(item_event_types))
        .route("/epcis/bizSteps", get(list_biz_steps))
        .route("/epcis/bizSteps/{*rest}", get(item_biz_steps))
        .route("/epcis/bizLocations", get(list_biz_locations))
        .route("/epcis/bizLocations/{*rest}", get(item_biz_locations))
        .route("/epcis/readPoints", get(list_read_points))
        .route("/epcis/readPoints/{*rest}", get(item_read_points))
        .route("/epcis/dispositions", get(list_dispositions))
        .route("/epcis/dispositions/{*rest}", get(item_dispositions))
        .merge(masterdata::router())
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
