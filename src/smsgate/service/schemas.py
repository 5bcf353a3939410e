"""The API's shapes, with the examples a connector importer (Power Automate, Zapier) shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smsgate.shapes import EventOut, MessageOut, OptOutOut, ProviderMessageOut, ReplyOut


class SendRequest(BaseModel):
    """The CLI's ``send``: the same fields, the same report."""

    model_config = ConfigDict(
        extra="forbid",  # a misspelt field (schedule_at) must not send at once, silently
        json_schema_extra={
            "examples": [
                {
                    "to": ["+33612345678", "06 98 76 54 32"],
                    "text": "Your code is 4821",
                    "sender": "Acme",
                    "tag": "otp",
                }
            ]
        },
    )

    to: list[Annotated[str, Field(min_length=1)]] | Annotated[str, Field(min_length=1)] | None = (
        Field(None, description="Numbers, or one string separated by , ; or lines", min_length=1)
    )
    rows: list[dict[str, str]] | None = Field(
        None,
        min_length=1,
        description="Personalised texts, instead of 'to': one object per recipient with 'to' "
        'and a value for each {column} of the text (e.g. {"to": "+33612345678", '
        '"name": "Ann"} for \'Hi {name}\')',
    )
    text: str = Field(min_length=1, pattern=r"\S", description="The message text")
    sender: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9]{1,15}$",
        description="A name or number the provider allows (AllMySMS: 3-11 letters/digits "
        "starting with a letter; Messangi and The SMS Works: a name or a short/long code)",
    )
    region: str | None = Field(
        None, pattern=r"^[A-Za-z]{2}$", description="Country of national numbers (default FR)"
    )
    strict: bool = Field(False, description="Also skip numbers not valid for their country")
    max_parts: int = Field(1, ge=1, le=255, description="Allow a concatenated SMS of N parts")
    truncate: bool = Field(True, description="Cut an over-long text (true) or refuse it")
    scheduled_at: datetime | None = Field(None, description="Send later (ISO 8601 with zone)")
    tag: str | None = Field(None, max_length=100, description="Campaign name kept with each SMS")
    flash: bool = Field(False, description="A flash SMS: shown at once, not stored")
    callback_url: str | None = Field(
        None,
        max_length=2000,
        pattern=r"^https?://[^\s]+$",
        description="POST every status change of every message here, signed per Standard "
        "Webhooks (default: the service's SMSGATE_CALLBACK_URL)",
    )
    ignore_opt_out: bool = Field(
        False,
        description="Send to numbers that opted out too (transactional SMS only, e.g. a code); "
        "otherwise they are skipped with reason 'opted out'",
    )

    @model_validator(mode="after")
    def one_way_to_name_recipients(self) -> SendRequest:
        if (self.to is None) == (self.rows is None):
            raise ValueError("give the recipients either as 'to' or as 'rows'")
        return self


class RecipientOut(BaseModel):
    id: str | None = Field(None, description="smsgate's message id")
    to: str
    status: str = Field(description="sent, scheduled, rejected, failed or unknown")
    provider_message_id: str | None = None
    error: str | None = None
    provider: str | None = Field(None, description="The provider that took it (or last refused it)")
    tried: list[str] = Field(
        default_factory=list,
        description="Over a route: providers that provably did not send it, in order",
    )


class SkippedOut(BaseModel):
    input: str
    reason: str


class RequestOut(BaseModel):
    campaign_id: str | None = None
    code: int | None = None
    text: str
    recipients: int


class SendReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "allmysms",
                    "sandbox": False,
                    "status": "sent",
                    "trial": False,
                    "text": "Your code is 4821",
                    "truncated": False,
                    "encoding": "GSM-7",
                    "parts": 1,
                    "recipients": [
                        {
                            "id": "msg_01hx",
                            "to": "33612345678",
                            "status": "sent",
                            "provider_message_id": "2f1e0c7a",
                            "error": None,
                        }
                    ],
                    "skipped": [],
                    "requests": [
                        {
                            "campaign_id": "ap_1234567890",
                            "code": 100,
                            "text": "sent",
                            "recipients": 1,
                        }
                    ],
                    "credits_used": 15,
                    "credits_left": 14985,
                    "warnings": [],
                }
            ]
        }
    )

    provider: str
    sandbox: bool
    status: str = Field(description="sent, scheduled, partial, rejected, failed or unknown")
    trial: bool
    text: str
    truncated: bool
    encoding: str
    parts: int
    recipients: list[RecipientOut]
    skipped: list[SkippedOut]
    requests: list[RequestOut]
    credits_used: int | float | None = None
    credits_left: int | float | None = None
    warnings: list[str] = []


