//! What a records request asks for, checked field by field: the requester's reference, the
//! products (an EPC, GTIN + serial, GTIN + lot, or NDC + lot), the period, and the regulator
//! it is for. Errors name the field as the request spells it (`products[2].lot`, `from`); the
//! CLI spells its flags the same way.
//!
//! An NDC names a product, not a GTIN: it resolves through product master data, and through
//! the US `03` GTIN form for each indicator digit (`dscsa.md` §7.1), to the GTINs that have
//! serials in the lot.

use std::collections::BTreeSet;

use epcis::id::{Gtin, Ndc};
use serde::Deserialize;

use super::{FdaError, invalid};
use crate::services::investigations::{InvestigationError, Product as CaseProduct};
use crate::services::trace::Product;
use crate::storage::Db;

/// Most products one request may name.
pub const MAX_PRODUCTS: usize = 1000;
/// Longest request reference, in characters.
pub const MAX_REFERENCE: usize = 200;

/// A records request as the REST body (and the CLI flags) give it.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRequest {
    /// The requester's reference (`FDA letter 2026-123`).
    pub request_ref: String,
    /// The products.
    pub products: Vec<ProductSpec>,
    /// Period start: a date (`2026-01-01`, from midnight UTC) or an RFC 3339 time.
    #[serde(default)]
    pub from: Option<String>,
    /// Period end: a date (inclusive: up to midnight UTC after it) or an RFC 3339 time
    /// (exclusive).
    #[serde(default)]
    pub to: Option<String>,
    /// The regulator principal the request is for: its events become visible to it. A
    /// regulator asking for itself need not give it.
    #[serde(default)]
    pub regulator: Option<String>,
}

/// One product as asked: exactly one of `epc`; `gtin` + `serial`; `gtin` + `lot`;
/// `ndc` + `lot`.
#[derive(
    Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    /// An SGTIN EPC URN or a Digital Link with a serial (or an LGTIN / Digital Link with a lot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epc: Option<String>,
    /// GTIN-14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Lot number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// NDC-10 (hyphenated or ten digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndc: Option<String>,
}

/// A bound of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// As stored and shown (RFC 3339, UTC).
    pub text: String,
    /// Microseconds since the epoch.
    pub micros: i64,
}

/// A request checked and resolved to the products tracing knows.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The requester's reference.
    pub reference: String,
    /// The products as asked (JSON array of [`ProductSpec`]).
    pub asked: serde_json::Value,
    /// The products to trace, each with how it was asked.
    pub products: Vec<Resolved>,
    /// Period start (inclusive).
    pub from: Option<Bound>,
    /// Period end (exclusive).
    pub to: Option<Bound>,
    /// The regulator it is for.
    pub regulator: Option<String>,
}

/// One product to trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// How it was asked (`NDC 0614-1100-01 lot L1`).
    pub asked: String,
    /// What is traced.
    pub product: Product,
}

impl Resolved {
    /// A short subject for audit targets: the serial's ledger key, or `GTIN lot L`.
    pub fn subject(&self) -> String {
        match &self.product {
            Product::Serial { gtin, serial } => crate::services::verify::sgtin_key(gtin, serial),
            Product::Lot { gtin, lot } => format!("{} lot {lot}", gtin.as_str()),
        }
    }
}

impl Checked {
    /// Every product's subject, for audit targets.
    pub fn subjects(&self) -> Vec<String> {
        self.products.iter().map(Resolved::subject).collect()
    }

    /// Whether an event at `micros` falls in the period.
    pub fn in_period(&self, micros: i64) -> bool {
        self.from.as_ref().is_none_or(|f| micros >= f.micros)
            && self.to.as_ref().is_none_or(|t| micros < t.micros)
    }
}

fn from_case(e: InvestigationError) -> FdaError {
    match e {
        InvestigationError::Invalid { field, detail } => FdaError::Invalid { field, detail },
        other => invalid("products", other.to_string()),
    }
}

