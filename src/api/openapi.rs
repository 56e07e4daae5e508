//! The partner API's routes as data, and the OpenAPI 3.1 document built from them
//! (`GET /openapi.json`).
//!
//! Each API module lists its routes as [`Route`]s: an axum path, and per HTTP method the
//! handler together with its [`Operation`] (summary, permission, parameters, body, answers).
//! [`super::router`] builds the axum router from that list and [`document`] builds the OpenAPI
//! document from the same list, so a route cannot be served without being documented, nor
//! documented without being served. Schemas come from the Rust types through `schemars`
//! (JSON Schema 2020-12, the dialect of OpenAPI 3.1), with `$ref`s into
//! `#/components/schemas`; a body without a Rust type (EPCIS documents, the FDA package zip,
//! the trace answer) is described in words and left open.
//!
//! Wildcard routes (`/epcis/bizSteps/{*rest}`) have no OpenAPI form: each resource they serve
//! is documented under its own template (`/epcis/bizSteps/{bizStep}` and
//! `/epcis/bizSteps/{bizStep}/events`), given with [`Operation::at`].

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use partners::{Action, Licences, PartnerRecord, PartnerRole, Principal, PrincipalKind, StaffRole};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::epcis_problem::EpcisException;
use crate::auth::{AppState, Authorized, Identify, Scope};
use crate::error::Code;

/// A function giving the schema of a Rust type (a `$ref` for named types).
pub(crate) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The [`SchemaFn`] of `T`.
pub(crate) fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Media types of JSON answers.
pub(crate) const JSON: &[&str] = &["application/json"];

/// The areas of the API, as OpenAPI tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Audit,
    Capture,
    Fda,
    Identity,
    Investigations,
    MasterData,
    Query,
    Tracing,
    Verification,
}

impl Tag {
    /// Every tag, in the document's order.
    const ALL: [Self; 9] = [
        Self::Identity,
        Self::Capture,
        Self::Query,
        Self::MasterData,
        Self::Verification,
        Self::Tracing,
        Self::Investigations,
        Self::Fda,
        Self::Audit,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::Capture => "epcis-capture",
            Self::Fda => "fda",
            Self::Identity => "identity",
            Self::Investigations => "investigations",
            Self::MasterData => "masterdata",
            Self::Query => "epcis-query",
            Self::Tracing => "tracing",
            Self::Verification => "vrs",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Self::Audit => "The audit trail, for auditors.",
            Self::Capture => "EPCIS 2.0 capture interface: documents (as jobs) and single events.",
            Self::Fda => "FDA records requests and their packages.",
            Self::Identity => "Who the caller is, and this document.",
            Self::Investigations => {
                "Investigations of suspect and illegitimate product, Form FDA 3911."
            }
            Self::MasterData => "Captured master data of products and locations.",
            Self::Query => "EPCIS 2.0 query interface (REST binding).",
            Self::Tracing => "Tracing requests (PDG TI-request documents).",
            Self::Verification => "Product verification in the GS1 Lightweight Messaging format.",
        }
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum In {
    Header,
    Path,
    Query,
}

#[derive(Debug, Clone)]
struct Param {
    name: &'static str,
    location: In,
    required: bool,
    description: &'static str,
    /// JSON Schema `type` of the value.
    kind: &'static str,
}

#[derive(Debug, Clone)]
struct Content {
    media_types: &'static [&'static str],
    schema: Option<SchemaFn>,
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    description: &'static str,
    content: Option<Content>,
    headers: Vec<(&'static str, &'static str)>,
}

