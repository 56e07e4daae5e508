//! FDA records requests (21 CFR Part 11 §11.10(b); `../shared/reference/dscsa.md` §5): when
//! FDA asks about products (a recall, a suspect-product investigation, an inspection), the
//! transaction information and statements of those products are handed over in one zip, both
//! human-readable and electronic, produced in seconds and signed so that FDA or an auditor can
//! confirm nothing was altered afterwards.
//!
//! - [`request`] checks what was asked (`--epc`, GTIN + serial, GTIN + lot, NDC + lot, the
//!   period, the requester's reference) and resolves it to the products tracing knows;
//! - [`package`] gathers every product's custody hops through [`crate::services::trace`], the
//!   events that touch it (its containers' included), its investigations, verifications and
//!   the audit records of access to it, and writes the files;
//! - [`report`] is the printable `report.html`;
//! - [`manifest`] lists every file with its SHA-256, signs the list with the audit checkpoint
//!   key, and verifies a package ([`manifest::verify_package`]).
//!
//! [`produce`] is the one use-case the CLI (`dscsa fda export`) and REST
//! (`POST /fda/records-requests`) share: it stores the request with its 24-hour deadline,
//! produces the package, records which events it holds (a regulator's records request makes
//! them visible to that regulator: `partners::Visibility::RecordsRequests`) and writes an
//! audit record naming who produced it, for which request and which products.

pub mod manifest;
pub mod package;
pub mod report;
pub mod request;

use std::sync::Arc;

use serde::Serialize;

use crate::audit::{CheckpointKey, Outcome};
use crate::config::OrganisationSettings;
use crate::services::Actor;
use crate::storage::fda::{self as store, RequestRow};
use crate::storage::{Db, StorageError};

pub use request::{Checked, NewRequest, ProductSpec};

/// Hours FDA gives (the 24-hour service level of `dscsa.md` §2.3).
pub const DEADLINE_HOURS: i64 = 24;

