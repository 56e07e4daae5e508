//! Reads of the serial ledger for the agent tools: a lot's counts by state, holder and
//! location, and a container's contents at a point in time (through aggregation intervals).

use sqlx::{AnyConnection, Row as _};

use super::StorageError;

/// Counts of one lot's serials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LotCounts {
    /// Serials of the lot in the ledger.
    pub total: i64,
    /// By ledger state (active, decommissioned, destroyed, dispensed, unknown).
    pub by_state: Vec<(String, i64)>,
    /// By last owner (party id or GLN as captured), largest first, at most `limit`.
    pub by_owner: Vec<(String, i64)>,
    /// By last location, largest first, at most `limit`.
    pub by_location: Vec<(String, i64)>,
    /// Flagged recalled.
    pub recalled: i64,
    /// Flagged suspect.
    pub suspect: i64,
    /// Quarantined.
    pub quarantined: i64,
    /// Determined illegitimate.
    pub illegitimate: i64,
    /// Earliest and latest expiry recorded.
    pub expiry: Option<(String, String)>,
}

async fn grouped(
    conn: &mut AnyConnection,
    column: &'static str,
    gtin: &str,
    lot: &str,
    limit: i64,
) -> Result<Vec<(String, i64)>, StorageError> {
    // `column` is one of three literals chosen by the caller below, never input.
    let sql = format!(
        "SELECT COALESCE({column}, '(none)') AS k, COUNT(*) AS n FROM serials \
         WHERE gtin = $1 AND lot = $2 GROUP BY COALESCE({column}, '(none)') \
         ORDER BY n DESC, k LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(gtin)
        .bind(lot)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

/// The counts of `gtin` lot `lot`; the groupings list at most `limit` entries each.
pub async fn lot_counts(
    conn: &mut AnyConnection,
    gtin: &str,
    lot: &str,
    limit: i64,
) -> Result<LotCounts, StorageError> {
    let row = sqlx::query(
        "SELECT COUNT(*), \
           COALESCE(SUM(CASE WHEN recalled <> 0 THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN suspect <> 0 THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN quarantined <> 0 THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN illegitimate <> 0 THEN 1 ELSE 0 END), 0), \
           MIN(expiry), MAX(expiry) \
         FROM serials WHERE gtin = $1 AND lot = $2",
    )
    .bind(gtin)
    .bind(lot)
    .fetch_one(&mut *conn)
    .await?;
    let total: i64 = row.try_get(0)?;
    let min: Option<String> = row.try_get(5)?;
    let max: Option<String> = row.try_get(6)?;
    Ok(LotCounts {
        total,
        recalled: row.try_get(1)?,
        suspect: row.try_get(2)?,
        quarantined: row.try_get(3)?,
        illegitimate: row.try_get(4)?,
        expiry: min.zip(max),
        by_state: grouped(conn, "state", gtin, lot, limit).await?,
        by_owner: grouped(conn, "owner", gtin, lot, limit).await?,
        by_location: grouped(conn, "location", gtin, lot, limit).await?,
    })
}

/// One identifier inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inside {
    /// The child's EPC key.
    pub epc: String,
    /// The container it is directly inside.
    pub parent: String,
    /// 1 for direct children, 2 for their children, ...
    pub depth: i64,
    /// GTIN, when the child is a serialised package in the ledger.
    pub gtin: Option<String>,
    /// Lot.
    pub lot: Option<String>,
    /// Ledger state.
    pub state: Option<String>,
}

/// What was inside `container` at `at` (microseconds since the epoch), all levels down to 16,
/// at most `limit` rows (ordered by depth, then EPC), and whether there were more.
pub async fn contents(
    conn: &mut AnyConnection,
    container: &str,
    at: i64,
    limit: i64,
) -> Result<(Vec<Inside>, bool), StorageError> {
    let rows = sqlx::query(
        "WITH RECURSIVE inside(epc, parent, depth) AS ( \
           SELECT a.child, a.parent, 1 FROM aggregation_intervals a \
           WHERE a.parent = $1 AND a.from_time <= $2 AND (a.to_time IS NULL OR a.to_time > $2) \
           UNION \
           SELECT a.child, a.parent, inside.depth + 1 FROM aggregation_intervals a \
             JOIN inside ON a.parent = inside.epc \
           WHERE a.from_time <= $2 AND (a.to_time IS NULL OR a.to_time > $2) AND inside.depth < 16) \
         SELECT inside.epc, inside.parent, inside.depth, s.gtin, s.lot, s.state \
         FROM inside LEFT JOIN serials s ON s.epc = inside.epc \
         ORDER BY inside.depth, inside.epc LIMIT $3",
    )
    .bind(container)
    .bind(at)
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(Inside {
                epc: r.try_get(0)?,
                parent: r.try_get(1)?,
                depth: r.try_get(2)?,
                gtin: r.try_get(3)?,
                lot: r.try_get(4)?,
                state: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    let more = out.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((out, more))
}
