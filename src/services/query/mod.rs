//! The EPCIS 2.0 query service: events by SimpleEventQuery parameters, one event by its ID
//! with its error declarations, the listings of visible vocabulary values, and header master
//! data. REST (`crate::api::epcis_query`) and, later, MCP tools are thin adapters over it.
//!
//! Invariants:
//! - every read goes through `storage::query` with the caller's [`Visibility`] ANDed in, in
//!   SQL: a partner never receives, counts or pages over an event it is not party to;
//! - an event the caller cannot see is indistinguishable from one that does not exist (same
//!   404, same empty listing);
//! - an event declared erroneous is returned with its latest error declaration attached (the
//!   declaring event carries the same hash ID and is stored beside the original, never instead
//!   of it); `event` returns the original and every declaring event in full.
//!
//! Reads change nothing, so there is no service transaction: the audit layer records the
//! request with its parameters and a digest of the answer.

pub mod masterdata;
pub mod params;
pub mod pattern;
pub mod token;

use epcis::Event;
use partners::Visibility;

use crate::storage::query::{self as store, Column, EventRow, EventSelect};
use crate::storage::{Db, StorageError};
use crate::stored;
pub use params::{EventQuery, Extensions};
use token::{Cursor, TokenError};

/// Why a query was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter is unknown, malformed or inconsistent (`QueryParameterException`).
    #[error("{0}")]
    Parameter(String),
    /// More events match than `maxEventCount` allows (`QueryTooLargeException`).
    #[error(
        "more than {max} events match (maxEventCount={max}): narrow the query, or page through \
         it with perPage and eventCountLimit"
    )]
    TooLarge {
        /// The client's `maxEventCount`.
        max: i64,
    },
    /// Nothing visible by that name (`NoSuchResourceException`).
    #[error("{0}")]
    NoSuchResource(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<TokenError> for QueryError {
    fn from(e: TokenError) -> Self {
        Self::Parameter(e.to_string())
    }
}

/// How EPCs are written in answers (`GS1-EPC-Format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EpcFormat {
    /// `Always_GS1_Digital_Link` (the standard's default): canonical Digital Links.
    #[default]
    DigitalLink,
    /// `Always_EPC_URN`: EPC URNs where the company-prefix length is known (from URNs the
    /// same answer holds), else the Digital Link as stored.
    Urn,
    /// `No_Preference` / `Never_Translates`: as captured.
    AsCaptured,
}

impl EpcFormat {
    /// Reads the header value (absent = the default).
    pub fn parse(header: Option<&str>) -> Result<Self, QueryError> {
        Ok(match header.map(str::trim) {
            None | Some("Always_GS1_Digital_Link") => Self::DigitalLink,
            Some("Always_EPC_URN") => Self::Urn,
            Some("No_Preference" | "Never_Translates") => Self::AsCaptured,
            Some(other) => {
                return Err(QueryError::Parameter(format!(
                    "GS1-EPC-Format: {other:?} is not No_Preference, Always_GS1_Digital_Link, \
                     Always_EPC_URN or Never_Translates"
                )));
            }
        })
    }
}

/// More results follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPage {
    /// The `nextPageToken`.
    pub token: String,
    /// When it expires (Unix seconds).
    pub expires: i64,
}

/// One page of events.
#[derive(Debug)]
pub struct EventPage {
    /// The events, in the query's order.
    pub events: Vec<Event>,
    /// Where to continue, when more match.
    pub next: Option<NextPage>,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn token_key(conn: &mut sqlx::AnyConnection) -> Result<Vec<u8>, QueryError> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| {
        StorageError::Conflict(format!("no randomness for the page-token key: {e}"))
    })?;
    Ok(store::page_token_key(conn, &token::hex(&fresh))
        .await?
        .into_bytes())
}

/// Makes the page-token key if the store has none yet, so that read-only handles can page.
///
/// # Errors
/// Storage failures.
pub async fn ensure_page_token_key(db: &Db) -> Result<(), QueryError> {
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    token_key(&mut conn).await.map(drop)
}

