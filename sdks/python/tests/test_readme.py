"""The README's examples, run as written: each ```python block is preceded by
`<!-- example: live -->` (run, in order and sharing their variables, against the server of
HERALD_BASE_URL) or `<!-- example: offline -->` (run on its own, here)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from herald_sdk import webhooks

README = Path(__file__).parents[1] / "README.md"
BLOCK = re.compile(r"(?:<!-- example: (live|offline) -->\n)?```python\n(.*?)```", re.S)
SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def examples() -> List[Tuple[str, str]]:
    return [(kind, code) for kind, code in BLOCK.findall(README.read_text())]


def run(code: str, namespace: Dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), namespace)
    return out.getvalue()


def test_every_python_block_says_where_it_runs():
    kinds = [kind for kind, _ in examples()]
    assert kinds and all(kinds), "a ```python block without its <!-- example: … --> mark"
    assert kinds.count("offline") == 2 and kinds.count("live") >= 5


def webhook_example(monkeypatch):
    monkeypatch.setenv("HERALD_WEBHOOK_SECRET", SECRET)
    [code] = [code for kind, code in examples() if kind == "offline" and "def handle_herald_webhook" in code]
    namespace: Dict = {}
    run(code, namespace)
    return namespace


def delivery(body: dict, webhook_id: str, timestamp: int) -> Tuple[bytes, dict]:
    payload = json.dumps(body).encode()
    return payload, {
        "Webhook-Id": webhook_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": webhooks.sign(payload, SECRET, webhook_id, timestamp),
    }


def test_the_webhook_example_handles_each_event_once(monkeypatch):
    namespace = webhook_example(monkeypatch)
    handle = namespace["handle_herald_webhook"]
    now = int(time.time())
    event = {
        "id": "evt-1",
        "type": "sms_delivered",
        "createdAt": "2026-11-27T10:00:00Z",
        "organizationId": "org-1",
        "data": {"id": "sms-1", "status": "DELIVERED", "channel": "sms", "to": "+2348067000111"},
    }
    body, headers = delivery(event, "evt-1", now)

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert handle(body, headers) == 204
        assert handle(*delivery(event, "evt-1", now + 5)) == 204  # the same event again
    assert out.getvalue() == "sms_delivered: SMS sms-1 is DELIVERED\n"

    opt_out = {
        "id": "evt-2",
        "type": "sms_opt_out",
        "createdAt": "2026-11-27T10:00:00Z",
        "organizationId": "org-1",
        "data": {"phoneNumber": "+2348067000111", "action": "added", "source": "inbound", "occurredAt": "t"},
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert handle(*delivery(opt_out, "evt-2", now)) == 204
        assert handle(body.replace(b"DELIVERED", b"FAILED"), headers) == 400
        assert handle(*delivery(dict(event, id="evt-3"), "evt-3", now - 3600)) == 400
    lines = out.getvalue().splitlines()
    assert lines[0] == "+2348067000111 opted out"
    assert lines[1].startswith("refused a webhook: no signature")
    assert lines[2].startswith("refused a webhook: webhook-timestamp")
    assert namespace["handled_ids"] == {"evt-1", "evt-2"}


def test_the_meta_signature_example_verifies():
    [code] = [code for kind, code in examples() if kind == "offline" and "verify_meta_signature" in code]
    assert run(code, {}) == "from Meta\n"


@pytest.mark.skipif(not os.environ.get("HERALD_BASE_URL"), reason="needs a live server (HERALD_BASE_URL)")
def test_the_live_examples_run_against_the_server():
    namespace: Dict = {}
    output = "".join(run(code, namespace) for kind, code in examples() if kind == "live")
    assert namespace["sms"].status == "QUEUED"
    assert namespace["email"].status == "QUEUED" and namespace["whatsapp"].status == "QUEUED"
    assert namespace["again"].id == namespace["first"].id
    assert [m.status for m in namespace["batch"]] == ["QUEUED", "QUEUED"]
    assert namespace["page"].page_size == 50
    assert os.environ["HERALD_SMS_SENDER_ID"] in output
    assert "422 SENDER_ID_NOT_APPROVED" in output
    assert namespace["client"].key().name in output  # printed by the async example