/// One documented operation: a method on a path template.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    method: Method,
    /// The documented template; `None`: the route's own path.
    path: Option<&'static str>,
    id: &'static str,
    tag: Tag,
    summary: &'static str,
    description: &'static str,
    /// The permission the handler's `Authorized<S>` checks; `None`: a verified certificate
    /// is enough.
    action: Option<(Action, &'static str)>,
    params: Vec<Param>,
    body: Option<(Content, &'static str)>,
    replies: Vec<Reply>,
}

impl Operation {
    /// An operation with an `operationId`, a tag and a one-line summary.
    pub(crate) fn new(id: &'static str, tag: Tag, summary: &'static str) -> Self {
        Self {
            method: Method::GET,
            path: None,
            id,
            tag,
            summary,
            description: "",
            action: None,
            params: Vec::new(),
            body: None,
            replies: Vec::new(),
        }
    }

    /// Documents the operation under `template` instead of the route's path (wildcard
    /// routes only: the unit tests check that the route serves the template).
    pub(crate) fn at(mut self, template: &'static str) -> Self {
        self.path = Some(template);
        self
    }

    /// The longer description, for humans.
    pub(crate) fn describe(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// The permission `S`, the one the handler's `Authorized<S>` checks.
    pub(crate) fn needs<S: Scope>(mut self) -> Self {
        self.action = Some((S::ACTION, S::NAME));
        self
    }

    fn param(mut self, location: In, name: &'static str, required: bool, d: &'static str) -> Self {
        self.params.push(Param {
            name,
            location,
            required,
            description: d,
            kind: "string",
        });
        self
    }

    /// A path parameter (always required).
    pub(crate) fn path_param(self, name: &'static str, description: &'static str) -> Self {
        self.param(In::Path, name, true, description)
    }

    /// An optional query parameter.
    pub(crate) fn query(self, name: &'static str, description: &'static str) -> Self {
        self.param(In::Query, name, false, description)
    }

    /// A required query parameter.
    pub(crate) fn query_required(self, name: &'static str, description: &'static str) -> Self {
        self.param(In::Query, name, true, description)
    }

    /// An optional integer query parameter.
    pub(crate) fn query_integer(mut self, name: &'static str, description: &'static str) -> Self {
        self = self.param(In::Query, name, false, description);
        if let Some(p) = self.params.last_mut() {
            p.kind = "integer";
        }
        self
    }

    /// An optional request header.
    pub(crate) fn header(self, name: &'static str, description: &'static str) -> Self {
        self.param(In::Header, name, false, description)
    }

    /// A request body of these media types, described by `schema` where a Rust type exists.
    pub(crate) fn body(
        mut self,
        media_types: &'static [&'static str],
        schema: Option<SchemaFn>,
        description: &'static str,
    ) -> Self {
        self.body = Some((
            Content {
                media_types,
                schema,
            },
            description,
        ));
        self
    }

    /// An answer with a body.
    pub(crate) fn reply(
        mut self,
        status: u16,
        description: &'static str,
        media_types: &'static [&'static str],
        schema: Option<SchemaFn>,
    ) -> Self {
        self.replies.push(Reply {
            status,
            description,
            content: Some(Content {
                media_types,
                schema,
            }),
            headers: Vec::new(),
        });
        self
    }

    /// An answer without a body.
    pub(crate) fn empty(mut self, status: u16, description: &'static str) -> Self {
        self.replies.push(Reply {
            status,
            description,
            content: None,
            headers: Vec::new(),
        });
        self
    }

    /// A response header on the answer added last.
    pub(crate) fn with_header(mut self, name: &'static str, description: &'static str) -> Self {
        if let Some(r) = self.replies.last_mut() {
            r.headers.push((name, description));
        }
        self
    }

    /// A problem-details answer with the server's codes (`#/components/schemas/Problem`).
    pub(crate) fn problem(self, status: u16, description: &'static str) -> Self {
        self.reply(status, description, PROBLEM_JSON, Some(problem_ref))
    }

    /// An EPCIS problem-details answer (`#/components/schemas/EpcisProblem`).
    pub(crate) fn epcis_problem(self, status: u16, description: &'static str) -> Self {
        self.reply(status, description, PROBLEM_JSON, Some(epcis_problem_ref))
    }
}

const PROBLEM_JSON: &[&str] = &["application/problem+json"];

fn problem_ref(_: &mut SchemaGenerator) -> Schema {
    Schema::new_ref("#/components/schemas/Problem".into())
}

fn epcis_problem_ref(_: &mut SchemaGenerator) -> Schema {
    Schema::new_ref("#/components/schemas/EpcisProblem".into())
}

/// An axum route and the operations it serves.
pub(crate) struct Route {
    pub(crate) path: &'static str,
    pub(crate) router: MethodRouter<AppState>,
    pub(crate) operations: Vec<Operation>,
}

