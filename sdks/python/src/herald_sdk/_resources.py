"""The operations of /v1/public/*, as `Call`s, and the namespaces that run them.

`Operations` builds every call once; `SyncChannel` and `AsyncChannel` (and their SMS and email
kinds) only hand those calls to their client's runner, so both clients have the same operations with
the same arguments, paths and parsing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    Optional,
    Sequence,
    Type,
    TypeVar,
    Union,
)

from ._core import Call, new_idempotency_key, path_segment, query
from .models import (
    ApprovedSenderId,
    CurrentKey,
    EmailMessage,
    EmailSendParams,
    EmailStats,
    Model,
    Page,
    SmsMessage,
    SmsSendParams,
    TimelineEntry,
    WhatsappMessage,
    WhatsappSendParams,
)

if TYPE_CHECKING:
    from ._client import AsyncHerald, Herald

M = TypeVar("M", bound=Model)
P = TypeVar("P")
Moment = Union[str, datetime]
Day = Union[str, date]


def _page_of(model: Type[M]) -> Callable[[Any], Page[M]]:
    def parse(body: Dict[str, Any]) -> Page[M]:
        return Page(
            data=[model.from_dict(item) for item in body["data"]],
            page=body["page"],
            page_size=body["pageSize"],
            total=body["total"],
        )

    return parse


def _list_of(model: Type[M]) -> Callable[[Any], List[M]]:
    return lambda body: [model.from_dict(item) for item in body["data"]]


class Operations(Generic[M]):
    """The calls of one channel, under /v1/public/<channel>."""

    def __init__(self, channel: str, model: Type[M]) -> None:
        self.base = f"/v1/public/{channel}"
        self.model = model

    def send(self, message: Any, idempotency_key: Optional[str]) -> Call[M]:
        return Call(
            "POST",
            f"{self.base}/send",
            self.model.from_dict,
            json=message,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )

    def batch(self, messages: Sequence[Any], idempotency_key: Optional[str]) -> Call[List[M]]:
        return Call(
            "POST",
            f"{self.base}/batch",
            _list_of(self.model),
            json={"messages": list(messages)},
            idempotency_key=idempotency_key or new_idempotency_key(),
        )

    def list(self, filters: Dict[str, Any]) -> Call[Page[M]]:
        return Call("GET", self.base, _page_of(self.model), params=query(**filters))

    def get(self, message_id: str) -> Call[M]:
        return Call("GET", f"{self.base}/{path_segment(message_id)}", self.model.from_dict)

    def timeline(self, message_id: str) -> Call[List[TimelineEntry]]:
        return Call("GET", f"{self.base}/{path_segment(message_id)}/timeline", _list_of(TimelineEntry))

    def cancel(self, message_id: str) -> Call[M]:
        return Call("POST", f"{self.base}/{path_segment(message_id)}/cancel", self.model.from_dict)


def key_call() -> Call[CurrentKey]:
    return Call("GET", "/v1/public/key", CurrentKey.from_dict)


def sender_ids_call(page: Optional[int], page_size: Optional[int]) -> Call[Page[ApprovedSenderId]]:
    return Call(
        "GET", "/v1/public/sms/sender-ids", _page_of(ApprovedSenderId), params=query(page=page, page_size=page_size)
    )


def email_stats_call(from_: Optional[Day], to: Optional[Day]) -> Call[EmailStats]:
    return Call("GET", "/v1/public/emails/stats", EmailStats.from_dict, params=query(from_=from_, to=to))


# --- the synchronous namespaces ---------------------------------------------------------------------


class SyncChannel(Generic[M, P]):
    """`client.<channel>`: send, batch, list, iterate, get, timeline, cancel."""

    def __init__(self, client: Herald, operations: Operations[M]) -> None:
        self._client = client
        self._ops = operations

    def send(self, message: P, *, idempotency_key: Optional[str] = None) -> M:
        """Sends one message; it answers QUEUED at once. Without `idempotency_key` the SDK makes
        one, kept across its own retries, so a retried send is never sent twice."""
        return self._client._run(self._ops.send(message, idempotency_key))

    def batch(self, messages: Sequence[P], *, idempotency_key: Optional[str] = None) -> List[M]:
        """Sends up to 100 messages, all or none: a ValidationError names each failing item."""
        return self._client._run(self._ops.batch(messages, idempotency_key))

    def list(
        self,
        *,
        status: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> Page[M]:
        """One page of messages, newest first."""
        return self._list(
            status=status, query=query, created_from=created_from, created_to=created_to, page=page, page_size=page_size
        )

    def iterate(
        self,
        *,
        status: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page_size: Optional[int] = None,
    ) -> Iterator[M]:
        """Every message matching the filters, newest first, fetching page after page."""
        return self._iterate(
            status=status, query=query, created_from=created_from, created_to=created_to, page_size=page_size
        )

    def get(self, message_id: str) -> M:
        return self._client._run(self._ops.get(message_id))

    def timeline(self, message_id: str) -> List[TimelineEntry]:
        """The message's timeline, oldest first."""
        return self._client._run(self._ops.timeline(message_id))

    def cancel(self, message_id: str) -> M:
        """Cancels a message still QUEUED (a scheduled one); otherwise raises ConflictError."""
        return self._client._run(self._ops.cancel(message_id))

    def _list(self, **filters: Any) -> Page[M]:
        return self._client._run(self._ops.list(filters))

    def _iterate(self, **filters: Any) -> Iterator[M]:
        number: Optional[int] = 1
        while number is not None:
            page = self._client._run(self._ops.list({**filters, "page": number}))
            yield from page.data
            number = page.next_page


