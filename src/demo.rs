//! `dscsa serve --demo`: the demo principals, their client certificates, and the text that
//! tells a newcomer how to call the server.
//!
//! The demo supply chain (EPCIS events between these partners) needs the event repository,
//! which a later issue builds; until then the printed text says so rather than pretending.
//! Setting up is idempotent: principals that exist are left alone, and a client certificate is
//! issued only when missing or within a week of its end.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use partners::binding::BindingMatch;
use partners::devpki::{self, DevCa, DevPkiLayout};
use partners::{
    Licences, PartnerRecord, PartnerRole, Principal, PrincipalId, PrincipalKind, StaffRole, Status,
};

use crate::services::agent_tokens::TokenError;
use crate::services::{self, Actor};
use crate::storage::{Db, StorageError, principals};

/// One demo principal: id, display name, and its kind with details.
struct DemoPrincipal {
    id: &'static str,
    name: &'static str,
    kind: DemoKind,
}

enum DemoKind {
    Partner {
        role: PartnerRole,
        glns: &'static [&'static str],
        prefix: Option<&'static str>,
        licence: Option<(&'static str, &'static str)>,
        dea: Option<&'static str>,
        fda: Option<&'static str>,
    },
    Staff(StaffRole),
}

/// The GLN the demo server answers verification requests as (`serve --demo` runs the
/// manufacturer's server when no `[organisation]` is configured): mfg-acme's party GLN.
pub const HOME_GLN: &str = "0614141000005";

const DEMO: [DemoPrincipal; 9] = [
    DemoPrincipal {
        id: "mfg-acme",
        name: "Acme Pharmaceuticals Inc.",
        kind: DemoKind::Partner {
            role: PartnerRole::Manufacturer,
            glns: &["0614141000005", "0614141000012"],
            prefix: Some("0614141"),
            licence: Some(("MFR-10001", "NJ")),
            dea: None,
            fda: Some("3001234567"),
        },
    },
    DemoPrincipal {
        id: "whs-east",
        name: "Eastern Drug Distributors LLC",
        kind: DemoKind::Partner {
            role: PartnerRole::Wholesaler,
            glns: &["0860001000009", "0860001000016"],
            prefix: Some("0860001"),
            licence: Some(("WDD-20001", "PA")),
            dea: None,
            fda: None,
        },
    },
    DemoPrincipal {
        id: "whs-west",
        name: "Western Pharma Supply Co.",
        kind: DemoKind::Partner {
            role: PartnerRole::Wholesaler,
            glns: &["0860002000008", "0860002000015"],
            prefix: Some("0860002"),
            licence: Some(("WDD-30001", "CA")),
            dea: None,
            fda: None,
        },
    },
    DemoPrincipal {
        id: "rx-main-street",
        name: "Main Street Pharmacy",
        kind: DemoKind::Partner {
            role: PartnerRole::Dispenser,
            glns: &["0360003000002"],
            prefix: None,
            licence: Some(("RPH-40001", "NY")),
            dea: Some("BM1234563"),
            fda: None,
        },
    },
    DemoPrincipal {
        id: "rx-riverside",
        name: "Riverside Community Pharmacy",
        kind: DemoKind::Partner {
            role: PartnerRole::Dispenser,
            glns: &["0360004000001"],
            prefix: None,
            licence: Some(("RPH-50001", "OH")),
            dea: Some("FR2345672"),
            fda: None,
        },
    },
    DemoPrincipal {
        id: "rx-hillcrest",
        name: "Hillcrest Hospital Pharmacy",
        kind: DemoKind::Partner {
            role: PartnerRole::Dispenser,
            glns: &["0360005000000", "0360005000017"],
            prefix: None,
            licence: Some(("HSP-60001", "TX")),
            dea: Some("AH3456781"),
            fda: None,
        },
    },
    DemoPrincipal {
        id: "fda",
        name: "U.S. Food and Drug Administration (demo)",
        kind: DemoKind::Partner {
            role: PartnerRole::Regulator,
            glns: &[],
            prefix: None,
            licence: None,
            dea: None,
            fda: None,
        },
    },
    DemoPrincipal {
        id: "compliance",
        name: "Compliance officer (home organisation, demo)",
        kind: DemoKind::Staff(StaffRole::Compliance),
    },
    DemoPrincipal {
        id: "auditor",
        name: "Auditor (home organisation, demo; reads the audit trail)",
        kind: DemoKind::Staff(StaffRole::Auditor),
    },
];

