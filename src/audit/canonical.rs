//! Canonical JSON: the one byte form of a value that the chain hash covers.
//!
//! Object members sorted by key (byte order, which is code-point order), no insignificant
//! whitespace, strings escaped as serde_json escapes them, numbers in their lexical form. Two
//! records with the same content have the same bytes, whatever order their parameters were built
//! in; an auditor can reproduce them with any JSON library that sorts keys.

use serde_json::Value;

/// Writes `value` canonically into `out`.
pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's string escaping is canonical (it escapes exactly `"`, `\` and controls).
    match serde_json::to_string(s) {
        Ok(escaped) => out.push_str(&escaped),
        Err(_) => out.push_str("\"\""),
    }
}

/// The canonical form of `value` as a string.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_order_does_not_matter() {
        let a = serde_json::json!({"b": 1, "a": [true, null, "x\"y"], "c": {"z": 1, "y": 2}});
        let b = serde_json::json!({"c": {"y": 2, "z": 1}, "a": [true, null, "x\"y"], "b": 1});
        assert_eq!(to_string(&a), to_string(&b));
        assert_eq!(
            to_string(&a),
            r#"{"a":[true,null,"x\"y"],"b":1,"c":{"y":2,"z":1}}"#
        );
    }
}