/// One page of the events matching `query` that `visibility` lets the caller see.
#[tracing::instrument(skip_all, fields(conditions = query.conditions.len()), err)]
pub async fn events(
    db: &Db,
    visibility: &Visibility,
    query: &EventQuery,
) -> Result<EventPage, QueryError> {
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    let fingerprint = query.fingerprint();
    let vis = visibility.condition();
    let mut key = None;
    let cursor = match &query.next_page_token {
        Some(t) => {
            let k = token_key(&mut conn).await?;
            let cursor = token::open(&k, &fingerprint, t, now())?;
            key = Some(k);
            Some(cursor)
        }
        None => None,
    };
    if let (Some(max), None) = (query.max_event_count, &cursor) {
        let found =
            store::count_events(&mut conn, &query.conditions, &vis, max.saturating_add(1)).await?;
        if found > max {
            return Err(QueryError::TooLarge { max });
        }
    }
    let returned = cursor.as_ref().map_or(0, |c| c.returned);
    let page_size = match query.event_count_limit {
        Some(limit) => query.per_page.min(limit.saturating_sub(returned)),
        None => query.per_page,
    };
    if page_size <= 0 {
        return Ok(EventPage {
            events: Vec::new(),
            next: None,
        });
    }
    let mut rows = store::select_events(
        &mut conn,
        &EventSelect {
            conditions: &query.conditions,
            visibility: &vis,
            order: query.order,
            descending: query.descending,
            after: cursor.as_ref().map(|c| (c.order_value, c.last_id)),
            limit: page_size + 1,
        },
    )
    .await?;
    let more = rows.len() as i64 > page_size;
    rows.truncate(usize::try_from(page_size).unwrap_or(usize::MAX));
    let returned = returned + rows.len() as i64;
    let limit_reached = query.event_count_limit.is_some_and(|l| returned >= l);
    let next = match rows.last() {
        Some(last) if more && !limit_reached => {
            let key = match key {
                Some(k) => k,
                None => token_key(&mut conn).await?,
            };
            let expires = now() + token::LIFETIME_SECS;
            let cursor = Cursor {
                order_value: last.order_value,
                last_id: last.id,
                returned,
                last_value: String::new(),
            };
            Some(NextPage {
                token: token::issue(&key, &fingerprint, &cursor, expires),
                expires,
            })
        }
        _ => None,
    };
    let events = with_declarations(&mut conn, rows).await?;
    Ok(EventPage { events, next })
}

/// Decodes stored rows and attaches each event's latest error declaration.
async fn with_declarations(
    conn: &mut sqlx::AnyConnection,
    rows: Vec<EventRow>,
) -> Result<Vec<Event>, QueryError> {
    let ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.declared != 0)
        .map(|r| r.id)
        .collect();
    let declarations = store::declarations(conn, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let mut event = decode(&row.body)?;
            // Oldest first: the last one for this event is the latest.
            if let Some(d) = declarations.iter().rev().find(|d| d.event == row.id) {
                event.error_declaration = decode(&d.body)?.error_declaration;
            }
            Ok(event)
        })
        .collect()
}

fn decode(body: &str) -> Result<Event, QueryError> {
    stored::event_from_body(body).map_err(|e| QueryError::Storage(StorageError::Corrupt(e)))
}

/// The visible events with this event ID (or hash ID), each followed by the events declaring
/// it erroneous. `NoSuchResource` when none is visible.
#[tracing::instrument(skip_all, err)]
pub async fn event(
    db: &Db,
    visibility: &Visibility,
    event_id: &str,
) -> Result<Vec<Event>, QueryError> {
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    let rows = store::events_by_id(&mut conn, event_id.trim(), &visibility.condition()).await?;
    if rows.is_empty() {
        return Err(QueryError::NoSuchResource(format!(
            "no event with eventID {event_id:?}"
        )));
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let declarations = store::declarations(&mut conn, &ids).await?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode(&row.body)?);
        // An event that arrived already declared erroneous (no original here) is stored as
        // both the event and its declaration, with one body: show it once.
        for d in declarations
            .iter()
            .filter(|d| d.event == row.id && d.body != row.body)
        {
            out.push(decode(&d.body)?);
        }
    }
    Ok(out)
}

/// A top-level resource listing of values used by visible events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `/eventTypes`.
    EventTypes,
    /// `/bizSteps`.
    BizSteps,
    /// `/bizLocations`.
    BizLocations,
    /// `/readPoints`.
    ReadPoints,
    /// `/dispositions`.
    Dispositions,
}

