//! Principals, partner records and certificate bindings.
//!
//! Every function takes a connection or transaction (`&mut AnyConnection`); the caller decides
//! the transaction's extent. Values read back pass through the `partners` newtypes again, so a
//! row edited by hand into something invalid is reported ([`StorageError::Corrupt`]) rather
//! than trusted.

use partners::binding::{self, BindingMatch, CertBinding, Resolution};
use partners::identity::MAX_NAMES;
use partners::{
    Licences, PartnerRecord, PeerIdentity, Principal, PrincipalId, PrincipalKind, StaffRole, Status,
};
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;

use super::{StorageError, now_text};

type PrincipalRow = (String, String, String, String, Option<String>);
type RecordRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Stores a new principal with its partner record, GLNs and prefixes.
pub async fn insert(conn: &mut AnyConnection, p: &Principal) -> Result<(), StorageError> {
    let now = now_text();
    let staff_role = match &p.kind {
        PrincipalKind::Staff { role } => Some(role.as_str()),
        _ => None,
    };
    let inserted = sqlx::query(
        "INSERT INTO principals (id, kind, display_name, status, staff_role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(p.id.as_str())
    .bind(p.kind.word().as_str())
    .bind(&p.display_name)
    .bind(p.status.as_str())
    .bind(staff_role)
    .bind(&now)
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(e) if StorageError::is_unique_violation(&e) => {
            return Err(StorageError::AlreadyExists(format!("principal {}", p.id)));
        }
        other => other?,
    };
    let Some(record) = p.kind.record() else {
        return Ok(());
    };
    let (licence_number, licence_state) = match &record.licences.state_licence {
        Some(licence) => (Some(licence.number.as_str()), Some(licence.state.as_str())),
        None => (None, None),
    };
    sqlx::query(
        "INSERT INTO partner_records (principal_id, legal_name, role, state_licence_number, \
         state_licence_state, dea_number, fda_registration, atp_credential) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(p.id.as_str())
    .bind(&record.legal_name)
    .bind(record.role.as_str())
    .bind(licence_number)
    .bind(licence_state)
    .bind(record.licences.dea.as_deref())
    .bind(record.licences.fda_registration.as_deref())
    .bind(record.atp_credential.as_deref())
    .execute(&mut *conn)
    .await?;
    for gln in &record.glns {
        sqlx::query("INSERT INTO partner_glns (principal_id, gln) VALUES ($1, $2)")
            .bind(p.id.as_str())
            .bind(gln.as_str())
            .execute(&mut *conn)
            .await?;
    }
    for prefix in &record.company_prefixes {
        sqlx::query("INSERT INTO partner_company_prefixes (principal_id, prefix) VALUES ($1, $2)")
            .bind(p.id.as_str())
            .bind(prefix.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Loads one principal, with its partner record for partners and regulators.
pub async fn find(
    conn: &mut AnyConnection,
    id: &PrincipalId,
) -> Result<Option<Principal>, StorageError> {
    let row: Option<PrincipalRow> = sqlx::query_as(
        "SELECT id, kind, display_name, status, staff_role FROM principals WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id_text, kind, display_name, status, staff_role)) = row else {
        return Ok(None);
    };
    let kind = match kind.as_str() {
        "staff" => {
            let role = staff_role.ok_or_else(|| {
                StorageError::Corrupt(format!("staff principal {id_text} has no role"))
            })?;
            PrincipalKind::Staff {
                role: role.parse::<StaffRole>()?,
            }
        }
        "system" => PrincipalKind::System,
        "partner" | "regulator" => PrincipalKind::for_record(load_record(conn, id).await?),
        other => {
            return Err(StorageError::Corrupt(format!(
                "principal {id_text} has kind {other:?}"
            )));
        }
    };
    Ok(Some(Principal {
        id: id_text.parse()?,
        display_name,
        status: status.parse::<Status>()?,
        kind,
    }))
}

async fn load_record(
    conn: &mut AnyConnection,
    id: &PrincipalId,
) -> Result<PartnerRecord, StorageError> {
    let row: Option<RecordRow> = sqlx::query_as(
        "SELECT legal_name, role, state_licence_number, state_licence_state, dea_number, \
         fda_registration, atp_credential FROM partner_records WHERE principal_id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let (legal_name, role, number, state, dea, fda, atp) =
        row.ok_or_else(|| StorageError::Corrupt(format!("partner {id} has no partner record")))?;
    let glns: Vec<String> =
        sqlx::query_scalar("SELECT gln FROM partner_glns WHERE principal_id = $1 ORDER BY gln")
            .bind(id.as_str())
            .fetch_all(&mut *conn)
            .await?;
    let prefixes: Vec<String> = sqlx::query_scalar(
        "SELECT prefix FROM partner_company_prefixes WHERE principal_id = $1 ORDER BY prefix",
    )
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let state_licence = match (number, state) {
        (Some(number), Some(state)) => Some(partners::StateLicence {
            number,
            state: state.parse()?,
        }),
        _ => None,
    };
    Ok(PartnerRecord {
        legal_name,
        role: role.parse()?,
        glns: glns.iter().map(|g| g.parse()).collect::<Result<_, _>>()?,
        company_prefixes: prefixes
            .iter()
            .map(|p| p.parse())
            .collect::<Result<_, _>>()?,
        licences: Licences {
            state_licence,
            dea,
            fda_registration: fda,
        },
        atp_credential: atp,
    })
}

/// One line of `dscsa partners list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// Id.
    pub id: String,
    /// Kind word.
    pub kind: String,
    /// Partner role or staff role, if any.
    pub role: Option<String>,
    /// Status word.
    pub status: String,
    /// Display name.
    pub display_name: String,
    /// Number of active certificate bindings.
    pub active_bindings: i64,
}

/// Every principal, by id.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<Listed>, StorageError> {
    let rows: Vec<(String, String, Option<String>, String, String, i64)> = sqlx::query_as(
        "SELECT p.id, p.kind, COALESCE(r.role, p.staff_role), p.status, p.display_name, \
         (SELECT COUNT(*) FROM cert_bindings b WHERE b.principal_id = p.id AND b.removed_at IS NULL) \
         FROM principals p LEFT JOIN partner_records r ON r.principal_id = p.id ORDER BY p.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, role, status, display_name, active_bindings)| Listed {
                id,
                kind,
                role,
                status,
                display_name,
                active_bindings,
            },
        )
        .collect())
}

/// Sets a principal's status. Returns the previous status.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &PrincipalId,
    status: Status,
) -> Result<Status, StorageError> {
    let previous: Option<String> =
        sqlx::query_scalar("SELECT status FROM principals WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let previous = previous.ok_or_else(|| StorageError::NotFound(format!("principal {id}")))?;
    sqlx::query("UPDATE principals SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(previous.parse()?)
}

/// A binding as stored, with its history.
#[derive(Debug, Clone, Serialize)]
pub struct StoredBinding {
    /// The binding.
    #[serde(flatten)]
    pub binding: CertBinding,
    /// When it was made.
    pub created_at: String,
    /// When it was removed, if it was.
    pub removed_at: Option<String>,
}

type BindingRow = (i64, String, String, String, Option<i64>);
type StoredBindingRow = (
    i64,
    String,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
);

fn binding_from_row(
    (id, principal, kind, value, not_after): BindingRow,
) -> Result<CertBinding, StorageError> {
    Ok(CertBinding {
        id,
        principal: principal.parse()?,
        matcher: BindingMatch::from_stored(&kind, &value)?,
        not_after,
    })
}

/// Binds a certificate name or fingerprint to a principal. Refused when the principal already
/// has two active bindings, or when another active binding has the same value.
pub async fn add_binding(
    conn: &mut AnyConnection,
    id: &PrincipalId,
    matcher: &BindingMatch,
    not_after: Option<i64>,
) -> Result<i64, StorageError> {
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM principals WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(StorageError::NotFound(format!("principal {id}")));
    }
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cert_bindings WHERE principal_id = $1 AND removed_at IS NULL",
    )
    .bind(id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    binding::check_room_for_binding(id, usize::try_from(active).unwrap_or(usize::MAX))
        .map_err(|e| StorageError::Conflict(e.to_string()))?;
    let inserted = sqlx::query_scalar(
        "INSERT INTO cert_bindings (principal_id, match_kind, match_value, not_after, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(id.as_str())
    .bind(matcher.kind())
    .bind(matcher.value())
    .bind(not_after)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await;
    match inserted {
        Err(e) if StorageError::is_unique_violation(&e) => Err(StorageError::Conflict(format!(
            "{} {:?} is already bound to a principal; remove that binding first",
            matcher.kind(),
            matcher.value()
        ))),
        other => Ok(other?),
    }
}

/// Removes (marks removed) one active binding of a principal.
pub async fn remove_binding(
    conn: &mut AnyConnection,
    id: &PrincipalId,
    binding_id: i64,
) -> Result<(), StorageError> {
    let done = sqlx::query(
        "UPDATE cert_bindings SET removed_at = $1 \
         WHERE id = $2 AND principal_id = $3 AND removed_at IS NULL",
    )
    .bind(now_text())
    .bind(binding_id)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound(format!(
            "active binding {binding_id} of principal {id}"
        )));
    }
    Ok(())
}

