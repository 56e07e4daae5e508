//! The URL query string of `GET /epcis/events` (EPCIS 2.0 SimpleEventQuery, REST binding) as a
//! typed [`EventQuery`]: one storage [`Condition`] per filtering parameter, plus order, limits
//! and paging.
//!
//! Accepted (`../shared/reference/epcis.md` §3.3):
//! - the fixed names of the OpenAPI and of the query schema (`GE_time`, `LT_time`,
//!   `EXISTS_sensorElementList`, the `…Rank` comparisons, and both spellings
//!   `GE_errorDeclarationTime` / `GE_errorDeclaration_Time`);
//! - `EQ_bizTransaction_{type}`, `EQ_source_{type}`, `EQ_destination_{type}` (type as a CBV
//!   word or URI), `EQ_|GT_|GE_|LT_|LE_quantity_{UOM}`;
//! - `EQ_|GT_|GE_|LT_|LE_|EXISTS_` + optional `INNER_` + optional `ILMD_`,
//!   `ERROR_DECLARATION_`, `SENSORELEMENT_`, `SENSORMETADATA_`, `SENSORREPORT_`, `readPoint_`,
//!   `bizLocation_` + a field name, as a CURIE (`cbvmda:lotNumber`; prefixes from the
//!   `GS1-Extensions` header, then `cbvmda`, `gs1ushc`, `gs1`, `cbv`) or as `namespace#name`
//!   (`urn:epcglobal:cbv:mda#lotNumber`). A `urn:` namespace matches with and without a
//!   trailing colon, since `cbvmda` is written both ways (§4.5).
//!
//! Refused with `QueryParameterException` naming the parameter: unknown names, a parameter
//! given twice (list values with `|` instead), bad values, and three families this server does
//! not answer: master-data attributes (`HASATTR_`, `EQ_ATTR_`), sensor values by unit
//! (`EQ_value_{UOM}` …, which need unit conversion and per-report matching), and `orderBy` on
//! an extension field.
//!
//! Values are percent-decoded; `+` is kept as a plus sign (RFC 3986), so a time zone such as
//! `+05:00` survives a client that does not escape it. Multiple values are separated by `|` and
//! ORed. Sensor parameters match per event, not per sensor report: `EQ_type` and `GE_time`
//! may be satisfied by two different reports of one event.

use epcis::cbv::{self, VocabField};
use sha2::{Digest, Sha256};

use super::QueryError;
use super::pattern;
use crate::storage::query::{Cmp, Column, Condition, Direction, FieldTest, Order, TimeColumn};
use crate::stored::{self, EpcRole, FieldScope};

/// `perPage` when the client gives none.
pub const DEFAULT_PER_PAGE: i64 = 30;
/// The largest `perPage` accepted.
pub const MAX_PER_PAGE: i64 = 1000;
/// Most parameters in one query: bounds the statement a client can make the server build.
pub const MAX_PARAMETERS: usize = 64;
/// Most `|`-separated values of one parameter.
pub const MAX_VALUES: usize = 500;

/// A parsed event query.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    /// The filters, ANDed.
    pub conditions: Vec<Condition>,
    /// Sort key.
    pub order: Order,
    /// Largest first.
    pub descending: bool,
    /// At most this many events in total, over all pages.
    pub event_count_limit: Option<i64>,
    /// Refuse the query (413) when more events than this match.
    pub max_event_count: Option<i64>,
    /// Events per page.
    pub per_page: i64,
    /// Where to continue.
    pub next_page_token: Option<String>,
}

impl EventQuery {
    /// What a page token is bound to: every part of the query except the page size and the
    /// token itself. A token cannot continue another query.
    pub fn fingerprint(&self) -> [u8; 32] {
        let text = format!(
            "{:?}|{:?}|{}|{:?}|{:?}",
            self.conditions,
            self.order,
            self.descending,
            self.event_count_limit,
            self.max_event_count
        );
        Sha256::digest(text.as_bytes()).into()
    }
}

