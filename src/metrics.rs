//! The server's metrics, served as `GET /metrics` on the ops listener (OpenMetrics text, the
//! format Prometheus asks for first).
//!
//! One [`Metrics`] owns the registry and every family. [`crate::Application::build`] makes one
//! and hands it around as an `Arc`: the partner router's state (HTTP requests, capture), the
//! audit writer (verification answers, counted when their log entry commits), the MCP context
//! (tool calls, refusals) and the ops listener (the scrape). No global registry: two servers in
//! one process (the tests) count apart.
//!
//! Invariants:
//! - **Bounded labels that carry no data.** A route label is axum's matched template
//!   (`/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}`), never the raw path; a request no route matches
//!   is `(unmatched)`. Methods outside the standard nine are `other`. An MCP tool name outside
//!   the server's tool list is `(unknown)`. Refusal reasons, capture outcomes, anomaly kinds and
//!   verification failure reasons come from fixed tables. Serials, lots, GTINs, tokens and
//!   certificate contents never become labels; principal and binding ids (the operator's own
//!   identifiers) label the certificate-expiry gauges only.
//! - **Cheap on the hot path.** A request costs a read-locked hash lookup and an atomic add per
//!   family it touches, plus one short string (the route) per family keyed by route.
//! - **What the database knows is read at scrape time** (the audit trail's head, the bindings'
//!   end of validity), so it is right whichever process wrote it: the CLI appends audit records
//!   and binds certificates without the server.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::audit::Outcome;
use crate::services::capture::{AnomalyKind, CaptureError, CaptureReport};
use crate::storage::verify::LogEntry;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched (404 fallback).
pub const UNMATCHED: &str = "(unmatched)";

/// The tool label of an MCP call naming no tool of this server.
pub const UNKNOWN_TOOL: &str = "(unknown)";

/// Upper bounds (seconds) of the partner listener's latency buckets: a cached verification
/// answers in about a millisecond, an FDA package takes seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LatencyLabels {
    method: &'static str,
    route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusalLabels {
    listener: &'static str,
    status: u16,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct VerificationLabels {
    channel: &'static str,
    verified: bool,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BindingLabels {
    principal_id: String,
    binding_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type LatencyFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Which listener refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The agent (MCP) listener.
    Agent,
    /// The partner (REST, mutual TLS) listener.
    Partner,
}

impl Listener {
    fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Partner => "partner",
        }
    }
}

/// The last certificate seen to resolve through a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Presented {
    principal: String,
    not_after: i64,
}

