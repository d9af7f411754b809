"""The blocking client against a local stand-in server: requests, retries, idempotency, errors."""

from __future__ import annotations

import socket
import time
from datetime import date, datetime, timezone
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, UUID4, fast_client
from openapi import example

import herald_sdk
from herald_sdk import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Herald,
    HeraldError,
    IdempotencyKeyMismatchError,
    InsufficientScopeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RecipientOptedOutError,
    SenderIdNotApprovedError,
    ServerError,
    ServiceUnavailableError,
    SmsMessage,
    UnprocessableError,
    ValidationError,
)
from herald_sdk._core import RetryPolicy

SMS = example("SmsMessage")
SEND = {"to": "+2348067000111", "body": "Your code is 123456", "senderId": "Acme"}


def error_body(code: str, message: str = "refused", details=None) -> dict:
    body = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def test_send_sends_the_body_with_the_key_an_idempotency_key_and_the_user_agent(stand_in, client):
    stand_in.answer(202, SMS)
    message = client.sms.send(SEND)

    assert isinstance(message, SmsMessage)
    assert (message.id, message.status, message.sender_id, message.segments) == (
        SMS["id"],
        SMS["status"],
        SMS["senderId"],
        SMS["segments"],
    )
    assert message.error is not None and message.error.code == SMS["error"]["code"]
    [request] = stand_in.received
    assert (request.method, request.path) == ("POST", "/v1/public/sms/send")
    assert request.json() == SEND
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "herald-python/0.1.0"
    assert UUID4.match(request.headers["idempotency-key"])


def test_user_agent_names_the_packaged_version():
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'path = "src/herald_sdk/_version.py"' in pyproject
    assert herald_sdk.__version__ == "0.1.0"
    changelog = (Path(__file__).parents[1] / "CHANGELOG.md").read_text()
    assert f"## {herald_sdk.__version__}\n" in changelog


def test_each_send_gets_a_key_of_its_own_and_a_given_key_is_used(stand_in, client):
    for _ in range(3):
        stand_in.answer(202, SMS)
    client.sms.send(SEND)
    client.sms.send(SEND)
    client.sms.send(SEND, idempotency_key="order-1043")
    keys = [r.headers["idempotency-key"] for r in stand_in.received]
    assert keys[0] != keys[1]
    assert keys[2] == "order-1043"


def test_reads_do_not_carry_an_idempotency_key(stand_in, client):
    stand_in.answer(200, SMS)
    client.sms.get(SMS["id"])
    assert "idempotency-key" not in stand_in.received[0].headers


def test_a_retried_send_reuses_its_idempotency_key_and_body(stand_in, client):
    stand_in.answer(503, error_body("SERVICE_UNAVAILABLE"))
    stand_in.answer(500, error_body("INTERNAL"))
    stand_in.answer(202, SMS)
    message = client.sms.send(SEND)

    assert message.id == SMS["id"]
    assert len(stand_in.received) == 3
    assert len({r.headers["idempotency-key"] for r in stand_in.received}) == 1
    assert all(r.json() == SEND for r in stand_in.received)


def test_a_batch_is_retried_with_one_key(stand_in, client):
    stand_in.answer(429, error_body("RATE_LIMITED"), headers={"Retry-After": "0"})
    stand_in.answer(202, {"data": [SMS, SMS]})
    messages = client.sms.batch([SEND, SEND])

    assert [m.id for m in messages] == [SMS["id"], SMS["id"]]
    first, second = stand_in.received
    assert first.path == "/v1/public/sms/batch"
    assert first.json() == {"messages": [SEND, SEND]}
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_a_connection_closed_without_an_answer_is_retried(stand_in, client):
    stand_in.answer(drop=True)
    stand_in.answer(202, SMS)
    assert client.sms.send(SEND).id == SMS["id"]
    first, second = stand_in.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_retry_after_is_honoured(stand_in, client):
    stand_in.answer(429, error_body("RATE_LIMITED"), headers={"Retry-After": "1"})
    stand_in.answer(200, SMS)
    started = time.monotonic()
    client.sms.get(SMS["id"])
    waited = time.monotonic() - started
    # The client's own backoff is 10 to 20 ms: only Retry-After explains a second.
    assert 1.0 <= waited < 2.5
    assert len(stand_in.received) == 2


def test_gives_up_after_max_retries_with_the_last_answers_error(stand_in, client):
    for n in range(4):
        stand_in.answer(503, error_body("SERVICE_UNAVAILABLE", f"down {n}"), headers={"X-Request-Id": f"r{n}"})
    with pytest.raises(ServiceUnavailableError) as raised:
        client.sms.send(SEND)
    assert len(stand_in.received) == 4  # the first attempt and 3 retries
    error = raised.value
    assert (error.status, error.code, error.message, error.request_id) == (503, "SERVICE_UNAVAILABLE", "down 3", "r3")