/// Namespace prefixes a client declared in `GS1-Extensions` (`prefix=namespace`, comma
/// separated).
#[derive(Debug, Clone, Default)]
pub struct Extensions(Vec<(String, String)>);

impl Extensions {
    /// Parses the header value.
    pub fn parse(header: Option<&str>) -> Result<Self, QueryError> {
        let mut out = Vec::new();
        for item in header.unwrap_or("").split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let (prefix, ns) = item.split_once('=').ok_or_else(|| {
                QueryError::Parameter(format!("GS1-Extensions: {item:?} is not prefix=namespace"))
            })?;
            out.push((prefix.trim().to_owned(), ns.trim().to_owned()));
        }
        Ok(Self(out))
    }

    fn namespace(&self, prefix: &str) -> Option<String> {
        if let Some((_, ns)) = self.0.iter().find(|(p, _)| p == prefix) {
            return Some(ns.clone());
        }
        Some(
            match prefix {
                "cbvmda" => "urn:epcglobal:cbv:mda",
                "gs1ushc" => epcis::model::GS1USHC_NS,
                "gs1" => cbv::GS1_VOC,
                "cbv" => cbv::CBV_WEB,
                _ => return None,
            }
            .to_owned(),
        )
    }
}

/// The `(name, value)` pairs of a query string, percent-decoded.
pub fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, QueryError> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Result<String, QueryError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    QueryError::Parameter(format!("{s:?}: a '%' is not followed by two hex digits"))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| QueryError::Parameter(format!("{s:?} does not decode to UTF-8 text")))
}

/// Parses the pairs (those of the path first, e.g. `eventType` of `/eventTypes/{t}/events`).
pub fn parse(pairs: &[(String, String)], ext: &Extensions) -> Result<EventQuery, QueryError> {
    let mut q = EventQuery {
        conditions: Vec::new(),
        order: Order::Capture,
        descending: false,
        event_count_limit: None,
        max_event_count: None,
        per_page: DEFAULT_PER_PAGE,
        next_page_token: None,
    };
    let mut direction: Option<bool> = None;
    if pairs.len() > MAX_PARAMETERS {
        return Err(QueryError::Parameter(format!(
            "{} parameters: a query takes at most {MAX_PARAMETERS}",
            pairs.len()
        )));
    }
    for (i, (name, value)) in pairs.iter().enumerate() {
        if pairs.iter().take(i).any(|(n, _)| n == name) {
            return Err(QueryError::Parameter(format!(
                "{name} is given more than once: give one {name} with the values separated by |"
            )));
        }
        let p = Param { name, value };
        match name.as_str() {
            "nextPageToken" => q.next_page_token = Some(p.single()?.to_owned()),
            "perPage" => q.per_page = p.int(1, MAX_PER_PAGE)?,
            "orderBy" => {
                q.order = match p.single()? {
                    "eventTime" => Order::EventTime,
                    "recordTime" => Order::RecordTime,
                    _ => {
                        return Err(p.bad(
                            "this server orders by eventTime or recordTime (not by extension fields)",
                        ));
                    }
                }
            }
            "orderDirection" => {
                direction = Some(match p.single()? {
                    "ASC" => false,
                    "DESC" => true,
                    _ => return Err(p.bad("use ASC or DESC")),
                })
            }
            "eventCountLimit" => q.event_count_limit = Some(p.int(1, i64::MAX)?),
            "maxEventCount" => q.max_event_count = Some(p.int(1, i64::MAX)?),
            _ => q.conditions.push(condition(&p, ext)?),
        }
    }
    if q.event_count_limit.is_some() && q.max_event_count.is_some() {
        return Err(QueryError::Parameter(
            "eventCountLimit and maxEventCount are mutually exclusive: give one of them".into(),
        ));
    }
    // EPCIS: orderDirection defaults to DESC when orderBy is given; without orderBy the order
    // is the server's (capture order, oldest first), which orderDirection may still reverse.
    q.descending = direction.unwrap_or(q.order != Order::Capture);
    Ok(q)
}