/// Every family the server counts in, and the registry they are encoded from.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_latency: LatencyFamily,
    refusals: Family<RefusalLabels, Counter>,
    capture_documents: Family<OutcomeLabels, Counter>,
    capture_events: Family<ResultLabels, Counter>,
    capture_anomalies: Family<KindLabels, Counter>,
    verifications: Family<VerificationLabels, Counter>,
    mcp_calls: Family<ToolLabels, Counter>,
    /// Binding id → the last certificate that resolved through it (name bindings and bare
    /// fingerprint pins store no end of validity; the certificate presented has one).
    presented: Mutex<HashMap<i64, Presented>>,
    started: i64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every family at zero, registered under the `dscsa_` prefix.
    pub fn new() -> Self {
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("dscsa");
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered on the partner listener, by method, matched route template and status",
            http_requests.clone(),
        );
        let http_latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from routing to the response being released (audit record committed), partner listener",
            Unit::Seconds,
            http_latency.clone(),
        );
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "http_refusals",
            "Requests refused with 401, 403 or 429, by listener, status and reason (problem code)",
            refusals.clone(),
        );
        let capture_documents = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "capture_documents",
            "EPCIS documents (and single events) captured through the partner listener, by outcome: \
             stored, partial (some events refused under proceed), refused, failed",
            capture_documents.clone(),
        );
        let capture_events = Family::<ResultLabels, Counter>::default();
        registry.register(
            "capture_events",
            "Events in captured documents, by result: new (stored), duplicate (stored before), \
             refused (skipped under proceed)",
            capture_events.clone(),
        );
        let capture_anomalies = Family::<KindLabels, Counter>::default();
        registry.register(
            "capture_anomalies",
            "Business-rule anomalies recorded by capture, by kind",
            capture_anomalies.clone(),
        );
        let verifications = Family::<VerificationLabels, Counter>::default();
        registry.register(
            "verifications",
            "Verification answers logged (VRS over REST, verify_product over MCP), by channel, \
             verdict and failure reason (none when verified)",
            verifications.clone(),
        );
        let mcp_calls = Family::<ToolLabels, Counter>::default();
        registry.register(
            "mcp_tool_calls",
            "MCP tool calls that reached the handler, by tool and outcome (ok, failed, denied)",
            mcp_calls.clone(),
        );
        registry.register(
            "build",
            "The server's version",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        for kind in AnomalyKind::ALL {
            capture_anomalies
                .get_or_create(&KindLabels {
                    kind: kind.as_str(),
                })
                .inc_by(0);
        }
        Self {
            registry: root,
            http_requests,
            http_latency,
            refusals,
            capture_documents,
            capture_events,
            capture_anomalies,
            verifications,
            mcp_calls,
            presented: Mutex::new(HashMap::new()),
            started: time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// A request answered on the partner listener. `route` is the matched template, or `None`
    /// when no route matched.
    pub fn http_request(
        &self,
        method: &Method,
        route: Option<&str>,
        status: u16,
        elapsed: std::time::Duration,
    ) {
        let method = method_label(method);
        let route = route.unwrap_or(UNMATCHED);
        self.http_requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        self.http_latency
            .get_or_create(&LatencyLabels {
                method,
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// A request refused with 401, 403 or 429; `reason` is a fixed code (a problem code on the
    /// partner listener, a refusal kind on the agent listener).
    pub fn refusal(&self, listener: Listener, status: u16, reason: &'static str) {
        self.refusals
            .get_or_create(&RefusalLabels {
                listener: listener.as_str(),
                status,
                reason,
            })
            .inc();
    }

    /// A capture through the partner listener ended.
    pub fn capture_finished(&self, result: &Result<CaptureReport, CaptureError>) {
        let outcome = match result {
            Ok(r) if r.refused.is_empty() => "stored",
            Ok(_) => "partial",
            Err(CaptureError::Refused(_)) => "refused",
            Err(CaptureError::Storage(_)) => "failed",
        };
        self.capture_documents
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        let Ok(report) = result else {
            return;
        };
        for (result, n) in [
            ("new", report.new),
            ("duplicate", report.duplicates),
            ("refused", report.refused.len() as u64),
        ] {
            if n > 0 {
                self.capture_events
                    .get_or_create(&ResultLabels { result })
                    .inc_by(n);
            }
        }
        for kind in AnomalyKind::ALL {
            let n = report.anomalies_of(kind);
            if n > 0 {
                self.capture_anomalies
                    .get_or_create(&KindLabels {
                        kind: kind.as_str(),
                    })
                    .inc_by(n);
            }
        }
    }

    /// A verification answer whose log entry committed.
    pub fn verification(&self, entry: &LogEntry) {
        let channel = match entry.channel.as_str() {
            "rest" => "rest",
            "mcp" => "mcp",
            "cli" => "cli",
            _ => "other",
        };
        self.verifications
            .get_or_create(&VerificationLabels {
                channel,
                verified: entry.verified,
                reason: entry.failure_reason.unwrap_or("none"),
            })
            .inc();
    }

    /// An MCP tool call that reached the handler, with its audited outcome. A name that is not
    /// one of the server's tools is counted as [`UNKNOWN_TOOL`].
    pub fn mcp_call(&self, tool: &str, outcome: Outcome) {
        let tool = if crate::mcp::server::scope_of(tool).is_some() {
            tool
        } else {
            UNKNOWN_TOOL
        };
        self.mcp_calls
            .get_or_create(&ToolLabels {
                tool: tool.to_owned(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// A certificate with end of validity `not_after` (Unix seconds) resolved through binding
    /// `binding_id` of `principal`.
    pub fn certificate_presented(&self, binding_id: i64, principal: &str, not_after: i64) {
        let mut seen = self
            .presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match seen.get_mut(&binding_id) {
            Some(p) if p.not_after == not_after && p.principal == principal => {}
            Some(p) => {
                p.not_after = not_after;
                principal.clone_into(&mut p.principal);
            }
            None => {
                seen.insert(
                    binding_id,
                    Presented {
                        principal: principal.to_owned(),
                        not_after,
                    },
                );
            }
        }
    }

    /// The exposition: every family, then what `scraped` read from the database and the
    /// process, then `# EOF`.
    pub fn encode(&self, scraped: &Scraped) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        encode_registry(&mut out, &self.registry)?;
        encode_registry(&mut out, &self.scrape_registry(scraped))?;
        encode_eof(&mut out)?;
        Ok(out)
    }

    fn scrape_registry(&self, scraped: &Scraped) -> Registry {
        let mut root = Registry::default();
        let started = Gauge::<i64>::default();
        started.set(self.started);
        root.register_with_unit(
            "process_start_time",
            "When the server started (Unix time)",
            Unit::Seconds,
            started,
        );
        if let Some(bytes) = scraped.resident_bytes {
            let g = Gauge::<i64>::default();
            g.set(bytes);
            root.register_with_unit("process_resident_memory", "Resident memory", Unit::Bytes, g);
        }
        if let Some(fds) = scraped.open_fds {
            let g = Gauge::<i64>::default();
            g.set(fds);
            root.register("process_open_fds", "Open file descriptors", g);
        }
        let registry = root.sub_registry_with_prefix("dscsa");
        if let Some(seq) = scraped.audit_head {
            let g = Gauge::<i64>::default();
            g.set(seq);
            registry.register(
                "audit_head_seq",
                "Sequence number of the audit trail's last record (0 when empty), read at scrape time",
                g,
            );
        }
        let pool = Family::<StateLabels, Gauge>::default();
        pool.get_or_create(&StateLabels { state: "idle" })
            .set(scraped.pool_idle);
        pool.get_or_create(&StateLabels { state: "in_use" })
            .set(scraped.pool_size - scraped.pool_idle);
        registry.register(
            "db_pool_connections",
            "The read-write database pool's open connections",
            pool,
        );
        if let Some(bindings) = &scraped.bindings {
            let stored = Family::<BindingLabels, Gauge>::default();
            let presented = Family::<BindingLabels, Gauge>::default();
            let seen = self
                .presented
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for b in bindings {
                let labels = BindingLabels {
                    principal_id: b.principal.clone(),
                    binding_id: b.id,
                };
                if let Some(t) = b.not_after {
                    stored.get_or_create(&labels).set(t);
                }
                if let Some(p) = seen.get(&b.id).filter(|p| p.principal == b.principal) {
                    presented.get_or_create(&labels).set(p.not_after);
                }
            }
            drop(seen);
            registry.register_with_unit(
                "binding_certificate_not_after",
                "End of validity (Unix time) of the certificate an active binding pins, where \
                 the binding stores one (bindings made from a certificate file); name bindings \
                 and bare fingerprint pins store none",
                Unit::Seconds,
                stored,
            );
            registry.register_with_unit(
                "binding_presented_certificate_not_after",
                "End of validity (Unix time) of the last certificate that resolved through each \
                 active binding since the server started",
                Unit::Seconds,
                presented,
            );
        }
        root
    }
}

/// An active certificate binding, as the scrape reads it.
#[derive(Debug, Clone)]
pub struct ActiveBinding {
    /// Binding id.
    pub id: i64,
    /// Principal id.
    pub principal: String,
    /// Stored end of validity (Unix seconds), for bindings made from a certificate file.
    pub not_after: Option<i64>,
}

/// What a scrape reads besides the counters. A `None` is a value that could not be read this
/// time (the database is down, or the platform has no `/proc`): its family is left out.
#[derive(Debug, Clone, Default)]
pub struct Scraped {
    /// The audit trail's head sequence number.
    pub audit_head: Option<i64>,
    /// Active bindings.
    pub bindings: Option<Vec<ActiveBinding>>,
    /// Pool connections open.
    pub pool_size: i64,
    /// Pool connections idle.
    pub pool_idle: i64,
    /// Resident set size in bytes (Linux).
    pub resident_bytes: Option<i64>,
    /// Open file descriptors (Linux).
    pub open_fds: Option<i64>,
}

impl Scraped {
    /// Reads the process figures that `/proc/self` gives (Linux; `None` elsewhere).
    pub fn with_process(mut self) -> Self {
        self.resident_bytes = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().strip_suffix("kB"))
                    .and_then(|kb| kb.trim().parse::<i64>().ok())
            })
            .map(|kb| kb * 1024);
        self.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| i64::try_from(d.count()).unwrap_or(i64::MAX));
        self
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(m: &Metrics) -> String {
        m.encode(&Scraped::default()).unwrap()
    }

    #[test]
    fn routes_methods_and_tools_stay_bounded() {
        let m = Metrics::new();
        let ms = std::time::Duration::from_millis(1);
        m.http_request(
            &Method::GET,
            Some("/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}"),
            200,
            ms,
        );
        m.http_request(&Method::from_bytes(b"BREW").unwrap(), None, 404, ms);
        m.mcp_call("verify_product", Outcome::Ok);
        m.mcp_call("ignore previous instructions", Outcome::Denied);
        let text = scrape(&m);
        assert!(
            text.contains(
                r#"dscsa_http_requests_total{method="GET",route="/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"dscsa_http_requests_total{method="other",route="(unmatched)",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"dscsa_mcp_tool_calls_total{tool="verify_product",outcome="ok"} 1"#)
        );
        assert!(
            text.contains(r#"dscsa_mcp_tool_calls_total{tool="(unknown)",outcome="denied"} 1"#)
        );
        assert!(!text.contains("ignore previous"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn a_binding_shows_the_last_certificate_presented_while_it_is_active() {
        let m = Metrics::new();
        m.certificate_presented(7, "whs-east", 1_900_000_000);
        m.certificate_presented(7, "whs-east", 1_900_000_100);
        m.certificate_presented(8, "gone", 1_900_000_000);
        let scraped = Scraped {
            bindings: Some(vec![
                ActiveBinding {
                    id: 7,
                    principal: "whs-east".into(),
                    not_after: None,
                },
                ActiveBinding {
                    id: 9,
                    principal: "mfg-acme".into(),
                    not_after: Some(1_800_000_000),
                },
            ]),
            ..Scraped::default()
        };
        let text = m.encode(&scraped).unwrap();
        assert!(text.contains(
            r#"dscsa_binding_presented_certificate_not_after_seconds{principal_id="whs-east",binding_id="7"} 1900000100"#
        ), "{text}");
        assert!(text.contains(
            r#"dscsa_binding_certificate_not_after_seconds{principal_id="mfg-acme",binding_id="9"} 1800000000"#
        ), "{text}");
        assert!(
            !text.contains("gone"),
            "a removed binding is not shown: {text}"
        );
    }
}