class QueuedMessageOut(BaseModel):
    id: str = Field(description="smsgate's message id")
    to: str
    status: str = Field(description="queued")


class QueuedOut(BaseModel):
    """A send accepted for the queue (202): on record, not sent yet."""

    send_id: str = Field(description="Follow it at GET /v1/sends/{send_id}")
    status: str = Field(description="queued")
    accepted: int = Field(description="Recipients queued")
    provider: str
    sandbox: bool
    trial: bool
    text: str
    truncated: bool
    encoding: str
    parts: int
    skipped: list[SkippedOut]
    warnings: list[str]
    scheduled_at: datetime | None = None
    held: bool = Field(
        description="The gateway holds it until scheduled_at (the provider cannot schedule)"
    )
    messages: list[QueuedMessageOut] = Field(
        description="The first 1,000; all of them at GET /v1/sends/{send_id}/messages"
    )
    messages_total: int


class SendProgressOut(BaseModel):
    """A queued send: how many of its messages are at each status, and its report's head."""

    send_id: str
    status: str = Field(
        description="queued (nothing sent yet), sending, done (every message past the queue), "
        "or cancelled"
    )
    total: int
    counts: dict[str, int] = Field(description="Messages per status")
    created_at: datetime
    scheduled_at: datetime | None = None
    held: bool
    stop_reason: str | None = Field(
        None, description="Why the rest of the send was not sent (a refusal for every batch)"
    )
    provider: str
    sandbox: bool
    trial: bool
    text: str
    encoding: str
    parts: int
    skipped: list[SkippedOut]
    warnings: list[str]


class CancelledOut(BaseModel):
    cancelled: int = Field(description="Messages still held that will not be sent")


class MessagePageOut(BaseModel):
    items: list[MessageOut]
    total: int
    limit: int
    offset: int


class AccountOut(BaseModel):
    provider: str
    sandbox: bool
    status: str
    credits: int | float | None
    details: dict[str, str]


class ErrorOut(BaseModel):
    error: str


def report_out(data: dict[str, Any]) -> SendReportOut:
    return SendReportOut.model_validate(data)


class ProviderStatusOut(BaseModel):
    """One message's status at the provider now."""

    provider_message_id: str | None
    status: str
    provider_status: str
    final: bool
    recipient: str | None = None
    occurred_at: datetime | None = None
    detail: str = ""


class CustomerOut(BaseModel):
    customer_id: str


__all__ = [
    "AccountOut",
    "CancelledOut",
    "CustomerOut",
    "ErrorOut",
    "EventOut",
    "MessageOut",
    "MessagePageOut",
    "ProviderMessageOut",
    "ProviderStatusOut",
    "QueuedMessageOut",
    "QueuedOut",
    "RecipientOut",
    "ReplyOut",
    "RequestOut",
    "SendProgressOut",
    "SendReportOut",
    "SendRequest",
    "SkippedOut",
    "report_out",
]


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, description="The number, e.g. +33612345678")
    detail: str | None = Field(None, max_length=500, description="Why (kept with it)")


class OptOutPageOut(BaseModel):
    items: list[OptOutOut]
    total: int
    limit: int
    offset: int


class RouteErrorOut(BaseModel):
    at: str = Field(description="When (ISO 8601, UTC)")
    error: str


class LatencyOut(BaseModel):
    p50: float
    p95: float
    p99: float


class HealthOut(BaseModel):
    """A provider's last requests as this service saw them."""

    state: str = Field(description="healthy, or demoted (tried after the others for a while)")
    demoted_for_seconds: float | None = None
    requests: int = Field(description="Requests in the window health is judged on")
    failed: int
    recent_errors: list[RouteErrorOut]
    latency_ms: LatencyOut | None = Field(None, description="Request latency percentiles")
    delivery_median_seconds: float | None = Field(
        None, description="Median time from request to delivery receipt, lately"
    )


class RouteMemberOut(BaseModel):
    provider: str
    endpoint: str = Field(description="Where its requests go (no credential)")
    sandbox: bool
    abilities: list[str]
    health: HealthOut


class RouteOut(BaseModel):
    prefix: str = Field(description="Number prefix (+33), or * for every other number")
    mode: str = Field(description="single, failover or round robin")
    members: list[RouteMemberOut]


class CallbackOut(BaseModel):
    """A status change posted (or to post) to a client's callback URL."""

    id: str = Field(description="Its webhook-id, the same on every attempt")
    message_id: str | None
    status: str | None = Field(description="The message status it tells")
    url: str
    state: str = Field(description="pending, delivered, or failed (dead-lettered)")
    attempts: int
    next_at: datetime = Field(description="When it is due (pending)")
    created_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None


class CallbackPageOut(BaseModel):
    items: list[CallbackOut]
    total: int