struct Param<'a> {
    name: &'a str,
    value: &'a str,
}

impl Param<'_> {
    fn bad(&self, why: &str) -> QueryError {
        QueryError::Parameter(format!("{}={:?}: {why}", self.name, self.value))
    }

    fn single(&self) -> Result<&str, QueryError> {
        let v = self.value.trim();
        if v.is_empty() {
            return Err(self.bad("a value is required"));
        }
        Ok(v)
    }

    fn list(&self) -> Result<Vec<String>, QueryError> {
        if self.value.split('|').count() > MAX_VALUES {
            return Err(QueryError::Parameter(format!(
                "{}: at most {MAX_VALUES} values separated by |",
                self.name
            )));
        }
        self.value
            .split('|')
            .map(|v| {
                let v = v.trim();
                if v.is_empty() {
                    Err(self.bad("empty value in the |-separated list"))
                } else {
                    Ok(v.to_owned())
                }
            })
            .collect()
    }

    fn mapped(&self, f: impl Fn(&str) -> String) -> Result<Vec<String>, QueryError> {
        Ok(self.list()?.iter().map(|v| f(v)).collect())
    }

    fn int(&self, min: i64, max: i64) -> Result<i64, QueryError> {
        self.single()?
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.bad(&format!("an integer from {min} to {max} is required")))
    }

    fn micros(&self) -> Result<i64, QueryError> {
        stored::micros(self.single()?).map_err(|e| self.bad(&e))
    }

    fn number(&self) -> Result<f64, QueryError> {
        stored::field_number(self.single()?)
            .ok_or_else(|| self.bad("a number or a date-time with a zone is required"))
    }

    fn boolean(&self) -> Result<bool, QueryError> {
        match self.value.trim() {
            "" | "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.bad("use true, false or no value")),
        }
    }

    fn epc_keys(&self, class: bool) -> Result<Vec<crate::storage::query::KeyMatch>, QueryError> {
        let mut keys = Vec::new();
        for v in self.list()? {
            keys.extend(pattern::key_matches(&v, class).map_err(|why| self.bad(&why))?);
        }
        Ok(keys)
    }
}

fn vocab(field: VocabField) -> impl Fn(&str) -> String {
    move |v| cbv::canonical_jsonld(field, v)
}

/// A standard sensor field (empty namespace, top level).
fn sensor(scopes: &[FieldScope], name: &str, test: FieldTest) -> Condition {
    Condition::Field {
        scopes: scopes.to_vec(),
        inner: false,
        namespaces: vec![String::new()],
        name: name.to_owned(),
        test,
    }
}

const META: &[FieldScope] = &[FieldScope::SensorMetadata];
const REPORT: &[FieldScope] = &[FieldScope::SensorReport];
const BOTH: &[FieldScope] = &[FieldScope::SensorMetadata, FieldScope::SensorReport];

