"""Typed models of what the Herald API takes and answers.

What the API answers (messages, pages, timelines, statistics, webhook events) are dataclasses with
snake_case attributes, built from the camelCase JSON; timestamps stay RFC 3339 strings, as sent.
What it takes (send bodies) are TypedDicts with the API's own camelCase keys, so a plain dict works.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Dict, Generic, List, Optional, Type, TypedDict, TypeVar, Union, get_type_hints

__all__ = [
    "ApprovedSenderId",
    "AttachmentInfo",
    "AttachmentParams",
    "CurrentKey",
    "EmailEvent",
    "EmailMessage",
    "EmailSendParams",
    "EmailStats",
    "EmailStatsDay",
    "EmailStatsTotals",
    "FieldError",
    "MessageError",
    "Page",
    "SmsEvent",
    "SmsMessage",
    "SmsOptOutData",
    "SmsOptOutEvent",
    "SmsSendParams",
    "TimelineEntry",
    "Tracking",
    "TrackingParams",
    "UnknownEvent",
    "WebhookEvent",
    "WebhookTestData",
    "WebhookTestEvent",
    "WhatsappEvent",
    "WhatsappMessage",
    "WhatsappSendParams",
    "WhatsappTemplate",
    "WhatsappTemplateParams",
    "WhatsappText",
    "WhatsappTextParams",
]

M = TypeVar("M", bound="Model")


def wire_name(attribute: str) -> str:
    """The JSON field name of a model attribute: `created_at` → `createdAt`, `from_` → `from`."""
    head, *rest = attribute.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


class Model:
    """Base of the response models: built from the API's JSON by `from_dict`."""

    @classmethod
    def from_dict(cls: Type[M], data: Dict[str, Any]) -> M:
        hints = _type_hints(cls)
        values = {f.name: _decode(hints[f.name], data.get(wire_name(f.name))) for f in dataclasses.fields(cls)}
        return cls(**values)


@functools.lru_cache(maxsize=None)
def _type_hints(model: type) -> Dict[str, Any]:
    return get_type_hints(model)


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = getattr(kind, "__origin__", None)
    if origin is Union:
        present = [arg for arg in kind.__args__ if arg is not type(None)]
        return _decode(present[0], value) if len(present) == 1 else value
    if origin is list:
        return [_decode(kind.__args__[0], item) for item in value]
    if isinstance(kind, type) and issubclass(kind, Model):
        return kind.from_dict(value)
    return value


# --- messages -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MessageError(Model):
    """Why a message failed: the provider's or Herald's code (`UNDELIV`, `META_131026`) and text."""

    code: str
    message: str


@dataclasses.dataclass(frozen=True)
class SmsMessage(Model):
    id: str
    channel: str
    status: str
    to: str
    sender_id: str
    flow: str
    body: str
    segments: int
    encoding: str
    error: Optional[MessageError]
    external_id: Optional[str]
    provider_message_id: Optional[str]
    scheduled_at: Optional[str]
    created_at: str
    updated_at: str


@dataclasses.dataclass(frozen=True)
class AttachmentInfo(Model):
    """An attachment as a message shows it: without its content."""

    filename: str
    content_type: str
    size: int


@dataclasses.dataclass(frozen=True)
class Tracking(Model):
    opens: bool
    clicks: bool


@dataclasses.dataclass(frozen=True)
class EmailMessage(Model):
    id: str
    channel: str
    status: str
    from_: str
    to: List[str]
    cc: List[str]
    bcc: List[str]
    reply_to: List[str]
    subject: str
    html: Optional[str]
    text: Optional[str]
    headers: Dict[str, str]
    tags: Dict[str, str]
    attachments: List[AttachmentInfo]
    tracking: Tracking
    opens: int
    clicks: int
    opened_at: Optional[str]
    clicked_at: Optional[str]
    error: Optional[MessageError]
    external_id: Optional[str]
    provider_message_id: Optional[str]
    scheduled_at: Optional[str]
    created_at: str
    updated_at: str


