#!/usr/bin/env python3
"""Writes the Postman collection and environment under postman/ (the only way they change).

    python3 tests/contract/postman.py           # rewrite postman/*.json
    python3 tests/contract/postman.py --check   # fail if the committed files differ from what this writes

The collection runs against the sandbox providers: one message per channel is sent, read back and
its timeline checked, with ids chained through collection variables. Its requests are checked
against openapi/public.json by check_postman.py. Standard library only.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "postman" / "herald.postman_collection.json"
ENVIRONMENT = ROOT / "postman" / "herald.postman_environment.json"

# Fixed ids, so that the files are byte-for-byte reproducible.
COLLECTION_ID = "6a1d2a4e-2f0c-4b8e-9d3e-4c1f5a7b9e01"
ENVIRONMENT_ID = "6a1d2a4e-2f0c-4b8e-9d3e-4c1f5a7b9e02"

SCOPES = ["send:email", "read:email", "send:sms", "read:sms", "send:whatsapp", "read:whatsapp"]

# Sandbox recipients that deliver (see API.md, "Sandbox providers").
EMAIL_TO = "ada@example.com"
SMS_TO = "+2348067123456"
WHATSAPP_TO = "+2348067123457"


def js(*lines):
    return list(lines)


def script(kind, lines):
    return {"listen": kind, "script": {"type": "text/javascript", "exec": lines}}


def url(path, query=None, path_vars=None):
    """A Postman URL: `path` uses `:name` for path parameters (OpenAPI's `{name}`)."""
    segments = [s for s in path.split("/") if s]
    u = {
        "raw": "{{baseUrl}}" + path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else ""),
        "host": ["{{baseUrl}}"],
        "path": segments,
    }
    if query:
        u["query"] = [{"key": k, "value": v} for k, v in query]
    if path_vars:
        u["variable"] = [{"key": k, "value": v, "description": d} for k, v, d in path_vars]
    return u


def json_body(obj):
    return {
        "mode": "raw",
        "raw": json.dumps(obj, indent=2),
        "options": {"raw": {"language": "json"}},
    }


SEND_HEADERS = [
    {"key": "Content-Type", "value": "application/json"},
    {
        "key": "Idempotency-Key",
        "value": "{{$guid}}",
        "description": "A new key per request: a retry of the same request with the same key and body "
        "returns the first answer instead of sending twice.",
    },
]


def request(name, method, u, description, tests, body=None, headers=None, prerequest=None):
    item = {"name": name, "event": []}
    if prerequest:
        item["event"].append(script("prerequest", prerequest))
    item["event"].append(script("test", tests))
    req = {"method": method, "header": headers or [], "url": u, "description": description}
    if body is not None:
        req["body"] = body
    item["request"] = req
    return item


# --- the test scripts -------------------------------------------------------------------------
# Status codes are asserted only as `pm.response.to.have.status(N)`: check_postman.py reads them
# from there to prove each is a documented response of the operation.


def send_tests(channel, var, to_check):
    return js(
        "pm.test('202 Accepted', function () {",
        "    pm.response.to.have.status(202);",
        "});",
        "const message = pm.response.json();",
        "pm.test('the message is QUEUED', function () {",
        f"    pm.expect(message.channel).to.eql('{channel}');",
        "    pm.expect(message.status).to.eql('QUEUED');",
        "    pm.expect(message.id).to.be.a('string').and.not.empty;",
        *to_check,
        "});",
        f"pm.collectionVariables.set('{var}', message.id);",
    )


def get_tests(channel, var, live_statuses):
    statuses = ", ".join(f"'{s}'" for s in live_statuses)
    return js(
        "pm.test('200 OK', function () {",
        "    pm.response.to.have.status(200);",
        "});",
        "const message = pm.response.json();",
        "pm.test('the message sent above, on its way', function () {",
        f"    pm.expect(message.id).to.eql(pm.collectionVariables.get('{var}'));",
        f"    pm.expect(message.channel).to.eql('{channel}');",
        f"    pm.expect([{statuses}]).to.include(message.status);",
        "});",
    )


def timeline_tests(channel):
    return js(
        "pm.test('200 OK', function () {",
        "    pm.response.to.have.status(200);",
        "});",
        "const timeline = pm.response.json();",
        f"pm.test('the timeline starts with {channel}_queued', function () {{",
        "    pm.expect(timeline.data).to.be.an('array').that.is.not.empty;",
        f"    pm.expect(timeline.data[0].type).to.eql('{channel}_queued');",
        "    pm.expect(timeline.data[0].status).to.eql('QUEUED');",
        "});",
    )


