//! The two OpenAPI 3.1 documents, generated from the routes as they are served (`op::Routes`):
//! `internal.json` (every route, the control plane included) and `public.json` (`/v1/public/*` and
//! the customer webhooks). `herald openapi --out openapi/` writes them; a test fails when the
//! checked-in copies differ.

pub mod op;
mod schemas;

use std::{path::Path, sync::OnceLock};

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};
use utoipa_swagger_ui::{Config, SwaggerUi};

pub use op::{Method, Op, Routes};
pub use schemas::*;

use crate::extract::{Auth, need::Signed};

pub struct Documents {
    public_text: String,
    internal_text: String,
}

/// Both documents, built once from every route.
pub fn documents() -> &'static Documents {
    static DOCS: OnceLock<Documents> = OnceLock::new();
    DOCS.get_or_init(|| {
        let (_, doc) = crate::routes::all(None, true).into_parts();
        build(doc)
    })
}

/// Writes `public.json` and `internal.json` into `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let docs = documents();
    std::fs::write(dir.join("public.json"), &docs.public_text)?;
    std::fs::write(dir.join("internal.json"), &docs.internal_text)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a document serializes");
    s.push('\n');
    s
}

const TAGS: &[(&str, &str)] = &[
    ("keys", "The API key presented"),
    (
        "email",
        "Transactional email: send, follow, cancel, statistics",
    ),
    ("sms", "SMS: send, follow, cancel, approved sender IDs"),
    (
        "whatsapp",
        "WhatsApp through Meta's Cloud API: send, follow, cancel",
    ),
    ("auth", "Sign-up, log-in and the session"),
    ("members", "The organization's members and their roles"),
    ("api-keys", "API keys for the public routes"),
    (
        "webhook-endpoints",
        "Customer webhook endpoints, their secrets and deliveries",
    ),
    ("email-settings", "Sending domains, suppressions"),
    ("sms-settings", "Sender-ID requests and SMS opt-outs"),
    (
        "whatsapp-settings",
        "The organization's WhatsApp Cloud API line",
    ),
    ("dashboard-email", "The email routes for a signed-in member"),
    ("dashboard-sms", "The SMS routes for a signed-in member"),
    (
        "dashboard-whatsapp",
        "The WhatsApp routes for a signed-in member",
    ),
    (
        "inbound",
        "Provider and carrier callbacks, each guarded by its own token or signature",
    ),
    ("operations", "Probes, metrics and these documents"),
];

fn build(doc: op::Doc) -> Documents {
    let mut paths = Map::new();
    for (path, ops) in &doc.paths {
        let item: Map<String, Value> = ops
            .iter()
            .map(|(m, op)| (m.as_str().to_owned(), op.clone()))
            .collect();
        paths.insert(path.clone(), Value::Object(item));
    }
    let mut schemas: Map<String, Value> = doc.schemas.into_iter().collect();
    let mut error = Vec::new();
    op::schema_ref::<crate::error::ErrorBody>(&mut error);
    schemas.extend(error);
    let webhooks = webhooks(&mut schemas);
    for schema in schemas.values_mut() {
        hoist_descriptions(schema);
    }

    let description = "Transactional email, SMS and WhatsApp through one API. Sends answer at once \
        with the message QUEUED; workers deliver through the providers and every receipt moves the \
        message along its timeline, which signed customer webhooks report. Errors share one shape \
        (`{error: {code, message, details}}`), lists are paged with `page` and `pageSize`, and every \
        response carries `X-Request-Id`.";
    let internal = document(
        "Herald API (internal: every route)",
        &format!(
            "{description} This document holds every route: the control plane (session tokens \
             from sign-up or log-in), the public routes (API keys), provider callbacks and \
             operations."
        ),
        paths.clone(),
        webhooks.clone(),
        schemas.clone(),
        json!({"session": session_scheme(), "apiKey": api_key_scheme()}),
        |_| true,
    );
    let public_paths: Map<String, Value> = paths
        .into_iter()
        .filter(|(p, _)| p.starts_with("/v1/public/"))
        .collect();
    let public = document(
        "Herald public API",
        &format!(
            "{description} Every request carries an API key as `Authorization: Bearer hk_…`, \
             with the scope its operation names."
        ),
        public_paths,
        webhooks,
        schemas,
        json!({"apiKey": api_key_scheme()}),
        |t| ["keys", "email", "sms", "whatsapp"].contains(&t),
    );
    Documents {
        public_text: pretty(&public),
        internal_text: pretty(&internal),
    }
}