/// A principal's bindings, active and removed, oldest first.
pub async fn bindings(
    conn: &mut AnyConnection,
    id: &PrincipalId,
) -> Result<Vec<StoredBinding>, StorageError> {
    let rows: Vec<StoredBindingRow> = sqlx::query_as(
        "SELECT id, principal_id, match_kind, match_value, not_after, created_at, removed_at \
             FROM cert_bindings WHERE principal_id = $1 ORDER BY id",
    )
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id, p, k, v, na, created_at, removed_at)| {
            Ok(StoredBinding {
                binding: binding_from_row((id, p, k, v, na))?,
                created_at,
                removed_at,
            })
        })
        .collect()
}

/// Every active binding, by id (the ops listener's certificate-expiry gauges).
pub async fn active_bindings(conn: &mut AnyConnection) -> Result<Vec<CertBinding>, StorageError> {
    let rows: Vec<BindingRow> = sqlx::query_as(
        "SELECT id, principal_id, match_kind, match_value, not_after FROM cert_bindings \
         WHERE removed_at IS NULL ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(binding_from_row).collect()
}

/// The active bindings whose value is the certificate's fingerprint or one of its names.
async fn candidates(
    conn: &mut AnyConnection,
    identity: &PeerIdentity,
) -> Result<Vec<CertBinding>, StorageError> {
    // Placeholders only: the names travel as bind values. At most MAX_NAMES of them.
    let names: Vec<&String> = identity.names().iter().take(MAX_NAMES).collect();
    let mut sql = String::from(
        "SELECT id, principal_id, match_kind, match_value, not_after FROM cert_bindings \
         WHERE removed_at IS NULL AND ((match_kind = 'fingerprint' AND match_value = $1)",
    );
    if !names.is_empty() {
        let list: Vec<String> = (2..names.len() + 2).map(|n| format!("${n}")).collect();
        sql.push_str(" OR (match_kind = 'name' AND match_value IN (");
        sql.push_str(&list.join(", "));
        sql.push_str("))");
    }
    sql.push(')');
    let mut query = sqlx::query_as::<_, BindingRow>(AssertSqlSafe(sql))
        .bind(identity.fingerprint().as_str().to_owned());
    for name in names {
        query = query.bind(name.clone());
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(binding_from_row)
        .collect()
}

/// Who a verified certificate speaks for.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// Names match bindings of several principals.
    Ambiguous(Vec<PrincipalId>),
    /// This principal, through this binding.
    Bound {
        /// The principal, loaded.
        principal: Box<Principal>,
        /// The binding that matched.
        binding_id: i64,
    },
    /// Past its end of validity.
    Expired,
    /// No active binding.
    Unbound,
}

/// Finds and loads the principal a verified certificate speaks for.
pub async fn resolve(
    conn: &mut AnyConnection,
    identity: &PeerIdentity,
) -> Result<Resolved, StorageError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let found = candidates(conn, identity).await?;
    Ok(match binding::resolve(identity, &found, now) {
        Resolution::Ambiguous(ids) => Resolved::Ambiguous(ids),
        Resolution::Expired => Resolved::Expired,
        Resolution::Unbound => Resolved::Unbound,
        Resolution::Bound {
            principal,
            binding_id,
        } => match find(conn, &principal).await? {
            Some(principal) => Resolved::Bound {
                principal: Box::new(principal),
                binding_id,
            },
            None => Resolved::Unbound,
        },
    })
}

/// The legal name of the registered partner with `gln`, if exactly one partner has it.
pub async fn name_by_gln(
    conn: &mut AnyConnection,
    gln: &str,
) -> Result<Option<String>, StorageError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT r.legal_name FROM partner_glns g \
         JOIN partner_records r ON r.principal_id = g.principal_id WHERE g.gln = $1 LIMIT 2",
    )
    .bind(gln)
    .fetch_all(&mut *conn)
    .await?;
    Ok(match names.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}

/// The id of the registered partner with `gln`, if exactly one partner has it.
pub async fn id_by_gln(
    conn: &mut AnyConnection,
    gln: &str,
) -> Result<Option<String>, StorageError> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT principal_id FROM partner_glns WHERE gln = $1 LIMIT 2")
            .bind(gln)
            .fetch_all(&mut *conn)
            .await?;
    Ok(match ids.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}