impl Route {
    /// A route on the axum path `path` (`{name}` and `{*name}` captures).
    pub(crate) fn new(path: &'static str) -> Self {
        Self {
            path,
            router: MethodRouter::new(),
            operations: Vec::new(),
        }
    }

    fn on<H, T>(mut self, method: Method, filter: MethodFilter, handler: H, op: Operation) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.on(filter, handler);
        self.operations.push(Operation { method, ..op });
        self
    }

    /// `GET` served by `handler`, documented by `op`.
    pub(crate) fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        handler: H,
        op: Operation,
    ) -> Self {
        self.on(Method::GET, MethodFilter::GET, handler, op)
    }

    /// `POST` served by `handler`, documented by `op`.
    pub(crate) fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        handler: H,
        op: Operation,
    ) -> Self {
        self.on(Method::POST, MethodFilter::POST, handler, op)
    }

    /// `OPTIONS` served by `handler`, documented by `op`.
    pub(crate) fn options<H: Handler<T, AppState>, T: 'static>(
        self,
        handler: H,
        op: Operation,
    ) -> Self {
        self.on(Method::OPTIONS, MethodFilter::OPTIONS, handler, op)
    }

    /// Documents one more resource a wildcard route's `GET` handler serves.
    pub(crate) fn also_get(mut self, op: Operation) -> Self {
        self.operations.push(Operation {
            method: Method::GET,
            ..op
        });
        self
    }

    /// Applies `f` to the route's method router (for layers such as body limits).
    pub(crate) fn map_router(
        mut self,
        f: impl FnOnce(MethodRouter<AppState>) -> MethodRouter<AppState>,
    ) -> Self {
        self.router = f(self.router);
        self
    }
}

/// The route of the document itself.
pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/openapi.json").get(
            serve,
            Operation::new("openapi", Tag::Identity, "This OpenAPI document")
                .describe(
                    "The OpenAPI 3.1 description of every route of the partner listener, \
                     generated from the server's route table.",
                )
                .needs::<Identify>()
                .reply(200, "The document.", JSON, None),
        ),
    ]
}

/// `GET /openapi.json`: any authenticated principal may read it (the `identify` permission,
/// as for `/whoami`), so that a refused certificate learns nothing more than the TLS
/// handshake told it.
async fn serve(_caller: Authorized<Identify>) -> Response {
    // Built once: the route list cannot change while the server runs.
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    let bytes = DOCUMENT.get_or_init(|| {
        // A `Value` always serialises; an empty body would fail the tests, never a request.
        Bytes::from(serde_json::to_vec(&document(&super::all_routes())).unwrap_or_default())
    });
    let mut response = bytes.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The OpenAPI 3.1 document of `routes`.
pub(crate) fn document(routes: &[Route]) -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut paths = Map::new();
    for route in routes {
        for op in &route.operations {
            let template = op.path.unwrap_or(route.path);
            let item = paths
                .entry(template)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(item) = item {
                item.insert(
                    op.method.as_str().to_ascii_lowercase(),
                    operation(op, &mut generator),
                );
            }
        }
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert("Problem".into(), problem_schema());
    schemas.insert("EpcisProblem".into(), epcis_problem_schema());
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "dscsa-exchange partner API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The partner listener of a DSCSA trading-partner exchange: EPCIS 2.0 \
                capture and query, product verification (GS1 Lightweight Messaging), tracing \
                requests, investigations, FDA records requests and the audit trail. Every \
                request is authenticated by a client certificate (mutual TLS) bound to a \
                principal, authorised by the principal's permissions, and recorded in the \
                audit trail. Errors are RFC 7807 problem details (`application/problem+json`).",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "servers": [{ "url": "/", "description": "This partner listener." }],
        "security": [{ "mutualTLS": [] }],
        "tags": Tag::ALL.iter().map(|t| json!({"name": t.name(), "description": t.description()})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "mutualTLS": {
                    "type": "mutualTLS",
                    "description": "A client certificate issued by a CA this server trusts and \
                        bound to a principal (`dscsa partner bind`). A connection without one is \
                        refused during the TLS handshake.",
                },
            },
        },
    })
}