/// Checks `new` and resolves its products (NDCs through master data and the ledger).
///
/// # Errors
/// `Invalid` naming the field; storage.
pub async fn check(db: &Db, new: &NewRequest) -> Result<Checked, FdaError> {
    let reference = new.request_ref.trim();
    if reference.is_empty() {
        return Err(invalid(
            "requestRef",
            "give the requester's reference (for example \"FDA letter 2026-123\")",
        ));
    }
    if reference.chars().count() > MAX_REFERENCE || reference.chars().any(char::is_control) {
        return Err(invalid(
            "requestRef",
            format!("at most {MAX_REFERENCE} characters, no control characters"),
        ));
    }
    if new.products.is_empty() {
        return Err(invalid(
            "products",
            "name at least one product: an EPC, GTIN + serial, GTIN + lot, or NDC + lot",
        ));
    }
    if new.products.len() > MAX_PRODUCTS {
        return Err(invalid(
            "products",
            format!(
                "{} products: at most {MAX_PRODUCTS} per request (a lot counts as one)",
                new.products.len()
            ),
        ));
    }
    let from = new
        .from
        .as_deref()
        .map(|t| bound("from", t, false))
        .transpose()?;
    let to = new
        .to
        .as_deref()
        .map(|t| bound("to", t, true))
        .transpose()?;
    if let (Some(f), Some(t)) = (&from, &to)
        && f.micros >= t.micros
    {
        return Err(invalid(
            "to",
            format!("{} is not after from ({})", t.text, f.text),
        ));
    }
    let regulator = new
        .regulator
        .as_deref()
        .map(|r| {
            r.trim()
                .parse::<partners::PrincipalId>()
                .map(|id| id.to_string())
                .map_err(|e| invalid("regulator", e.to_string()))
        })
        .transpose()?;
    let mut products = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, spec) in new.products.iter().enumerate() {
        for r in resolve(db, &format!("products[{i}]"), spec).await? {
            if seen.insert(r.subject()) {
                products.push(r);
            }
        }
    }
    Ok(Checked {
        reference: reference.to_owned(),
        asked: serde_json::to_value(&new.products).unwrap_or(serde_json::Value::Null),
        products,
        from,
        to,
        regulator,
    })
}

/// A date (`YYYY-MM-DD`, UTC) or an RFC 3339 time. A date as the end of the period includes
/// that day.
fn bound(field: &str, text: &str, end: bool) -> Result<Bound, FdaError> {
    let text = text.trim();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let micros = if let Ok(date) = time::Date::parse(text, &format) {
        let day = if end {
            date.next_day()
                .ok_or_else(|| invalid(field, "out of range"))?
        } else {
            date
        };
        let t = day.midnight().assume_utc();
        i64::try_from(t.unix_timestamp_nanos() / 1000)
            .map_err(|_| invalid(field, "out of range"))?
    } else {
        crate::stored::micros(text).map_err(|e| {
            invalid(
                field,
                format!("expected a date (2026-01-31) or an RFC 3339 time: {e}"),
            )
        })?
    };
    Ok(Bound {
        text: crate::stored::time_text(micros),
        micros,
    })
}

