#!/usr/bin/env python3
"""Proves that the Postman collection matches the public OpenAPI document.

    .venv/bin/python tests/contract/check_postman.py [openapi/public.json] [postman/herald.postman_collection.json]

For every request of the collection:
- its method and path template (`:id` in Postman is `{id}` in OpenAPI) are an operation of the document;
- every path parameter has a value, every required query and header parameter of the operation is sent,
  and every query parameter and non-standard header sent is one the operation declares;
- a JSON body is sent exactly when the operation takes one, with a Content-Type the operation accepts,
  and it validates against the operation's request-body schema (JSON Schema 2020-12, `$ref`s resolved
  in the document, formats checked), with `{{variables}}` replaced by sample values;
- the request authenticates with the bearer API key when the operation requires the API-key scheme,
  and every scope the operation requires is one of the six a key with every scope holds;
- every status code its tests assert (`pm.response.to.have.status(N)`, the only form used) is a
  documented response of the operation, and at least one is asserted;
- every `{{variable}}` it uses is an environment variable, a Postman dynamic variable (`$guid`), or a
  collection variable that a script of this or an earlier request sets (the ids are chained).

Exits 1 with one line per problem.
"""

import json
import re
import sys
import uuid
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Headers that are not OpenAPI parameters: the body's media type and the credentials (security schemes).
STANDARD_HEADERS = {"content-type", "accept", "authorization"}
VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")
STATUS_ASSERTION = re.compile(r"pm\.response\.to\.have\.status\((\d{3})\)")
COLLECTION_SET = re.compile(r"pm\.collectionVariables\.set\(\s*['\"]([^'\"]+)['\"]")
DOC_URI = "urn:herald:openapi"
# The scopes of the key the environment's `apiKey` names (README of the collection: "every scope").
KEY_SCOPES = ["send:email", "read:email", "send:sms", "read:sms", "send:whatsapp", "read:whatsapp"]

# Sample values for the environment's variables and Postman's dynamic ones, to validate bodies with.
SAMPLES = {
    "baseUrl": "http://127.0.0.1:8080",
    "apiKey": "hk_0123456789abcdef",
    "smsSenderId": "HERALD",
    "$guid": str(uuid.UUID(int=1)),
    "$randomUUID": str(uuid.UUID(int=1)),
    "$timestamp": "1767225600",
    "$isoTimestamp": "2026-01-01T00:00:00.000Z",
}
# A chained collection variable (a message id) is a UUID; others get a plain string.
CHAINED_SAMPLE = str(uuid.UUID(int=2))


def pointer(*parts):
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def walk(items, trail=()):
    for item in items:
        if "item" in item:
            yield from walk(item["item"], trail + (item["name"],))
        else:
            yield trail + (item["name"],), item, trail


def scripts(item, listen):
    out = []
    for ev in item.get("event", []):
        if ev.get("listen") == listen:
            exec_ = ev.get("script", {}).get("exec", [])
            out.append("\n".join(exec_) if isinstance(exec_, list) else str(exec_))
    return "\n".join(out)


def effective_auth(collection, folders_by_trail, trail, item):
    if "auth" in item.get("request", {}):
        return item["request"]["auth"]
    for i in range(len(trail), 0, -1):
        folder = folders_by_trail.get(trail[:i])
        if folder is not None and "auth" in folder:
            return folder["auth"]
    return collection.get("auth")


def folders(items, trail=()):
    out = {}
    for item in items:
        if "item" in item:
            out[trail + (item["name"],)] = item
            out.update(folders(item["item"], trail + (item["name"],)))
    return out