fn operation(op: &Operation, generator: &mut SchemaGenerator) -> Value {
    let mut description = op.description.to_owned();
    if let Some((action, name)) = op.action {
        let who = who_may(action);
        description.push_str(&format!(
            "\n\nPermission: `{}` (to {name}); held by {}.",
            super::whoami::action_name(action),
            if who.is_empty() {
                "no principal kind".to_owned()
            } else {
                who.join(", ")
            }
        ));
    } else {
        description.push_str("\n\nPermission: none beyond a verified client certificate.");
    }
    let mut out = json!({
        "operationId": op.id,
        "tags": [op.tag.name()],
        "summary": op.summary,
        "description": description.trim_start(),
    });
    if let Some((action, _)) = op.action {
        out["x-dscsa-permission"] = json!(super::whoami::action_name(action));
    }
    if !op.params.is_empty() {
        out["parameters"] = op
            .params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": match p.location { In::Header => "header", In::Path => "path", In::Query => "query" },
                    "required": p.required,
                    "description": p.description,
                    "schema": { "type": p.kind },
                })
            })
            .collect();
    }
    if let Some((content, description)) = &op.body {
        out["requestBody"] = json!({
            "required": true,
            "description": description,
            "content": content_json(content, generator),
        });
    }
    let mut responses = Map::new();
    for reply in &op.replies {
        responses.insert(reply.status.to_string(), reply_json(reply, generator));
    }
    // What the authorisation extractor and the shared layers answer on any route.
    let mut common = vec![(
        503,
        "Service unavailable: the request took longer than the configured time limit, or the \
         service is not configured.",
    )];
    if op.action.is_some() {
        common.extend([
            (
                403,
                "Refused: the certificate is revoked, expired, unbound or ambiguous, the \
                 principal is suspended or connects from outside its networks, or it lacks the \
                 permission (the `code` says which).",
            ),
            (
                429,
                "The principal's request budget is spent; `Retry-After` says when to retry.",
            ),
        ]);
    }
    common.push((500, "The server failed; the cause is logged, not shown."));
    if op.body.is_some() {
        // axum's body-limit rejection: plain text, so no problem schema is promised.
        responses.entry("413").or_insert_with(|| {
            json!({ "description": "The body exceeds the listener's body limit \
                (`partner_listener.max_body_bytes`)." })
        });
    }
    for (status, text) in common {
        responses
            .entry(status.to_string())
            .or_insert_with(|| json!({ "description": text, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }));
    }
    out["responses"] = Value::Object(responses);
    out
}

fn content_json(content: &Content, generator: &mut SchemaGenerator) -> Value {
    let mut map = Map::new();
    for media in content.media_types {
        let schema = content.schema.map(|f| f(generator).to_value());
        map.insert(
            (*media).to_owned(),
            schema.map_or_else(|| json!({}), |s| json!({ "schema": s })),
        );
    }
    Value::Object(map)
}

fn reply_json(reply: &Reply, generator: &mut SchemaGenerator) -> Value {
    let mut out = json!({ "description": reply.description });
    if let Some(content) = &reply.content {
        out["content"] = content_json(content, generator);
    }
    if !reply.headers.is_empty() {
        out["headers"] = reply
            .headers
            .iter()
            .map(|(name, d)| {
                (
                    (*name).to_owned(),
                    json!({ "description": d, "schema": { "type": "string" } }),
                )
            })
            .collect::<Map<_, _>>()
            .into();
    }
    out
}

/// The kinds of principal `permits(action)`, asked of [`Principal::permits`] itself so the
/// document cannot drift from the rule.
fn who_may(action: Action) -> Vec<&'static str> {
    let record = || PartnerRecord {
        legal_name: String::new(),
        role: PartnerRole::Wholesaler,
        glns: Vec::new(),
        company_prefixes: Vec::new(),
        licences: Licences::default(),
        atp_credential: None,
    };
    let Ok(id) = "openapi".parse::<partners::PrincipalId>() else {
        return Vec::new();
    };
    [
        ("trading partners", PrincipalKind::Partner(record())),
        ("regulators", PrincipalKind::Regulator(record())),
        ("internal systems", PrincipalKind::System),
        (
            "admin staff",
            PrincipalKind::Staff {
                role: StaffRole::Admin,
            },
        ),
        (
            "auditor staff",
            PrincipalKind::Staff {
                role: StaffRole::Auditor,
            },
        ),
        (
            "compliance staff",
            PrincipalKind::Staff {
                role: StaffRole::Compliance,
            },
        ),
    ]
    .into_iter()
    .filter(|(_, kind)| {
        Principal {
            id: id.clone(),
            display_name: String::new(),
            status: partners::Status::Active,
            kind: kind.clone(),
        }
        .permits(action)
    })
    .map(|(word, _)| word)
    .collect()
}

