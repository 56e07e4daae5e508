//! Certificate bindings: which certificate speaks for which principal.
//!
//! A binding matches a verified client certificate in one of two ways:
//!
//! - **by name**: the certificate's subject common name or one of its DNS, URI or e-mail
//!   subject alternative names equals the bound name. Any certificate a configured CA issues
//!   for that name matches, so renewal needs no change here.
//! - **by pinned fingerprint**: the SHA-256 of the certificate equals the bound fingerprint.
//!   Only that one certificate matches.
//!
//! Every certificate must still chain to a configured client CA: a binding never lets a
//! certificate past the TLS handshake, it only names who the certificate is. A principal may
//! hold at most [`MAX_ACTIVE_BINDINGS`] active bindings, so that during a rotation the old and
//! new certificates both work until the old binding is removed. A fingerprint binding wins over
//! name bindings; names that point at two different principals resolve to nobody.

use serde::Serialize;

use crate::Error;
use crate::identity::PeerIdentity;
use crate::ids::{Fingerprint, PrincipalId};

/// At most this many active bindings per principal (the current and the next certificate).
pub const MAX_ACTIVE_BINDINGS: usize = 2;

/// What a binding matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "match", content = "value", rename_all = "snake_case")]
pub enum BindingMatch {
    /// A pinned certificate.
    Fingerprint(Fingerprint),
    /// A subject common name or subject alternative name.
    Name(String),
}

impl BindingMatch {
    /// A name binding; the name is 1 to 255 printable characters without spaces at either end.
    pub fn name(name: &str) -> Result<Self, Error> {
        let ok = !name.is_empty()
            && name.len() <= crate::identity::MAX_NAME_LEN
            && name.trim() == name
            && !name.chars().any(char::is_control);
        if ok {
            Ok(Self::Name(name.to_owned()))
        } else {
            Err(Error::invalid(
                "certificate name",
                name,
                "a bound name is 1 to 255 printable characters, no surrounding spaces",
            ))
        }
    }

    /// The stored word for the kind of match.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Fingerprint(_) => "fingerprint",
            Self::Name(_) => "name",
        }
    }

    /// The stored value.
    pub fn value(&self) -> &str {
        match self {
            Self::Fingerprint(f) => f.as_str(),
            Self::Name(n) => n,
        }
    }

    /// Rebuilds a match from its stored kind and value.
    pub fn from_stored(kind: &str, value: &str) -> Result<Self, Error> {
        match kind {
            "fingerprint" => Ok(Self::Fingerprint(value.parse()?)),
            "name" => Self::name(value),
            _ => Err(Error::invalid(
                "binding kind",
                kind,
                "expected fingerprint or name",
            )),
        }
    }

    fn matches(&self, identity: &PeerIdentity) -> bool {
        match self {
            Self::Fingerprint(f) => identity.fingerprint() == f,
            Self::Name(n) => identity.names().iter().any(|name| name == n),
        }
    }
}

/// One active binding of a certificate to a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertBinding {
    /// Stable id (the database row id).
    pub id: i64,
    /// Who the certificate speaks for.
    pub principal: PrincipalId,
    /// What it matches.
    #[serde(flatten)]
    pub matcher: BindingMatch,
    /// For a pinned certificate, its end of validity (Unix seconds): after it, the binding no
    /// longer matches, whatever the handshake said.
    pub not_after: Option<i64>,
}

/// The outcome of looking a verified certificate up among the active bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Names match bindings of more than one principal: nobody is chosen.
    Ambiguous(Vec<PrincipalId>),
    /// The certificate speaks for this principal, through this binding.
    Bound {
        /// The principal.
        principal: PrincipalId,
        /// The binding that matched.
        binding_id: i64,
    },
    /// The certificate, or the pinned binding, is past its end of validity.
    Expired,
    /// No active binding matches.
    Unbound,
}

/// Finds the principal a verified certificate speaks for among `bindings` (the active
/// bindings whose value is the certificate's fingerprint or one of its names; extra bindings
/// are ignored), at time `now` (Unix seconds).
pub fn resolve(identity: &PeerIdentity, bindings: &[CertBinding], now: i64) -> Resolution {
    if !identity.is_valid_at(now) {
        return Resolution::Expired;
    }
    let matching = bindings.iter().filter(|b| b.matcher.matches(identity));
    let (pinned, named): (Vec<&CertBinding>, Vec<&CertBinding>) =
        matching.partition(|b| matches!(b.matcher, BindingMatch::Fingerprint(_)));
    if let Some(pin) = pinned.first() {
        if pin.not_after.is_some_and(|t| t < now) {
            return Resolution::Expired;
        }
        return Resolution::Bound {
            principal: pin.principal.clone(),
            binding_id: pin.id,
        };
    }
    let mut principals: Vec<&PrincipalId> = named.iter().map(|b| &b.principal).collect();
    principals.sort();
    principals.dedup();
    match (principals.as_slice(), named.first()) {
        ([], _) | (_, None) => Resolution::Unbound,
        ([one], Some(first)) => Resolution::Bound {
            principal: (*one).clone(),
            binding_id: first.id,
        },
        (many, _) => Resolution::Ambiguous(many.iter().map(|p| (*p).clone()).collect()),
    }
}

