//! Header master data reads: `GET /masterdata/products/{gtin}` and
//! `GET /masterdata/locations/{gln}`, the latest version of each record and how many versions
//! were captured.
//!
//! Who sees what (the events' visibility policy carried over to the records that describe
//! them):
//! - the home organisation sees every record;
//! - a trading partner sees a product record when it can see an event naming an instance or a
//!   class of that GTIN, or when it sent the record itself; it sees a location record when the
//!   GLN is one of its own, when it can see an event whose read point, business location,
//!   source or destination is that GLN (with any extension), or when it sent the record;
//! - a regulator sees what its visible events name (none until FDA records requests exist).
//!
//! A record the caller may not see answers exactly like a record that does not exist.

use epcis::id::{Gln, Gtin, Ndc};
use partners::Visibility;
use serde::Serialize;

use super::QueryError;
use crate::storage::query::{self as store, Column, Condition, KeyMatch};
use crate::storage::{Db, StorageError, masterdata};
use crate::stored::EpcRole;

/// A product record as answered.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// GTIN-14.
    pub gtin: Option<String>,
    /// NDC as sent.
    pub ndc: Option<String>,
    /// The vocabulary element ID as sent.
    pub class_id: String,
    /// Regulated product name.
    pub name: Option<String>,
    /// Dosage form.
    pub dosage_form: Option<String>,
    /// Strength.
    pub strength: Option<String>,
    /// Net content (container size).
    pub net_content: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Every attribute as sent.
    pub attributes: serde_json::Value,
    /// When this version was captured.
    pub valid_from: String,
    /// How many versions were captured.
    pub versions: i64,
}

/// A location record as answered.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// 13-digit GLN.
    pub gln: Option<String>,
    /// The vocabulary element ID as sent.
    pub location_id: String,
    /// Name.
    pub name: Option<String>,
    /// Every attribute as sent (address, …).
    pub attributes: serde_json::Value,
    /// Child location IDs.
    pub children: serde_json::Value,
    /// When this version was captured.
    pub valid_from: String,
    /// How many versions were captured.
    pub versions: i64,
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

fn not_found(what: &str) -> QueryError {
    QueryError::NoSuchResource(format!("no master data for {what}"))
}

/// Whether `visibility` lets its principal see a record `captured_by` sent, given whether an
/// event it can see names the record.
fn own_record(visibility: &Visibility, captured_by: &str) -> bool {
    match visibility {
        Visibility::All => true,
        Visibility::PartyTo {
            captured_by: me, ..
        } => me.as_str() == captured_by,
        Visibility::RecordsRequests { .. } => false,
    }
}

/// The product with this GTIN-14 or NDC-10 (hyphenated or not).
#[tracing::instrument(skip_all, err)]
pub async fn product(db: &Db, visibility: &Visibility, id: &str) -> Result<Product, QueryError> {
    let id = id.trim();
    let (gtin, ndc) = match (Gtin::parse(id), Ndc::parse(id)) {
        (Ok(g), _) => (Some(g), None),
        (_, Ok(n)) => (None, Some(n)),
        (Err(g), Err(n)) => {
            return Err(QueryError::Parameter(format!(
                "{id:?} is neither a GTIN ({g}) nor an NDC ({n})"
            )));
        }
    };
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    let row = masterdata::product(
        &mut conn,
        gtin.as_ref().map(Gtin::as_str),
        ndc.as_ref().map(Ndc::digits),
    )
    .await?
    .ok_or_else(|| not_found(id))?;
    if !own_record(visibility, &row.captured_by) {
        let gtin = row.gtin.as_deref().ok_or_else(|| not_found(id))?;
        let key = format!("https://id.gs1.org/01/{gtin}");
        let keys = vec![
            KeyMatch::Exact(key.clone()),
            KeyMatch::prefix(&format!("{key}/")).ok_or_else(|| not_found(id))?,
        ];
        let vis = visibility.condition();
        use EpcRole::{Child, Epc, Input, Output, Parent};
        let named = [
            Condition::Epcs {
                roles: vec![Epc, Parent, Child, Input, Output],
                keys: keys.clone(),
            },
            Condition::Classes {
                roles: vec![Epc, Child, Input, Output],
                keys,
            },
        ];
        let mut seen = false;
        for c in named {
            if store::any_event(&mut conn, &[c], &vis).await? {
                seen = true;
                break;
            }
        }
        if !seen {
            return Err(not_found(id));
        }
    }
    Ok(Product {
        gtin: row.gtin,
        ndc: row.ndc,
        class_id: row.class_id,
        name: row.name,
        dosage_form: row.dosage_form,
        strength: row.strength,
        net_content: row.net_content,
        manufacturer: row.manufacturer,
        attributes: json(&row.attributes),
        valid_from: row.valid_from,
        versions: row.versions,
    })
}

/// The location with this GLN.
#[tracing::instrument(skip_all, err)]
pub async fn location(db: &Db, visibility: &Visibility, gln: &str) -> Result<Location, QueryError> {
    let gln = Gln::parse(gln.trim())
        .map_err(|e| QueryError::Parameter(format!("{gln:?} is not a GLN: {e}")))?;
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    let row = masterdata::location(&mut conn, gln.as_str())
        .await?
        .ok_or_else(|| not_found(gln.as_str()))?;
    let own_gln = match visibility {
        Visibility::PartyTo { glns, .. } => glns.iter().any(|g| g.as_str() == gln.as_str()),
        _ => false,
    };
    if !own_record(visibility, &row.captured_by) && !own_gln {
        let key = format!("https://id.gs1.org/414/{}", gln.as_str());
        let keys = vec![
            KeyMatch::Exact(key.clone()),
            KeyMatch::prefix(&format!("{key}/")).ok_or_else(|| not_found(gln.as_str()))?,
        ];
        let vis = visibility.condition();
        let named = [
            Condition::PartyGln(gln.as_str().to_owned()),
            Condition::ColumnKeys {
                column: Column::ReadPoint,
                keys: keys.clone(),
            },
            Condition::ColumnKeys {
                column: Column::BizLocation,
                keys,
            },
        ];
        let mut seen = false;
        for c in named {
            if store::any_event(&mut conn, &[c], &vis).await? {
                seen = true;
                break;
            }
        }
        if !seen {
            return Err(not_found(gln.as_str()));
        }
    }
    Ok(Location {
        gln: row.gln,
        location_id: row.location_id,
        name: row.name,
        attributes: json(&row.attributes),
        children: json(&row.children),
        valid_from: row.valid_from,
        versions: row.versions,
    })
}