fn condition(p: &Param<'_>, ext: &Extensions) -> Result<Condition, QueryError> {
    use EpcRole::{Child, Epc, Input, Output, Parent};
    let epcs = |roles: &[EpcRole]| -> Result<Condition, QueryError> {
        Ok(Condition::Epcs {
            roles: roles.to_vec(),
            keys: p.epc_keys(false)?,
        })
    };
    let classes = |roles: &[EpcRole]| -> Result<Condition, QueryError> {
        Ok(Condition::Classes {
            roles: roles.to_vec(),
            keys: p.epc_keys(true)?,
        })
    };
    let column = |column: Column, values: Vec<String>| Condition::In { column, values };
    let time = |column: TimeColumn, cmp: Cmp| -> Result<Condition, QueryError> {
        Ok(Condition::Time {
            column,
            cmp,
            micros: p.micros()?,
        })
    };
    let quantity = |cmp: Cmp| -> Result<Condition, QueryError> {
        Ok(Condition::Quantity {
            cmp,
            value: p.number()?,
            uom: None,
        })
    };
    let text = || p.list().map(FieldTest::TextIn);
    let num = |cmp: Cmp| -> Result<FieldTest, QueryError> { Ok(FieldTest::Num(cmp, p.number()?)) };
    Ok(match p.name {
        "eventType" => column(Column::EventType, p.list()?),
        "GE_eventTime" => time(TimeColumn::EventTime, Cmp::Ge)?,
        "LT_eventTime" => time(TimeColumn::EventTime, Cmp::Lt)?,
        "GE_recordTime" => time(TimeColumn::RecordTime, Cmp::Ge)?,
        "LT_recordTime" => time(TimeColumn::RecordTime, Cmp::Lt)?,
        "EQ_action" => {
            let values = p.list()?;
            if let Some(bad) = values
                .iter()
                .find(|v| epcis::model::Action::parse(v).is_none())
            {
                return Err(p.bad(&format!("{bad:?} is not ADD, OBSERVE or DELETE")));
            }
            column(Column::Action, values)
        }
        "EQ_bizStep" => column(Column::BizStep, p.mapped(vocab(VocabField::BizStep))?),
        "EQ_disposition" => column(
            Column::Disposition,
            p.mapped(vocab(VocabField::Disposition))?,
        ),
        "EQ_persistentDisposition_set" | "EQ_persistentDisposition_unset" => Condition::Field {
            scopes: vec![FieldScope::PersistentDisposition],
            inner: false,
            namespaces: vec![String::new()],
            name: if p.name.ends_with("_set") {
                "set"
            } else {
                "unset"
            }
            .to_owned(),
            test: FieldTest::TextIn(p.mapped(vocab(VocabField::Disposition))?),
        },
        "EQ_readPoint" => column(Column::ReadPoint, p.mapped(stored::epc_key)?),
        "EQ_bizLocation" => column(Column::BizLocation, p.mapped(stored::epc_key)?),
        "WD_readPoint" => Condition::WithDescendants {
            column: Column::ReadPoint,
            roots: p.mapped(stored::epc_key)?,
        },
        "WD_bizLocation" => Condition::WithDescendants {
            column: Column::BizLocation,
            roots: p.mapped(stored::epc_key)?,
        },
        "EQ_transformationID" => column(Column::TransformationId, p.list()?),
        "MATCH_epc" => epcs(&[Epc, Child])?,
        "MATCH_parentID" => epcs(&[Parent])?,
        "MATCH_inputEPC" => epcs(&[Input])?,
        "MATCH_outputEPC" => epcs(&[Output])?,
        "MATCH_anyEPC" => epcs(&[Epc, Parent, Child, Input, Output])?,
        "MATCH_epcClass" => classes(&[Epc, Child])?,
        "MATCH_inputEPCClass" => classes(&[Input])?,
        "MATCH_outputEPCClass" => classes(&[Output])?,
        "MATCH_anyEPCClass" => classes(&[Epc, Child, Input, Output])?,
        "EQ_quantity" => quantity(Cmp::Eq)?,
        "GT_quantity" => quantity(Cmp::Gt)?,
        "GE_quantity" => quantity(Cmp::Ge)?,
        "LT_quantity" => quantity(Cmp::Lt)?,
        "LE_quantity" => quantity(Cmp::Le)?,
        "EQ_eventID" => Condition::EventIdIn(p.list()?),
        "EXISTS_errorDeclaration" => Condition::ErrorDeclared(p.boolean()?),
        "GE_errorDeclarationTime" | "GE_errorDeclaration_Time" => Condition::ErrorTime {
            cmp: Cmp::Ge,
            micros: p.micros()?,
        },
        "LT_errorDeclarationTime" | "LT_errorDeclaration_Time" => Condition::ErrorTime {
            cmp: Cmp::Lt,
            micros: p.micros()?,
        },
        "EQ_errorReason" => Condition::ErrorReason(p.mapped(vocab(VocabField::ErrorReason))?),
        "EQ_correctiveEventID" => Condition::CorrectiveEventId(p.list()?),
        "EXISTS_sensorElementList" => Condition::HasFields {
            scopes: vec![
                FieldScope::SensorElement,
                FieldScope::SensorMetadata,
                FieldScope::SensorReport,
            ],
            exists: p.boolean()?,
        },
        "GE_startTime" => sensor(META, "startTime", num(Cmp::Ge)?),
        "LT_startTime" => sensor(META, "startTime", num(Cmp::Lt)?),
        "GE_endTime" => sensor(META, "endTime", num(Cmp::Ge)?),
        "LT_endTime" => sensor(META, "endTime", num(Cmp::Lt)?),
        "GE_time" => sensor(BOTH, "time", num(Cmp::Ge)?),
        "LT_time" => sensor(BOTH, "time", num(Cmp::Lt)?),
        "EQ_type" => sensor(
            REPORT,
            "type",
            FieldTest::TextIn(p.mapped(vocab(VocabField::MeasurementType))?),
        ),
        "EQ_deviceID" => sensor(BOTH, "deviceID", text()?),
        "EQ_dataProcessingMethod" => sensor(BOTH, "dataProcessingMethod", text()?),
        "EQ_bizRules" => sensor(META, "bizRules", text()?),
        "EQ_microorganism" => sensor(REPORT, "microorganism", text()?),
        "EQ_chemicalSubstance" => sensor(REPORT, "chemicalSubstance", text()?),
        "EQ_stringValue" => sensor(REPORT, "stringValue", text()?),
        "EQ_hexBinaryValue" => sensor(REPORT, "hexBinaryValue", text()?),
        "EQ_uriValue" => sensor(REPORT, "uriValue", text()?),
        "EQ_booleanValue" => {
            let values = p.list()?;
            if values.iter().any(|v| v != "true" && v != "false") {
                return Err(p.bad("use true or false"));
            }
            sensor(REPORT, "booleanValue", FieldTest::TextIn(values))
        }
        "GE_percRank" => sensor(REPORT, "percRank", num(Cmp::Ge)?),
        "GT_percRank" => sensor(REPORT, "percRank", num(Cmp::Gt)?),
        "LE_percRank" => sensor(REPORT, "percRank", num(Cmp::Le)?),
        "LT_percRank" => sensor(REPORT, "percRank", num(Cmp::Lt)?),
        _ => family(p, ext)?,
    })
}

