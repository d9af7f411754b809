"""Errors: every failed call raises a `HeraldError`, of the class its HTTP status and code name.

HeraldError
├── APIConnectionError            no answer (connection refused or reset); status is None
│   └── APITimeoutError           the time-out passed
├── BadRequestError               400 INVALID_JSON
├── AuthenticationError           401 UNAUTHORIZED
├── PermissionDeniedError         403 FORBIDDEN
│   └── InsufficientScopeError    403 INSUFFICIENT_SCOPE
├── NotFoundError                 404 NOT_FOUND
├── ConflictError                 409 CONFLICT (a cancel of a message no longer QUEUED)
│   └── IdempotencyKeyMismatchError  409 IDEMPOTENCY_KEY_MISMATCH
├── PayloadTooLargeError          413
├── UnsupportedMediaTypeError     415
├── UnprocessableError            422
│   ├── ValidationError           VALIDATION_ERROR (`details` names each field)
│   ├── SenderIdNotApprovedError  SENDER_ID_NOT_APPROVED
│   ├── RecipientOptedOutError    RECIPIENT_OPTED_OUT
│   ├── RecipientSuppressedError  RECIPIENT_SUPPRESSED
│   ├── ChannelDisabledError      CHANNEL_DISABLED
│   └── DomainNotVerifiedError    DOMAIN_NOT_VERIFIED
├── RateLimitError                429 RATE_LIMITED (`retry_after` in seconds)
└── ServerError                   5xx
    └── ServiceUnavailableError   503 SERVICE_UNAVAILABLE
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Type

import httpx

from .models import FieldError

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ChannelDisabledError",
    "ConflictError",
    "DomainNotVerifiedError",
    "HeraldError",
    "IdempotencyKeyMismatchError",
    "InsufficientScopeError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecipientOptedOutError",
    "RecipientSuppressedError",
    "SenderIdNotApprovedError",
    "ServerError",
    "ServiceUnavailableError",
    "UnprocessableError",
    "UnsupportedMediaTypeError",
    "ValidationError",
]


class HeraldError(Exception):
    """A call that failed. `status` is the HTTP status (None when no answer came), `code` the API's
    UPPER_SNAKE error code, `details` the invalid fields, `request_id` the answer's X-Request-Id."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        details: Sequence[FieldError] = (),
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: List[FieldError] = list(details)
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [f"{self.status} {self.code}: {self.message}" if self.status else self.message]
        parts += [f"{d.field}: {d.message}" for d in self.details]
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return "; ".join(parts)


class APIConnectionError(HeraldError):
    pass


class APITimeoutError(APIConnectionError):
    pass


class BadRequestError(HeraldError):
    pass


class AuthenticationError(HeraldError):
    pass


class PermissionDeniedError(HeraldError):
    pass


class InsufficientScopeError(PermissionDeniedError):
    pass


class NotFoundError(HeraldError):
    pass


class ConflictError(HeraldError):
    pass


class IdempotencyKeyMismatchError(ConflictError):
    pass


class PayloadTooLargeError(HeraldError):
    pass


class UnsupportedMediaTypeError(HeraldError):
    pass


class UnprocessableError(HeraldError):
    pass


class ValidationError(UnprocessableError):
    pass


class SenderIdNotApprovedError(UnprocessableError):
    pass


class RecipientOptedOutError(UnprocessableError):
    pass


class RecipientSuppressedError(UnprocessableError):
    pass


class ChannelDisabledError(UnprocessableError):
    pass


class DomainNotVerifiedError(UnprocessableError):
    pass


class RateLimitError(HeraldError):
    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(HeraldError):
    pass


class ServiceUnavailableError(ServerError):
    pass


_BY_CODE: Dict[str, Type[HeraldError]] = {
    "INSUFFICIENT_SCOPE": InsufficientScopeError,
    "IDEMPOTENCY_KEY_MISMATCH": IdempotencyKeyMismatchError,
    "VALIDATION_ERROR": ValidationError,
    "SENDER_ID_NOT_APPROVED": SenderIdNotApprovedError,
    "RECIPIENT_OPTED_OUT": RecipientOptedOutError,
    "RECIPIENT_SUPPRESSED": RecipientSuppressedError,
    "CHANNEL_DISABLED": ChannelDisabledError,
    "DOMAIN_NOT_VERIFIED": DomainNotVerifiedError,
}

_BY_STATUS: Dict[int, Type[HeraldError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def retry_after(response: httpx.Response) -> Optional[float]:
    """The answer's `Retry-After` in seconds, when it holds a non-negative number."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def error_from_response(response: httpx.Response) -> HeraldError:
    """The typed error of a failed answer, from its status and `{"error": {code, message, details}}`."""
    try:
        body = response.json()["error"]
        code, message = body["code"], body["message"]
        details = [FieldError.from_dict(d) for d in body.get("details") or []]
    except (ValueError, KeyError, TypeError):
        code, details = None, []
        message = response.text.strip()[:500] or response.reason_phrase or "no error body"
    status = response.status_code
    kind = _BY_CODE.get(code or "") or _BY_STATUS.get(status)
    if kind is None:
        kind = ServerError if status >= 500 else HeraldError
    common = dict(status=status, code=code, details=details, request_id=response.headers.get("x-request-id"))
    if kind is RateLimitError:
        return RateLimitError(message, retry_after=retry_after(response), **common)
    return kind(message, **common)