/// A nullable reference comes out as `oneOf: [{$ref, description}, {type: null}]`; its description
/// belongs to the property, where readers and tools look for it.
fn hoist_descriptions(schema: &mut Value) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        if let Some(all) = schema.get_mut("allOf").and_then(Value::as_array_mut) {
            all.iter_mut().for_each(hoist_descriptions);
        }
        return;
    };
    for prop in props.values_mut() {
        if prop.get("description").is_some() {
            continue;
        }
        let found = prop
            .get_mut("oneOf")
            .and_then(Value::as_array_mut)
            .and_then(|members| {
                members
                    .iter_mut()
                    .find_map(|m| m.as_object_mut().and_then(|m| m.remove("description")))
            });
        if let Some(d) = found {
            prop["description"] = d;
        }
    }
}

fn document(
    title: &str,
    description: &str,
    paths: Map<String, Value>,
    webhooks: Map<String, Value>,
    schemas: Map<String, Value>,
    security_schemes: Value,
    tag: impl Fn(&str) -> bool,
) -> Value {
    let tags: Vec<Value> = TAGS
        .iter()
        .filter(|(name, _)| tag(name))
        .map(|(name, d)| json!({"name": name, "description": d}))
        .collect();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": env!("CARGO_PKG_VERSION"),
            "description": description,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "`herald all` on this machine"}],
        "tags": tags,
        "paths": paths,
        "webhooks": webhooks,
        "components": {
            "schemas": {},
            "securitySchemes": security_schemes,
            "headers": headers(),
        },
    });
    let used = referenced(&doc, &schemas);
    doc["components"]["schemas"] = Value::Object(
        schemas
            .into_iter()
            .filter(|(name, _)| used.contains(name))
            .collect(),
    );
    doc
}

/// The names of the component schemas `doc` refers to, directly or through other schemas.
fn referenced(doc: &Value, schemas: &Map<String, Value>) -> std::collections::BTreeSet<String> {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref")
                    && let Some(name) = r.strip_prefix("#/components/schemas/")
                {
                    out.push(name.to_owned());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut todo = Vec::new();
    refs(doc, &mut todo);
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone())
            && let Some(s) = schemas.get(&name)
        {
            refs(s, &mut todo);
        }
    }
    seen
}

fn session_scheme() -> Value {
    json!({
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A session token from `POST /v1/auth/signup` or `/v1/auth/login`. The \
            listed names are the permission the caller's role needs (OWNER and ADMIN hold all; \
            MEMBER lacks members:write; VIEWER also lacks messages:send).",
    })
}

fn api_key_scheme() -> Value {
    json!({
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "hk_…",
        "description": "An API key (`hk_…`, shown once when created). The listed names are the \
            scope the operation needs: send:email, read:email, send:sms, read:sms, send:whatsapp, \
            read:whatsapp. Keys are rate limited; a revoked key is refused at once.",
    })
}

fn headers() -> Value {
    json!({
        "X-Request-Id": {
            "description": "The request's id: the one the client sent, else a new UUID",
            "schema": {"type": "string"},
            "example": "0b9a3c6e-2f0d-4a51-8f3e-7c1d2b4a6e90",
        },
        "Retry-After": {
            "description": "Seconds until a request may succeed",
            "schema": {"type": "integer", "minimum": 0},
            "example": 1,
        },
    })
}