/// The flexible-name families.
fn family(p: &Param<'_>, ext: &Extensions) -> Result<Condition, QueryError> {
    let unknown = || {
        QueryError::Parameter(format!(
            "{}: unknown query parameter (see the EPCIS 2.0 query parameters; extension fields \
             are named prefix:name or namespace#name)",
            p.name
        ))
    };
    if p.name.starts_with("HASATTR_") || p.name.starts_with("EQATTR_") {
        return Err(unsupported(p, "master-data attribute filters"));
    }
    let (op, rest) = ["EXISTS_", "EQ_", "GT_", "GE_", "LT_", "LE_"]
        .iter()
        .find_map(|op| p.name.strip_prefix(op).map(|rest| (*op, rest)))
        .ok_or_else(unknown)?;
    let cmp = match op {
        "EQ_" => Some(Cmp::Eq),
        "GT_" => Some(Cmp::Gt),
        "GE_" => Some(Cmp::Ge),
        "LT_" => Some(Cmp::Lt),
        "LE_" => Some(Cmp::Le),
        _ => None,
    };
    if op == "EQ_" {
        if let Some(kind) = rest
            .strip_prefix("bizTransaction_")
            .filter(|k| !k.is_empty())
        {
            return Ok(Condition::BizTransaction {
                kind: cbv::canonical_jsonld(VocabField::BizTransactionType, kind),
                ids: p.list()?,
            });
        }
        for (prefix, direction) in [
            ("source_", Direction::Source),
            ("destination_", Direction::Destination),
        ] {
            if let Some(kind) = rest.strip_prefix(prefix).filter(|k| !k.is_empty()) {
                return Ok(Condition::Party {
                    direction,
                    kind: cbv::canonical_jsonld(VocabField::SourceDestType, kind),
                    ids: p.mapped(stored::epc_key)?,
                });
            }
        }
        if rest.starts_with("ATTR_") {
            return Err(unsupported(p, "master-data attribute filters"));
        }
    }
    if let (Some(cmp), Some(uom)) = (cmp, rest.strip_prefix("quantity_")) {
        if !is_uom(uom) {
            return Err(unknown());
        }
        return Ok(Condition::Quantity {
            cmp,
            value: p.number()?,
            uom: Some(uom.to_owned()),
        });
    }
    for value_field in [
        "value_",
        "minValue_",
        "maxValue_",
        "meanValue_",
        "sDev_",
        "percValue_",
    ] {
        if rest.strip_prefix(value_field).is_some_and(is_uom) {
            return Err(unsupported(p, "sensor values by unit of measure"));
        }
    }
    let (inner, rest) = match rest.strip_prefix("INNER_") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (scope, field) = [
        ("ILMD_", FieldScope::Ilmd),
        ("ERROR_DECLARATION_", FieldScope::ErrorDeclaration),
        ("SENSORELEMENT_", FieldScope::SensorElement),
        ("SENSORMETADATA_", FieldScope::SensorMetadata),
        ("SENSORREPORT_", FieldScope::SensorReport),
        ("readPoint_", FieldScope::ReadPoint),
        ("bizLocation_", FieldScope::BizLocation),
    ]
    .iter()
    .find_map(|(prefix, scope)| rest.strip_prefix(prefix).map(|f| (*scope, f)))
    .unwrap_or((FieldScope::Extension, rest));
    let (namespaces, name) = field_name(p, field, ext)?.ok_or_else(unknown)?;
    let test = match cmp {
        None => FieldTest::Exists(p.boolean()?),
        Some(Cmp::Eq) => FieldTest::TextIn(p.list()?),
        Some(cmp) => FieldTest::Num(cmp, p.number()?),
    };
    Ok(Condition::Field {
        scopes: vec![scope],
        inner,
        namespaces,
        name,
        test,
    })
}

