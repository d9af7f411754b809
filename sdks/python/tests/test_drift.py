"""The SDK against openapi/public.json: a change to the document (a field, a schema, an operation,
a query parameter, an event type) fails here until the SDK follows it."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest
from conftest import API_KEY, fast_client
from openapi import document, example, operations, properties, required, schema, webhook_schemas
from stand_in import Answer, Received, StandIn

from herald_sdk import AsyncHerald, EmailStatsDay, EmailStatsTotals, HeraldError, Page
from herald_sdk.models import SCHEMAS, event_class, wire_name

# Schemas the SDK has no class for, and why; each is checked below for the shape the SDK assumes.
UNWRAPPED = {
    "SmsBatch": "batch() returns the list in `data`",
    "EmailBatch": "batch() returns the list in `data`",
    "WhatsappBatch": "batch() returns the list in `data`",
    "Timeline": "timeline() returns the list in `data`",
    "SmsBatchRequest": "batch() wraps its list in `messages`",
    "EmailBatchRequest": "batch() wraps its list in `messages`",
    "WhatsappBatchRequest": "batch() wraps its list in `messages`",
    "ErrorBody": "read into HeraldError",
    "ErrorDetail": "read into HeraldError: code, message, details",
    "Recipients": "EmailSendParams types it as Union[str, List[str]]",
    "EmailCounts": "its fields are those of EmailStatsDay and EmailStatsTotals",
}


def model_fields(model: type) -> Set[str]:
    if dataclasses.is_dataclass(model):
        return {wire_name(f.name) for f in dataclasses.fields(model)}
    return set(model.__annotations__)


def test_every_schema_of_the_document_is_modeled_or_accounted_for():
    names = set(document()["components"]["schemas"])
    assert names - set(SCHEMAS) - set(UNWRAPPED) == set(), "schemas the SDK does not know"
    assert (set(SCHEMAS) | set(UNWRAPPED)) - names == set(), "SDK models of schemas the document no longer has"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_model_fields_match_the_schema(name):
    for model in SCHEMAS[name]:
        assert model_fields(model) == set(properties(name)), f"{model.__name__} against {name}"


@pytest.mark.parametrize("name", sorted(n for n, models in SCHEMAS.items() if not dataclasses.is_dataclass(models[-1])))
def test_send_params_require_what_the_schema_requires(name):
    params = SCHEMAS[name][-1]
    assert set(params.__required_keys__) == required(name), params.__name__


@pytest.mark.parametrize("name", sorted(n for n, models in SCHEMAS.items() if dataclasses.is_dataclass(models[0])))
def test_models_read_the_documents_examples(name):
    model = SCHEMAS[name][0]
    if model is Page:
        return
    instance = model.from_dict(example(name))
    for field in dataclasses.fields(model):
        assert getattr(instance, field.name) is not None, f"{name}.{wire_name(field.name)} was not read"


def test_the_shapes_the_sdk_unwraps():
    for name in ("SmsBatch", "EmailBatch", "WhatsappBatch", "Timeline"):
        assert set(properties(name)) == {"data"}, name
    for name in ("SmsBatchRequest", "EmailBatchRequest", "WhatsappBatchRequest"):
        assert set(properties(name)) == {"messages"}, name
    assert set(properties("ErrorBody")) == {"error"}
    error = HeraldError("m")
    assert set(properties("ErrorDetail")) <= set(vars(error)), "HeraldError lacks a field of ErrorDetail"
    assert [c.get("type") for c in schema("Recipients")["oneOf"]] == ["string", "array"]
    counts = set(properties("EmailCounts"))
    assert counts <= model_fields(EmailStatsDay) and counts <= model_fields(EmailStatsTotals)


def test_every_event_type_has_the_model_of_its_schema():
    events = webhook_schemas()
    assert len(events) == 25
    for event_type, name in events.items():
        assert event_class(event_type) in SCHEMAS[name], f"{event_type} is read as {event_class(event_type)}"


# --- operations -------------------------------------------------------------------------------------

FILTERS = dict(status="QUEUED", query="q", created_from="2026-11-01T00:00:00Z", created_to="2026-11-02T00:00:00Z")


def operation_of(request: Received) -> Optional[Dict[str, Any]]:
    """The document's operation a request is for: a literal path (`/sms/sender-ids`) before a
    template (`/sms/{id}`)."""
    matching = [
        op
        for op in operations()
        if op["method"] == request.method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", op["path"]), request.path)
    ]
    return min(matching, key=lambda op: op["path"].count("{"), default=None)


def route(request: Received) -> Answer:
    """Answers as Herald would, with the document's examples, any of its operations."""
    op = operation_of(request)
    if op is None:
        return Answer(404, {"error": {"code": "NOT_FOUND", "message": f"{request.method} {request.path}"}})
    return Answer(op["status"], example(op["answer"]))


