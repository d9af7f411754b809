"""The parity scenarios (sdks/parity/scenarios.json) against a live Herald, with this SDK's public API.

    HERALD_BASE_URL=… HERALD_API_KEY=… HERALD_SESSION_TOKEN=… HERALD_SMS_SENDER_ID=… \\
    HERALD_SDK_PARITY=sdks/parity/scenarios.json python parity.py

Every scenario runs with the blocking client; key_check and list_filters_and_paging run with the
async client as well. Prints `ok <name>` or `FAIL <name>: <why>` for each, and exits 1 when any failed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

import httpx

from herald_sdk import (
    AsyncHerald,
    AuthenticationError,
    ConflictError,
    Herald,
    HeraldError,
    IdempotencyKeyMismatchError,
    NotFoundError,
    SenderIdNotApprovedError,
    ValidationError,
    webhooks,
)

POLL_EVERY = 0.25
POLL_FOR = 30.0
ERROR_CLASSES: Dict[str, Type[HeraldError]] = {
    "VALIDATION_ERROR": ValidationError,
    "SENDER_ID_NOT_APPROVED": SenderIdNotApprovedError,
    "NOT_FOUND": NotFoundError,
    "UNAUTHORIZED": AuthenticationError,
    "CONFLICT": ConflictError,
    "IDEMPOTENCY_KEY_MISMATCH": IdempotencyKeyMismatchError,
}
UNEXPECTED_END = {"FAILED", "CANCELED", "BOUNCED", "COMPLAINED"}


class Failed(Exception):
    pass


def expect(condition: bool, why: str) -> None:
    if not condition:
        raise Failed(why)


def expect_error(call: Callable[[], Any], status: int, code: str, field: Optional[str] = None) -> HeraldError:
    try:
        call()
    except HeraldError as error:
        check_error(error, status, code, field)
        return error
    raise Failed(f"expected {status} {code}, the call succeeded")


def check_error(error: HeraldError, status: int, code: str, field: Optional[str] = None) -> None:
    expect((error.status, error.code) == (status, code), f"expected {status} {code}, got {error.status} {error.code}")
    expected_class = ERROR_CLASSES.get(code)
    expect(expected_class is None or isinstance(error, expected_class), f"{code} raised {type(error).__name__}")
    expect(bool(error.request_id), f"{code}: the error has no request id")
    if field is not None:
        fields = [d.field for d in error.details]
        expect(field in fields, f"{code}: details name {fields}, not {field}")


class Receiver:
    """An HTTP server on 127.0.0.1 that records what it receives and answers 204."""

    def __init__(self) -> None:
        self.deliveries: List[Tuple[Dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/herald"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Runner:
    def __init__(self, env: Dict[str, str]) -> None:
        self.base_url = env["HERALD_BASE_URL"]
        self.api_key = env["HERALD_API_KEY"]
        self.session_token = env["HERALD_SESSION_TOKEN"]
        self.sender_id = env["HERALD_SMS_SENDER_ID"]
        with open(env["HERALD_SDK_PARITY"]) as f:
            self.document = json.load(f)
        self.run_id = f"py-{uuid.uuid4().hex[:12]}"
        self.client = Herald(self.api_key, base_url=self.base_url)

    def fill(self, value: Any, run_id: Optional[str] = None) -> Any:
        """The scenario's data with $RUN, $SMS_SENDER_ID and $IN_1H replaced."""
        if isinstance(value, str):
            in_1h = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            return (
                value.replace("$RUN", run_id or self.run_id)
                .replace("$SMS_SENDER_ID", self.sender_id)
                .replace("$IN_1H", in_1h)
            )
        if isinstance(value, list):
            return [self.fill(v, run_id) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v, run_id) for k, v in value.items()}
        return value

    def channel(self, client: Any, name: str) -> Any:
        return {"sms": client.sms, "email": client.emails, "whatsapp": client.whatsapp}[name]

    def run_all(self) -> bool:
        scenarios: Dict[str, Callable[[Dict[str, Any]], None]] = {
            "key_check": self.key_check,
            "send_each_channel": self.send_each_channel,
            "idempotent_resend": self.idempotent_resend,
            "batch": self.batch,
            "list_filters_and_paging": self.list_filters_and_paging,
            "cancel_scheduled": self.cancel_scheduled,
            "errors_by_code": self.errors_by_code,
            "email_stats_and_sender_ids": self.email_stats_and_sender_ids,
            "webhook_delivery_verified": self.webhook_delivery_verified,
        }
        async_scenarios: Dict[str, Callable[[Dict[str, Any]], Any]] = {
            "key_check": self.key_check_async,
            "list_filters_and_paging": self.list_filters_and_paging_async,
        }
        passed = True
        for spec in self.document["scenarios"]:
            name = spec["name"]
            passed &= self.report(name, functools.partial(scenarios.get(name, self.unknown), spec))
            if name in async_scenarios:
                run_async = functools.partial(asyncio.run, async_scenarios[name](spec))
                passed &= self.report(f"{name} (async client)", run_async)
        self.client.close()
        return passed

    @staticmethod
    def report(label: str, run: Callable[[], Any]) -> bool:
        started = time.monotonic()
        try:
            run()
        except Exception as error:  # a scenario's failure, whatever it is, is reported as such
            why = str(error) if isinstance(error, Failed) else f"{type(error).__name__}: {error}"
            print(f"FAIL {label}: {why}", flush=True)
            return False
        print(f"ok {label} ({time.monotonic() - started:.1f}s)", flush=True)
        return True

    @staticmethod
    def unknown(spec: Dict[str, Any]) -> None:
        raise Failed(f"this runner does not know the scenario {spec['name']}")

    # --- the scenarios -------------------------------------------------------------------------------

    def key_check(self, spec: Dict[str, Any]) -> None:
        key = self.client.key()
        expect(sorted(key.scopes) == sorted(spec["expect"]["scopes"]), f"scopes {key.scopes}")
        expect(self.api_key.startswith(key.prefix), f"prefix {key.prefix} is not the key's")

    async def key_check_async(self, spec: Dict[str, Any]) -> None:
        async with AsyncHerald(self.api_key, base_url=self.base_url) as client:
            key = await client.key()
        expect(sorted(key.scopes) == sorted(spec["expect"]["scopes"]), f"scopes {key.scopes}")

    def send_each_channel(self, spec: Dict[str, Any]) -> None:
        for send in self.fill(spec["sends"]):
            namespace = self.channel(self.client, send["channel"])
            message = namespace.send(send["body"])
            label = f"{send['channel']} to {send['body']['to']}"
            expect(message.status == "QUEUED", f"{label} answered {message.status}")
            message = self.follow(namespace, message.id, send["final"], label)
            if send.get("errorPresent"):
                expect(message.error is not None and bool(message.error.code), f"{label}: no error on {message}")
            if "timeline" in send:
                prefix = send["channel"] + "_"
                types = [e.type for e in namespace.timeline(message.id) if e.type.startswith(prefix)]
                expect(types == send["timeline"], f"{label}: timeline {types}")

    def follow(self, namespace: Any, message_id: str, final: str, label: str) -> Any:
        deadline = time.monotonic() + POLL_FOR
        while True:
            message = namespace.get(message_id)
            if message.status == final:
                return message
            expect(message.status not in UNEXPECTED_END, f"{label} ended {message.status}, not {final}")
            expect(time.monotonic() < deadline, f"{label} is still {message.status} after {POLL_FOR:.0f}s")
            time.sleep(POLL_EVERY)

    def idempotent_resend(self, spec: Dict[str, Any]) -> None:
        spec = self.fill(spec)
        namespace = self.channel(self.client, spec["channel"])
        first = namespace.send(spec["body"], idempotency_key=spec["idempotencyKey"])
        again = namespace.send(spec["body"], idempotency_key=spec["idempotencyKey"])
        expect(again.id == first.id, f"the same key gave two messages: {first.id}, {again.id}")
        expected = spec["expectOther"]
        expect_error(
            lambda: namespace.send(spec["otherBody"], idempotency_key=spec["idempotencyKey"]),
            expected["status"],
            expected["code"],
        )
        keyless = [namespace.send(spec["body"]).id for _ in range(2)]
        expect(len({first.id, *keyless}) == 3, f"sends without a key were merged: {first.id}, {keyless}")
        total = namespace.list(query=spec["body"]["externalId"]).total
        expect(total == 3, f"{total} messages carry {spec['body']['externalId']}, expected 3")

    def batch(self, spec: Dict[str, Any]) -> None:
        spec = self.fill(spec)
        namespace = self.channel(self.client, spec["channel"])
        messages = namespace.batch(spec["messages"])
        expect(len(messages) == len(spec["messages"]), f"{len(messages)} messages answered")
        expect(all(m.status == "QUEUED" for m in messages), f"statuses {[m.status for m in messages]}")
        expect(
            [m.external_id for m in messages] == [m["externalId"] for m in spec["messages"]],
            "the batch's answer is not in request order",
        )
        valid_to = spec["invalid"][0]["to"].lstrip("+")
        before = namespace.list(query=valid_to).total
        expected = spec["expectInvalid"]
        expect_error(lambda: namespace.batch(spec["invalid"]), expected["status"], expected["code"], expected["field"])
        after = namespace.list(query=valid_to).total
        expect(after == before, f"the refused batch stored its valid item ({before} → {after})")

    def list_filters_and_paging(self, spec: Dict[str, Any], run_id: Optional[str] = None) -> None:
        spec = self.fill(spec, run_id)
        namespace = self.channel(self.client, spec["channel"])
        otp_ids = [namespace.send(dict(spec["body"], flow="OTP")).id for _ in range(spec["otp"])]
        for _ in range(spec["standard"]):
            namespace.send(dict(spec["body"], flow="STANDARD"))
        filters = {"query": spec["filter"]["query"], "flow": spec["filter"]["flow"], "page_size": spec["pageSize"]}
        page = namespace.list(**filters)
        expect(page.total == spec["expectTotal"], f"total {page.total}")
        expect(len(page.data) == spec["pageSize"], f"a page of {len(page.data)}")
        ids = [m.id for m in namespace.iterate(**filters)]
        expect(ids == otp_ids[::-1], f"the iterator gave {ids}, expected {otp_ids[::-1]}")

    async def list_filters_and_paging_async(self, spec: Dict[str, Any]) -> None:
        spec = self.fill(spec, f"{self.run_id}-async")
        async with AsyncHerald(self.api_key, base_url=self.base_url) as client:
            namespace = self.channel(client, spec["channel"])
            otp_ids = [(await namespace.send(dict(spec["body"], flow="OTP"))).id for _ in range(spec["otp"])]
            for _ in range(spec["standard"]):
                await namespace.send(dict(spec["body"], flow="STANDARD"))
            filters = {"query": spec["filter"]["query"], "flow": spec["filter"]["flow"], "page_size": spec["pageSize"]}
            page = await namespace.list(**filters)
            expect(page.total == spec["expectTotal"], f"total {page.total}")
            ids = [m.id async for m in namespace.iterate(**filters)]
        expect(ids == otp_ids[::-1], f"the iterator gave {ids}, expected {otp_ids[::-1]}")

    def cancel_scheduled(self, spec: Dict[str, Any]) -> None:
        spec = self.fill(spec)
        namespace = self.channel(self.client, spec["channel"])
        message = namespace.send(spec["body"])
        expect(message.status == "QUEUED" and message.scheduled_at is not None, f"sent as {message}")
        canceled = namespace.cancel(message.id)
        expect(canceled.status == "CANCELED", f"cancel answered {canceled.status}")
        expect(namespace.get(message.id).status == "CANCELED", "the message is not CANCELED afterwards")
        expected = spec["expectAgain"]
        expect_error(lambda: namespace.cancel(message.id), expected["status"], expected["code"])

    def errors_by_code(self, spec: Dict[str, Any]) -> None:
        for case in self.fill(spec["cases"]):
            expect_error(functools.partial(self.error_case, case), case["status"], case["code"], case.get("field"))

    def error_case(self, case: Dict[str, Any]) -> None:
        if case["call"] == "send":
            self.channel(self.client, case["channel"]).send(case["body"])
        elif case["call"] == "get":
            self.channel(self.client, case["channel"]).get(case["id"])
        elif case["call"] == "keyCheck":
            self.key_check_with(case["apiKey"])
        else:
            raise Failed(f"unknown call {case['call']}")

    def key_check_with(self, api_key: str) -> None:
        with Herald(api_key, base_url=self.base_url) as client:
            client.key()

    def email_stats_and_sender_ids(self, spec: Dict[str, Any]) -> None:
        today = datetime.now(timezone.utc).date()
        stats = self.client.emails.stats(from_=today, to=today)
        expect((stats.from_, stats.to) == (today.isoformat(),) * 2, f"the range is {stats.from_}..{stats.to}")
        expect(stats.totals.queued >= 0 and 0 <= stats.totals.delivery_rate <= 1, f"totals {stats.totals}")
        expect(len(stats.daily) == spec["statsDays"], f"{len(stats.daily)} daily rows")
        expect(stats.daily[0].date == today.isoformat(), f"the day is {stats.daily[0].date}")
        approved = [s.sender_id.lower() for s in self.client.sms.sender_ids(page_size=100).data]
        expect(self.sender_id.lower() in approved, f"{self.sender_id} is not among {approved}")

    def webhook_delivery_verified(self, spec: Dict[str, Any]) -> None:
        spec = self.fill(spec)
        receiver = Receiver()
        session = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.session_token}"}, timeout=30
        )
        endpoint: Optional[Dict[str, Any]] = None
        try:
            answer = session.post(
                "/v1/webhook-endpoints",
                json={"url": receiver.url, "eventTypes": spec["eventTypes"], "description": f"parity {self.run_id}"},
            )
            expect(answer.status_code == 201, f"creating the endpoint answered {answer.status_code}: {answer.text}")
            endpoint = answer.json()
            message = self.client.sms.send(spec["body"])
            headers, body = self.delivery_of(receiver, message.id)
            event = webhooks.verify(body, headers, endpoint["secret"])
            expect(event.type == spec["expectType"], f"the event is {event.type}")
            expect(isinstance(event, webhooks.SmsEvent) and event.data.id == message.id, f"the event is {event}")
            altered = body.replace(b"DELIVERED", b"DELIVERE_", 1)
            expect(altered != body, "the delivery carries no DELIVERED status to alter")
            self.expect_refused(lambda: webhooks.verify(altered, headers, endpoint["secret"]), "an altered body")
            late = int(headers["webhook-timestamp"]) + webhooks.DEFAULT_TOLERANCE + 1
            self.expect_refused(
                lambda: webhooks.verify(body, headers, endpoint["secret"], now=late), "a timestamp out of tolerance"
            )
        finally:
            if endpoint is not None:
                deleted = session.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
                expect(deleted.status_code == 204, f"deleting the endpoint answered {deleted.status_code}")
            session.close()
            receiver.close()

    def delivery_of(self, receiver: Receiver, message_id: str) -> Tuple[Dict[str, str], bytes]:
        deadline = time.monotonic() + POLL_FOR
        while time.monotonic() < deadline:
            for headers, body in list(receiver.deliveries):
                if json.loads(body).get("data", {}).get("id") == message_id:
                    return headers, body
            time.sleep(POLL_EVERY)
        raise Failed(f"no delivery for {message_id} within {POLL_FOR:.0f}s ({len(receiver.deliveries)} others)")

    @staticmethod
    def expect_refused(call: Callable[[], Any], what: str) -> None:
        try:
            call()
        except webhooks.WebhookVerificationError:
            return
        raise Failed(f"{what} was accepted")


def main() -> int:
    names = ["HERALD_BASE_URL", "HERALD_API_KEY", "HERALD_SESSION_TOKEN", "HERALD_SMS_SENDER_ID", "HERALD_SDK_PARITY"]
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        print(f"parity: set {', '.join(missing)}", file=sys.stderr)
        return 2
    runner = Runner(dict(os.environ))
    print(f"parity: run {runner.run_id} against {runner.base_url}", flush=True)
    return 0 if runner.run_all() else 1


if __name__ == "__main__":
    sys.exit(main())