def test_max_retries_is_configurable(stand_in):
    for _ in range(3):
        stand_in.answer(500, error_body("INTERNAL"))
    with fast_client(stand_in, max_retries=1) as client, pytest.raises(ServerError):
        client.key()
    assert len(stand_in.received) == 2
    with fast_client(stand_in, max_retries=0) as client, pytest.raises(ServerError):
        client.key()
    assert len(stand_in.received) == 3


def test_a_rate_limit_error_carries_retry_after(stand_in):
    stand_in.answer(429, error_body("RATE_LIMITED", "slow down"), headers={"Retry-After": "7"})
    with fast_client(stand_in, max_retries=0) as client, pytest.raises(RateLimitError) as raised:
        client.key()
    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (429, "RATE_LIMITED", 7.0)


def test_client_errors_are_not_retried(stand_in, client):
    details = [{"field": "body", "message": "is required"}, {"field": "to", "message": "must be E.164"}]
    stand_in.answer(422, error_body("VALIDATION_ERROR", "the request is not valid", details))
    with pytest.raises(ValidationError) as raised:
        client.sms.send({"to": "2348067000111", "senderId": "Acme"})
    assert len(stand_in.received) == 1
    error = raised.value
    assert (error.status, error.code, error.message) == (422, "VALIDATION_ERROR", "the request is not valid")
    assert [(d.field, d.message, d.code) for d in error.details] == [
        ("body", "is required", None),
        ("to", "must be E.164", None),
    ]
    assert error.request_id == "req-1"
    assert "body: is required" in str(error) and "req-1" in str(error)


@pytest.mark.parametrize(
    "status, code, kind, parents",
    [
        (400, "INVALID_JSON", BadRequestError, ()),
        (401, "UNAUTHORIZED", AuthenticationError, ()),
        (403, "FORBIDDEN", PermissionDeniedError, ()),
        (403, "INSUFFICIENT_SCOPE", InsufficientScopeError, (PermissionDeniedError,)),
        (404, "NOT_FOUND", NotFoundError, ()),
        (409, "CONFLICT", ConflictError, ()),
        (409, "IDEMPOTENCY_KEY_MISMATCH", IdempotencyKeyMismatchError, (ConflictError,)),
        (422, "SENDER_ID_NOT_APPROVED", SenderIdNotApprovedError, (UnprocessableError,)),
        (422, "RECIPIENT_OPTED_OUT", RecipientOptedOutError, (UnprocessableError,)),
        (422, "SOMETHING_NEW", UnprocessableError, ()),
        (418, "TEAPOT", HeraldError, ()),
    ],
)
def test_errors_are_typed_by_code_then_status(stand_in, client, status, code, kind, parents):
    stand_in.answer(status, error_body(code, "no"), headers={"X-Request-Id": "abc"})
    with pytest.raises(kind) as raised:
        client.emails.get("0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f70")
    error = raised.value
    assert type(error) is kind and isinstance(error, parents + (HeraldError,))
    assert (error.status, error.code, error.message, error.request_id) == (status, code, "no", "abc")


def test_an_error_without_the_error_shape_keeps_its_status_and_text(stand_in):
    stand_in.answer(502, raw=b"<html>bad gateway</html>")
    with fast_client(stand_in, max_retries=0) as client, pytest.raises(ServerError) as raised:
        client.key()
    assert (raised.value.status, raised.value.code, raised.value.message) == (502, None, "<html>bad gateway</html>")


def test_a_success_that_is_not_json_is_an_error(stand_in, client):
    stand_in.answer(200, raw=b"not json")
    with pytest.raises(HeraldError) as raised:
        client.key()
    assert raised.value.status == 200 and "not JSON" in raised.value.message


def test_a_time_out_is_retried_then_raised(stand_in):
    stand_in.answer(200, SMS, delay=1.0)
    stand_in.answer(200, SMS, delay=1.0)
    with fast_client(stand_in, timeout=0.2, max_retries=1) as client, pytest.raises(APITimeoutError) as raised:
        client.sms.get(SMS["id"])
    assert raised.value.status is None
    assert len(stand_in.received) == 2


def test_a_refused_connection_raises_after_the_retries():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Herald(API_KEY, base_url=f"http://127.0.0.1:{port}", initial_retry_delay=0.01, max_retry_delay=0.01)
    with client, pytest.raises(APIConnectionError) as raised:
        client.key()
    assert not isinstance(raised.value, APITimeoutError)
    assert "4 attempts" in str(raised.value)


