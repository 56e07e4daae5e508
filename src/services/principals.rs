//! Registering principals, suspending and reinstating them, binding and unbinding
//! certificates. Each call is one transaction with its audit seam.

use partners::binding::BindingMatch;
use partners::{Principal, PrincipalId, Status};

use super::{Actor, audit_seam};
use crate::storage::principals as store;
use crate::storage::{Db, StorageError};

/// A binding to create with a new principal: what it matches and, for a pinned certificate,
/// the certificate's end of validity.
pub type NewBinding = (BindingMatch, Option<i64>);

/// Registers a principal and its first bindings. Returns the binding ids.
pub async fn register(
    db: &Db,
    actor: &Actor,
    principal: &Principal,
    bindings: &[NewBinding],
) -> Result<Vec<i64>, StorageError> {
    let mut tx = db.begin().await?;
    store::insert(&mut tx, principal).await?;
    let mut ids = Vec::with_capacity(bindings.len());
    for (matcher, not_after) in bindings {
        ids.push(store::add_binding(&mut tx, &principal.id, matcher, *not_after).await?);
    }
    audit_seam(&mut tx, actor, "principal.register", principal.id.as_str()).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Sets a principal's status (suspend or reinstate). Returns the previous status.
pub async fn set_status(
    db: &Db,
    actor: &Actor,
    id: &PrincipalId,
    status: Status,
) -> Result<Status, StorageError> {
    let mut tx = db.begin().await?;
    let previous = store::set_status(&mut tx, id, status).await?;
    let action = match status {
        Status::Active => "principal.reinstate",
        Status::Suspended => "principal.suspend",
    };
    audit_seam(&mut tx, actor, action, id.as_str()).await?;
    tx.commit().await?;
    Ok(previous)
}

/// Adds a certificate binding. Returns its id.
pub async fn bind(
    db: &Db,
    actor: &Actor,
    id: &PrincipalId,
    matcher: &BindingMatch,
    not_after: Option<i64>,
) -> Result<i64, StorageError> {
    let mut tx = db.begin().await?;
    let binding_id = store::add_binding(&mut tx, id, matcher, not_after).await?;
    audit_seam(&mut tx, actor, "binding.add", id.as_str()).await?;
    tx.commit().await?;
    Ok(binding_id)
}

/// Removes a certificate binding: the certificate stops working for this principal at once.
pub async fn unbind(
    db: &Db,
    actor: &Actor,
    id: &PrincipalId,
    binding_id: i64,
) -> Result<(), StorageError> {
    let mut tx = db.begin().await?;
    store::remove_binding(&mut tx, id, binding_id).await?;
    audit_seam(&mut tx, actor, "binding.remove", id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}
