//! One audit record: who, on whose behalf, through which channel, did what to what, with what
//! outcome, when, and the hashes that chain it to the record before.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::canonical;

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How the action reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A command on the host.
    Cli,
    /// An MCP list or tool call.
    Mcp,
    /// A REST request on the partner listener.
    Rest,
}

impl Channel {
    /// The stored and serialised form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Mcp => "mcp",
            Self::Rest => "rest",
        }
    }
}

/// How the action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Refused: authentication, authorisation, validation.
    Denied,
    /// Attempted and failed.
    Failed,
    /// Done.
    Ok,
}

impl Outcome {
    /// The stored and serialised form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::Failed => "failed",
            Self::Ok => "ok",
        }
    }
}

/// What a service knows about an action; sealed into an [`AuditRecord`] by storage, which
/// assigns the sequence number, time and chain hashes inside the transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    /// Principal id of the actor (for an agent: the principal its token acts for).
    pub actor: String,
    /// Kind of the actor: partner, staff, system, regulator, agent, host.
    pub actor_kind: String,
    /// For agents: the token id the call used.
    pub token_id: Option<String>,
    /// REST, MCP or CLI.
    pub channel: Channel,
    /// Route template, tool name or command, e.g. `GET /whoami`.
    pub action: String,
    /// Identifiers the action touched (EPCs, investigation ids, principal ids).
    pub target: Vec<String>,
    /// Parameters, secrets removed by the caller.
    pub params: Value,
    /// How it ended.
    pub outcome: Outcome,
    /// HTTP status or exit code.
    pub status: Option<i64>,
    /// SHA-256 (hex) of the response body or command output.
    pub result_digest: Option<String>,
    /// Rows returned or changed.
    pub rows: Option<i64>,
    /// Stated purpose or investigation id.
    pub purpose: Option<String>,
    /// Client address (REST, MCP).
    pub client_addr: Option<String>,
}

/// A sealed record, as stored and exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Position in the trail, from 1, without gaps.
    pub seq: i64,
    /// Server UTC time, RFC 3339 with microseconds.
    pub time: String,
    /// See [`NewRecord::actor`].
    pub actor: String,
    /// See [`NewRecord::actor_kind`].
    pub actor_kind: String,
    /// See [`NewRecord::token_id`].
    pub token_id: Option<String>,
    /// See [`NewRecord::channel`].
    pub channel: Channel,
    /// See [`NewRecord::action`].
    pub action: String,
    /// See [`NewRecord::target`].
    pub target: Vec<String>,
    /// See [`NewRecord::params`].
    pub params: Value,
    /// See [`NewRecord::outcome`].
    pub outcome: Outcome,
    /// See [`NewRecord::status`].
    pub status: Option<i64>,
    /// See [`NewRecord::result_digest`].
    pub result_digest: Option<String>,
    /// See [`NewRecord::rows`].
    pub rows: Option<i64>,
    /// See [`NewRecord::purpose`].
    pub purpose: Option<String>,
    /// See [`NewRecord::client_addr`].
    pub client_addr: Option<String>,
    /// Hash of the record before ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of this record's canonical bytes, which include `prev_hash`.
    pub hash: String,
}

impl NewRecord {
    /// Seals the record at `seq`, chaining it to `prev_hash`.
    pub fn seal(self, seq: i64, time: String, prev_hash: String) -> AuditRecord {
        let mut r = AuditRecord {
            seq,
            time,
            actor: self.actor,
            actor_kind: self.actor_kind,
            token_id: self.token_id,
            channel: self.channel,
            action: self.action,
            target: self.target,
            params: self.params,
            outcome: self.outcome,
            status: self.status,
            result_digest: self.result_digest,
            rows: self.rows,
            purpose: self.purpose,
            client_addr: self.client_addr,
            prev_hash,
            hash: String::new(),
        };
        r.hash = r.content_hash();
        r
    }
}

