"""What the sync and async clients share: building requests and the retry policy.

A call is a `Call` (method, path, query, body, how to read the answer). `Core.flow(call)` is a
generator that yields what to do next, an `httpx.Request` to send or a `Sleep`, and receives the
answer (or has the transport error thrown into it); it returns the parsed result or raises the typed
error. The clients only perform those steps, one with httpx.Client and time.sleep, the other with
httpx.AsyncClient and asyncio.sleep, so the whole policy lives here once.
"""

from __future__ import annotations

import dataclasses
import os
import random
import uuid
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, Generator, Generic, Optional, TypeVar, Union
from urllib.parse import quote

import httpx

from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, HeraldError, error_from_response, retry_after
from .models import wire_name

T = TypeVar("T")

USER_AGENT = f"herald-python/{__version__}"


@dataclasses.dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation to perform: `parse` turns the answer's JSON into the result."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Optional[Dict[str, str]] = None
    json: Any = None
    idempotency_key: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Union[httpx.Request, Sleep]


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Retries on 429, 5xx and connection errors: at most `max_retries`, after `Retry-After` when the
    answer has one (capped at `max_retry_after`), else after an exponential backoff with jitter."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (0 for the first): between half of and the whole of
        initial_delay * 2**retry, capped at max_delay."""
        ceiling = min(self.max_delay, self.initial_delay * 2**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def delay(self, retry: int, response: Optional[httpx.Response]) -> float:
        asked = retry_after(response) if response is not None else None
        return min(asked, self.max_retry_after) if asked is not None else self.backoff(retry)


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def path_segment(value: str) -> str:
    if not value:
        raise ValueError("an id is required")
    return quote(value, safe="")


def query_value(value: Union[str, int, date, datetime]) -> str:
    """A query parameter as the API reads it; a naive datetime is taken as UTC."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def query(**values: Any) -> Dict[str, str]:
    """Query parameters from keyword arguments in snake_case; None values are left out."""
    return {wire_name(name): query_value(v) for name, v in values.items() if v is not None}


class Core:
    """A client's settings, and the flow of one call under the retry policy."""

    def __init__(
        self,
        api_key: Optional[str],
        base_url: Optional[str],
        timeout: float,
        retry: RetryPolicy,
    ) -> None:
        api_key = api_key or os.environ.get("HERALD_API_KEY")
        base_url = base_url or os.environ.get("HERALD_BASE_URL")
        if not api_key:
            raise ValueError("an API key is required: pass api_key or set HERALD_API_KEY")
        if not base_url:
            raise ValueError("the server's address is required: pass base_url or set HERALD_BASE_URL")
        if retry.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout)
        self.retry = retry

    def build_request(self, call: Call[Any]) -> httpx.Request:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        return httpx.Request(
            call.method,
            self.base_url + call.path,
            params=call.params,
            json=call.json,
            headers=headers,
            extensions={"timeout": self.timeout.as_dict()},
        )

    def flow(self, call: Call[T]) -> Generator[Step, Optional[httpx.Response], T]:
        """Yields the request (the same one, Idempotency-Key included, on every attempt) and the
        waits between attempts; returns the parsed answer or raises its HeraldError."""
        request = self.build_request(call)
        retry = 0
        while True:
            response: Optional[httpx.Response] = None
            cause: Optional[httpx.TransportError] = None
            try:
                response = yield request
            except httpx.TransportError as exc:
                cause = exc
            if response is not None and not retryable(response.status_code):
                return self.finish(call, response)
            if retry >= self.retry.max_retries:
                if response is not None:
                    raise error_from_response(response)
                kind = APITimeoutError if isinstance(cause, httpx.TimeoutException) else APIConnectionError
                raise kind(f"{call.method} {call.path}: no answer after {retry + 1} attempts: {cause!r}") from cause
            yield Sleep(self.retry.delay(retry, response))
            retry += 1

    @staticmethod
    def finish(call: Call[T], response: httpx.Response) -> T:
        if not response.is_success:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            raise HeraldError(
                f"{call.method} {call.path} answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from None
        return call.parse(body)
