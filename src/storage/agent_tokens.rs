//! Agent bearer tokens (`agent_tokens`): insert, look up by the SHA-256 of the presented
//! token, list, revoke. The token itself never reaches this module.

use sqlx::AnyConnection;

use super::StorageError;

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Public id (`at_…`), shown in lists and the audit trail.
    pub id: String,
    /// The principal it acts for.
    pub principal_id: String,
    /// Scopes, space-separated.
    pub scopes: String,
    /// GTINs it is narrowed to, space-separated (empty: not narrowed).
    pub gtins: String,
    /// Lot it is narrowed to.
    pub lot: Option<String>,
    /// Investigation it is narrowed to.
    pub investigation: Option<String>,
    /// The stated purpose.
    pub purpose: String,
    /// Who issued it (operating-system user of the CLI).
    pub issued_by: String,
    /// RFC 3339.
    pub issued_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
}

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
);

const COLUMNS: &str = "id, principal_id, scopes, gtins, lot, investigation, purpose, issued_by, \
                       issued_at, expires_at, revoked_at";

fn from_row(r: Row) -> TokenRow {
    let (
        id,
        principal_id,
        scopes,
        gtins,
        lot,
        investigation,
        purpose,
        issued_by,
        issued_at,
        expires_at,
        revoked_at,
    ) = r;
    TokenRow {
        id,
        principal_id,
        scopes,
        gtins,
        lot,
        investigation,
        purpose,
        issued_by,
        issued_at,
        expires_at,
        revoked_at,
    }
}

/// Stores a new token under the SHA-256 (hex) of its secret.
pub async fn insert(
    conn: &mut AnyConnection,
    row: &TokenRow,
    secret_sha256: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO agent_tokens (id, secret_sha256, principal_id, scopes, gtins, lot, \
         investigation, purpose, issued_by, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&row.id)
    .bind(secret_sha256)
    .bind(&row.principal_id)
    .bind(&row.scopes)
    .bind(&row.gtins)
    .bind(row.lot.as_deref())
    .bind(row.investigation.as_deref())
    .bind(&row.purpose)
    .bind(&row.issued_by)
    .bind(&row.issued_at)
    .bind(&row.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The token whose secret hashes to `secret_sha256`, revoked or not.
pub async fn by_secret(
    conn: &mut AnyConnection,
    secret_sha256: &str,
) -> Result<Option<TokenRow>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM agent_tokens WHERE secret_sha256 = $1");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(secret_sha256)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(from_row))
}

/// The token with this public id.
pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<TokenRow>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM agent_tokens WHERE id = $1");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(from_row))
}

/// Every token, newest first.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<TokenRow>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM agent_tokens ORDER BY issued_at DESC, id");
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Marks a token revoked at `at`. False when there is no such token or it was already revoked.
pub async fn revoke(conn: &mut AnyConnection, id: &str, at: &str) -> Result<bool, StorageError> {
    let done =
        sqlx::query("UPDATE agent_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
