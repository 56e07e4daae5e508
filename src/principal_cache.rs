//! The partner listener's cache of resolved principals, keyed by certificate fingerprint.
//!
//! Resolving a certificate takes five statements (bindings, principal, partner record, GLNs,
//! company prefixes); on SQLite each is a round trip to the connection's worker thread, and
//! on the verification endpoint they were a third of a request's cost. The cache keeps each
//! answer with the `principal_changes` version it was read at; every request reads that one
//! number (triggers move it on any change to principals, records, GLNs, prefixes or
//! bindings, from any process), so a suspension or a new binding takes effect on the next
//! request. Entries also expire after [`TTL`], so a binding's end of validity is seen within
//! a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use partners::{Fingerprint, PeerIdentity};
use sqlx::AnyConnection;

use crate::storage::StorageError;
use crate::storage::principals::{self, Resolved};

/// Longest time an entry is used without re-reading it.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept before the cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
struct Entry {
    version: i64,
    at: Instant,
    resolved: Resolved,
}

/// Shared by every request of a server.
#[derive(Debug, Clone, Default)]
pub struct PrincipalCache(Arc<Mutex<HashMap<Fingerprint, Entry>>>);

impl PrincipalCache {
    /// The principal `identity` speaks for, from the cache when nothing changed since.
    ///
    /// # Errors
    /// Storage.
    pub async fn resolve(
        &self,
        conn: &mut AnyConnection,
        identity: &PeerIdentity,
    ) -> Result<Resolved, StorageError> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM principal_changes WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        let hit = self.0.lock().ok().and_then(|map| {
            map.get(identity.fingerprint())
                .filter(|e| e.version == version && e.at.elapsed() < TTL)
                .map(|e| e.resolved.clone())
        });
        if let Some(resolved) = hit {
            return Ok(resolved);
        }
        let resolved = principals::resolve(conn, identity).await?;
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(
                identity.fingerprint().clone(),
                Entry {
                    version,
                    at: Instant::now(),
                    resolved: resolved.clone(),
                },
            );
        }
        Ok(resolved)
    }
}