/// Why a records request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum FdaError {
    /// A field of the request is not valid; `field` names it.
    #[error("{field}: {detail}")]
    Invalid {
        /// The field (`products[1].lot`, `--from`).
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// No request with this id (or not one the caller may see).
    #[error("no FDA records request {0:?}")]
    NotFound(String),
    /// The request's package is not there yet, or production failed.
    #[error("{0}")]
    NotReady(String),
    /// Producing the files failed (encoding, zip).
    #[error("producing the package: {0}")]
    Package(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for FdaError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

pub(crate) fn invalid(field: impl Into<String>, detail: impl Into<String>) -> FdaError {
    FdaError::Invalid {
        field: field.into(),
        detail: detail.into(),
    }
}

/// Progress of a package's production, for a progress bar. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// A new stage starts with `total` steps.
    fn stage(&self, _name: &str, _total: u64) {}
    /// `n` more steps are done.
    fn advance(&self, _n: u64) {}
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {}

/// A request as tracked: received, deadline, status, and the package's digest once ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Request id (UUID).
    pub id: String,
    /// The requester's reference.
    pub request_ref: String,
    /// Who asked.
    pub requested_by: String,
    /// The regulator it makes the products' events visible to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regulator: Option<String>,
    /// The products, as asked.
    pub products: serde_json::Value,
    /// Period start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Period end (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// When the request reached us.
    pub received_at: String,
    /// When the records are due (received + 24 h).
    pub deadline: String,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    /// When the package was produced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Why production failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// SHA-256 of the package file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_sha256: Option<String>,
    /// Its size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_bytes: Option<i64>,
}

impl Job {
    fn of(r: RequestRow) -> Self {
        Self {
            id: r.id,
            request_ref: r.reference,
            requested_by: r.requested_by,
            regulator: r.regulator,
            products: serde_json::from_str(&r.products).unwrap_or(serde_json::Value::Null),
            from: r.from_time,
            to: r.to_time,
            received_at: r.received_at,
            deadline: r.deadline,
            status: r.status,
            completed_at: r.completed_at,
            error: r.error,
            package_sha256: r.package_sha256,
            package_bytes: r.package_bytes,
        }
    }

    /// Whether `principal` may see this request: the home organisation sees every request, a
    /// regulator those it made or that name it.
    pub fn visible_to(&self, principal: &partners::Principal) -> bool {
        principal.is_home_organisation()
            || self.requested_by == principal.id.as_str()
            || self.regulator.as_deref() == Some(principal.id.as_str())
    }
}

/// What producing a package needs: the store, the home organisation (the package's
/// producer), and the key that signs the manifest (the audit checkpoint key).
#[derive(Debug, Clone)]
pub struct Producer {
    /// The store.
    pub db: Db,
    /// The home organisation.
    pub organisation: Arc<OrganisationSettings>,
    /// The signing key.
    pub key: Arc<CheckpointKey>,
}

/// A package produced for a request.
#[derive(Debug, Clone)]
pub struct Produced {
    /// The request as tracked (status `ready`).
    pub job: Job,
    /// The zip file.
    pub bytes: Vec<u8>,
    /// What it holds, in numbers.
    pub contents: package::Contents,
}

/// Stores a checked request as received (status `pending`, deadline received + 24 h), with
/// its audit record in the same transaction.
///
/// # Errors
/// Storage.
pub async fn receive(db: &Db, actor: &Actor, checked: &Checked) -> Result<Job, FdaError> {
    let received = time::OffsetDateTime::now_utc();
    let deadline = received + time::Duration::hours(DEADLINE_HOURS);
    let (who, _, channel) = actor.audit_identity();
    let row = RequestRow {
        id: uuid::Uuid::new_v4().to_string(),
        reference: checked.reference.clone(),
        requested_by: who,
        channel: channel.as_str().to_owned(),
        regulator: checked.regulator.clone(),
        products: checked.asked.to_string(),
        from_time: checked.from.as_ref().map(|p| p.text.clone()),
        to_time: checked.to.as_ref().map(|p| p.text.clone()),
        received_at: rfc3339(received),
        deadline: rfc3339(deadline),
        status: "pending".into(),
        completed_at: None,
        error: None,
        package_sha256: None,
        package_bytes: None,
    };
    let mut tx = db.begin_write().await?;
    store::insert_request(&mut tx, &row).await?;
    let mut record = actor.record("fda records request", &row.id, Outcome::Ok);
    record.target.extend(checked.subjects());
    record.params = serde_json::json!({
        "requestRef": row.reference, "products": checked.asked, "from": row.from_time,
        "to": row.to_time, "regulator": row.regulator, "deadline": row.deadline,
    });
    record.purpose = Some(row.reference.clone());
    let sealed = crate::storage::audit::append(&mut tx, record).await?;
    tx.commit().await?;
    super::log_recorded(&sealed);
    Ok(Job::of(row))
}

/// Produces the package of a received request: gathers, writes and signs it, then in one
/// transaction stores the events it holds, the package itself when `keep` (REST: fetched
/// later), marks the request ready and writes the audit record of the production (who, which
/// request, which products, the package's SHA-256). A failure marks the request failed.
///
/// # Errors
/// Storage, or the files could not be produced.
pub async fn produce(
    producer: &Producer,
    actor: &Actor,
    job: &Job,
    checked: &Checked,
    keep: bool,
    progress: Arc<dyn Progress>,
) -> Result<Produced, FdaError> {
    let db = &producer.db;
    let outcome = package::build(producer, actor, job, checked, progress).await;
    let completed_at = crate::storage::now_text();
    let built = match outcome {
        Ok(b) => b,
        Err(e) => {
            let mut tx = db.begin_write().await?;
            store::complete_request(&mut tx, &job.id, &completed_at, Err(&e.to_string())).await?;
            let mut record = actor.record("fda records package", &job.id, Outcome::Failed);
            record.purpose = Some(job.request_ref.clone());
            crate::storage::audit::append(&mut tx, record).await?;
            tx.commit().await?;
            return Err(e);
        }
    };
    let sha = {
        use sha2::Digest as _;
        crate::audit::record::hex(&sha2::Sha256::digest(&built.bytes))
    };
    let size = i64::try_from(built.bytes.len()).unwrap_or(i64::MAX);
    let mut tx = db.begin_write().await?;
    store::insert_request_events(&mut tx, &job.id, &built.event_ids).await?;
    if keep {
        store::insert_package(&mut tx, &job.id, &completed_at, &sha, &built.bytes).await?;
    }
    store::complete_request(&mut tx, &job.id, &completed_at, Ok((&sha, size))).await?;
    let mut record = actor.record("fda records package", &job.id, Outcome::Ok);
    record.target.extend(checked.subjects());
    record.params = serde_json::json!({
        "requestRef": job.request_ref, "packageSha256": sha, "bytes": size,
        "contents": built.contents,
    });
    record.result_digest = Some(sha.clone());
    record.rows = Some(i64::try_from(built.contents.transactions).unwrap_or(i64::MAX));
    record.purpose = Some(job.request_ref.clone());
    let sealed = crate::storage::audit::append(&mut tx, record).await?;
    tx.commit().await?;
    super::log_recorded(&sealed);
    let mut job = job.clone();
    job.status = "ready".into();
    job.completed_at = Some(completed_at);
    job.package_sha256 = Some(sha);
    job.package_bytes = Some(size);
    Ok(Produced {
        job,
        bytes: built.bytes,
        contents: built.contents,
    })
}

/// A request by id, if `principal` may see it (else `NotFound`, as for an unknown id).
///
/// # Errors
/// `NotFound`, storage.
pub async fn job(
    db: &Db,
    principal: Option<&partners::Principal>,
    id: &str,
) -> Result<Job, FdaError> {
    let mut conn = db.pool().acquire().await?;
    let job = store::request(&mut conn, id)
        .await?
        .map(Job::of)
        .filter(|j| principal.is_none_or(|p| j.visible_to(p)))
        .ok_or_else(|| FdaError::NotFound(id.to_owned()))?;
    Ok(job)
}

/// The package of a ready request.
///
/// # Errors
/// `NotFound`, `NotReady` (pending or failed, with why), storage.
pub async fn stored_package(
    db: &Db,
    principal: Option<&partners::Principal>,
    id: &str,
) -> Result<(Job, Vec<u8>), FdaError> {
    let job = job(db, principal, id).await?;
    match job.status.as_str() {
        "ready" => {}
        "failed" => {
            return Err(FdaError::NotReady(format!(
                "the package of request {id} could not be produced: {}",
                job.error.as_deref().unwrap_or("unknown error")
            )));
        }
        _ => {
            return Err(FdaError::NotReady(format!(
                "the package of request {id} is still being produced (received {}, due {}): \
                 try again in a few seconds",
                job.received_at, job.deadline
            )));
        }
    }
    let mut conn = db.pool().acquire().await?;
    let bytes = store::package(&mut conn, id).await?.ok_or_else(|| {
        FdaError::NotReady(format!(
            "request {id} was produced on the command line; its package was handed over as a file"
        ))
    })?;
    Ok((job, bytes))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
