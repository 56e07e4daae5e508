//! Header master data as captured (`master_products`, `master_locations`): one row per element
//! per document that sent it, so the latest row is the current version and the row count is the
//! number of versions. Who may read which record is decided in `services::query::masterdata`.

use sqlx::AnyConnection;

use super::StorageError;

/// The latest version of a product (EPCClass) record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    /// The vocabulary element ID as sent (a class URI).
    pub class_id: String,
    /// GTIN-14.
    pub gtin: Option<String>,
    /// NDC as sent.
    pub ndc: Option<String>,
    /// `regulatedProductName`.
    pub name: Option<String>,
    /// `dosageFormType`.
    pub dosage_form: Option<String>,
    /// `strengthDescription`.
    pub strength: Option<String>,
    /// `netContentDescription`.
    pub net_content: Option<String>,
    /// `manufacturerOfTradeItemPartyName`.
    pub manufacturer: Option<String>,
    /// Every attribute, as JSON text.
    pub attributes: String,
    /// Who sent this version.
    pub captured_by: String,
    /// When this version was captured.
    pub valid_from: String,
    /// How many versions exist.
    pub versions: i64,
}

/// The latest version of a location record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LocationRow {
    /// The vocabulary element ID as sent (an SGLN URI).
    pub location_id: String,
    /// 13-digit GLN.
    pub gln: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// Every attribute, as JSON text.
    pub attributes: String,
    /// Child location IDs, as JSON text.
    pub children: String,
    /// Who sent this version.
    pub captured_by: String,
    /// When this version was captured.
    pub valid_from: String,
    /// How many versions exist.
    pub versions: i64,
}

/// The latest product record with this GTIN, or whose NDC has these digits.
pub async fn product(
    conn: &mut AnyConnection,
    gtin: Option<&str>,
    ndc_digits: Option<&str>,
) -> Result<Option<ProductRow>, StorageError> {
    // Hyphens are dropped on both sides: partners send NDCs hyphenated in several layouts.
    Ok(sqlx::query_as(
        "WITH m AS (SELECT * FROM master_products \
                    WHERE gtin = $1 OR REPLACE(ndc, '-', '') = $2) \
         SELECT class_id, gtin, ndc, name, dosage_form, strength, net_content, manufacturer, \
                attributes, captured_by, valid_from, (SELECT COUNT(*) FROM m) AS versions \
         FROM m ORDER BY id DESC LIMIT 1",
    )
    .bind(gtin.unwrap_or(""))
    .bind(ndc_digits.unwrap_or(""))
    .fetch_optional(&mut *conn)
    .await?)
}

/// The latest location record with this GLN.
pub async fn location(
    conn: &mut AnyConnection,
    gln: &str,
) -> Result<Option<LocationRow>, StorageError> {
    Ok(sqlx::query_as(
        "WITH m AS (SELECT * FROM master_locations WHERE gln = $1) \
         SELECT location_id, gln, name, attributes, children, captured_by, valid_from, \
                (SELECT COUNT(*) FROM m) AS versions \
         FROM m ORDER BY id DESC LIMIT 1",
    )
    .bind(gln)
    .fetch_optional(&mut *conn)
    .await?)
}