def check(doc_path, collection_path, environment_path):
    doc = json.loads(Path(doc_path).read_text())
    collection = json.loads(Path(collection_path).read_text())
    environment = json.loads(Path(environment_path).read_text())
    env_vars = {v["key"] for v in environment.get("values", [])}
    collection_vars = {v["key"] for v in collection.get("variable", [])}
    registry = Registry().with_resource(DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012))
    schemes = doc.get("components", {}).get("securitySchemes", {})
    by_trail = folders(collection.get("item", []))

    problems = []
    set_so_far = set()
    count = 0
    for trail, item, parent in walk(collection.get("item", [])):
        count += 1
        name = " / ".join(trail)

        def problem(msg):
            problems.append(f"{name}: {msg}")

        req = item.get("request")
        if not isinstance(req, dict):
            problem("has no request object")
            continue
        method = req.get("method", "GET").lower()
        url = req.get("url", {})
        if not isinstance(url, dict) or url.get("host") != ["{{baseUrl}}"]:
            problem("its URL must be an object whose host is {{baseUrl}}")
            continue
        segments = url.get("path", [])
        template = "/" + "/".join("{" + s[1:] + "}" if s.startswith(":") else s for s in segments)
        query = [q for q in url.get("query", []) if not q.get("disabled")]
        raw = "{{baseUrl}}/" + "/".join(segments)
        if query:
            raw += "?" + "&".join(f"{q['key']}={q.get('value', '')}" for q in query)
        if url.get("raw") != raw:
            problem(f"url.raw {url.get('raw')!r} disagrees with its parts ({raw!r})")

        # Variables: each defined by the environment, by Postman, or set by an earlier script.
        pre = scripts(item, "prerequest")
        set_so_far |= set(COLLECTION_SET.findall(pre))
        body = req.get("body")
        texts = [json.dumps(url), json.dumps(req.get("header", [])), json.dumps(body or {})]
        for text in texts:
            for var in VARIABLE.findall(text):
                if var.startswith("$"):
                    if var not in SAMPLES:
                        problem(f"uses the dynamic variable {{{{{var}}}}}, unknown to this check")
                elif var in env_vars:
                    pass
                elif var in collection_vars:
                    if var not in set_so_far:
                        problem(f"uses {{{{{var}}}}} before any script sets it")
                else:
                    problem(f"uses {{{{{var}}}}}, which is neither an environment nor a collection variable")

        path_item = doc.get("paths", {}).get(template)
        op = path_item.get(method) if isinstance(path_item, dict) else None
        if op is None:
            known = sorted(
                f"{m.upper()} {p}" for p, pi in doc.get("paths", {}).items() for m in pi if m in METHODS
            )
            near = [k for k in known if k.split(" ", 1)[1] == template]
            problem(
                f"{method.upper()} {template} is not an operation of {doc_path}"
                + (f" (the path has: {', '.join(near)})" if near else "")
            )
        else:
            op_ptr = pointer("paths", template, method)
            params = {}
            for p in (path_item.get("parameters", []) + op.get("parameters", [])):
                if "$ref" in p:
                    ref = p["$ref"]
                    p = doc
                    for part in ref.lstrip("#/").split("/"):
                        p = p[part.replace("~1", "/").replace("~0", "~")]
                key = (p["in"], p["name"].lower() if p["in"] == "header" else p["name"])
                params[key] = p

            # Path parameters.
            path_vars = {v["key"]: v.get("value", "") for v in url.get("variable", [])}
            for seg in segments:
                if seg.startswith(":"):
                    pname = seg[1:]
                    if ("path", pname) not in params:
                        problem(f"path parameter {pname!r} is not declared by the operation")
                    if not path_vars.get(pname):
                        problem(f"path parameter {pname!r} has no value (url.variable)")
            # Query parameters.
            sent_query = {q["key"] for q in query}
            for q in sorted(sent_query):
                if ("query", q) not in params:
                    problem(f"query parameter {q!r} is not declared by the operation")
            for q in query:
                if not str(q.get("value", "")):
                    problem(f"query parameter {q['key']!r} is sent empty")
            # Headers.
            headers = {h["key"].lower(): h.get("value", "") for h in req.get("header", []) if not h.get("disabled")}
            for h in sorted(headers):
                if h not in STANDARD_HEADERS and ("header", h) not in params:
                    problem(f"header {h!r} is not a parameter of the operation")
            # Parameter values, where they do not come from a chained collection variable.
            sent = [("query", q["key"], str(q.get("value", ""))) for q in query]
            sent += [("header", h, v) for h, v in headers.items() if h not in STANDARD_HEADERS]
            sent += [("path", k, str(v)) for k, v in path_vars.items()]
            for where, pname, value in sent:
                p = params.get((where, pname))
                if p is None or "schema" not in p or any(v in collection_vars for v in VARIABLE.findall(value)):
                    continue
                value = VARIABLE.sub(lambda m: SAMPLES.get(m.group(1), "sample"), value)
                schema = p["schema"]
                if schema.get("type") in ("integer", "number"):
                    try:
                        value = int(value) if schema["type"] == "integer" else float(value)
                    except ValueError:
                        pass
                for err in jsonschema.Draft202012Validator(
                    schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                ).iter_errors(value):
                    problem(f"{where} parameter {pname!r}: {err.message}")
            for (where, pname), p in sorted(params.items()):
                if not p.get("required"):
                    continue
                if where == "query" and pname not in sent_query:
                    problem(f"required query parameter {pname!r} is missing")
                if where == "header" and pname not in headers:
                    problem(f"required header {p['name']!r} is missing")

            # Credentials.
            requirements = op.get("security", doc.get("security", []))
            needs_key = [r for r in requirements if r and all(
                schemes.get(s, {}).get("type") == "http" and schemes.get(s, {}).get("scheme", "").lower() == "bearer"
                for s in r
            )]
            if requirements and {} not in requirements:
                auth = effective_auth(collection, by_trail, parent, item)
                token = None
                if auth and auth.get("type") == "bearer":
                    token = next((b.get("value") for b in auth.get("bearer", []) if b.get("key") == "token"), None)
                if not needs_key:
                    problem(f"the operation needs a security scheme other than bearer: {requirements}")
                elif token != "{{apiKey}}":
                    problem("must authenticate with bearer {{apiKey}} (the operation requires the API key)")
                for r in requirements:
                    for scope in sorted({sc for scopes in r.values() for sc in scopes} - set(KEY_SCOPES)):
                        problem(f"the operation needs scope {scope!r}, which the environment's key (every scope: "
                                f"{' '.join(KEY_SCOPES)}) does not hold")

            # Body.
            request_body = op.get("requestBody")
            if request_body and "$ref" in request_body:
                ref = request_body["$ref"]
                rb = doc
                for part in ref.lstrip("#/").split("/"):
                    rb = rb[part.replace("~1", "/").replace("~0", "~")]
                rb_ptr = ref.lstrip("#/")
                request_body = rb
            else:
                rb_ptr = op_ptr + "/requestBody"
            has_body = bool(body) and body.get("mode") not in (None, "none") and bool(body.get(body.get("mode")))
            if request_body is None:
                if has_body:
                    problem("sends a body, but the operation takes none")
            elif not has_body:
                if request_body.get("required"):
                    problem("sends no body, but the operation requires one")
            else:
                content_type = headers.get("content-type", "").split(";")[0].strip().lower()
                content = request_body.get("content", {})
                if body.get("mode") != "raw":
                    problem(f"body mode {body.get('mode')!r}: only raw JSON is checked")
                elif content_type not in content:
                    problem(f"Content-Type {content_type or '(none)'!r} is not one the operation accepts "
                            f"({', '.join(content) or 'none'})")
                elif "schema" not in content[content_type]:
                    problem(f"the operation's {content_type} body has no schema to check against")
                else:
                    def sample(m):
                        var = m.group(1)
                        if var in SAMPLES:
                            return SAMPLES[var]
                        return CHAINED_SAMPLE if var in collection_vars else "sample"
                    text = VARIABLE.sub(sample, body["raw"])
                    try:
                        instance = json.loads(text)
                    except json.JSONDecodeError as e:
                        problem(f"its body is not JSON: {e}")
                    else:
                        schema_ref = {"$ref": f"{DOC_URI}#/{rb_ptr}/{pointer('content', content_type, 'schema')}"}
                        validator = jsonschema.Draft202012Validator(
                            schema_ref, registry=registry,
                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
                        )
                        for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
                            where = "/".join(str(x) for x in err.absolute_path) or "(root)"
                            problem(f"body at {where}: {err.message}")

            # Asserted status codes.
            tests = scripts(item, "test")
            codes = STATUS_ASSERTION.findall(tests)
            if not codes:
                problem("its tests assert no status code (pm.response.to.have.status(N))")
            documented = set(op.get("responses", {}))
            for code in codes:
                if code not in documented and f"{code[0]}XX" not in documented:
                    problem(f"its tests assert status {code}, which the operation does not document "
                            f"(documented: {', '.join(sorted(documented)) or 'none'})")

        set_so_far |= set(COLLECTION_SET.findall(scripts(item, "test")))

    if count == 0:
        problems.append("the collection has no requests")
    return count, problems


def main(argv):
    doc = argv[1] if len(argv) > 1 else str(ROOT / "openapi" / "public.json")
    col = argv[2] if len(argv) > 2 else str(ROOT / "postman" / "herald.postman_collection.json")
    env = argv[3] if len(argv) > 3 else str(ROOT / "postman" / "herald.postman_environment.json")
    count, problems = check(doc, col, env)
    if problems:
        print(f"postman sync: {len(problems)} problem(s) between {col} and {doc}:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"postman sync: {count} requests match {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
