"""The two clients: `Herald` (blocking) and `AsyncHerald` (asyncio). Both run the calls that
`_resources.Operations` builds through the flow of `_core.Core`; they differ only in how they send
a request and how they wait."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Optional, Type, TypeVar

import httpx

from ._core import Call, Core, RetryPolicy, Sleep
from ._resources import (
    AsyncEmails,
    AsyncSms,
    AsyncWhatsapp,
    Emails,
    Operations,
    Sms,
    Whatsapp,
    key_call,
)
from .models import CurrentKey, EmailMessage, SmsMessage, WhatsappMessage

T = TypeVar("T")


def _core(
    api_key: Optional[str],
    base_url: Optional[str],
    timeout: float,
    max_retries: int,
    initial_retry_delay: float,
    max_retry_delay: float,
) -> Core:
    policy = RetryPolicy(max_retries=max_retries, initial_delay=initial_retry_delay, max_delay=max_retry_delay)
    return Core(api_key, base_url, timeout, policy)


class Herald:
    """A Herald client.

        client = Herald(api_key="hk_…", base_url="https://herald.example.com")
        client.sms.send({"to": "+2348067000111", "body": "Hi", "senderId": "Acme"})

    `api_key` and `base_url` default to HERALD_API_KEY and HERALD_BASE_URL. `timeout` is per attempt,
    in seconds. A request answered 429 or 5xx, or not answered, is tried again up to `max_retries`
    times, after its Retry-After or an exponential backoff with jitter (from `initial_retry_delay`,
    doubling, at most `max_retry_delay`). `http_client` is an httpx.Client of your own (proxies,
    certificates); the client closes only the one it made.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        initial_retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        self._core = _core(api_key, base_url, timeout, max_retries, initial_retry_delay, max_retry_delay)
        self._http = http_client or httpx.Client()
        self._owns_http = http_client is None
        self.sms = Sms(self, Operations("sms", SmsMessage))
        self.emails = Emails(self, Operations("emails", EmailMessage))
        self.whatsapp = Whatsapp(self, Operations("whatsapp", WhatsappMessage))

    def key(self) -> CurrentKey:
        """The API key in use: its name, prefix, scopes and organization."""
        return self._run(key_call())

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Herald:
        return self

    def __exit__(
        self, kind: Optional[Type[BaseException]], error: Optional[BaseException], trace: Optional[TracebackType]
    ) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        flow = self._core.flow(call)
        step = next(flow)
        try:
            while True:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = self._http.send(step)
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as done:
            return done.value


class AsyncHerald:
    """The asyncio client: the same settings and namespaces as `Herald`, every call awaited.

    async with AsyncHerald() as client:
        message = await client.sms.send({...})
        async for sms in client.sms.iterate(flow="OTP"):
            ...
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        initial_retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        self._core = _core(api_key, base_url, timeout, max_retries, initial_retry_delay, max_retry_delay)
        self._http = http_client or httpx.AsyncClient()
        self._owns_http = http_client is None
        self.sms = AsyncSms(self, Operations("sms", SmsMessage))
        self.emails = AsyncEmails(self, Operations("emails", EmailMessage))
        self.whatsapp = AsyncWhatsapp(self, Operations("whatsapp", WhatsappMessage))

    async def key(self) -> CurrentKey:
        return await self._run(key_call())

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncHerald:
        return self

    async def __aexit__(
        self, kind: Optional[Type[BaseException]], error: Optional[BaseException], trace: Optional[TracebackType]
    ) -> None:
        await self.aclose()

    async def _run(self, call: Call[T]) -> T:
        flow = self._core.flow(call)
        step = next(flow)
        try:
            while True:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = await self._http.send(step)
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as done:
            return done.value
