//! The part of JSON-LD context processing EPCIS needs: prefix → namespace for extension names.
//!
//! We do not run a general JSON-LD processor (no remote context fetching: a capture endpoint
//! that dereferences partner-supplied URLs is an SSRF hole). The standard EPCIS 2.0 context is
//! known; inline context objects add prefixes; any other remote context URL is ignored, and its
//! terms stay as written.

use std::collections::HashMap;

use serde_json::Value;

/// Prefixes the ratified EPCIS 2.0 context defines (`ref-gs1-2.0.0/epcis-context.jsonld`).
const STANDARD_PREFIXES: &[(&str, &str)] = &[
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("gs1", "https://gs1.org/voc/"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// Namespace prefixes in scope.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {
    prefixes: HashMap<String, String>,
}

/// A member name resolved against the context.
pub(crate) struct Name {
    pub(crate) namespace: String,
    pub(crate) prefix: Option<String>,
    pub(crate) local: String,
}

impl Context {
    /// The standard context.
    pub(crate) fn standard() -> Self {
        Self {
            prefixes: STANDARD_PREFIXES
                .iter()
                .map(|(p, ns)| ((*p).to_owned(), (*ns).to_owned()))
                .collect(),
        }
    }

    /// Adds the prefixes of an `@context` value (a string, an object, or an array of them).
    pub(crate) fn extend(&mut self, value: &Value) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| self.extend(v)),
            Value::Object(map) => {
                for (k, v) in map {
                    // Only simple prefix definitions ("ex": "https://...") and expanded term
                    // definitions with an @id matter for extension names.
                    let ns = match v {
                        Value::String(s) => Some(s.as_str()),
                        Value::Object(def) => def.get("@id").and_then(Value::as_str),
                        _ => None,
                    };
                    if let Some(ns) = ns
                        && !k.starts_with('@')
                    {
                        self.prefixes.insert(k.clone(), ns.to_owned());
                    }
                }
            }
            _ => {}
        }
    }

    /// The namespace of a prefix, if defined.
    pub(crate) fn namespace(&self, prefix: &str) -> Option<&str> {
        self.prefixes.get(prefix).map(String::as_str)
    }

    /// Resolves a member name: `prefix:local` with a known prefix, or kept as written.
    pub(crate) fn resolve(&self, key: &str) -> Name {
        if let Some((prefix, local)) = key.split_once(':')
            && let Some(ns) = self.namespace(prefix)
        {
            return Name {
                namespace: ns.to_owned(),
                prefix: Some(prefix.to_owned()),
                local: local.to_owned(),
            };
        }
        Name {
            namespace: String::new(),
            prefix: None,
            local: key.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_prefixes_extend_the_standard_ones() {
        let mut ctx = Context::standard();
        ctx.extend(&serde_json::json!([
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"example": "https://ns.example.com/epcis/"}
        ]));
        let n = ctx.resolve("example:myField");
        assert_eq!(n.namespace, "https://ns.example.com/epcis/");
        assert_eq!(n.local, "myField");
        assert_eq!(
            ctx.resolve("cbvmda:lotNumber").namespace,
            "urn:epcglobal:cbv:mda:"
        );
        let unknown = ctx.resolve("nope:x");
        assert_eq!(
            (unknown.namespace.as_str(), unknown.local.as_str()),
            ("", "nope:x")
        );
    }
}