/// One `webhooks` entry per event type: the POST Herald sends to a customer's endpoint.
fn webhooks(schemas: &mut Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (event_type, data_schema) in schemas::event_types(schemas) {
        let event = schemas::event_name(&data_schema);
        if !schemas.contains_key(&event) {
            schemas.insert(event.clone(), schemas::event_schema(&data_schema));
        }
        out.insert(
            event_type.clone(),
            json!({"post": {
                "operationId": format!("on_{event_type}"),
                "summary": format!("The `{event_type}` event"),
                "description": "Signed per Standard Webhooks: verify `webhook-signature` over \
                    `{webhook-id}.{webhook-timestamp}.{raw body}` before trusting the body, and \
                    deduplicate on `webhook-id` (the same on every retry).",
                "tags": [schemas::event_tag(&event_type)],
                "security": [],
                "parameters": [
                    {"name": "webhook-id", "in": "header", "required": true,
                     "description": "The event id, the same on every attempt",
                     "schema": {"type": "string"}, "example": "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20"},
                    {"name": "webhook-timestamp", "in": "header", "required": true,
                     "description": "Unix seconds of this attempt",
                     "schema": {"type": "string"}, "example": "1795773600"},
                    {"name": "webhook-signature", "in": "header", "required": true,
                     "description": "`v1,<base64 HMAC-SHA256>`; two, space-separated, for 24 h after a secret rotation",
                     "schema": {"type": "string"}, "example": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="},
                ],
                "requestBody": {
                    "required": true,
                    "description": format!("The `{event_type}` event"),
                    "content": {"application/json": {"schema": op::component(&event)}},
                },
                "responses": {
                    "200": {"description": "Any 2xx acknowledges the event"},
                    "410": {"description": "Gone: disables the endpoint at once"},
                },
            }}),
        );
    }
    out
}

/// `/openapi.json` (public), `/openapi/internal.json` (a session), `/docs` (a UI over the public
/// one, served from the binary) and the Postman collection.
pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/openapi.json",
            || async { json_text(&documents().public_text) },
            Op::new(
                "getPublicOpenApi",
                "operations",
                "This public OpenAPI document",
            )
            .ok_content(
                200,
                "The document",
                "application/json",
                json!({"type": "object"}),
            )
            .no_database(),
        )
        .get(
            "/openapi/internal.json",
            |_: Auth<Signed>| async { json_text(&documents().internal_text) },
            Op::new(
                "getInternalOpenApi",
                "operations",
                "The internal OpenAPI document (every route)",
            )
            .session::<Signed>()
            .ok_content(
                200,
                "The document",
                "application/json",
                json!({"type": "object"}),
            ),
        )
        .get(
            "/postman/herald.postman_collection.json",
            || async { json_text(POSTMAN_COLLECTION) },
            Op::new(
                "getPostmanCollection",
                "operations",
                "The Postman collection: send, status and timeline on every channel",
            )
            .ok_content(
                200,
                "The collection",
                "application/json",
                json!({"type": "object"}),
            )
            .no_database(),
        )
        .get(
            "/postman/herald.postman_environment.json",
            || async { json_text(POSTMAN_ENVIRONMENT) },
            Op::new(
                "getPostmanEnvironment",
                "operations",
                "The Postman environment: baseUrl, apiKey and smsSenderId",
            )
            .ok_content(
                200,
                "The environment",
                "application/json",
                json!({"type": "object"}),
            )
            .no_database(),
        )
        .map_router(|r| r.merge(SwaggerUi::new("/docs").config(Config::from("/openapi.json"))))
}

const POSTMAN_COLLECTION: &str = include_str!("../../../postman/herald.postman_collection.json");
const POSTMAN_ENVIRONMENT: &str = include_str!("../../../postman/herald.postman_environment.json");

fn json_text(text: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