impl Listing {
    fn column(self) -> Column {
        match self {
            Self::EventTypes => Column::EventType,
            Self::BizSteps => Column::BizStep,
            Self::BizLocations => Column::BizLocation,
            Self::ReadPoints => Column::ReadPoint,
            Self::Dispositions => Column::Disposition,
        }
    }

    /// The `…/events` query parameter that selects a value of this listing.
    pub fn parameter(self) -> &'static str {
        match self {
            Self::EventTypes => "eventType",
            Self::BizSteps => "EQ_bizStep",
            Self::BizLocations => "EQ_bizLocation",
            Self::ReadPoints => "EQ_readPoint",
            Self::Dispositions => "EQ_disposition",
        }
    }

    /// The stored form of a value as a client names it in a path.
    fn stored(self, value: &str) -> String {
        use epcis::cbv::{VocabField, canonical_jsonld};
        match self {
            Self::EventTypes => value.trim().to_owned(),
            Self::BizSteps => canonical_jsonld(VocabField::BizStep, value.trim()),
            Self::Dispositions => canonical_jsonld(VocabField::Disposition, value.trim()),
            Self::BizLocations | Self::ReadPoints => stored::epc_key(value),
        }
    }

    /// How a stored value is shown: standard CBV values as bare words (the JSON-LD form).
    pub fn shown(self, stored: &str) -> String {
        use epcis::cbv::{VocabField, bare_word};
        let word = match self {
            Self::BizSteps => bare_word(VocabField::BizStep, stored),
            Self::Dispositions => bare_word(VocabField::Disposition, stored),
            _ => None,
        };
        word.unwrap_or(stored).to_owned()
    }
}

/// One page of a listing.
#[derive(Debug)]
pub struct ListingPage {
    /// Stored values, ascending.
    pub values: Vec<String>,
    /// Where to continue.
    pub next: Option<NextPage>,
}

/// The distinct values of a listing over the visible events.
#[tracing::instrument(skip_all, fields(listing = ?listing), err)]
pub async fn listing(
    db: &Db,
    visibility: &Visibility,
    listing: Listing,
    per_page: i64,
    page_token: Option<&str>,
) -> Result<ListingPage, QueryError> {
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    // The fingerprint binds a token to its listing.
    let fingerprint: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(format!("listing {listing:?}").as_bytes()).into()
    };
    let after = match page_token {
        Some(t) => {
            let key = token_key(&mut conn).await?;
            Some(token::open(&key, &fingerprint, t, now())?.last_value)
        }
        None => None,
    };
    let mut values = store::distinct_values(
        &mut conn,
        listing.column(),
        &visibility.condition(),
        after.as_deref(),
        per_page + 1,
    )
    .await?;
    let more = values.len() as i64 > per_page;
    values.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    let next = match values.last() {
        Some(last) if more => {
            let key = token_key(&mut conn).await?;
            let expires = now() + token::LIFETIME_SECS;
            let cursor = Cursor {
                order_value: 0,
                last_id: 0,
                returned: 0,
                last_value: last.clone(),
            };
            Some(NextPage {
                token: token::issue(&key, &fingerprint, &cursor, expires),
                expires,
            })
        }
        _ => None,
    };
    Ok(ListingPage { values, next })
}

/// True when some visible event has this value (the `/bizSteps/{bizStep}` resources).
pub async fn has_value(
    db: &Db,
    visibility: &Visibility,
    listing: Listing,
    value: &str,
) -> Result<bool, QueryError> {
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    let conditions = [store::Condition::In {
        column: listing.column(),
        values: vec![listing.stored(value)],
    }];
    Ok(store::any_event(&mut conn, &conditions, &visibility.condition()).await?)
}

/// Rewrites the identifiers of an event for `GS1-EPC-Format`: instance and class EPCs, the
/// parent, read point, business location, sources and destinations.
pub fn format_epcs(events: &mut [Event], format: EpcFormat) {
    if format == EpcFormat::AsCaptured {
        return;
    }
    let mut table = epcis::id::CompanyPrefixTable::new();
    if format == EpcFormat::Urn {
        // Company-prefix lengths are not in a Digital Link: learn them from the URNs of the
        // same answer.
        for e in events.iter() {
            for id in ids(e) {
                if let Ok(epc) = id.parse::<epcis::id::Epc>() {
                    table.learn(&epc);
                }
            }
        }
    }
    for e in events.iter_mut() {
        for id in ids_mut(e) {
            let new = match format {
                EpcFormat::DigitalLink => epcis::id::normalise(id),
                EpcFormat::Urn if !id.starts_with("urn:") => epcis::id::DigitalLink::parse(id)
                    .ok()
                    .and_then(|dl| dl.to_epc_urn(&table).ok()),
                _ => None,
            };
            if let Some(new) = new {
                *id = new;
            }
        }
    }
}