@dataclasses.dataclass(frozen=True)
class WhatsappText(Model):
    body: str
    preview_url: Optional[bool]


@dataclasses.dataclass(frozen=True)
class WhatsappTemplate(Model):
    name: str
    language: str
    components: Optional[List[Dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class WhatsappMessage(Model):
    id: str
    channel: str
    status: str
    to: str
    type: str
    text: Optional[WhatsappText]
    template: Optional[WhatsappTemplate]
    error: Optional[MessageError]
    external_id: Optional[str]
    provider_message_id: Optional[str]
    scheduled_at: Optional[str]
    created_at: str
    updated_at: str


@dataclasses.dataclass(frozen=True)
class TimelineEntry(Model):
    """One entry of a message's timeline: a status change (`type` is its event type, `sms_delivered`),
    `provider_response`, `receipt_ignored`, `note`, `email_opened` or `email_clicked`."""

    id: str
    type: str
    status: Optional[str]
    occurred_at: str
    detail: Optional[Dict[str, Any]]


T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first."""

    data: List[T]
    page: int
    page_size: int
    total: int

    @property
    def next_page(self) -> Optional[int]:
        """The number of the page after this one, or None when this is the last."""
        return self.page + 1 if self.data and self.page * self.page_size < self.total else None


# --- account ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CurrentKey(Model):
    """The API key presented, as `client.key()` answers it."""

    id: str
    name: str
    prefix: str
    scopes: List[str]
    organization_id: str


@dataclasses.dataclass(frozen=True)
class ApprovedSenderId(Model):
    sender_id: str
    approved_at: str


@dataclasses.dataclass(frozen=True)
class EmailStatsTotals(Model):
    """A range's counts (each message once, by what happened to it) and rates (fractions 0..1)."""

    queued: int
    sent: int
    delivered: int
    bounced: int
    complained: int
    failed: int
    opened: int
    clicked: int
    delivery_rate: float
    bounce_rate: float
    open_rate: float
    click_rate: float


@dataclasses.dataclass(frozen=True)
class EmailStatsDay(Model):
    date: str
    queued: int
    sent: int
    delivered: int
    bounced: int
    complained: int
    failed: int
    opened: int
    clicked: int


@dataclasses.dataclass(frozen=True)
class EmailStats(Model):
    from_: str
    to: str
    totals: EmailStatsTotals
    daily: List[EmailStatsDay]


@dataclasses.dataclass(frozen=True)
class FieldError(Model):
    """One invalid field of a refused request: `messages[3].to`, with a batch item's own `code`."""

    field: str
    message: str
    code: Optional[str]


# --- webhook events ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WebhookEvent(Model):
    """A customer webhook event. `id` is the `webhook-id`, the same on every re-delivery."""

    id: str
    type: str
    created_at: str
    organization_id: str
    data: Any


@dataclasses.dataclass(frozen=True)
class SmsEvent(WebhookEvent):
    data: SmsMessage


@dataclasses.dataclass(frozen=True)
class EmailEvent(WebhookEvent):
    """`email_<status>`, `email_opened` and `email_clicked`."""

    data: EmailMessage


@dataclasses.dataclass(frozen=True)
class WhatsappEvent(WebhookEvent):
    data: WhatsappMessage


@dataclasses.dataclass(frozen=True)
class SmsOptOutData(Model):
    phone_number: str
    action: str
    source: str
    occurred_at: str


@dataclasses.dataclass(frozen=True)
class SmsOptOutEvent(WebhookEvent):
    data: SmsOptOutData


@dataclasses.dataclass(frozen=True)
class WebhookTestData(Model):
    endpoint_id: str
    message: str


@dataclasses.dataclass(frozen=True)
class WebhookTestEvent(WebhookEvent):
    data: WebhookTestData


@dataclasses.dataclass(frozen=True)
class UnknownEvent(WebhookEvent):
    """An event of a type this version of the SDK does not know; `data` is the raw JSON object.
    Acknowledge it: types may be added."""

    data: Dict[str, Any]


def event_class(event_type: str) -> Type[WebhookEvent]:
    """The model of an event type."""
    if event_type == "sms_opt_out":
        return SmsOptOutEvent
    if event_type == "webhook_test":
        return WebhookTestEvent
    for prefix, model in (("sms_", SmsEvent), ("email_", EmailEvent), ("whatsapp_", WhatsappEvent)):
        if event_type.startswith(prefix):
            return model
    return UnknownEvent


# --- request bodies -------------------------------------------------------------------------------


class _SmsSendRequired(TypedDict):
    to: str
    body: str
    senderId: str


class SmsSendParams(_SmsSendRequired, total=False):
    """`client.sms.send(...)`: `to` in E.164, `flow` OTP or STANDARD, `scheduledAt` RFC 3339."""

    flow: str
    externalId: str
    scheduledAt: str


class AttachmentParams(TypedDict):
    filename: str
    content: str
    contentType: str


class TrackingParams(TypedDict):
    opens: bool
    clicks: bool


Recipients = Union[str, List[str]]

_EmailSendRequired = TypedDict("_EmailSendRequired", {"from": str, "to": Recipients, "subject": str})


class EmailSendParams(_EmailSendRequired, total=False):
    """`client.emails.send(...)`: one of `html` or `text` is required; `attachments` content is base64."""

    cc: Recipients
    bcc: Recipients
    replyTo: Recipients
    html: str
    text: str
    headers: Dict[str, str]
    tags: Dict[str, str]
    attachments: List[AttachmentParams]
    externalId: str
    scheduledAt: str
    tracking: TrackingParams


class _WhatsappTextRequired(TypedDict):
    body: str


class WhatsappTextParams(_WhatsappTextRequired, total=False):
    previewUrl: bool


class _WhatsappTemplateRequired(TypedDict):
    name: str
    language: str


class WhatsappTemplateParams(_WhatsappTemplateRequired, total=False):
    components: List[Dict[str, Any]]


class _WhatsappSendRequired(TypedDict):
    to: str
    type: str


class WhatsappSendParams(_WhatsappSendRequired, total=False):
    """`client.whatsapp.send(...)`: `type` is `text` (with `text`) or `template` (with `template`)."""

    text: WhatsappTextParams
    template: WhatsappTemplateParams
    externalId: str
    scheduledAt: str


SCHEMAS: Dict[str, tuple] = {
    "SmsMessage": (SmsMessage,),
    "EmailMessage": (EmailMessage,),
    "WhatsappMessage": (WhatsappMessage,),
    "MessageError": (MessageError,),
    "AttachmentInfo": (AttachmentInfo,),
    "Tracking": (Tracking, TrackingParams),
    "WhatsappText": (WhatsappText, WhatsappTextParams),
    "WhatsappTemplate": (WhatsappTemplate, WhatsappTemplateParams),
    "TimelineEntry": (TimelineEntry,),
    "SmsMessagePage": (Page,),
    "EmailMessagePage": (Page,),
    "WhatsappMessagePage": (Page,),
    "ApprovedSenderIdPage": (Page,),
    "CurrentKey": (CurrentKey,),
    "ApprovedSenderId": (ApprovedSenderId,),
    "EmailStats": (EmailStats,),
    "EmailStatsTotals": (EmailStatsTotals,),
    "EmailStatsDay": (EmailStatsDay,),
    "FieldError": (FieldError,),
    "SmsEvent": (SmsEvent,),
    "EmailEvent": (EmailEvent,),
    "WhatsappEvent": (WhatsappEvent,),
    "SmsOptOutEvent": (SmsOptOutEvent,),
    "SmsOptOutData": (SmsOptOutData,),
    "WebhookTestEvent": (WebhookTestEvent,),
    "WebhookTestData": (WebhookTestData,),
    "SmsSend": (SmsSendParams,),
    "EmailSend": (EmailSendParams,),
    "WhatsappSend": (WhatsappSendParams,),
    "Attachment": (AttachmentParams,),
}
"""Which SDK classes model which schema of the OpenAPI document (the tests compare their fields)."""
