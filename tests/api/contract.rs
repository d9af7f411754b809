//! The contract artifacts as a client meets them: the two OpenAPI documents, their UI and the Postman
//! collection are served; the internal document only to a session; and every answer carries exactly
//! the fields its documented schema names (no field undocumented, none required missing).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn repo_file(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn get_any(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    app.request(Method::GET, path, token).send().await.unwrap()
}

#[tokio::test]
async fn the_public_document_its_ui_and_the_postman_files_are_served_to_anyone() {
    let app = spawn_app().await;
    let doc: Value = get_any(&app, "/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc, repo_file("openapi/public.json"));
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"].get("/v1/auth/login").is_none());

    let ui = get_any(&app, "/docs/", None).await;
    assert_eq!(ui.status(), StatusCode::OK);
    let html = ui.text().await.unwrap();
    assert!(
        html.contains("swagger") && !html.contains("cdn"),
        "served from the binary"
    );
    let init = get_any(&app, "/docs/swagger-initializer.js", None).await;
    assert!(init.text().await.unwrap().contains("/openapi.json"));

    for file in [
        "postman/herald.postman_collection.json",
        "postman/herald.postman_environment.json",
    ] {
        let res = get_any(&app, &format!("/{file}"), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap(), repo_file(file));
    }
}

#[tokio::test]
async fn the_internal_document_is_served_to_any_session_and_to_nothing_else() {
    let app = spawn_app().await;
    let tenant = app.signup("Docs").await;
    let key = app.api_key(&tenant, &["read:sms"]).await;
    let (_, viewer) = app.member(&tenant, "VIEWER").await;

    for token in [None, Some(key.as_str()), Some("not-a-token")] {
        let res = get_any(&app, "/openapi/internal.json", token).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    }
    let res = get_any(&app, "/openapi/internal.json", Some(&viewer)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc, repo_file("openapi/internal.json"));
    assert!(doc["paths"].get("/v1/auth/login").is_some());
    assert!(
        doc["components"]["securitySchemes"]
            .get("session")
            .is_some()
    );
}

/// Where `value` departs from `schema`: a field the schema does not name, a required one missing,
/// or a value of another type.
fn departures(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return departures(doc, &doc["components"]["schemas"][name], value, at, out);
    }
    if let Some(members) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = members.iter().any(|m| {
            let mut inner = Vec::new();
            departures(doc, m, value, at, &mut inner);
            inner.is_empty()
        });
        if !fits {
            out.push(format!("{at}: {value} fits none of oneOf"));
        }
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = json!({"type": "object", "properties": {}, "required": []});
        for m in all {
            let m = match m.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]
                }
                None => m,
            };
            for (k, v) in m["properties"].as_object().into_iter().flatten() {
                merged["properties"][k] = v.clone();
            }
            for r in m["required"].as_array().into_iter().flatten() {
                merged["required"].as_array_mut().unwrap().push(r.clone());
            }
        }
        return departures(doc, &merged, value, at, out);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return,
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !fits {
        out.push(format!("{at}: a {kind} where the schema says {types:?}"));
        return;
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                departures(doc, &schema["items"], item, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(fields) => {
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in fields {
                    match props.get(k) {
                        Some(p) => departures(doc, p, v, &format!("{at}.{k}"), out),
                        None => out.push(format!("{at}.{k}: not in the schema")),
                    }
                }
                for r in schema["required"].as_array().into_iter().flatten() {
                    if !fields.contains_key(r.as_str().unwrap()) {
                        out.push(format!("{at}.{r}: required but missing"));
                    }
                }
            } else if let Some(extra) = schema.get("additionalProperties") {
                for (k, v) in fields {
                    departures(doc, extra, v, &format!("{at}.{k}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Sends requests and holds each answer to the internal document's schema for its operation and
/// status, collecting the departures.
struct Checker<'a> {
    app: &'a TestApp,
    doc: Value,
    faults: Vec<String>,
}

impl Checker<'_> {
    /// Sends `method path` (documented as `template`) and returns the answer's body.
    async fn check(
        &mut self,
        (method, path, template): (Method, &str, &str),
        token: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = self.app.request(method.clone(), path, Some(token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16().to_string();
        let text = res.text().await.unwrap();
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        let Some(response) = op["responses"].get(&status) else {
            let fault = format!("{method} {template}: {status} is not documented ({text})");
            self.faults.push(fault);
            return Value::Null;
        };
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        if let Some(schema) = response["content"]["application/json"].get("schema") {
            let at = format!("{method} {template} {status}");
            departures(&self.doc, schema, &value, &at, &mut self.faults);
        }
        value
    }
}

#[tokio::test]
async fn every_answer_carries_exactly_the_fields_its_schema_documents() {
    let app = spawn_app_with(herald::Roles::ALL, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let mut c = Checker {
        app: &app,
        doc: repo_file("openapi/internal.json"),
        faults: Vec::new(),
    };
    let (tenant, _) = app.sms_tenant("Exact").await;
    let t = tenant.token.clone();
    let scopes = [
        "send:email",
        "read:email",
        "send:sms",
        "read:sms",
        "send:whatsapp",
        "read:whatsapp",
    ];
    let key = app.api_key(&tenant, &scopes).await;
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();

    let sends = [
        (
            "sms",
            json!({"to": "+2348067000111", "body": "Your code is 123456", "senderId": "Herald", "externalId": "x-1"}),
        ),
        (
            "sms",
            json!({"to": "+2348067000001", "body": "fails after sending", "senderId": "Herald", "flow": "OTP"}),
        ),
        (
            "emails",
            json!({"from": "Acme <hello@acme.example>", "to": "ada@example.com", "cc": ["grace@example.com"],
            "subject": "Receipt", "html": "<p>Thanks</p>", "text": "Thanks", "headers": {"X-Ref": "1"}, "tags": {"k": "v"},
            "attachments": [{"filename": "a.txt", "content": "aGVsbG8=", "contentType": "text/plain"}],
            "tracking": {"opens": true, "clicks": true}}),
        ),
        (
            "whatsapp",
            json!({"to": "+2348067000111", "type": "text", "text": {"body": "Shipped", "previewUrl": false}}),
        ),
        (
            "whatsapp",
            json!({"to": "+2348067000222", "type": "template",
            "template": {"name": "order_update", "language": "en_US", "components": [{"type": "body", "parameters": [{"type": "text", "text": "1043"}]}]}}),
        ),
    ];
    let mut ids = Vec::new();
    for (channel, body) in sends {
        let path = format!("/v1/public/{channel}/send");
        let tpl = format!("/v1/public/{channel}/send");
        let m = c.check((Method::POST, &path, &tpl), &key, Some(body)).await;
        ids.push((channel, m["id"].as_str().unwrap().to_owned()));
    }
    for (channel, id) in &ids {
        let status = if *channel == "whatsapp" {
            "READ"
        } else {
            "DELIVERED"
        };
        if id == &ids[1].1 {
            app.wait_on(channel, &key, id, "FAILED").await;
        } else if *channel != "whatsapp" || id == &ids[3].1 {
            app.wait_on(channel, &key, id, status).await;
        }
        for (suffix, tpl) in [("", "/{id}"), ("/timeline", "/{id}/timeline")] {
            let path = format!("/v1/public/{channel}/{id}{suffix}");
            let tpl = format!("/v1/public/{channel}{tpl}");
            c.check((Method::GET, &path, &tpl), &key, None).await;
            let path = format!("/v1/{channel}/{id}{suffix}");
            let tpl = tpl.replacen("/public", "", 1);
            c.check((Method::GET, &path, &tpl), &t, None).await;
        }
    }
    for channel in ["sms", "emails", "whatsapp"] {
        let list = format!("/v1/public/{channel}");
        c.check((Method::GET, &list, &list), &key, None).await;
        let batch = format!("/v1/public/{channel}/batch");
        let item = match channel {
            "sms" => {
                json!({"to": "+2348067000333", "body": "later", "senderId": "Herald", "scheduledAt": later})
            }
            "emails" => {
                json!({"from": "hello@acme.example", "to": ["ada@example.com"], "subject": "Later", "text": "later", "scheduledAt": later})
            }
            _ => {
                json!({"to": "+2348067000333", "type": "text", "text": {"body": "later"}, "scheduledAt": later})
            }
        };
        let b = c
            .check(
                (Method::POST, &batch, &batch),
                &key,
                Some(json!({"messages": [item]})),
            )
            .await;
        let id = b["data"][0]["id"].as_str().unwrap();
        let cancel = format!("/v1/public/{channel}/{id}/cancel");
        let tpl = format!("/v1/public/{channel}/{{id}}/cancel");
        c.check((Method::POST, &cancel, &tpl), &key, None).await;
        c.check((Method::POST, &cancel, &tpl), &key, None).await;
        let refused = json!({"messages": [{"to": "nope"}]});
        c.check((Method::POST, &batch, &batch), &key, Some(refused))
            .await;
    }
    let today = chrono::Utc::now().date_naive().to_string();
    let stats = format!("/v1/public/emails/stats?from={today}&to={today}");
    c.check((Method::GET, &stats, "/v1/public/emails/stats"), &key, None)
        .await;
    c.check(
        (Method::GET, "/v1/public/key", "/v1/public/key"),
        &key,
        None,
    )
    .await;
    c.check(
        (
            Method::GET,
            "/v1/public/sms/sender-ids",
            "/v1/public/sms/sender-ids",
        ),
        &key,
        None,
    )
    .await;

    // The control plane, and the platform admin's view of sender-ID requests.
    for (path, tpl) in [
        ("/v1/auth/me", "/v1/auth/me"),
        ("/v1/members", "/v1/members"),
        ("/v1/api-keys", "/v1/api-keys"),
        ("/v1/sms/sender-id-requests", "/v1/sms/sender-id-requests"),
        ("/v1/sms/sender-ids", "/v1/sms/sender-ids"),
        ("/v1/emails/suppressions", "/v1/emails/suppressions"),
        (
            "/v1/account/whatsapp-cloud-line",
            "/v1/account/whatsapp-cloud-line",
        ),
    ] {
        c.check((Method::GET, path, tpl), &t, None).await;
    }
    let admin = app.admin_token().await;
    c.check(
        (
            Method::GET,
            "/v1/sms/sender-id-requests",
            "/v1/sms/sender-id-requests",
        ),
        &admin,
        None,
    )
    .await;
    let opt_out = json!({"phoneNumber": "+2348067000444"});
    c.check(
        (Method::POST, "/v1/sms/opt-outs", "/v1/sms/opt-outs"),
        &t,
        Some(opt_out),
    )
    .await;
    c.check(
        (Method::GET, "/v1/sms/opt-outs", "/v1/sms/opt-outs"),
        &t,
        None,
    )
    .await;
    let endpoint = json!({"url": "http://127.0.0.1:9/herald", "description": "orders", "eventTypes": ["sms_delivered"]});
    let e = c
        .check(
            (
                Method::POST,
                "/v1/webhook-endpoints",
                "/v1/webhook-endpoints",
            ),
            &t,
            Some(endpoint),
        )
        .await;
    let eid = e["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{e}: {}", c.faults.join("\n")));
    for (m, suffix, tpl) in [
        (Method::GET, "", "/v1/webhook-endpoints/{id}"),
        (Method::GET, "/secret", "/v1/webhook-endpoints/{id}/secret"),
        (
            Method::POST,
            "/rotate-secret",
            "/v1/webhook-endpoints/{id}/rotate-secret",
        ),
        (
            Method::GET,
            "/deliveries",
            "/v1/webhook-endpoints/{id}/deliveries",
        ),
    ] {
        let path = format!("/v1/webhook-endpoints/{eid}{suffix}");
        c.check((m, &path, tpl), &t, None).await;
    }
    let recover = format!("/v1/webhook-endpoints/{eid}/recover");
    c.check(
        (Method::POST, &recover, "/v1/webhook-endpoints/{id}/recover"),
        &t,
        Some(json!({"since": today + "T00:00:00Z"})),
    )
    .await;
    let d = c
        .check(
            (Method::POST, "/v1/domains", "/v1/domains"),
            &t,
            Some(json!({"name": "acme.example"})),
        )
        .await;
    let domain = format!("/v1/domains/{}", d["id"].as_str().unwrap());
    c.check((Method::GET, &domain, "/v1/domains/{id}"), &t, None)
        .await;
    c.check(
        (
            Method::GET,
            "/v1/webhook-endpoints/not-an-id",
            "/v1/webhook-endpoints/{id}",
        ),
        &t,
        None,
    )
    .await;

    assert!(c.faults.is_empty(), "{}", c.faults.join("\n"));
}