async fn resolve(db: &Db, field: &str, spec: &ProductSpec) -> Result<Vec<Resolved>, FdaError> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let product = |p: CaseProduct| match p {
        CaseProduct::Serial { gtin, serial, .. } => Gtin::parse(&gtin)
            .map(|gtin| Product::Serial { gtin, serial })
            .map_err(|e| invalid(format!("{field}.gtin"), e.to_string())),
        CaseProduct::Lot { gtin, lot } => Gtin::parse(&gtin)
            .map(|gtin| Product::Lot { gtin, lot })
            .map_err(|e| invalid(format!("{field}.gtin"), e.to_string())),
    };
    match (
        given(&spec.epc),
        given(&spec.gtin),
        given(&spec.serial),
        given(&spec.lot),
        given(&spec.ndc),
    ) {
        (Some(epc), None, None, None, None) => {
            let p =
                CaseProduct::parse_identifier(&format!("{field}.epc"), epc).map_err(from_case)?;
            Ok(vec![Resolved {
                asked: format!("EPC {epc}"),
                product: product(p)?,
            }])
        }
        (None, Some(gtin), Some(serial), None, None) => {
            let p = CaseProduct::from_gtin_serial(field, gtin, serial).map_err(from_case)?;
            Ok(vec![Resolved {
                asked: format!("GTIN {gtin} serial {serial}"),
                product: product(p)?,
            }])
        }
        (None, Some(gtin), None, Some(lot), None) => {
            let p = CaseProduct::from_gtin_lot(field, gtin, lot).map_err(from_case)?;
            Ok(vec![Resolved {
                asked: format!("GTIN {gtin} lot {lot}"),
                product: product(p)?,
            }])
        }
        (None, None, None, Some(lot), Some(ndc)) => ndc_lot(db, field, ndc, lot).await,
        _ => Err(invalid(
            field,
            "give exactly one of: epc; gtin and serial; gtin and lot; ndc and lot",
        )),
    }
}

/// The GTINs of an NDC that have serials in `lot`: from product master data, and the US
/// `03` form under every indicator digit. When none has the lot, the master-data GTINs (the
/// package then says our records hold nothing of it); when there are none either, an error.
async fn ndc_lot(db: &Db, field: &str, ndc: &str, lot: &str) -> Result<Vec<Resolved>, FdaError> {
    let parsed: Ndc = ndc
        .parse()
        .map_err(|e: epcis::id::IdError| invalid(format!("{field}.ndc"), e.to_string()))?;
    epcis::id::charset::check_cset82("lot", lot)
        .map_err(|e| invalid(format!("{field}.lot"), e.to_string()))?;
    let mut conn = db.pool().acquire().await?;
    let mut candidates: BTreeSet<String> =
        crate::storage::fda::gtins_of_ndc(&mut conn, parsed.digits())
            .await?
            .into_iter()
            .collect();
    let from_master = candidates.clone();
    for indicator in 0..=9 {
        if let Ok(g) = Gtin::from_ndc(&parsed, indicator) {
            candidates.insert(g.as_str().to_owned());
        }
    }
    let mut with_lot = Vec::new();
    for g in &candidates {
        if crate::storage::fda::lot_known(&mut conn, g, lot).await? {
            with_lot.push(g.clone());
        }
    }
    let chosen = if with_lot.is_empty() {
        from_master.into_iter().collect()
    } else {
        with_lot
    };
    if chosen.is_empty() {
        return Err(invalid(
            format!("{field}.ndc"),
            format!(
                "NDC {ndc}: no product master data names it and no GTIN of it has serials in lot \
                 {lot:?}; give the GTIN instead"
            ),
        ));
    }
    chosen
        .into_iter()
        .map(|g| {
            let gtin =
                Gtin::parse(&g).map_err(|e| invalid(format!("{field}.ndc"), e.to_string()))?;
            Ok(Resolved {
                asked: format!("NDC {ndc} lot {lot}"),
                product: Product::Lot {
                    gtin,
                    lot: lot.to_owned(),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cover_whole_days() {
        let from = bound("from", "2026-01-31", false).unwrap();
        let to = bound("to", "2026-01-31", true).unwrap();
        assert_eq!(from.text, "2026-01-31T00:00:00Z");
        assert_eq!(to.text, "2026-02-01T00:00:00Z");
        assert_eq!(to.micros - from.micros, 86_400_000_000);
        let t = bound("to", "2026-01-31T10:00:00+02:00", true).unwrap();
        assert_eq!(t.text, "2026-01-31T08:00:00Z");
        let e = bound("from", "31/01/2026", false).unwrap_err().to_string();
        assert!(e.starts_with("from: expected a date"), "{e}");
    }
}