class Sms(SyncChannel[SmsMessage, SmsSendParams]):
    def list(
        self,
        *,
        status: Optional[str] = None,
        flow: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> Page[SmsMessage]:
        """One page of SMS, newest first; `flow` is OTP or STANDARD."""
        return self._list(
            status=status,
            flow=flow,
            query=query,
            created_from=created_from,
            created_to=created_to,
            page=page,
            page_size=page_size,
        )

    def iterate(
        self,
        *,
        status: Optional[str] = None,
        flow: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page_size: Optional[int] = None,
    ) -> Iterator[SmsMessage]:
        """Every SMS matching the filters, newest first, fetching page after page."""
        return self._iterate(
            status=status, flow=flow, query=query, created_from=created_from, created_to=created_to, page_size=page_size
        )

    def sender_ids(self, *, page: Optional[int] = None, page_size: Optional[int] = None) -> Page[ApprovedSenderId]:
        """The sender IDs approved for the organization."""
        return self._client._run(sender_ids_call(page, page_size))


class Emails(SyncChannel[EmailMessage, EmailSendParams]):
    def stats(self, from_: Optional[Day] = None, to: Optional[Day] = None) -> EmailStats:
        """Counts and rates over UTC days, both inclusive (default: the 30 days up to today)."""
        return self._client._run(email_stats_call(from_, to))


class Whatsapp(SyncChannel[WhatsappMessage, WhatsappSendParams]):
    pass


# --- the asynchronous namespaces --------------------------------------------------------------------


class AsyncChannel(Generic[M, P]):
    """`client.<channel>` of AsyncHerald: the same operations as SyncChannel, awaited."""

    def __init__(self, client: AsyncHerald, operations: Operations[M]) -> None:
        self._client = client
        self._ops = operations

    async def send(self, message: P, *, idempotency_key: Optional[str] = None) -> M:
        return await self._client._run(self._ops.send(message, idempotency_key))

    async def batch(self, messages: Sequence[P], *, idempotency_key: Optional[str] = None) -> List[M]:
        return await self._client._run(self._ops.batch(messages, idempotency_key))

    async def list(
        self,
        *,
        status: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> Page[M]:
        return await self._list(
            status=status, query=query, created_from=created_from, created_to=created_to, page=page, page_size=page_size
        )

    def iterate(
        self,
        *,
        status: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page_size: Optional[int] = None,
    ) -> AsyncIterator[M]:
        """`async for message in client.sms.iterate(...)`."""
        return self._iterate(
            status=status, query=query, created_from=created_from, created_to=created_to, page_size=page_size
        )

    async def get(self, message_id: str) -> M:
        return await self._client._run(self._ops.get(message_id))

    async def timeline(self, message_id: str) -> List[TimelineEntry]:
        return await self._client._run(self._ops.timeline(message_id))

    async def cancel(self, message_id: str) -> M:
        return await self._client._run(self._ops.cancel(message_id))

    async def _list(self, **filters: Any) -> Page[M]:
        return await self._client._run(self._ops.list(filters))

    async def _iterate(self, **filters: Any) -> AsyncIterator[M]:
        number: Optional[int] = 1
        while number is not None:
            page = await self._client._run(self._ops.list({**filters, "page": number}))
            for item in page.data:
                yield item
            number = page.next_page


class AsyncSms(AsyncChannel[SmsMessage, SmsSendParams]):
    async def list(
        self,
        *,
        status: Optional[str] = None,
        flow: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> Page[SmsMessage]:
        return await self._list(
            status=status,
            flow=flow,
            query=query,
            created_from=created_from,
            created_to=created_to,
            page=page,
            page_size=page_size,
        )

    def iterate(
        self,
        *,
        status: Optional[str] = None,
        flow: Optional[str] = None,
        query: Optional[str] = None,
        created_from: Optional[Moment] = None,
        created_to: Optional[Moment] = None,
        page_size: Optional[int] = None,
    ) -> AsyncIterator[SmsMessage]:
        return self._iterate(
            status=status, flow=flow, query=query, created_from=created_from, created_to=created_to, page_size=page_size
        )

    async def sender_ids(
        self, *, page: Optional[int] = None, page_size: Optional[int] = None
    ) -> Page[ApprovedSenderId]:
        return await self._client._run(sender_ids_call(page, page_size))


class AsyncEmails(AsyncChannel[EmailMessage, EmailSendParams]):
    async def stats(self, from_: Optional[Day] = None, to: Optional[Day] = None) -> EmailStats:
        return await self._client._run(email_stats_call(from_, to))


class AsyncWhatsapp(AsyncChannel[WhatsappMessage, WhatsappSendParams]):
    pass