def require_var(var, why):
    """A test that names a missing environment variable instead of letting a request fail obscurely."""
    return js(
        f"pm.test('the environment sets {var}', function () {{",
        f"    pm.expect(pm.variables.get('{var}'), '{why}').to.be.a('string').and.not.empty;",
        "});",
    )


def collection():
    key_check = request(
        "Check the API key",
        "GET",
        url("/v1/public/key"),
        "The key presented, with its scopes: run first to see that `apiKey` works and can do everything "
        "this collection does.",
        js(
            *require_var("apiKey", "set apiKey to an API key (POST /v1/api-keys) with every scope"),
            "pm.test('200 OK', function () {",
            "    pm.response.to.have.status(200);",
            "});",
            "pm.test('the key holds every scope this collection needs', function () {",
            "    const scopes = pm.response.json().scopes;",
            f"    {json.dumps(SCOPES)}.forEach(function (s) {{",
            "        pm.expect(scopes, 'scope ' + s).to.include(s);",
            "    });",
            "});",
        ),
    )

    email = {
        "name": "Email",
        "item": [
            request(
                "Send an email",
                "POST",
                url("/v1/public/emails/send"),
                "Queues one email; the answer is the message, QUEUED. The sandbox provider needs no verified "
                "domain and delivers to any address whose local part does not start with bounced, "
                "complained, failed or noreceipt.",
                send_tests("email", "emailId", [f"    pm.expect(message.to).to.eql(['{EMAIL_TO}']);"]),
                headers=SEND_HEADERS,
                body=json_body(
                    {
                        "from": "Herald Postman <postman@example.com>",
                        "to": [EMAIL_TO],
                        "subject": "Hello from the Herald Postman collection",
                        "text": "It works.",
                        "html": "<p>It works.</p>",
                        "tags": {"source": "postman"},
                    }
                ),
            ),
            request(
                "Get the email",
                "GET",
                url("/v1/public/emails/:id", path_vars=[("id", "{{emailId}}", "Set by Send an email.")]),
                "The email with its current status.",
                get_tests("email", "emailId", ["QUEUED", "PROCESSING", "SENT", "DELIVERED"]),
            ),
            request(
                "Email timeline",
                "GET",
                url(
                    "/v1/public/emails/:id/timeline",
                    path_vars=[("id", "{{emailId}}", "Set by Send an email.")],
                ),
                "Every status change and provider answer, oldest first.",
                timeline_tests("email"),
            ),
            request(
                "Email stats for today",
                "GET",
                url("/v1/public/emails/stats", query=[("from", "{{statsDate}}"), ("to", "{{statsDate}}")]),
                "Counts and rates per UTC day, both dates inclusive; the pre-request script sets today's UTC "
                "date.",
                js(
                    "pm.test('200 OK', function () {",
                    "    pm.response.to.have.status(200);",
                    "});",
                    "const stats = pm.response.json();",
                    "pm.test('today, with totals and rates', function () {",
                    "    const day = pm.collectionVariables.get('statsDate');",
                    "    pm.expect(stats.from).to.eql(day);",
                    "    pm.expect(stats.to).to.eql(day);",
                    "    ['queued', 'sent', 'delivered', 'bounced', 'complained', 'failed', 'opened', 'clicked',",
                    "     'deliveryRate', 'bounceRate', 'openRate', 'clickRate'].forEach(function (k) {",
                    "        pm.expect(stats.totals[k], 'totals.' + k).to.be.a('number');",
                    "    });",
                    "    pm.expect(stats.daily).to.be.an('array');",
                    "});",
                ),
                prerequest=js(
                    "// Today's date in UTC, YYYY-MM-DD.",
                    "pm.collectionVariables.set('statsDate', new Date().toISOString().slice(0, 10));",
                ),
            ),
        ],
    }

    sms = {
        "name": "SMS",
        "item": [
            request(
                "Send an SMS",
                "POST",
                url("/v1/public/sms/send"),
                "Queues one SMS from `smsSenderId`, a sender ID approved for the organization "
                "(POST /v1/sms/sender-id-requests, then a platform admin's review). The sandbox delivers "
                "to any number not ending in 0000, 0001 or 0002.",
                js(
                    *require_var("smsSenderId", "set smsSenderId to a sender ID approved for the organization"),
                    *send_tests(
                        "sms",
                        "smsId",
                        [
                            f"    pm.expect(message.to).to.eql('{SMS_TO}');",
                            "    pm.expect(message.senderId.toLowerCase()).to.eql(pm.variables.get('smsSenderId').toLowerCase());",
                        ],
                    ),
                ),
                headers=SEND_HEADERS,
                body=json_body(
                    {
                        "to": SMS_TO,
                        "body": "Your Herald code is 123456",
                        "senderId": "{{smsSenderId}}",
                        "flow": "OTP",
                    }
                ),
            ),
            request(
                "Get the SMS",
                "GET",
                url("/v1/public/sms/:id", path_vars=[("id", "{{smsId}}", "Set by Send an SMS.")]),
                "The SMS with its current status.",
                get_tests("sms", "smsId", ["QUEUED", "PROCESSING", "SENT", "DELIVERED"]),
            ),
            request(
                "SMS timeline",
                "GET",
                url("/v1/public/sms/:id/timeline", path_vars=[("id", "{{smsId}}", "Set by Send an SMS.")]),
                "Every status change and provider answer, oldest first.",
                timeline_tests("sms"),
            ),
        ],
    }

    whatsapp = {
        "name": "WhatsApp",
        "item": [
            request(
                "Send a WhatsApp text",
                "POST",
                url("/v1/public/whatsapp/send"),
                "Queues one WhatsApp text message. The sandbox delivers and reads to any number not "
                "ending in 0000, 0001 or 0002.",
                send_tests("whatsapp", "whatsappId", [f"    pm.expect(message.to).to.eql('{WHATSAPP_TO}');"]),
                headers=SEND_HEADERS,
                body=json_body(
                    {"to": WHATSAPP_TO, "type": "text", "text": {"body": "Hello from Herald"}}
                ),
            ),
            request(
                "Get the WhatsApp message",
                "GET",
                url("/v1/public/whatsapp/:id", path_vars=[("id", "{{whatsappId}}", "Set by Send a WhatsApp text.")]),
                "The message with its current status.",
                get_tests("whatsapp", "whatsappId", ["QUEUED", "PROCESSING", "SENT", "DELIVERED", "READ"]),
            ),
            request(
                "WhatsApp timeline",
                "GET",
                url(
                    "/v1/public/whatsapp/:id/timeline",
                    path_vars=[("id", "{{whatsappId}}", "Set by Send a WhatsApp text.")],
                ),
                "Every status change and provider answer, oldest first.",
                timeline_tests("whatsapp"),
            ),
        ],
    }

    return {
        "info": {
            "_postman_id": COLLECTION_ID,
            "name": "Herald",
            "description": (
                "Send, read and follow one email, one SMS and one WhatsApp message through Herald's public "
                "API (`/v1/public/*`).\n\n"
                "Import this collection and `herald.postman_environment.json`, then set three variables:\n"
                "- `baseUrl`: where Herald listens (default `http://127.0.0.1:8080`);\n"
                "- `apiKey`: an API key with every scope (" + ", ".join(SCOPES) + ");\n"
                "- `smsSenderId`: a sender ID approved for your organization.\n\n"
                "Run it against Herald's sandbox providers (the default): every request and test passes. "
                "Message ids are passed between requests in collection variables.\n\n"
                "Generated by `tests/contract/postman.py` and checked against `openapi/public.json` by "
                "`tests/contract/check_postman.py`: edit the generator, not this file."
            ),
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
        },
        "variable": [
            {"key": "emailId", "value": "", "type": "string", "description": "Set by Send an email."},
            {"key": "smsId", "value": "", "type": "string", "description": "Set by Send an SMS."},
            {"key": "whatsappId", "value": "", "type": "string", "description": "Set by Send a WhatsApp text."},
            {"key": "statsDate", "value": "", "type": "string", "description": "Today (UTC), set before the stats request."},
        ],
        "item": [key_check, email, sms, whatsapp],
    }


def environment():
    return {
        "id": ENVIRONMENT_ID,
        "name": "Herald (local sandbox)",
        "values": [
            {"key": "baseUrl", "value": "http://127.0.0.1:8080", "type": "default", "enabled": True},
            {"key": "apiKey", "value": "", "type": "secret", "enabled": True},
            {"key": "smsSenderId", "value": "", "type": "default", "enabled": True},
        ],
        "_postman_variable_scope": "environment",
    }


def render(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, obj in ((COLLECTION, collection()), (ENVIRONMENT, environment())):
        text = render(obj)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        for p in stale:
            print(f"postman: {p} is not what tests/contract/postman.py writes (edit the generator, "
                  f"then run it)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
