//! Capture writes: documents, events and their query rows, error declarations, master data,
//! transaction statements, the serial ledger, aggregation intervals, anomalies and capture
//! jobs. Every function runs in the caller's transaction (`&mut AnyConnection`).
//!
//! Why set-based statements: a DSCSA shipment of 100,000 units names each serial in three
//! events (commission, pack, ship). One statement per serial would cost a round trip each, the
//! cost that makes QU4RTET take minutes (`../shared/peers/README.md`). Here an event's EPC list
//! travels as ONE bound JSON array, expanded by the database (`json_each` in SQLite,
//! `jsonb_array_elements_text` in PostgreSQL), so an event costs a handful of statements
//! whatever its size. The values are still bound, never spliced: only the table-function
//! fragment differs between dialects, chosen from [`Backend`].

use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use super::{Backend, StorageError};

/// `JSON_ROWS($n)` in a statement becomes the backend's table function over the JSON array of
/// strings bound at `$n`, exposing one column `value`.
pub(crate) fn dialect(backend: Backend, template: &str) -> AssertSqlSafe<String> {
    let membership = in_json(backend, template);
    let mut out = String::with_capacity(membership.len() + 32);
    let mut rest = membership.as_str();
    while let Some(at) = rest.find("JSON_ROWS(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "JSON_ROWS(".len()..];
        let end = after.find(')').unwrap_or(after.len());
        let param = &after[..end];
        match backend {
            Backend::Sqlite => {
                out.push_str("json_each(");
                out.push_str(param);
                out.push(')');
            }
            Backend::Postgres => {
                // EPC columns use the "C" collation; the values must too, or a recursive query
                // mixing both is refused.
                out.push_str("(SELECT x COLLATE \"C\" AS value FROM jsonb_array_elements_text(");
                out.push_str(param);
                out.push_str("::jsonb) AS t(x)) AS j");
            }
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    AssertSqlSafe(out)
}

/// `IN_JSON(column, $n)` becomes a membership test of `column` in the JSON array bound at
/// `$n`. PostgreSQL gets `= ANY(ARRAY(…))`, which its planner answers with an index scan;
/// `IN (SELECT … FROM jsonb_array_elements_text(…))` became a hash join over a sequential scan
/// of the ledger for every event (quadratic over a document). SQLite plans `IN (SELECT …)` as
/// index probes.
fn in_json(backend: Backend, template: &str) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(at) = rest.find("IN_JSON(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "IN_JSON(".len()..];
        let end = after.find(')').unwrap_or(after.len());
        let (column, param) = after[..end].split_once(", ").unwrap_or((&after[..end], ""));
        match backend {
            Backend::Sqlite => {
                out.push_str(&format!(
                    "{column} IN (SELECT value FROM json_each({param}))"
                ));
            }
            Backend::Postgres => out.push_str(&format!(
                "{column} = ANY(ARRAY(SELECT jsonb_array_elements_text({param}::jsonb)))"
            )),
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// A float bound as text and cast in SQL. WHY: sqlx 0.9's `Any` driver sends a NULL `f64` to
/// PostgreSQL as a `float4` parameter; the statement is then prepared for `float4` and the
/// next non-NULL `f64` (8 bytes) is refused ("incorrect binary data format"). Text has one
/// type whether NULL or not. `{:?}` prints the shortest form that reads back to the same f64.
fn float_text(value: Option<f64>) -> Option<String> {
    value.map(|v| format!("{v:?}"))
}

/// Stores the original document bytes; returns its id.
pub async fn insert_document(
    conn: &mut AnyConnection,
    sha256: &str,
    content_type: &str,
    bytes: &[u8],
    captured_by: &str,
    received_at: &str,
) -> Result<i64, StorageError> {
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    Ok(sqlx::query_scalar(
        "INSERT INTO epcis_documents (sha256, content_type, size, bytes, captured_by, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(sha256)
    .bind(content_type)
    .bind(size)
    .bind(bytes)
    .bind(captured_by)
    .bind(received_at)
    .fetch_one(&mut *conn)
    .await?)
}

/// An event row.
#[derive(Debug)]
pub struct EventRow<'a> {
    /// CBV 2.0 hash ID.
    pub hash_id: &'a str,
    /// Declared eventID, else the hash ID.
    pub event_id: &'a str,
    /// `ObjectEvent`, ...
    pub event_type: &'a str,
    /// `ADD` | `OBSERVE` | `DELETE`.
    pub action: Option<&'a str>,
    /// µs.
    pub event_time: i64,
    /// µs (the server's capture time).
    pub record_time: i64,
    /// Canonical CBV form.
    pub biz_step: Option<&'a str>,
    /// Canonical CBV form.
    pub disposition: Option<&'a str>,
    /// EPC key.
    pub read_point: Option<&'a str>,
    /// EPC key.
    pub biz_location: Option<&'a str>,
    /// As written.
    pub transformation_id: Option<&'a str>,
    /// The capturing principal.
    pub captured_by: &'a str,
    /// The document it came in.
    pub document_id: i64,
    /// The stored form ([`crate::stored::body`]).
    pub body: &'a str,
}

/// Inserts the event unless one with its hash ID exists: `Some(id)` when new, `None` when a
/// duplicate. Concurrent captures of one event: the unique index makes the second wait for the
/// first and then see the conflict, so the event is stored once.
pub async fn insert_event(
    conn: &mut AnyConnection,
    e: &EventRow<'_>,
) -> Result<Option<i64>, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO events (hash_id, event_id, event_type, action, event_time, record_time, \
         biz_step, disposition, read_point, biz_location, transformation_id, captured_by, \
         document_id, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (hash_id) DO NOTHING RETURNING id",
    )
    .bind(e.hash_id)
    .bind(e.event_id)
    .bind(e.event_type)
    .bind(e.action)
    .bind(e.event_time)
    .bind(e.record_time)
    .bind(e.biz_step)
    .bind(e.disposition)
    .bind(e.read_point)
    .bind(e.biz_location)
    .bind(e.transformation_id)
    .bind(e.captured_by)
    .bind(e.document_id)
    .bind(e.body)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The stored event with this hash ID, else (when `event_id` is given) the first with this
/// declared event ID.
pub async fn find_event(
    conn: &mut AnyConnection,
    hash_id: &str,
    event_id: Option<&str>,
) -> Result<Option<i64>, StorageError> {
    let by_hash: Option<i64> = sqlx::query_scalar("SELECT id FROM events WHERE hash_id = $1")
        .bind(hash_id)
        .fetch_optional(&mut *conn)
        .await?;
    match (by_hash, event_id) {
        (Some(id), _) => Ok(Some(id)),
        (None, Some(eid)) => Ok(sqlx::query_scalar(
            "SELECT id FROM events WHERE event_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(eid)
        .fetch_optional(&mut *conn)
        .await?),
        (None, None) => Ok(None),
    }
}

/// Adds one quantity-list entry.
pub async fn insert_class(
    conn: &mut AnyConnection,
    event: i64,
    role: &str,
    class: &str,
    quantity: Option<f64>,
    uom: Option<&str>,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO event_classes (event, role, epc_class, quantity, uom) \
         VALUES ($1, $2, $3, CAST($4 AS DOUBLE PRECISION), $5)",
    )
    .bind(event)
    .bind(role)
    .bind(class)
    .bind(float_text(quantity))
    .bind(uom)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds one business transaction reference.
pub async fn insert_biz_transaction(
    conn: &mut AnyConnection,
    event: i64,
    kind: &str,
    id: &str,
) -> Result<(), StorageError> {
    sqlx::query("INSERT INTO event_biz_transactions (event, type, id) VALUES ($1, $2, $3)")
        .bind(event)
        .bind(kind)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds one source or destination.
pub async fn insert_party(
    conn: &mut AnyConnection,
    event: i64,
    direction: &str,
    kind: &str,
    id: &str,
    gln: Option<&str>,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO event_parties (event, direction, type, id, gln) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(event)
    .bind(direction)
    .bind(kind)
    .bind(id)
    .bind(gln)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds one flattened query field.
pub async fn insert_field(
    conn: &mut AnyConnection,
    event: i64,
    f: &crate::stored::FieldRow,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO event_fields (event, scope, namespace, name, depth, text_value, num_value) \
         VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION))",
    )
    .bind(event)
    .bind(f.scope.as_str())
    .bind(&f.namespace)
    .bind(&f.name)
    .bind(f.depth)
    .bind(f.text.as_deref())
    .bind(float_text(f.num))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An error declaration to store beside `event`.
#[derive(Debug)]
pub struct DeclarationRow<'a> {
    /// The declared event's row id.
    pub event: i64,
    /// µs.
    pub declaration_time: i64,
    /// Canonical CBV error reason.
    pub reason: Option<&'a str>,
    /// The declaring event's stored body.
    pub body: &'a str,
    /// SHA-256 (hex) of `body`: the same declaration sent twice is stored once.
    pub body_sha256: &'a str,
    /// Who sent it.
    pub captured_by: &'a str,
    /// The document it came in.
    pub document_id: i64,
    /// µs.
    pub record_time: i64,
    /// Corrective event IDs.
    pub corrective: &'a [String],
}

/// Stores a declaration; `false` when the same declaration was stored before.
pub async fn insert_error_declaration(
    conn: &mut AnyConnection,
    d: &DeclarationRow<'_>,
) -> Result<bool, StorageError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO event_error_declarations (event, declaration_time, reason, body, body_sha256, \
         captured_by, document_id, record_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (event, body_sha256) DO NOTHING RETURNING id",
    )
    .bind(d.event)
    .bind(d.declaration_time)
    .bind(d.reason)
    .bind(d.body)
    .bind(d.body_sha256)
    .bind(d.captured_by)
    .bind(d.document_id)
    .bind(d.record_time)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else { return Ok(false) };
    for corrective in d.corrective {
        sqlx::query(
            "INSERT INTO error_corrective_events (declaration, event, corrective_event_id) \
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(d.event)
        .bind(corrective)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Records a business-rule anomaly found at capture.
pub async fn insert_anomaly(
    conn: &mut AnyConnection,
    event: i64,
    epc: Option<&str>,
    kind: &str,
    detail: &str,
) -> Result<(), StorageError> {
    sqlx::query("INSERT INTO anomalies (event, epc, kind, detail) VALUES ($1, $2, $3, $4)")
        .bind(event)
        .bind(epc)
        .bind(kind)
        .bind(detail)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// --- the serial ledger ------------------------------------------------------------------
// A capture changes the ledger through `services::ledger` (SQL in `storage::ledger`); a recall
// names a whole lot, so it is one statement here.

/// Marks every serial of one GTIN and lot recalled (a recall names the lot, as an LGTIN class
/// in a quantity list, not each serial). Returns how many rows it marked.
pub async fn recall_lot(
    conn: &mut AnyConnection,
    gtin: &str,
    lot: &str,
) -> Result<u64, StorageError> {
    Ok(
        sqlx::query("UPDATE serials SET recalled = 1 WHERE gtin = $1 AND lot = $2")
            .bind(gtin)
            .bind(lot)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

// --- master data and statements ---------------------------------------------------------

/// A product (EPCClass) master-data version.
#[derive(Debug)]
pub struct ProductRow<'a> {
    /// The vocabulary element ID as sent.
    pub class_id: &'a str,
    /// GTIN-14 when the class names one.
    pub gtin: Option<&'a str>,
    /// NDC digits (no dashes) when an NDC attribute is present.
    pub ndc: Option<&'a str>,
    /// `regulatedProductName`.
    pub name: Option<&'a str>,
    /// `dosageFormType`.
    pub dosage_form: Option<&'a str>,
    /// `strengthDescription`.
    pub strength: Option<&'a str>,
    /// `netContentDescription`.
    pub net_content: Option<&'a str>,
    /// `manufacturerOfTradeItemPartyName`.
    pub manufacturer: Option<&'a str>,
    /// Every attribute, as a JSON array of `{id, value}`.
    pub attributes: &'a str,
}

/// Stores a product version unless the latest version of this class has the same attributes;
/// returns whether it stored one.
pub async fn insert_product(
    conn: &mut AnyConnection,
    p: &ProductRow<'_>,
    document_id: i64,
    captured_by: &str,
    valid_from: &str,
) -> Result<bool, StorageError> {
    let latest: Option<String> = sqlx::query_scalar(
        "SELECT attributes FROM master_products WHERE class_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(p.class_id)
    .fetch_optional(&mut *conn)
    .await?;
    if latest.as_deref() == Some(p.attributes) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO master_products (class_id, gtin, ndc, name, dosage_form, strength, \
         net_content, manufacturer, attributes, document_id, captured_by, valid_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(p.class_id)
    .bind(p.gtin)
    .bind(p.ndc)
    .bind(p.name)
    .bind(p.dosage_form)
    .bind(p.strength)
    .bind(p.net_content)
    .bind(p.manufacturer)
    .bind(p.attributes)
    .bind(document_id)
    .bind(captured_by)
    .bind(valid_from)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// A location master-data version.
#[derive(Debug)]
pub struct LocationRow<'a> {
    /// The vocabulary element ID as sent.
    pub location_id: &'a str,
    /// Its GLN, when it names one.
    pub gln: Option<&'a str>,
    /// `name`.
    pub name: Option<&'a str>,
    /// Every attribute, JSON array of `{id, value}`.
    pub attributes: &'a str,
    /// Child location IDs, JSON array.
    pub children: &'a str,
}

/// Stores a location version unless the latest is the same; records its children in the
/// hierarchy. Returns whether it stored a version.
pub async fn insert_location(
    conn: &mut AnyConnection,
    l: &LocationRow<'_>,
    child_keys: &[String],
    document_id: i64,
    captured_by: &str,
    valid_from: &str,
) -> Result<bool, StorageError> {
    let parent_key = crate::stored::epc_key(l.location_id);
    for child in child_keys {
        sqlx::query(
            "INSERT INTO location_hierarchy (parent, child) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&parent_key)
        .bind(child)
        .execute(&mut *conn)
        .await?;
    }
    let latest: Option<(String, String)> = sqlx::query_as(
        "SELECT attributes, children FROM master_locations WHERE location_id = $1 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(l.location_id)
    .fetch_optional(&mut *conn)
    .await?;
    if latest
        .as_ref()
        .is_some_and(|(a, c)| a == l.attributes && c == l.children)
    {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO master_locations (location_id, gln, name, attributes, children, document_id, \
         captured_by, valid_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(l.location_id)
    .bind(l.gln)
    .bind(l.name)
    .bind(l.attributes)
    .bind(l.children)
    .bind(document_id)
    .bind(captured_by)
    .bind(valid_from)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Stores a document's DSCSA transaction statement.
pub async fn insert_statement(
    conn: &mut AnyConnection,
    document_id: i64,
    affirm: Option<&str>,
    legal_notice: Option<&str>,
    statement: &str,
    captured_by: &str,
    recorded_at: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO transaction_statements (document_id, affirm, legal_notice, statement, \
         captured_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(document_id)
    .bind(affirm)
    .bind(legal_notice)
    .bind(statement)
    .bind(captured_by)
    .bind(recorded_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// --- capture jobs -----------------------------------------------------------------------

/// A capture job as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobRow {
    /// UUID.
    pub id: String,
    /// Who sent the document.
    pub captured_by: String,
    /// The stored document, once captured.
    pub document_id: Option<i64>,
    /// `rollback` | `proceed`.
    pub error_behaviour: String,
    /// Whether anomalies were refused.
    pub strict: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once finished.
    pub finished_at: Option<String>,
    /// Still working.
    pub running: bool,
    /// Finished without errors.
    pub success: bool,
    /// Events in the document.
    pub events: i64,
    /// Events stored by this capture.
    pub events_new: i64,
    /// Events already stored.
    pub duplicates: i64,
    /// Anomalies recorded.
    pub anomalies: i64,
    /// JSON array of errors.
    pub errors: String,
}

/// A job to register.
#[derive(Debug)]
pub struct NewJob<'a> {
    /// UUID.
    pub id: &'a str,
    /// The sending principal.
    pub captured_by: &'a str,
    /// The body's media type.
    pub content_type: &'a str,
    /// The body's size in bytes.
    pub size: usize,
    /// `rollback` | `proceed`.
    pub error_behaviour: &'a str,
    /// Strict capture.
    pub strict: bool,
    /// RFC 3339.
    pub created_at: &'a str,
}

/// Registers a running job.
pub async fn insert_job(conn: &mut AnyConnection, job: &NewJob<'_>) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO capture_jobs (id, captured_by, content_type, size, error_behaviour, strict, \
         created_at, running, success) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 0)",
    )
    .bind(job.id)
    .bind(job.captured_by)
    .bind(job.content_type)
    .bind(i64::try_from(job.size).unwrap_or(i64::MAX))
    .bind(job.error_behaviour)
    .bind(i64::from(job.strict))
    .bind(job.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a finished job reports.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    /// The stored document.
    pub document_id: Option<i64>,
    /// Finished without errors.
    pub success: bool,
    /// Events in the document.
    pub events: i64,
    /// New events.
    pub events_new: i64,
    /// Duplicates.
    pub duplicates: i64,
    /// Anomalies.
    pub anomalies: i64,
    /// JSON array of errors.
    pub errors: String,
}

/// Marks a job finished.
pub async fn finish_job(
    conn: &mut AnyConnection,
    id: &str,
    o: &JobOutcome,
    finished_at: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE capture_jobs SET running = 0, success = $2, document_id = $3, events = $4, \
         events_new = $5, duplicates = $6, anomalies = $7, errors = $8, finished_at = $9 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(i64::from(o.success))
    .bind(o.document_id)
    .bind(o.events)
    .bind(o.events_new)
    .bind(o.duplicates)
    .bind(o.anomalies)
    .bind(&o.errors)
    .bind(finished_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Jobs a previous server process left running: they cannot finish now.
pub async fn fail_interrupted_jobs(
    conn: &mut AnyConnection,
    finished_at: &str,
) -> Result<u64, StorageError> {
    let errors = serde_json::json!([{
        "type": "epcisException:ImplementationException",
        "detail": "the server stopped before this capture finished; nothing of it was stored: send the document again"
    }])
    .to_string();
    Ok(sqlx::query(
        "UPDATE capture_jobs SET running = 0, success = 0, errors = $1, finished_at = $2 \
         WHERE running = 1",
    )
    .bind(errors)
    .bind(finished_at)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

const JOB_COLUMNS: &str = "id, captured_by, document_id, error_behaviour, strict, created_at, \
                           finished_at, running, success, events, events_new, duplicates, \
                           anomalies, errors";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<JobRow, StorageError> {
    Ok(JobRow {
        id: r.try_get("id")?,
        captured_by: r.try_get("captured_by")?,
        document_id: r.try_get("document_id")?,
        error_behaviour: r.try_get("error_behaviour")?,
        strict: r.try_get::<i64, _>("strict")? != 0,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
        running: r.try_get::<i64, _>("running")? != 0,
        success: r.try_get::<i64, _>("success")? != 0,
        events: r.try_get("events")?,
        events_new: r.try_get("events_new")?,
        duplicates: r.try_get("duplicates")?,
        anomalies: r.try_get("anomalies")?,
        errors: r.try_get("errors")?,
    })
}

/// One job, if `captured_by` may see it (`None` = the home organisation, which sees all).
pub async fn job(
    conn: &mut AnyConnection,
    id: &str,
    captured_by: Option<&str>,
) -> Result<Option<JobRow>, StorageError> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM capture_jobs WHERE id = $1 AND ($2 = '' OR captured_by = $2)"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(captured_by.unwrap_or(""))
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

/// Jobs newest first, at most `limit`, created before `before` (RFC 3339) when given.
pub async fn jobs(
    conn: &mut AnyConnection,
    captured_by: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<JobRow>, StorageError> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM capture_jobs WHERE ($1 = '' OR captured_by = $1) \
         AND ($2 = '' OR created_at < $2) ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(captured_by.unwrap_or(""))
        .bind(before.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(job_from_row).collect()
}