/// Refuses a new binding when the principal already has [`MAX_ACTIVE_BINDINGS`].
pub fn check_room_for_binding(principal: &PrincipalId, active: usize) -> Result<(), Error> {
    if active < MAX_ACTIVE_BINDINGS {
        Ok(())
    } else {
        Err(Error::invalid(
            "certificate binding",
            principal.as_str(),
            "this principal already has two active certificate bindings (the current and the next certificate); remove one first",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devpki::DevCa;

    fn binding(id: i64, principal: &str, matcher: BindingMatch) -> CertBinding {
        CertBinding {
            id,
            principal: principal.parse().unwrap(),
            matcher,
            not_after: None,
        }
    }

    fn identity(cn: &str) -> PeerIdentity {
        let ca = DevCa::generate().unwrap();
        let cert = ca.issue_client(&cn.parse().unwrap(), 30).unwrap();
        PeerIdentity::from_der(cert.cert_der()).unwrap()
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn name_binding_matches_common_name_or_san() {
        let id = identity("acme");
        let by_cn = binding(1, "acme", BindingMatch::name("acme").unwrap());
        let by_san = binding(
            2,
            "acme",
            BindingMatch::name("urn:dscsa:principal:acme").unwrap(),
        );
        for b in [by_cn, by_san] {
            assert!(matches!(
                resolve(&id, &[b], now()),
                Resolution::Bound { principal, .. } if principal.as_str() == "acme"
            ));
        }
        let other = binding(3, "acme", BindingMatch::name("other").unwrap());
        assert_eq!(resolve(&id, &[other], now()), Resolution::Unbound);
    }

    #[test]
    fn fingerprint_wins_over_names() {
        let id = identity("acme");
        let named = binding(1, "acme", BindingMatch::name("acme").unwrap());
        let pinned = binding(
            2,
            "acme-ops",
            BindingMatch::Fingerprint(id.fingerprint().clone()),
        );
        assert_eq!(
            resolve(&id, &[named, pinned], now()),
            Resolution::Bound {
                principal: "acme-ops".parse().unwrap(),
                binding_id: 2
            }
        );
    }

    #[test]
    fn conflicting_names_resolve_to_nobody() {
        let id = identity("acme");
        let a = binding(1, "acme", BindingMatch::name("acme").unwrap());
        let b = binding(
            2,
            "impostor",
            BindingMatch::name("urn:dscsa:principal:acme").unwrap(),
        );
        assert!(matches!(
            resolve(&id, &[a, b], now()),
            Resolution::Ambiguous(v) if v.len() == 2
        ));
    }

    #[test]
    fn expiry_is_enforced() {
        let id = identity("acme");
        let named = binding(1, "acme", BindingMatch::name("acme").unwrap());
        assert_eq!(
            resolve(&id, std::slice::from_ref(&named), now() + 40 * 86_400),
            Resolution::Expired
        );
        let mut pinned = binding(
            2,
            "acme",
            BindingMatch::Fingerprint(id.fingerprint().clone()),
        );
        pinned.not_after = Some(now() - 1);
        assert_eq!(resolve(&id, &[pinned], now()), Resolution::Expired);
    }

    #[test]
    fn two_bindings_at_most() {
        let p: PrincipalId = "acme".parse().unwrap();
        assert!(check_room_for_binding(&p, 0).is_ok());
        assert!(check_room_for_binding(&p, 1).is_ok());
        let err = check_room_for_binding(&p, 2).unwrap_err().to_string();
        assert!(err.contains("two active"), "{err}");
    }

    #[test]
    fn stored_forms_round_trip() {
        for m in [
            BindingMatch::name("acme").unwrap(),
            BindingMatch::Fingerprint(Fingerprint::of_der(b"x")),
        ] {
            assert_eq!(BindingMatch::from_stored(m.kind(), m.value()).unwrap(), m);
        }
        assert!(BindingMatch::from_stored("cn", "acme").is_err());
        assert!(BindingMatch::name(" acme").is_err());
        assert!(BindingMatch::name("").is_err());
    }
}
