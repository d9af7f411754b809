"""AsyncHerald against the stand-in: the same requests, retries and errors as the blocking client."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import API_KEY, UUID4, fast_async_client
from openapi import example

from herald_sdk import APITimeoutError, AsyncHerald, NotFoundError, WhatsappMessage

WHATSAPP = example("WhatsappMessage")
SEND = {"to": "+2348067000112", "type": "text", "text": {"body": "Your order has shipped"}}


def run(coroutine):
    return asyncio.run(coroutine)


def test_send_retries_with_one_idempotency_key(stand_in):
    stand_in.answer(502, {"error": {"code": "BAD_GATEWAY", "message": "upstream"}})
    stand_in.answer(drop=True)
    stand_in.answer(202, WHATSAPP)

    async def scenario():
        async with fast_async_client(stand_in) as client:
            return await client.whatsapp.send(SEND)

    message = run(scenario())
    assert isinstance(message, WhatsappMessage)
    assert message.text is not None and message.text.body == WHATSAPP["text"]["body"]
    assert len(stand_in.received) == 3
    keys = {r.headers["idempotency-key"] for r in stand_in.received}
    assert len(keys) == 1 and UUID4.match(keys.pop())
    request = stand_in.received[0]
    assert (request.method, request.path, request.json()) == ("POST", "/v1/public/whatsapp/send", SEND)
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["user-agent"] == "herald-python/0.1.0"


def test_retry_after_is_honoured(stand_in):
    stand_in.answer(429, {"error": {"code": "RATE_LIMITED", "message": "wait"}}, headers={"Retry-After": "1"})
    stand_in.answer(200, example("CurrentKey"))

    async def scenario():
        async with fast_async_client(stand_in) as client:
            started = time.monotonic()
            key = await client.key()
            return key, time.monotonic() - started

    key, waited = run(scenario())
    assert key.name == example("CurrentKey")["name"]
    assert 1.0 <= waited < 2.5


def test_errors_are_typed(stand_in):
    stand_in.answer(
        404, {"error": {"code": "NOT_FOUND", "message": "no such message"}}, headers={"X-Request-Id": "r-9"}
    )

    async def scenario():
        async with fast_async_client(stand_in) as client:
            await client.sms.get("0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f70")

    with pytest.raises(NotFoundError) as raised:
        run(scenario())
    assert (raised.value.status, raised.value.code, raised.value.request_id) == (404, "NOT_FOUND", "r-9")
    assert len(stand_in.received) == 1


def test_a_time_out_is_raised_after_the_retries(stand_in):
    stand_in.answer(200, WHATSAPP, delay=1.0)
    stand_in.answer(200, WHATSAPP, delay=1.0)

    async def scenario():
        async with fast_async_client(stand_in, timeout=0.2, max_retries=1) as client:
            await client.whatsapp.get("x")

    with pytest.raises(APITimeoutError):
        run(scenario())
    assert len(stand_in.received) == 2


def test_iterate_follows_the_pages(stand_in):
    sms = example("SmsMessage")
    stand_in.answer(200, {"data": [dict(sms, id="a"), dict(sms, id="b")], "page": 1, "pageSize": 2, "total": 3})
    stand_in.answer(200, {"data": [dict(sms, id="c")], "page": 2, "pageSize": 2, "total": 3})

    async def scenario():
        async with fast_async_client(stand_in) as client:
            return [m.id async for m in client.sms.iterate(flow="OTP", query="run-1", page_size=2)]

    assert run(scenario()) == ["a", "b", "c"]
    assert [r.query for r in stand_in.received] == [
        {"flow": "OTP", "query": "run-1", "pageSize": "2", "page": "1"},
        {"flow": "OTP", "query": "run-1", "pageSize": "2", "page": "2"},
    ]


def test_every_namespace_is_there(stand_in):
    stand_in.answer(200, example("EmailStats"))
    stand_in.answer(200, {"data": [], "page": 1, "pageSize": 20, "total": 0})
    stand_in.answer(200, dict(example("EmailMessage"), status="CANCELED"))
    stand_in.answer(200, {"data": [example("TimelineEntry")]})
    stand_in.answer(202, {"data": [example("EmailMessage")]})

    async def scenario():
        async with AsyncHerald(API_KEY, base_url=stand_in.url) as client:
            stats = await client.emails.stats("2026-11-01", "2026-11-02")
            senders = await client.sms.sender_ids()
            canceled = await client.emails.cancel("e-1")
            timeline = await client.emails.timeline("e-1")
            batch = await client.emails.batch(
                [{"from": "a@acme.example", "to": "b@example.com", "subject": "s", "text": "t"}]
            )
            return stats, senders, canceled, timeline, batch

    stats, senders, canceled, timeline, batch = run(scenario())
    assert stats.from_ == example("EmailStats")["from"]
    assert senders.total == 0 and senders.next_page is None
    assert canceled.status == "CANCELED"
    assert timeline[0].detail == example("TimelineEntry")["detail"]
    assert len(batch) == 1
    assert [(r.method, r.path) for r in stand_in.received] == [
        ("GET", "/v1/public/emails/stats"),
        ("GET", "/v1/public/sms/sender-ids"),
        ("POST", "/v1/public/emails/e-1/cancel"),
        ("GET", "/v1/public/emails/e-1/timeline"),
        ("POST", "/v1/public/emails/batch"),
    ]
