//! A route and its OpenAPI operation are declared together: `Routes` adds the handler to the axum
//! router and the operation to the document in one call, so no route is served undocumented and none
//! is documented unserved. The error answers an operation can give follow from what it declares
//! (credentials, a body, a path id, query parameters), as the extractors that produce them do.

use std::collections::BTreeMap;

use axum::{
    Router,
    handler::Handler,
    routing::{self, MethodRouter},
};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::{
    AppState,
    extract::{NeedsPermission, NeedsScope},
};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }
}

/// The paths and component schemas that a set of routes documents.
#[derive(Default)]
pub struct Doc {
    pub paths: BTreeMap<String, BTreeMap<Method, Value>>,
    pub schemas: BTreeMap<String, Value>,
}

impl Doc {
    fn add(&mut self, path: &str, method: Method, op: Op) {
        let (operation, schemas) = op.build();
        let previous = self
            .paths
            .entry(path.to_owned())
            .or_default()
            .insert(method, operation);
        assert!(
            previous.is_none(),
            "{} {path} is documented twice",
            method.as_str()
        );
        for (name, schema) in schemas {
            self.add_schema(name, schema);
        }
    }

    /// Two types of one name would overwrite each other's schema: refuse them.
    pub fn add_schema(&mut self, name: String, schema: Value) {
        if let Some(before) = self.schemas.get(&name) {
            assert!(*before == schema, "two different schemas are named {name}");
        }
        self.schemas.insert(name, schema);
    }

    fn merge(&mut self, other: Doc) {
        for (path, ops) in other.paths {
            for (method, op) in ops {
                let previous = self
                    .paths
                    .entry(path.clone())
                    .or_default()
                    .insert(method, op);
                assert!(
                    previous.is_none(),
                    "{} {path} is documented twice",
                    method.as_str()
                );
            }
        }
        for (name, schema) in other.schemas {
            self.add_schema(name, schema);
        }
    }
}

/// Routes with their documentation.
pub struct Routes {
    router: Router<AppState>,
    doc: Doc,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            doc: Doc::default(),
        }
    }

    /// Serves `handler` (with whatever layers it carries) at `method path`, documented by `op`.
    pub fn route(
        mut self,
        path: &str,
        method: Method,
        handler: MethodRouter<AppState>,
        op: Op,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.doc.add(path, method, op);
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.route(path, Method::Get, routing::get(h), op)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.route(path, Method::Post, routing::post(h), op)
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.route(path, Method::Patch, routing::patch(h), op)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.route(path, Method::Delete, routing::delete(h), op)
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.doc.merge(other.doc);
        self
    }

    /// Changes the router alone (a layer over these routes), keeping their documentation.
    pub fn map_router(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Doc) {
        (self.router, self.doc)
    }
}

/// The reference to `T`'s component schema, collecting it and the schemas it refers to.
pub fn schema_ref<T: ToSchema>(out: &mut Vec<(String, Value)>) -> Value {
    let mut deps = Vec::new();
    T::schemas(&mut deps);
    for (name, schema) in deps {
        out.push((name, to_value(&schema)));
    }
    let name = T::name().into_owned();
    out.push((name.clone(), to_value(&T::schema())));
    component(&name)
}

pub fn component(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("a schema serializes")
}