impl AuditRecord {
    /// The canonical bytes the hash covers: every field but `hash`, as canonical JSON (members
    /// in key order). Written field by field rather than through a `serde_json::Value`: this
    /// runs once per record on every verification. `canonical_is_the_sorted_json_of_the_record`
    /// holds it equal to the generic form.
    pub fn canonical(&self) -> String {
        fn key(out: &mut String, k: &str) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push('"');
            out.push_str(k);
            out.push_str("\":");
        }
        fn text(out: &mut String, k: &str, v: Option<&str>) {
            key(out, k);
            match v {
                Some(v) => canonical::write(&Value::String(v.to_owned()), out),
                None => out.push_str("null"),
            }
        }
        fn int(out: &mut String, k: &str, v: Option<i64>) {
            key(out, k);
            match v {
                Some(v) => out.push_str(&v.to_string()),
                None => out.push_str("null"),
            }
        }
        let mut out = String::with_capacity(512);
        out.push('{');
        text(&mut out, "action", Some(&self.action));
        text(&mut out, "actor", Some(&self.actor));
        text(&mut out, "actor_kind", Some(&self.actor_kind));
        text(&mut out, "channel", Some(self.channel.as_str()));
        text(&mut out, "client_addr", self.client_addr.as_deref());
        text(&mut out, "outcome", Some(self.outcome.as_str()));
        key(&mut out, "params");
        canonical::write(&self.params, &mut out);
        text(&mut out, "prev_hash", Some(&self.prev_hash));
        text(&mut out, "purpose", self.purpose.as_deref());
        text(&mut out, "result_digest", self.result_digest.as_deref());
        int(&mut out, "rows", self.rows);
        int(&mut out, "seq", Some(self.seq));
        int(&mut out, "status", self.status);
        key(&mut out, "target");
        out.push('[');
        for (i, t) in self.target.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            canonical::write(&Value::String(t.clone()), &mut out);
        }
        out.push(']');
        text(&mut out, "time", Some(&self.time));
        text(&mut out, "token_id", self.token_id.as_deref());
        out.push('}');
        out
    }

    /// The hash this record's content and `prev_hash` give.
    pub fn content_hash(&self) -> String {
        hex(&Sha256::digest(self.canonical().as_bytes()))
    }
}

/// Lower-case hex (digests and keys in the trail).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(i: i64) -> NewRecord {
        NewRecord {
            actor: format!("partner-{}", i % 3),
            actor_kind: "partner".into(),
            token_id: None,
            channel: Channel::Rest,
            action: "GET /whoami".into(),
            target: vec![format!("urn:epc:id:sgtin:0614141.107346.{i}")],
            params: serde_json::json!({"i": i, "reqGLN": "0614141000005"}),
            outcome: Outcome::Ok,
            status: Some(200),
            result_digest: Some(GENESIS.into()),
            rows: Some(1),
            purpose: None,
            client_addr: Some("127.0.0.1:50000".into()),
        }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_previous_hash() {
        let r = sample(1).seal(1, "2026-11-21T00:00:00.000000Z".into(), GENESIS.into());
        assert_eq!(r.hash, r.content_hash());
        assert!(!r.canonical().contains(&r.hash));
        let mut changed = r.clone();
        changed.rows = Some(2);
        assert_ne!(changed.content_hash(), r.hash);
        let mut relinked = r.clone();
        relinked.prev_hash = r.hash.clone();
        assert_ne!(relinked.content_hash(), r.hash);
    }

    #[test]
    fn canonical_is_the_sorted_json_of_the_record() {
        for mut r in [1, 2, 3].map(|i| sample(i).seal(i, "t".into(), GENESIS.into())) {
            if r.seq == 2 {
                r.token_id = Some("tok \"x\"".into());
                r.status = None;
                r.target.clear();
            }
            let mut value = serde_json::to_value(&r).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.remove("hash");
            }
            assert_eq!(r.canonical(), canonical::to_string(&value));
        }
    }

    #[test]
    fn json_round_trip_keeps_the_hash_valid() {
        let r = sample(7).seal(7, "2026-11-21T00:00:00.000000Z".into(), GENESIS.into());
        let line = serde_json::to_string(&r).unwrap_or_default();
        let back: AuditRecord = serde_json::from_str(&line).unwrap_or_else(|_| r.clone());
        assert_eq!(back, r);
        assert_eq!(back.content_hash(), r.hash);
    }
}