def call_everything(client) -> None:
    sms = {"to": "+2348067000111", "body": "b", "senderId": "Acme"}
    email = {"from": "a@acme.example", "to": "b@example.com", "subject": "s", "text": "t"}
    whatsapp = {"to": "+2348067000111", "type": "text", "text": {"body": "b"}}
    client.key()
    client.sms.sender_ids(page=1, page_size=20)
    client.emails.stats("2026-11-01", "2026-11-30")
    client.sms.list(flow="OTP", page=1, page_size=20, **FILTERS)
    for namespace, body in ((client.sms, sms), (client.emails, email), (client.whatsapp, whatsapp)):
        namespace.send(body)
        namespace.batch([body])
        if namespace is not client.sms:
            namespace.list(page=1, page_size=20, **FILTERS)
        namespace.get("m-1")
        namespace.timeline("m-1")
        namespace.cancel("m-1")


async def call_everything_async(client: AsyncHerald) -> None:
    sms = {"to": "+2348067000111", "body": "b", "senderId": "Acme"}
    email = {"from": "a@acme.example", "to": "b@example.com", "subject": "s", "text": "t"}
    whatsapp = {"to": "+2348067000111", "type": "text", "text": {"body": "b"}}
    await client.key()
    await client.sms.sender_ids(page=1, page_size=20)
    await client.emails.stats("2026-11-01", "2026-11-30")
    await client.sms.list(flow="OTP", page=1, page_size=20, **FILTERS)
    for namespace, body in ((client.sms, sms), (client.emails, email), (client.whatsapp, whatsapp)):
        await namespace.send(body)
        await namespace.batch([body])
        if namespace is not client.sms:
            await namespace.list(page=1, page_size=20, **FILTERS)
        await namespace.get("m-1")
        await namespace.timeline("m-1")
        await namespace.cancel("m-1")


def covered(received: List[Received]) -> Dict[Tuple[str, str], Received]:
    found = {}
    for request in received:
        op = operation_of(request)
        assert op is not None, f"{request.method} {request.path} is no operation of the document"
        found[(op["method"], op["path"])] = request
    return found


def check_coverage(received: List[Received]) -> None:
    sent = covered(received)
    documented = {(op["method"], op["path"]): op for op in operations()}
    assert len(documented) == 21
    assert set(sent) == set(documented), "operations of the document the SDK does not cover"
    for key, op in documented.items():
        request = sent[key]
        assert set(request.query) == op["query"], f"{op['operationId']}: query parameters"
        assert ("idempotency-key" in request.headers) == op["idempotency"], f"{op['operationId']}: Idempotency-Key"


def test_the_client_covers_every_operation_with_every_parameter():
    stand_in = StandIn().start()
    stand_in.router = route
    try:
        with fast_client(stand_in, max_retries=0) as client:
            call_everything(client)
    finally:
        stand_in.stop()
    check_coverage(stand_in.received)


def test_the_async_client_covers_every_operation_with_every_parameter():
    stand_in = StandIn().start()
    stand_in.router = route

    async def scenario():
        async with AsyncHerald(API_KEY, base_url=stand_in.url, max_retries=0) as client:
            await call_everything_async(client)

    try:
        asyncio.run(scenario())
    finally:
        stand_in.stop()
    check_coverage(stand_in.received)