/// Who may call an operation.
enum Access {
    Anyone,
    Session(Option<&'static str>),
    ApiKey(Option<&'static str>),
}

/// One operation: its id, summary, inputs and answers.
pub struct Op {
    id: String,
    tag: &'static str,
    summary: String,
    description: Option<String>,
    access: Access,
    params: Vec<Value>,
    body: Option<Value>,
    responses: BTreeMap<u16, Value>,
    schemas: Vec<(String, Value)>,
    database: bool,
}

impl Op {
    /// `id` is the `operationId` (camelCase, for generated clients); `summary` one line.
    pub fn new(id: impl Into<String>, tag: &'static str, summary: impl Into<String>) -> Op {
        Op {
            id: id.into(),
            tag,
            summary: summary.into(),
            description: None,
            access: Access::Anyone,
            params: Vec::new(),
            body: None,
            responses: BTreeMap::new(),
            schemas: Vec::new(),
            database: true,
        }
    }

    pub fn describe(mut self, text: impl Into<String>) -> Op {
        self.description = Some(text.into());
        self
    }

    /// A session route needing `P`'s permission.
    pub fn session<P: NeedsPermission>(mut self) -> Op {
        let perm = P::PERMISSION.map(|p| p.as_str());
        self.access = Access::Session(perm);
        self = self.err(
            401,
            "UNAUTHORIZED: the session token is missing, malformed, expired or revoked, or an API key was presented",
        );
        if let Some(p) = perm {
            self = self.err(403, &format!("FORBIDDEN: the caller's role lacks `{p}`"));
        }
        self
    }

    /// A public route needing `S`'s scope; these are rate limited per key.
    pub fn key<S: NeedsScope>(mut self) -> Op {
        let scope = S::SCOPE.map(|s| s.as_str());
        self.access = Access::ApiKey(scope);
        self = self.err(
            401,
            "UNAUTHORIZED: the API key is missing, malformed or revoked, or a session token was presented",
        );
        if let Some(s) = scope {
            self = self.err(403, &format!("INSUFFICIENT_SCOPE: the API key lacks `{s}`"));
        }
        self.rate_limited()
    }

    /// 429 `RATE_LIMITED`, with the headers that say when to come back.
    pub fn rate_limited(mut self) -> Op {
        let mut r = error_response("RATE_LIMITED: too many requests; wait `Retry-After` seconds");
        let headers = r["headers"].as_object_mut().expect("headers");
        headers.insert(
            "Retry-After".into(),
            json!({"$ref": "#/components/headers/Retry-After"}),
        );
        self.responses.insert(429, r);
        self
    }

    /// The request body: `schema` as `content_type`.
    fn with_body(mut self, content_type: &str, schema: Value, description: &str) -> Op {
        self.body = Some(json!({
            "required": true,
            "description": description,
            "content": { content_type: {"schema": schema} },
        }));
        self.err(413, "PAYLOAD_TOO_LARGE: the body is over the route's limit")
    }

    /// A JSON request body of type `T`; a body that is not JSON, too large or invalid is refused.
    pub fn body<T: ToSchema>(mut self, description: &str) -> Op {
        let schema = schema_ref::<T>(&mut self.schemas);
        self.json_body(schema, description)
    }

    /// A JSON request body described by `schema`, registered as component `name`.
    pub fn body_schema(mut self, name: &str, schema: Value, description: &str) -> Op {
        self.schemas.push((name.to_owned(), schema));
        self.json_body(component(name), description)
    }

    fn json_body(self, schema: Value, description: &str) -> Op {
        self.with_body("application/json", schema, description)
            .err(400, "INVALID_JSON: the body is not JSON, or not an object")
            .err(
                415,
                "UNSUPPORTED_MEDIA_TYPE: the body is not `application/json`",
            )
            .err(
                422,
                "VALIDATION_ERROR: a field is missing or invalid; `details` names each",
            )
    }

    /// A JSON body a callback reads raw (to check its signature), whatever its content type.
    pub fn raw_body<T: ToSchema>(mut self, description: &str) -> Op {
        let schema = schema_ref::<T>(&mut self.schemas);
        self.raw_body_schema(schema, description)
    }

    /// A JSON body a callback reads raw, described by `schema`.
    pub fn raw_body_schema(self, schema: Value, description: &str) -> Op {
        self.with_body("application/json", schema, description)
            .err(400, "INVALID_JSON: the body is not JSON, or not an object")
            .err(422, "VALIDATION_ERROR: a required field is missing")
    }

    /// A form-encoded request body described by `schema`.
    pub fn form_body(self, schema: Value, description: &str) -> Op {
        self.with_body("application/x-www-form-urlencoded", schema, description)
    }

    /// The `{id}` path parameter, a UUID; an unknown id, or another organization's, is 404.
    pub fn id(mut self, what: &str) -> Op {
        self.params.push(json!({
            "name": "id",
            "in": "path",
            "required": true,
            "description": what,
            "schema": {"type": "string", "format": "uuid"},
            "example": "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20",
        }));
        self.err(
            404,
            "NOT_FOUND: no such resource in the caller's organization",
        )
    }

    /// A parameter of kind `location` (`path`, `query`, `header`).
    pub fn param(
        mut self,
        location: &str,
        name: &str,
        required: bool,
        description: &str,
        schema: Value,
        example: Value,
    ) -> Op {
        self.params.push(json!({
            "name": name,
            "in": location,
            "required": required,
            "description": description,
            "schema": schema,
            "example": example,
        }));
        self
    }

    /// An optional query filter; a value out of its range is 422.
    pub fn query(self, name: &str, description: &str, schema: Value, example: Value) -> Op {
        self.param("query", name, false, description, schema, example)
            .err(
                422,
                "VALIDATION_ERROR: a query parameter is invalid; `details` names it",
            )
    }

    /// `page` and `pageSize`.
    pub fn paged(self) -> Op {
        self.query(
            "page",
            "The page, from 1 (page × pageSize at most 10,000)",
            json!({"type": "integer", "minimum": 1, "default": 1}),
            json!(1),
        )
        .query(
            "pageSize",
            "Items per page, 1 to 100",
            json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
            json!(20),
        )
    }

    /// The optional `Idempotency-Key` of a send.
    pub fn idempotent(self) -> Op {
        self.param(
            "header",
            "Idempotency-Key",
            false,
            "1 to 255 characters. The same key with the same body within 24 h returns the first \
             response (with `Idempotent-Replayed: true`); with another body, 409 \
             IDEMPOTENCY_KEY_MISMATCH. Scoped to the organization.",
            json!({"type": "string", "minLength": 1, "maxLength": 255}),
            json!("order-1043-receipt"),
        )
        .err(
            409,
            "IDEMPOTENCY_KEY_MISMATCH: the key was used with another body",
        )
    }

    /// A success answer with a `T` body.
    pub fn ok<T: ToSchema>(mut self, status: u16, description: &str) -> Op {
        let schema = schema_ref::<T>(&mut self.schemas);
        self.responses
            .insert(status, json_response(description, schema));
        self
    }

    /// A success answer of another content type.
    pub fn ok_content(
        mut self,
        status: u16,
        description: &str,
        content_type: &str,
        schema: Value,
    ) -> Op {
        let mut r = plain_response(description);
        r["content"] = json!({ content_type: {"schema": schema} });
        self.responses.insert(status, r);
        self
    }

    /// A redirect, with its `Location`.
    pub fn redirect(mut self, status: u16, description: &str) -> Op {
        let mut r = plain_response(description);
        r["headers"]["Location"] = json!({
            "description": "Where to go",
            "schema": {"type": "string", "format": "uri"},
            "example": "https://acme.example/orders/1043",
        });
        self.responses.insert(status, r);
        self
    }

    /// A success answer without a body.
    pub fn empty(mut self, status: u16, description: &str) -> Op {
        self.responses.insert(status, plain_response(description));
        self
    }

    /// A paged list of `T` (`{data, page, pageSize, total}`), with its paging parameters.
    pub fn list<T: ToSchema>(mut self, description: &str) -> Op {
        let item = schema_ref::<T>(&mut self.schemas);
        let name = format!("{}Page", T::name());
        self.schemas
            .push((name.clone(), page_schema(&T::name(), item)));
        self.responses
            .insert(200, json_response(description, component(&name)));
        self.paged()
    }

    /// `{data: [T, …]}` (a batch's messages, a timeline), as component `name`.
    pub fn data<T: ToSchema>(mut self, status: u16, name: &str, description: &str) -> Op {
        let item = schema_ref::<T>(&mut self.schemas);
        self.schemas.push((
            name.to_owned(),
            json!({
                "type": "object",
                "description": description,
                "required": ["data"],
                "properties": {"data": {"type": "array", "items": item, "description": description}},
            }),
        ));
        self.responses
            .insert(status, json_response(description, component(name)));
        self
    }

    /// Collects `T`'s schema (for a body the operation describes by hand) and refers to it.
    pub fn schema<T: ToSchema>(&mut self) -> Value {
        schema_ref::<T>(&mut self.schemas)
    }

    /// An error answer; a second reason for the same status is added to its description.
    pub fn err(mut self, status: u16, reason: &str) -> Op {
        match self.responses.get_mut(&status) {
            Some(r) => {
                let d = r["description"].as_str().unwrap_or_default();
                if !d.contains(reason) {
                    r["description"] = json!(format!("{d}; {reason}"));
                }
            }
            None => {
                self.responses.insert(status, error_response(reason));
            }
        }
        self
    }

    /// An operation that does not touch the database (so it never answers 503).
    pub fn no_database(mut self) -> Op {
        self.database = false;
        self
    }

    fn build(mut self) -> (Value, Vec<(String, Value)>) {
        if self.database {
            self = self.err(
                503,
                "SERVICE_UNAVAILABLE: the database is unreachable; the request had no effect",
            );
        }
        let mut op = Map::new();
        op.insert("operationId".into(), json!(self.id));
        op.insert("tags".into(), json!([self.tag]));
        op.insert("summary".into(), json!(self.summary));
        if let Some(d) = self.description {
            op.insert("description".into(), json!(d));
        }
        let security = match self.access {
            Access::Anyone => json!([]),
            Access::Session(p) => json!([{ "session": p.into_iter().collect::<Vec<_>>() }]),
            Access::ApiKey(s) => json!([{ "apiKey": s.into_iter().collect::<Vec<_>>() }]),
        };
        op.insert("security".into(), security);
        if !self.params.is_empty() {
            op.insert("parameters".into(), json!(self.params));
        }
        if let Some(b) = self.body {
            op.insert("requestBody".into(), b);
        }
        let responses: Map<String, Value> = self
            .responses
            .into_iter()
            .map(|(status, r)| (status.to_string(), r))
            .collect();
        op.insert("responses".into(), Value::Object(responses));
        (Value::Object(op), self.schemas)
    }
}

fn plain_response(description: &str) -> Value {
    json!({
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
    })
}

fn json_response(description: &str, schema: Value) -> Value {
    let mut r = plain_response(description);
    r["content"] = json!({"application/json": {"schema": schema}});
    r
}

fn error_response(reason: &str) -> Value {
    json_response(reason, component("ErrorBody"))
}

fn page_schema(item: &str, item_ref: Value) -> Value {
    json!({
        "type": "object",
        "description": format!("One page of {item} items, newest first"),
        "required": ["data", "page", "pageSize", "total"],
        "properties": {
            "data": {"type": "array", "items": item_ref, "description": "This page's items"},
            "page": {"type": "integer", "minimum": 1, "description": "The page number, from 1", "example": 1},
            "pageSize": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Items per page", "example": 20},
            "total": {"type": "integer", "minimum": 0, "description": "Items matching the filters over all pages", "example": 137},
        },
    })
}