/// A demo trading partner's legal name and GLNs (party first), for the demo supply chain.
pub fn party(id: &str) -> Option<(&'static str, &'static [&'static str])> {
    DEMO.iter()
        .find(|d| d.id == id)
        .and_then(|d| match &d.kind {
            DemoKind::Partner { glns, .. } => Some((d.name, *glns)),
            DemoKind::Staff(_) => None,
        })
}

impl DemoPrincipal {
    fn principal(&self) -> Result<Principal, partners::Error> {
        let kind = match &self.kind {
            DemoKind::Staff(role) => PrincipalKind::Staff { role: *role },
            DemoKind::Partner {
                role,
                glns,
                prefix,
                licence,
                dea,
                fda,
            } => PrincipalKind::for_record(PartnerRecord {
                legal_name: self.name.to_owned(),
                role: *role,
                glns: glns.iter().map(|g| g.parse()).collect::<Result<_, _>>()?,
                company_prefixes: prefix.iter().map(|p| p.parse()).collect::<Result<_, _>>()?,
                licences: Licences {
                    state_licence: licence
                        .map(|(n, s)| Licences::parse_state_licence(n, s))
                        .transpose()?,
                    dea: dea.map(Licences::parse_dea).transpose()?,
                    fda_registration: fda.map(Licences::parse_fda_registration).transpose()?,
                },
                atp_credential: None,
            }),
        };
        Ok(Principal {
            id: self.id.parse()?,
            display_name: self.name.to_owned(),
            status: Status::Active,
            kind,
        })
    }

    fn describe(&self) -> String {
        match &self.kind {
            DemoKind::Partner { role, .. } => role.as_str().to_owned(),
            DemoKind::Staff(role) => format!("staff/{role}"),
        }
    }
}

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `--demo` needs the development PKI, to issue the demo client certificates.
    #[error(
        "--demo needs the development PKI (leave tls.server_cert, tls.server_key and tls.client_ca unset)"
    )]
    NoDevPki,
    /// Certificates could not be issued or written.
    #[error(transparent)]
    Pki(#[from] partners::Error),
    /// The database refused.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Registers the demo principals that are missing, each bound by name to the common name of
/// its development client certificate, and issues the certificates that are missing or expiring.
/// Returns the ids in display order.
pub async fn setup(db: &Db, layout: Option<&DevPkiLayout>) -> Result<Vec<PrincipalId>, DemoError> {
    let layout = layout.ok_or(DemoError::NoDevPki)?;
    let ca = DevCa::load(layout)?;
    let mut ids = Vec::with_capacity(DEMO.len());
    for demo in &DEMO {
        let principal = demo.principal()?;
        let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
        let exists = principals::find(&mut conn, &principal.id).await?.is_some();
        drop(conn);
        if !exists {
            let binding = (BindingMatch::name(principal.id.as_str())?, None);
            services::principals::register(db, &Actor::Demo, &principal, &[binding]).await?;
        }
        ensure_client_cert(&ca, layout, &principal.id)?;
        ids.push(principal.id);
    }
    Ok(ids)
}

fn ensure_client_cert(
    ca: &DevCa,
    layout: &DevPkiLayout,
    id: &PrincipalId,
) -> Result<(), partners::Error> {
    let (cert, key) = (layout.client_cert(id), layout.client_key(id));
    if !devpki::still_valid(&cert, 7)? || !key.exists() {
        ca.issue_client(id, 365)?.write(&cert, &key)?;
    }
    Ok(())
}

/// Units in the demo supply chain `serve --demo` loads.
pub const DEMO_UNITS: u64 = 1000;

/// What [`load_supply_chain`] captured.
#[derive(Debug, Clone, Default)]
pub struct LoadedChain {
    /// Documents captured.
    pub documents: usize,
    /// Events in them.
    pub events: u64,
    /// Events new to the store (0 when the demo ran before on this store).
    pub new: u64,
    /// A serial the demo treats as suspect (EPC URN), and its holder.
    pub suspect: Option<(String, String)>,
    /// The suspect serial's product identifier from the ledger, as a verification request
    /// names it: GTIN, serial, lot, expiry `YYMMDD`.
    pub suspect_identifier: Option<[String; 4]>,
}

/// Why the demo supply chain could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A generated document was refused (a bug in the generator or in capture).
    #[error("demo document {file} was refused: {detail}")]
    Refused {
        /// The document.
        file: String,
        /// Why.
        detail: String,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Captures the demo supply chain (`dscsa fixtures generate --units 1000 --seed 1`), each
/// document as the demo partner that would send it. Idempotent: a second run stores nothing new.
pub async fn load_supply_chain(db: &Db) -> Result<LoadedChain, LoadError> {
    let generated = crate::fixtures::generate(&crate::fixtures::Options {
        units: DEMO_UNITS,
        seed: 1,
        units_per_case: 10,
        cases_per_pallet: 10,
    });
    let senders: std::collections::HashMap<&str, &str> = generated.manifest["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d["file"].as_str()?, d["captured_by"].as_str()?)))
        .collect();
    let mut loaded = LoadedChain {
        suspect: generated.manifest["samples"]["suspect"]["epc"]
            .as_str()
            .zip(generated.manifest["samples"]["suspect"]["holder"].as_str())
            .map(|(e, h)| (e.to_owned(), h.to_owned())),
        ..LoadedChain::default()
    };
    let options = services::capture::CaptureOptions::default();
    for (file, xml) in generated.documents {
        let captured_by = senders
            .get(file.as_str())
            .copied()
            .unwrap_or(services::capture::HOME);
        let report = services::capture::capture(
            db,
            &Actor::Demo,
            captured_by,
            xml.into_bytes().into(),
            "application/xml",
            &options,
        )
        .await
        .map_err(|e| match e {
            services::capture::CaptureError::Refused(r) => LoadError::Refused {
                file: file.clone(),
                detail: r.first().map_or_else(String::new, |r| r.detail.clone()),
            },
            services::capture::CaptureError::Storage(e) => LoadError::Storage(e),
        })?;
        loaded.documents += 1;
        loaded.events += report.events;
        loaded.new += report.new;
    }
    if let Some((epc, _)) = &loaded.suspect {
        loaded.suspect_identifier = identifier(db, epc).await?;
    }
    Ok(loaded)
}

/// GTIN, serial, lot and expiry (`YYMMDD`) of a commissioned serial.
async fn identifier(db: &Db, epc: &str) -> Result<Option<[String; 4]>, StorageError> {
    let key = crate::stored::epc_key(epc);
    let Ok(dl) = epcis::id::DigitalLink::parse(&key) else {
        return Ok(None);
    };
    let mut conn = db.pool().acquire().await?;
    let Some((gtin, lot, expiry)) = crate::storage::trace::commissioning(&mut conn, &key).await?
    else {
        return Ok(None);
    };
    // The ledger keeps the ILMD date (YYYY-MM-DD); the VRS request wants YYMMDD.
    let yymmdd: Option<String> = expiry.as_deref().and_then(|e| {
        let digits: String = e.chars().filter(char::is_ascii_digit).collect();
        digits.get(2..8).map(str::to_owned)
    });
    Ok(match (gtin, dl.serial(), lot, yymmdd) {
        (Some(g), Some(s), Some(l), Some(e)) => Some([g, s.to_owned(), l, e]),
        _ => None,
    })
}

/// Issues the demo agent token: the compliance officer's, every scope, 8 hours.
///
/// # Errors
/// The token could not be stored.
pub async fn agent_token(db: &Db) -> Result<String, TokenError> {
    use crate::services::agent_tokens::{self, AgentScope, DEFAULT_TTL, IssueRequest};
    let issued = agent_tokens::issue(
        db,
        &Actor::Demo,
        IssueRequest {
            principal: "compliance"
                .parse()
                .map_err(|e| TokenError::Invalid(format!("{e}")))?,
            scopes: AgentScope::ALL
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            gtins: Vec::new(),
            lot: None,
            investigation: None,
            ttl: DEFAULT_TTL,
            purpose: "serve --demo: trying the MCP tools".into(),
        },
    )
    .await?;
    Ok(issued.token)
}

/// How to connect an AI agent to the demo server's MCP endpoint.
pub fn agent_instructions(layout: &DevPkiLayout, agent: SocketAddr, token: &str) -> String {
    let url = format!("https://localhost:{}/mcp", agent.port());
    let ca = shown(&layout.ca_cert());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "MCP for AI agents: {url} (TLS with the demo CA, bearer token; read-only tools)."
    );
    let _ = writeln!(
        out,
        "A demo agent token acting for the compliance officer, every scope, valid 8 hours:"
    );
    let _ = writeln!(out, "  export DSCSA_AGENT_TOKEN={token}");
    let _ = writeln!(out, "List its tools:");
    let _ = writeln!(
        out,
        "  curl --cacert {ca} -H \"Authorization: Bearer $DSCSA_AGENT_TOKEN\" -H 'Accept: application/json, text/event-stream' \
         -H 'Content-Type: application/json' -H 'MCP-Protocol-Version: 2025-11-25' \
         -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{{}}}}' {url}"
    );
    let _ = writeln!(
        out,
        "Or run the same tools over stdio for a local agent: dscsa mcp stdio (with DSCSA_AGENT_TOKEN set)."
    );
    let _ = writeln!(
        out,
        "Narrower tokens: dscsa agents token issue --principal compliance --scopes verify,trace --gtin GTIN --lot LOT --purpose \"...\""
    );
    out
}

/// The text `serve --demo` prints: addresses, principals, curl lines.
pub fn instructions(
    layout: &DevPkiLayout,
    partner: SocketAddr,
    ops: SocketAddr,
    chain: &LoadedChain,
) -> String {
    let host = if partner.ip().is_loopback() || partner.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        partner.ip().to_string()
    };
    let base = format!("https://{host}:{}", partner.port());
    let ca = shown(&layout.ca_cert());
    let mut out = String::new();
    let _ = writeln!(out, "dscsa-exchange is running with the demo principals.");
    let _ = writeln!(out, "  partner API (mutual TLS): {base}");
    let _ = writeln!(
        out,
        "  ops (plain HTTP):         http://{ops}/healthz  http://{ops}/readyz  http://{ops}/metrics"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Demo principals (client certificate and key in {}):",
        shown(&layout.dir().join("clients"))
    );
    for demo in &DEMO {
        let _ = writeln!(
            out,
            "  {:<16} {:<17} {}",
            demo.id,
            demo.describe(),
            demo.name
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Ask the server who you are, as the wholesaler whs-east:"
    );
    let _ = writeln!(out, "  {}", curl_line(layout, &ca, "whs-east", &base));
    let _ = writeln!(
        out,
        "… as the compliance officer (sees every event), or the regulator:"
    );
    let _ = writeln!(out, "  {}", curl_line(layout, &ca, "compliance", &base));
    let _ = writeln!(out, "  {}", curl_line(layout, &ca, "fda", &base));
    let _ = writeln!(
        out,
        "Without a client certificate the TLS handshake is refused:"
    );
    let _ = writeln!(out, "  curl --cacert {ca} {base}/whoami");
    let _ = writeln!(
        out,
        "Suspend a partner and its next request gets 403 (in another terminal):"
    );
    let _ = writeln!(
        out,
        "  dscsa partners suspend rx-riverside   # or: cargo run --release -- partners suspend rx-riverside"
    );
    let _ = writeln!(
        out,
        "Every request above is in the audit trail; the auditor reads and verifies it:"
    );
    let _ = writeln!(
        out,
        "  {}",
        curl_path(layout, &ca, "auditor", &base, "/audit?perPage=5")
    );
    let _ = writeln!(
        out,
        "  {}",
        curl_path(layout, &ca, "auditor", &base, "/audit/verify")
    );
    let _ = writeln!(
        out,
        "  dscsa audit verify   # the same from the command line"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Loaded: the demo supply chain, {} EPCIS documents with {} events ({} new), {DEMO_UNITS} \
         serialised units from mfg-acme through two wholesalers to three pharmacies.",
        chain.documents, chain.events, chain.new
    );
    if let Some((epc, holder)) = &chain.suspect {
        let _ = writeln!(
            out,
            "The history of one unit (the demo's suspect serial, now at {holder}), as its holder \
             and as the compliance officer:"
        );
        let path = format!("/epcis/epcs/{}/events", epc.replace(':', "%3A"));
        let _ = writeln!(out, "  {}", curl_path(layout, &ca, holder, &base, &path));
        let _ = writeln!(
            out,
            "  {}",
            curl_path(layout, &ca, "compliance", &base, &path)
        );
    }
    if let (Some([gtin, serial, lot, exp]), Some((epc, holder))) =
        (&chain.suspect_identifier, &chain.suspect)
    {
        let holder_gln = party(holder)
            .and_then(|(_, glns)| glns.first().copied())
            .unwrap_or_default();
        let enc = |s: &str| epcis::id::charset::dl_encode(s).into_owned();
        let _ = writeln!(
            out,
            "Verify that unit as its holder would before a saleable return (GS1 Lightweight Messaging):"
        );
        let path = format!(
            "/vrs/gtin/{gtin}/lot/{}/ser/{}?exp={exp}&linkType=verificationService&context=dscsaSaleableReturn&reqGLN={holder_gln}",
            enc(lot),
            enc(serial)
        );
        let _ = writeln!(out, "  {}", curl_path(layout, &ca, holder, &base, &path));
        let _ = writeln!(
            out,
            "Trace it through its containers and owners, as the home organisation (in another terminal):"
        );
        let _ = writeln!(
            out,
            "  dscsa trace '{epc}'   # or: cargo run --release -- trace '{epc}'"
        );
    }
    let _ = writeln!(
        out,
        "Capture a document as the manufacturer (dscsa fixtures generate writes some):"
    );
    let _ = writeln!(
        out,
        "  {} -H 'Content-Type: application/xml' --data-binary @FILE.xml",
        curl_path(layout, &ca, "mfg-acme", &base, "/epcis/capture")
    );
    out
}

/// The last line `serve --demo` prints.
pub const STOP_LINE: &str = "Stop with Ctrl-C (in-flight requests finish first).";

fn curl_line(layout: &DevPkiLayout, ca: &str, id: &str, base: &str) -> String {
    curl_path(layout, ca, id, base, "/whoami")
}

fn curl_path(layout: &DevPkiLayout, ca: &str, id: &str, base: &str, path: &str) -> String {
    let Ok(id) = id.parse::<PrincipalId>() else {
        return String::new();
    };
    format!(
        "curl --cacert {ca} --cert {} --key {} '{base}{path}'",
        shown(&layout.client_cert(&id)),
        shown(&layout.client_key(&id))
    )
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_principals_are_valid() {
        for demo in &DEMO {
            let p = demo.principal().unwrap();
            assert_eq!(p.id.as_str(), demo.id);
        }
        let kinds: Vec<_> = DEMO
            .iter()
            .map(|d| d.principal().unwrap().kind.word())
            .collect();
        assert_eq!(kinds.iter().filter(|k| k.as_str() == "partner").count(), 6);
        assert_eq!(
            kinds.iter().filter(|k| k.as_str() == "regulator").count(),
            1
        );
        // Compliance staff and an auditor (who alone may read the audit trail).
        assert_eq!(kinds.iter().filter(|k| k.as_str() == "staff").count(), 2);
    }

    #[test]
    fn instructions_name_the_files_and_the_loaded_chain() {
        let layout = DevPkiLayout::new("./dscsa-data/pki");
        let chain = LoadedChain {
            documents: 16,
            events: 459,
            new: 459,
            suspect: Some((
                "urn:epc:id:sgtin:0614141.010001.X1".into(),
                "rx-riverside".into(),
            )),
            suspect_identifier: None,
        };
        let text = instructions(
            &layout,
            "127.0.0.1:8443".parse().unwrap(),
            "127.0.0.1:9090".parse().unwrap(),
            &chain,
        );
        assert!(text.contains(
            "curl --cacert ./dscsa-data/pki/ca.pem --cert ./dscsa-data/pki/clients/whs-east.pem \
             --key ./dscsa-data/pki/clients/whs-east.key 'https://localhost:8443/whoami'"
        ), "{text}");
        assert!(
            text.contains("clients/auditor.key 'https://localhost:8443/audit/verify'"),
            "{text}"
        );
        assert!(text.contains("Loaded: the demo supply chain, 16 EPCIS documents with 459 events"));
        assert!(
            text.contains(
                "clients/rx-riverside.key 'https://localhost:8443/epcis/epcs/urn%3Aepc%3Aid%3Asgtin%3A0614141.010001.X1/events'"
            ),
            "{text}"
        );
    }
}