fn unsupported(p: &Param<'_>, what: &str) -> QueryError {
    QueryError::Parameter(format!(
        "{}: {what} are not supported by this server",
        p.name
    ))
}

fn is_uom(s: &str) -> bool {
    (2..=4).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `namespace#name` or `prefix:name` → (namespace spellings, local name). `Ok(None)` when the
/// text is neither (then the parameter is unknown).
fn field_name(
    p: &Param<'_>,
    field: &str,
    ext: &Extensions,
) -> Result<Option<(Vec<String>, String)>, QueryError> {
    let (ns, name) = if let Some((ns, name)) = field.rsplit_once('#') {
        (ns.to_owned(), name)
    } else if let Some((prefix, name)) = field.split_once(':') {
        let ns = ext.namespace(prefix).ok_or_else(|| {
            QueryError::Parameter(format!(
                "{}: the prefix {prefix:?} is not declared (declare it in the GS1-Extensions \
                 header as {prefix}=namespace, or write namespace#{name})",
                p.name
            ))
        })?;
        (ns, name)
    } else {
        return Ok(None);
    };
    if ns.is_empty() || name.is_empty() {
        return Ok(None);
    }
    let mut spellings = vec![ns.clone()];
    if ns.starts_with("urn:") {
        spellings.push(match ns.strip_suffix(':') {
            Some(bare) => bare.to_owned(),
            None => format!("{ns}:"),
        });
    }
    Ok(Some((spellings, name.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::query::KeyMatch;

    fn parse_str(q: &str) -> Result<EventQuery, QueryError> {
        parse(&pairs(Some(q))?, &Extensions::default())
    }

    fn one(q: &str) -> Condition {
        let mut parsed = parse_str(q).unwrap();
        assert_eq!(parsed.conditions.len(), 1, "{q}");
        parsed.conditions.remove(0)
    }

    fn err(q: &str) -> String {
        match parse_str(q) {
            Err(QueryError::Parameter(m)) => m,
            other => panic!("{q}: {other:?}"),
        }
    }

    #[test]
    fn cbv_values_arrive_as_words_or_uris_and_compare_canonically() {
        let urn = "urn:epcglobal:cbv:bizstep:shipping";
        for v in ["shipping", urn, "https://ref.gs1.org/cbv/BizStep-shipping"] {
            assert_eq!(
                one(&format!("EQ_bizStep={v}")),
                Condition::In {
                    column: Column::BizStep,
                    values: vec![urn.into()]
                }
            );
        }
        assert_eq!(
            one("EQ_disposition=in_transit%7Curn:example:disp:x"),
            Condition::In {
                column: Column::Disposition,
                values: vec![
                    "urn:epcglobal:cbv:disp:in_transit".into(),
                    "urn:example:disp:x".into()
                ]
            }
        );
    }

    #[test]
    fn ilmd_fields_by_curie_and_by_namespace_match_both_mda_spellings() {
        let expected = Condition::Field {
            scopes: vec![FieldScope::Ilmd],
            inner: false,
            namespaces: vec![
                "urn:epcglobal:cbv:mda".into(),
                "urn:epcglobal:cbv:mda:".into(),
            ],
            name: "lotNumber".into(),
            test: FieldTest::TextIn(vec!["L1".into()]),
        };
        assert_eq!(one("EQ_ILMD_cbvmda:lotNumber=L1"), expected);
        assert_eq!(
            one("EQ_ILMD_urn:epcglobal:cbv:mda%23lotNumber=L1"),
            expected
        );
        let Condition::Field { namespaces, .. } =
            one("EQ_ILMD_urn:epcglobal:cbv:mda:%23lotNumber=L1")
        else {
            panic!()
        };
        assert_eq!(
            namespaces,
            ["urn:epcglobal:cbv:mda:", "urn:epcglobal:cbv:mda"]
        );
    }

    #[test]
    fn extension_prefixes_come_from_the_header() {
        let ext = Extensions::parse(Some("ex=http://ns.example.com/epcis/, y=urn:y")).unwrap();
        let q = parse(
            &pairs(Some("GT_INNER_ex:temp=4.5&EXISTS_SENSORREPORT_y:z")).unwrap(),
            &ext,
        )
        .unwrap();
        assert_eq!(
            q.conditions,
            [
                Condition::Field {
                    scopes: vec![FieldScope::Extension],
                    inner: true,
                    namespaces: vec!["http://ns.example.com/epcis/".into()],
                    name: "temp".into(),
                    test: FieldTest::Num(Cmp::Gt, 4.5)
                },
                Condition::Field {
                    scopes: vec![FieldScope::SensorReport],
                    inner: false,
                    namespaces: vec!["urn:y".into(), "urn:y:".into()],
                    name: "z".into(),
                    test: FieldTest::Exists(true)
                }
            ]
        );
        assert!(err("EQ_ex:temp=1").contains("\"ex\" is not declared"));
    }

    #[test]
    fn families_of_transactions_and_parties_take_cbv_types() {
        assert_eq!(
            one("EQ_bizTransaction_po=urn:epcglobal:cbv:bt:0614141000005:PO1"),
            Condition::BizTransaction {
                kind: "urn:epcglobal:cbv:btt:po".into(),
                ids: vec!["urn:epcglobal:cbv:bt:0614141000005:PO1".into()]
            }
        );
        assert_eq!(
            one("EQ_destination_owning_party=urn:epc:id:sgln:0614141.00001.0"),
            Condition::Party {
                direction: Direction::Destination,
                kind: "urn:epcglobal:cbv:sdt:owning_party".into(),
                ids: vec!["https://id.gs1.org/414/0614141000012".into()]
            }
        );
    }

    #[test]
    fn match_parameters_search_their_roles() {
        let Condition::Epcs { roles, keys } = one("MATCH_epc=urn:epc:id:sgtin:0614141.107346.2018")
        else {
            panic!()
        };
        assert_eq!(roles, [EpcRole::Epc, EpcRole::Child]);
        assert_eq!(
            keys,
            [KeyMatch::Exact(
                "https://id.gs1.org/01/10614141073464/21/2018".into()
            )]
        );
        let Condition::Epcs { roles, .. } = one("MATCH_anyEPC=x") else {
            panic!()
        };
        assert_eq!(roles.len(), 5);
        assert!(err("MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.1").contains("MATCH_epc="));
    }

    #[test]
    fn bad_names_and_values_name_the_parameter() {
        assert_eq!(
            err("EQ_bizstep=shipping"),
            "EQ_bizstep: unknown query parameter (see the EPCIS 2.0 query parameters; extension \
             fields are named prefix:name or namespace#name)"
        );
        assert_eq!(
            err("GE_eventTime=2024-01-01"),
            "GE_eventTime=\"2024-01-01\": \"2024-01-01\" is not a date-time with a zone (RFC \
             3339): the 'separator' component could not be parsed"
        );
        assert!(err("EQ_action=ADD|MOVE").starts_with("EQ_action=\"ADD|MOVE\""));
        assert!(err("perPage=0").starts_with("perPage=\"0\""));
        assert!(err("eventCountLimit=1&maxEventCount=2").contains("mutually exclusive"));
        assert!(err("EQ_bizStep=a&EQ_bizStep=b").contains("more than once"));
        assert!(err("EQ_value_CEL=5").contains("not supported"));
        assert!(err("HASATTR_bizLocation=x").contains("not supported"));
        assert!(err("orderBy=ex:field").starts_with("orderBy="));
        assert!(err("EQ_bizStep=%zz").contains("hex"));
        assert!(err("EQ_bizStep=a||b").contains("empty value"));
        let many = vec!["x"; MAX_VALUES + 1].join("|");
        assert!(err(&format!("EQ_eventID={many}")).starts_with("EQ_eventID: at most"));
        let params: Vec<String> = (0..=MAX_PARAMETERS)
            .map(|i| format!("EQ_ex:f{i}=1"))
            .collect();
        assert!(err(&params.join("&")).contains("at most 64"));
    }

    #[test]
    fn plus_signs_stay_in_times() {
        assert_eq!(
            one("GE_eventTime=2024-01-01T05:00:00+05:00"),
            Condition::Time {
                column: TimeColumn::EventTime,
                cmp: Cmp::Ge,
                micros: stored::micros("2024-01-01T00:00:00Z").unwrap()
            }
        );
    }

    #[test]
    fn order_and_paging() {
        let q = parse_str("orderBy=eventTime&perPage=5").unwrap();
        assert_eq!(
            (q.order, q.descending, q.per_page),
            (Order::EventTime, true, 5)
        );
        let q = parse_str("orderBy=recordTime&orderDirection=ASC").unwrap();
        assert_eq!((q.order, q.descending), (Order::RecordTime, false));
        let q = parse_str("").unwrap();
        assert_eq!(
            (q.order, q.descending, q.per_page),
            (Order::Capture, false, DEFAULT_PER_PAGE)
        );
    }

    #[test]
    fn the_fingerprint_ignores_page_size_and_token_only() {
        let a = parse_str("EQ_bizStep=shipping&perPage=2").unwrap();
        let b = parse_str("EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping&nextPageToken=x").unwrap();
        let c = parse_str("EQ_bizStep=receiving").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