/// [`crate::error`]'s problem body, with every code of its table.
fn problem_schema() -> Value {
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
    let table: Vec<String> = Code::ALL
        .iter()
        .map(|c| format!("`{}` ({}): {}", c.name(), c.status().as_u16(), c.title()))
        .collect();
    json!({
        "type": "object",
        "description": format!(
            "RFC 7807 problem details. Codes: {}.",
            table.join("; ")
        ),
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": { "type": "string", "description": "`urn:dscsa:problem:` followed by the code." },
            "title": { "type": "string" },
            "status": { "type": "integer" },
            "detail": { "type": "string", "description": "What went wrong and what to do about it (5xx: a generic sentence)." },
            "code": { "type": "string", "enum": codes },
        },
    })
}

/// The EPCIS interface's problem body (`epcis_problem`).
fn epcis_problem_schema() -> Value {
    let types: Vec<&str> = EpcisException::ALL.iter().map(|e| e.type_uri()).collect();
    json!({
        "type": "object",
        "description": "RFC 7807 problem details whose `type` is an EPCIS 2.0 exception.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": { "type": "string", "enum": types },
            "title": { "type": "string" },
            "status": { "type": "integer" },
            "detail": { "type": "string" },
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn captures(template: &str) -> Vec<&str> {
        template
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }

    #[test]
    fn the_route_table_has_no_duplicates() {
        let routes = super::super::all_routes();
        let mut served = BTreeSet::new();
        let mut operations = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for route in &routes {
            // Two modules may share a path (`/epcis/events`: query GET, capture POST), never
            // a method on it; a wildcard route's second GET documents another resource.
            let mut methods = BTreeSet::new();
            for op in &route.operations {
                if op.path.is_none() || methods.insert(op.method.to_string()) {
                    assert!(
                        served.insert((op.method.to_string(), route.path)),
                        "{} {} routed twice",
                        op.method,
                        route.path
                    );
                }
                let template = op.path.unwrap_or(route.path);
                assert!(
                    operations.insert((op.method.to_string(), template)),
                    "{} {template} documented twice",
                    op.method
                );
                assert!(ids.insert(op.id), "operationId {} twice", op.id);
            }
        }
    }

    #[test]
    fn every_path_parameter_is_declared_and_served() {
        for route in super::super::all_routes() {
            let wildcard = route.path.split_once("{*").map(|(prefix, _)| prefix);
            for op in &route.operations {
                let template = op.path.unwrap_or(route.path);
                match (op.path, wildcard) {
                    (None, None) => {}
                    (Some(t), Some(prefix)) => assert!(
                        t.starts_with(prefix) && t.len() > prefix.len(),
                        "{t} is not served by {}",
                        route.path
                    ),
                    (None, Some(_)) => {
                        panic!("wildcard route {} needs documented templates", route.path)
                    }
                    (Some(t), None) => panic!("{t}: only wildcard routes document other paths"),
                }
                let mut in_template: Vec<&str> = captures(template);
                let mut declared: Vec<&str> = op
                    .params
                    .iter()
                    .filter(|p| p.location == In::Path)
                    .map(|p| p.name)
                    .collect();
                in_template.sort_unstable();
                declared.sort_unstable();
                assert_eq!(in_template, declared, "{} {template}", op.method);
                assert!(
                    !template.contains('*'),
                    "{template}: no wildcard in a template"
                );
                assert!(
                    !op.replies.is_empty(),
                    "{} {template}: no answers",
                    op.method
                );
            }
        }
    }

    #[test]
    fn the_document_has_every_operation_and_resolvable_references() {
        let routes = super::super::all_routes();
        let doc = document(&routes);
        let count: usize = routes.iter().map(|r| r.operations.len()).sum();
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(count, documented);
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = reference.split('"').next().unwrap();
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling {target}"
            );
        }
    }
}
