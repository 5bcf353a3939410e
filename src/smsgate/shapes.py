"""The JSON shapes of stored records and provider listings, shared by the CLI's ``--json``
and the HTTP API, so that both print one message, event or reply the same way."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    provider: str
    sandbox: bool
    provider_message_id: str | None
    campaign_id: str | None
    recipient: str
    sender: str | None
    text: str
    encoding: str
    parts: int
    cost: int | None
    status: str = Field(
        description="queued, scheduled, sent, delivered, failed, rejected, expired, cancelled "
        "or unknown"
    )
    final: bool
    error: str | None
    tag: str | None
    scheduled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str
    permanent: bool
    provider_status: str | None
    detail: str | None
    source: str = Field(description="send, webhook, sync or cancel")
    occurred_at: datetime | None
    received_at: datetime


class ReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    message_id: str | None
    sender: str
    text: str
    received_at: datetime


class ProviderMessageOut(BaseModel):
    """A message as the provider lists it (search, failed, inbound)."""

    provider: str
    provider_message_id: str
    status: str = Field(description="smsgate's status")
    provider_status: str = Field(description="The provider's own status")
    to: str | None = None
    sender: str | None = None
    text: str | None = None
    batch_id: str | None = None
    tag: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    failure: str | None = None


class OptOutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str = Field(description="International digits, as recipients are written")
    source: str = Field(description="reply (a STOP answer), provider (its own list) or manual")
    provider: str | None = None
    detail: str | None = None
    created_at: datetime
