"""Verifying what Herald sends to your endpoints (Standard Webhooks) and Meta's X-Hub-Signature-256.

    event = webhooks.verify(raw_body, request.headers, "whsec_…")

`verify` checks the `webhook-signature` header (any of its space-separated `v1,` signatures, against
any of the secrets given, so a receiver keeps working across a secret rotation) over
`{webhook-id}.{webhook-timestamp}.{raw body}`, refuses a timestamp more than `tolerance` seconds from
now, and returns the typed event. Always pass the raw bytes as received: parsed and re-serialized
JSON no longer matches its signature. Deliveries come at least once: deduplicate on `event.id` (the
`webhook-id`, the same on every re-delivery).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import Any, Mapping, Optional, Sequence, Union

from .models import (
    EmailEvent,
    SmsEvent,
    SmsOptOutEvent,
    UnknownEvent,
    WebhookEvent,
    WebhookTestEvent,
    WhatsappEvent,
    event_class,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "EmailEvent",
    "SmsEvent",
    "SmsOptOutEvent",
    "UnknownEvent",
    "WebhookEvent",
    "WebhookTestEvent",
    "WebhookVerificationError",
    "WhatsappEvent",
    "parse_event",
    "sign",
    "verify",
    "verify_meta_signature",
    "verify_signature",
]

DEFAULT_TOLERANCE = 5 * 60
"""Seconds `webhook-timestamp` may be from now, either way."""

_TIMESTAMP = re.compile(r"[0-9]{1,15}")

Payload = Union[bytes, str]
Secrets = Union[str, Sequence[str]]


class WebhookVerificationError(Exception):
    """The request is not a genuine, fresh Herald event: answer it with a 400."""


def verify(
    payload: Payload,
    headers: Mapping[str, str],
    secret: Secrets,
    *,
    tolerance: Optional[float] = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> WebhookEvent:
    """Verifies a delivery and returns its event: an SmsEvent, EmailEvent, WhatsappEvent,
    SmsOptOutEvent, WebhookTestEvent, or an UnknownEvent for a type added after this SDK.

    `headers` is any mapping of the request's headers (names in any case). `secret` is one `whsec_`
    secret or a list of them (during a rotation). `tolerance=None` turns the timestamp check off;
    `now` (Unix seconds) replaces the clock. Raises WebhookVerificationError."""
    verify_signature(payload, headers, secret, tolerance=tolerance, now=now)
    return parse_event(payload)


def verify_signature(
    payload: Payload,
    headers: Mapping[str, str],
    secret: Secrets,
    *,
    tolerance: Optional[float] = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> None:
    """The checks of `verify`, without reading the body as an event."""
    keys = [_signing_key(s) for s in ([secret] if isinstance(secret, str) else secret)]
    if not keys:
        raise ValueError("no webhook secret given")
    webhook_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not webhook_id:
        raise WebhookVerificationError("webhook-id is empty")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookVerificationError("webhook-timestamp is not Unix seconds")
    if tolerance is not None:
        drift = (time.time() if now is None else now) - int(timestamp)
        if abs(drift) > tolerance:
            raise WebhookVerificationError(
                f"webhook-timestamp is {abs(drift):.0f} s {'old' if drift > 0 else 'ahead'}, more than {tolerance:g} s"
            )
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    candidates = [s.encode("utf-8") for s in signatures.split(" ") if s]
    for key in keys:
        expected = _signature(key, signed)
        if any(hmac.compare_digest(c, expected) for c in candidates):
            return
    raise WebhookVerificationError("no signature of webhook-signature matches")


def parse_event(payload: Payload) -> WebhookEvent:
    """The typed event of a body (already verified)."""
    try:
        data: Any = json.loads(payload)
    except ValueError as exc:
        raise WebhookVerificationError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict) or not all(k in data for k in ("id", "type", "createdAt", "data")):
        raise WebhookVerificationError("the body is not a Herald event")
    return event_class(str(data["type"])).from_dict(data)


def sign(payload: Payload, secret: str, webhook_id: str, timestamp: int) -> str:
    """The `webhook-signature` Herald would send: to test your own receiver."""
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    return _signature(_signing_key(secret), f"{webhook_id}.{timestamp}.".encode() + body).decode()


def verify_meta_signature(body: bytes, header: Optional[str], app_secret: str) -> None:
    """Checks Meta's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` with the app
    secret, in constant time. Raises WebhookVerificationError."""
    if not app_secret:
        raise ValueError("the app secret is empty")
    expected = "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest((header or "").encode("utf-8"), expected.encode()):
        raise WebhookVerificationError("X-Hub-Signature-256 does not match")


def _signing_key(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _signature(key: bytes, signed: bytes) -> bytes:
    return b"v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"the {name} header is missing")
