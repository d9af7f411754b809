//! The documents are current (the checked-in copies are what the code produces) and complete
//! (every operation, parameter and field described, with an example).

use serde_json::Value;

use super::documents;

fn parsed() -> (Value, Value) {
    let docs = documents();
    (
        serde_json::from_str(&docs.public_text).expect("public"),
        serde_json::from_str(&docs.internal_text).expect("internal"),
    )
}

#[test]
fn the_checked_in_documents_are_what_the_routes_produce() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi");
    let docs = documents();
    for (file, text) in [
        ("public.json", &docs.public_text),
        ("internal.json", &docs.internal_text),
    ] {
        let on_disk = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(
            on_disk == *text,
            "openapi/{file} differs from what the code produces: run `cargo run -- openapi --out openapi/`"
        );
    }
}

/// Walks a schema, reporting properties without a description, and leaves without an example.
fn check_schema(at: &str, schema: &Value, schemas: &Value, faults: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        return;
    };
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let here = format!("{at}.{name}");
            if prop.get("description").is_none() {
                faults.push(format!("{here}: no description"));
            }
            if !has_example(prop, schemas) {
                faults.push(format!("{here}: no example"));
            }
            check_schema(&here, prop, schemas, faults);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = obj.get(key) {
            check_schema(&format!("{at}[]"), inner, schemas, faults);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for inner in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
            check_schema(at, inner, schemas, faults);
        }
    }
}

/// A property has an example of its own, or is (an array of, or nullable) references to a schema
/// whose own fields carry theirs.
fn has_example(prop: &Value, schemas: &Value) -> bool {
    if prop.get("example").is_some() || prop.get("examples").is_some() {
        return true;
    }
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &schemas[name];
        return target.get("properties").is_some() || has_example(target, schemas);
    }
    if let Some(items) = prop.get("items") {
        return has_example(items, schemas);
    }
    ["allOf", "oneOf", "anyOf"].iter().any(|k| {
        prop.get(*k)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|s| has_example(s, schemas)))
    })
}

#[test]
fn every_operation_parameter_and_field_is_described_with_an_example() {
    let (public, internal) = parsed();
    let mut faults = Vec::new();
    for doc in [&public, &internal] {
        let schemas = &doc["components"]["schemas"];
        for (name, schema) in schemas.as_object().expect("schemas") {
            if schema.get("description").is_none() {
                faults.push(format!("schema {name}: no description"));
            }
            check_schema(name, schema, schemas, &mut faults);
        }
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let at = format!("{method} {path}");
                for key in ["summary", "operationId"] {
                    if op
                        .get(key)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        faults.push(format!("{at}: no {key}"));
                    }
                }
                if !ids.insert(op["operationId"].as_str().unwrap_or_default().to_owned()) {
                    faults.push(format!("{at}: operationId used twice"));
                }
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p.get("description").is_none() || p.get("example").is_none() {
                        faults.push(format!(
                            "{at}: parameter {} lacks a description or an example",
                            p["name"]
                        ));
                    }
                }
                for (status, r) in op["responses"].as_object().expect("responses") {
                    let error = status.starts_with('4') || status.starts_with('5');
                    let schema = &r["content"]["application/json"]["schema"]["$ref"];
                    if error && schema != "#/components/schemas/ErrorBody" {
                        faults.push(format!("{at}: {status} is not the error schema"));
                    }
                }
                let lists = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .is_some_and(|r| r.ends_with("Page"));
                let params: Vec<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                if lists && !(params.contains(&"page") && params.contains(&"pageSize")) {
                    faults.push(format!("{at}: a list without page and pageSize"));
                }
            }
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[test]
fn the_public_document_holds_the_public_routes_and_every_event_and_nothing_else() {
    let (public, internal) = parsed();
    let paths: Vec<&String> = public["paths"].as_object().expect("paths").keys().collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/v1/public/")),
        "{paths:?}"
    );
    assert!(paths.len() >= 20, "{paths:?}");
    let schemes: Vec<&String> = public["components"]["securitySchemes"]
        .as_object()
        .expect("schemes")
        .keys()
        .collect();
    assert_eq!(schemes, ["apiKey"]);
    assert_eq!(
        public["paths"]["/v1/public/sms/send"]["post"]["security"],
        serde_json::json!([{"apiKey": ["send:sms"]}])
    );
    let webhooks = public["webhooks"].as_object().expect("webhooks");
    for t in domain::webhooks::EVENT_TYPES {
        assert!(webhooks.contains_key(*t), "no webhook entry for {t}");
    }
    let internal_paths = internal["paths"].as_object().expect("paths");
    for p in [
        "/v1/auth/signup",
        "/v1/sms/send",
        "/v1/webhooks/whatsapp",
        "/health/ready",
    ] {
        assert!(internal_paths.contains_key(p), "internal lacks {p}");
    }
}
