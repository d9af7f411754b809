"""Webhook verification: every vector of vectors/signatures.json, then freshly signed requests."""

from __future__ import annotations

import json

import pytest
from openapi import example, vectors, webhook_schemas

from herald_sdk import webhooks
from herald_sdk.models import SCHEMAS
from herald_sdk.webhooks import WebhookVerificationError

SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
OTHER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1795773600


def headers_of(vector) -> dict:
    return {
        "webhook-id": vector["id"],
        "webhook-timestamp": str(vector["timestamp"]),
        "webhook-signature": vector["signature"],
    }


def signed(payload: str, secret: str = SECRET, webhook_id: str = "evt-1", timestamp: int = NOW) -> dict:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(payload, secret, webhook_id, timestamp),
    }


@pytest.mark.parametrize("vector", vectors()["standardWebhooks"], ids=lambda v: v["name"])
def test_standard_webhooks_vectors(vector):
    headers = headers_of(vector)
    for payload in (vector["payload"], vector["payload"].encode()):
        # The tolerance off, and the clock set to the vector's time: both must agree with 'valid'.
        for options in ({"tolerance": None}, {"now": vector["timestamp"]}):
            if vector["valid"]:
                webhooks.verify_signature(payload, headers, vector["secret"], **options)
            else:
                with pytest.raises(WebhookVerificationError):
                    webhooks.verify_signature(payload, headers, vector["secret"], **options)


def test_the_platform_event_vector_reads_as_a_typed_event():
    [vector] = [v for v in vectors()["standardWebhooks"] if v["name"] == "platform event"]
    event = webhooks.verify(vector["payload"], headers_of(vector), vector["secret"], now=vector["timestamp"])
    assert isinstance(event, webhooks.SmsEvent)
    assert (event.id, event.type, event.organization_id) == (
        vector["id"],
        "sms_delivered",
        "0193a3b2-0000-7000-8000-000000000001",
    )
    assert (event.data.id, event.data.status, event.data.to) == (
        "0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f71",
        "DELIVERED",
        "+2348067000111",
    )


def test_the_vectors_default_clock_refuses_them_as_stale():
    vector = vectors()["standardWebhooks"][0]
    with pytest.raises(WebhookVerificationError, match="old"):
        webhooks.verify_signature(vector["payload"], headers_of(vector), vector["secret"])


@pytest.mark.parametrize("vector", vectors()["whatsappHubSignature256"], ids=lambda v: v["name"])
def test_meta_signature_vectors(vector):
    body = vector["body"].encode()
    if vector["valid"]:
        webhooks.verify_meta_signature(body, vector["header"], vector["appSecret"])
    else:
        with pytest.raises(WebhookVerificationError):
            webhooks.verify_meta_signature(body, vector["header"], vector["appSecret"])


def test_meta_signature_refuses_a_missing_header_and_another_secret():
    vector = vectors()["whatsappHubSignature256"][0]
    body = vector["body"].encode()
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_meta_signature(body, None, vector["appSecret"])
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_meta_signature(body, vector["header"], vector["appSecret"] + "x")
    with pytest.raises(ValueError):
        webhooks.verify_meta_signature(body, vector["header"], "")


@pytest.mark.parametrize("drift", [-300, 0, 300])
def test_timestamps_within_the_tolerance_pass(drift):
    payload = json.dumps({"id": "evt-1", "type": "webhook_test", "createdAt": "x", "organizationId": "o", "data": {}})
    webhooks.verify(payload, signed(payload), SECRET, now=NOW + drift)


@pytest.mark.parametrize("drift", [-301, 301, 86400])
def test_timestamps_outside_the_tolerance_are_refused(drift):
    payload = "{}"
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp"):
        webhooks.verify_signature(payload, signed(payload), SECRET, now=NOW + drift)
    webhooks.verify_signature(payload, signed(payload), SECRET, now=NOW + drift, tolerance=abs(drift))


def test_several_signatures_and_several_secrets():
    payload = "{}"
    both = signed(payload, OTHER_SECRET)["webhook-signature"] + " " + signed(payload)["webhook-signature"]
    headers = dict(signed(payload), **{"webhook-signature": both})
    webhooks.verify_signature(payload, headers, SECRET, now=NOW)
    webhooks.verify_signature(payload, headers, OTHER_SECRET, now=NOW)
    only_new = signed(payload, OTHER_SECRET)
    webhooks.verify_signature(payload, only_new, [SECRET, OTHER_SECRET], now=NOW)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(payload, only_new, [SECRET], now=NOW)


def test_header_names_in_any_case():
    payload = "{}"
    headers = {name.title(): value for name, value in signed(payload).items()}
    webhooks.verify_signature(payload, headers, SECRET, now=NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-id": "evt-2"},
        {"webhook-timestamp": str(NOW + 1)},
        {"webhook-timestamp": "17957736OO"},
        {"webhook-timestamp": ""},
        {"webhook-id": ""},
        {"webhook-signature": ""},
        {"webhook-signature": "v1,not base64"},
        {"webhook-signature": "v2," + "A" * 44},
        {"webhook-signature": "v1,ünïcode"},
    ],
)
def test_altered_or_malformed_headers_are_refused(change):
    payload = "{}"
    headers = dict(signed(payload), **change)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(payload, headers, SECRET, tolerance=None)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing):
    payload = "{}"
    headers = {k: v for k, v in signed(payload).items() if k != missing}
    with pytest.raises(WebhookVerificationError, match=missing):
        webhooks.verify_signature(payload, headers, SECRET, now=NOW)


def test_a_body_changed_by_one_byte_is_refused():
    payload = '{"a":1}'
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature('{"a":2}', signed(payload), SECRET, now=NOW)


@pytest.mark.parametrize("secret", ["", "whsec_", "C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_not*base64", []])
def test_malformed_secrets_are_a_programming_error(secret):
    payload = "{}"
    with pytest.raises(ValueError):
        webhooks.verify_signature(payload, signed(payload), secret, now=NOW)


@pytest.mark.parametrize("event_type, schema_name", sorted(webhook_schemas().items()))
def test_every_event_type_verifies_to_its_typed_event(event_type, schema_name):
    body = dict(example(schema_name), type=event_type)
    payload = json.dumps(body)
    event = webhooks.verify(payload.encode(), signed(payload), SECRET, now=NOW)
    assert type(event) in SCHEMAS[schema_name]
    assert (event.id, event.type, event.created_at) == (body["id"], event_type, body["createdAt"])
    data_model = type(event.data)
    assert data_model.from_dict(body["data"]) == event.data


def test_an_event_type_added_later_is_kept_raw():
    payload = json.dumps({"id": "e", "type": "fax_sent", "createdAt": "t", "organizationId": "o", "data": {"x": 1}})
    event = webhooks.verify(payload, signed(payload), SECRET, now=NOW)
    assert isinstance(event, webhooks.UnknownEvent)
    assert (event.type, event.data) == ("fax_sent", {"x": 1})


def test_a_verified_body_that_is_no_event_is_refused():
    for payload in ('{"email":"test@example.com"}', "[1]", "not json"):
        with pytest.raises(WebhookVerificationError):
            webhooks.verify(payload, signed(payload), SECRET, now=NOW)