fn ids(e: &Event) -> impl Iterator<Item = &String> {
    e.parent_id
        .iter()
        .chain(&e.epc_list)
        .chain(&e.child_epcs)
        .chain(&e.input_epc_list)
        .chain(&e.output_epc_list)
        .chain(e.quantity_list.iter().map(|q| &q.epc_class))
        .chain(e.child_quantity_list.iter().map(|q| &q.epc_class))
        .chain(e.input_quantity_list.iter().map(|q| &q.epc_class))
        .chain(e.output_quantity_list.iter().map(|q| &q.epc_class))
        .chain(e.read_point.iter().map(|l| &l.id))
        .chain(e.biz_location.iter().map(|l| &l.id))
        .chain(e.sources.iter().map(|s| &s.id))
        .chain(e.destinations.iter().map(|s| &s.id))
}

fn ids_mut(e: &mut Event) -> impl Iterator<Item = &mut String> {
    e.parent_id
        .iter_mut()
        .chain(e.epc_list.iter_mut())
        .chain(e.child_epcs.iter_mut())
        .chain(e.input_epc_list.iter_mut())
        .chain(e.output_epc_list.iter_mut())
        .chain(e.quantity_list.iter_mut().map(|q| &mut q.epc_class))
        .chain(e.child_quantity_list.iter_mut().map(|q| &mut q.epc_class))
        .chain(e.input_quantity_list.iter_mut().map(|q| &mut q.epc_class))
        .chain(e.output_quantity_list.iter_mut().map(|q| &mut q.epc_class))
        .chain(e.read_point.iter_mut().map(|l| &mut l.id))
        .chain(e.biz_location.iter_mut().map(|l| &mut l.id))
        .chain(e.sources.iter_mut().map(|s| &mut s.id))
        .chain(e.destinations.iter_mut().map(|s| &mut s.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        let mut e = Event::new(
            epcis::EventKind::Object,
            "2024-01-01T00:00:00Z".into(),
            "+00:00".into(),
        );
        e.epc_list = vec![
            "urn:epc:id:sgtin:0614141.107346.2018".into(),
            "https://id.gs1.org/01/10614141073464/21/2019".into(),
        ];
        e.read_point = Some(epcis::model::Location {
            id: "urn:epc:id:sgln:0614141.00001.0".into(),
            extensions: vec![],
        });
        e
    }

    #[test]
    fn epcs_are_written_in_the_requested_format() {
        let mut dl = [event()];
        format_epcs(&mut dl, EpcFormat::DigitalLink);
        assert_eq!(
            dl[0].epc_list,
            [
                "https://id.gs1.org/01/10614141073464/21/2018",
                "https://id.gs1.org/01/10614141073464/21/2019"
            ]
        );
        assert_eq!(
            dl[0].read_point.as_ref().unwrap().id,
            "https://id.gs1.org/414/0614141000012"
        );
        let mut urn = [event()];
        format_epcs(&mut urn, EpcFormat::Urn);
        assert_eq!(
            urn[0].epc_list,
            [
                "urn:epc:id:sgtin:0614141.107346.2018",
                "urn:epc:id:sgtin:0614141.107346.2019"
            ]
        );
        let mut same = [event()];
        format_epcs(&mut same, EpcFormat::AsCaptured);
        assert_eq!(same[0], event());
    }

    #[test]
    fn the_epc_format_header_has_four_values() {
        assert_eq!(EpcFormat::parse(None).unwrap(), EpcFormat::DigitalLink);
        assert_eq!(
            EpcFormat::parse(Some("Always_EPC_URN")).unwrap(),
            EpcFormat::Urn
        );
        assert_eq!(
            EpcFormat::parse(Some("Never_Translates")).unwrap(),
            EpcFormat::AsCaptured
        );
        assert!(EpcFormat::parse(Some("urn")).is_err());
    }
}