def test_backoff_doubles_with_jitter_up_to_its_cap():
    policy = RetryPolicy(initial_delay=0.5, max_delay=3.0)
    for retry, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (6, 3.0)]:
        waits = [policy.backoff(retry) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 100  # jittered, not one fixed wait


def test_list_sends_every_filter_in_the_apis_names(stand_in, client):
    stand_in.answer(200, {"data": [SMS], "page": 2, "pageSize": 10, "total": 11})
    page = client.sms.list(
        status="DELIVERED",
        flow="OTP",
        query="2348067",
        created_from=datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc),
        created_to="2026-11-28T00:00:00Z",
        page=2,
        page_size=10,
    )
    assert stand_in.received[0].query == {
        "status": "DELIVERED",
        "flow": "OTP",
        "query": "2348067",
        "createdFrom": "2026-11-27T10:00:00Z",
        "createdTo": "2026-11-28T00:00:00Z",
        "page": "2",
        "pageSize": "10",
    }
    assert (page.page, page.page_size, page.total, page.next_page) == (2, 10, 11, None)
    assert [m.id for m in page.data] == [SMS["id"]]


def test_iterate_follows_the_pages_until_the_total(stand_in, client):
    items = [dict(SMS, id=f"id-{n}") for n in range(5)]
    for number, chunk in enumerate([items[0:2], items[2:4], items[4:5]], start=1):
        stand_in.answer(200, {"data": chunk, "page": number, "pageSize": 2, "total": 5})
    ids = [m.id for m in client.sms.iterate(flow="OTP", page_size=2)]
    assert ids == [f"id-{n}" for n in range(5)]
    assert [r.query for r in stand_in.received] == [{"flow": "OTP", "pageSize": "2", "page": str(n)} for n in (1, 2, 3)]


def test_iterate_stops_at_an_empty_page(stand_in, client):
    stand_in.answer(200, {"data": [], "page": 1, "pageSize": 20, "total": 3})
    assert list(client.whatsapp.iterate()) == []
    assert len(stand_in.received) == 1


def test_message_paths_quote_the_id(stand_in, client):
    email = example("EmailMessage")
    stand_in.answer(200, email)
    stand_in.answer(200, {"data": [example("TimelineEntry")]})
    stand_in.answer(200, dict(email, status="CANCELED"))
    client.emails.get("a/b")
    [entry] = client.emails.timeline("id-1")
    canceled = client.emails.cancel("id-1")
    assert [(r.method, r.path) for r in stand_in.received] == [
        ("GET", "/v1/public/emails/a%2Fb"),
        ("GET", "/v1/public/emails/id-1/timeline"),
        ("POST", "/v1/public/emails/id-1/cancel"),
    ]
    assert entry.type == example("TimelineEntry")["type"]
    assert canceled.status == "CANCELED" and canceled.from_ == email["from"]
    assert canceled.attachments[0].size == email["attachments"][0]["size"]


def test_stats_sender_ids_and_key(stand_in, client):
    stand_in.answer(200, example("EmailStats"))
    stand_in.answer(200, {"data": [example("ApprovedSenderId")], "page": 1, "pageSize": 20, "total": 1})
    stand_in.answer(200, example("CurrentKey"))
    stats = client.emails.stats(from_=date(2026, 11, 1), to="2026-11-30")
    senders = client.sms.sender_ids(page_size=5)
    key = client.key()
    assert [(r.path, r.query) for r in stand_in.received] == [
        ("/v1/public/emails/stats", {"from": "2026-11-01", "to": "2026-11-30"}),
        ("/v1/public/sms/sender-ids", {"pageSize": "5"}),
        ("/v1/public/key", {}),
    ]
    assert stats.totals.delivery_rate == example("EmailStatsTotals")["deliveryRate"]
    assert stats.daily[0].date == example("EmailStatsDay")["date"]
    assert senders.data[0].sender_id == example("ApprovedSenderId")["senderId"]
    assert key.scopes == example("CurrentKey")["scopes"]


def test_settings_come_from_the_environment(stand_in, monkeypatch):
    monkeypatch.setenv("HERALD_API_KEY", "hk_from_env")
    monkeypatch.setenv("HERALD_BASE_URL", stand_in.url + "/")
    stand_in.answer(200, example("CurrentKey"))
    with Herald() as client:
        client.key()
    assert stand_in.received[0].headers["authorization"] == "Bearer hk_from_env"
    assert stand_in.received[0].path == "/v1/public/key"


def test_missing_settings_are_refused(monkeypatch):
    monkeypatch.delenv("HERALD_API_KEY", raising=False)
    monkeypatch.delenv("HERALD_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="API key"):
        Herald(base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="HERALD_BASE_URL"):
        Herald("hk_x")


def test_a_given_http_client_is_used_and_left_open(stand_in):
    stand_in.answer(200, example("CurrentKey"))
    with httpx.Client() as http:
        with Herald(API_KEY, base_url=stand_in.url, http_client=http) as client:
            client.key()
        assert not http.is_closed
    assert stand_in.received[0].path == "/v1/public/key"


def test_the_stand_in_answers_unscripted_requests_with_an_error(stand_in):
    # Guards the other tests: a request nobody scripted fails loudly instead of passing by chance.
    with fast_client(stand_in, max_retries=0) as client, pytest.raises(ServerError) as raised:
        client.key()
    assert (raised.value.status, raised.value.code) == (599, "STAND_IN")
