"""Messages as a provider lists them (search, failed, inbound), and the query that finds them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smsgate.core.status import MessageStatus


@dataclass(frozen=True)
class MessageQuery:
    """What to look for at the provider; every field is optional."""

    status: str | None = None
    """In the provider's own words (The SMS Works: SENT, DELIVERED, EXPIRED, UNDELIVERABLE,
    REJECTED, INCOMING)."""
    to: str | None = None
    sender: str | None = None
    keyword: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000
    skip: int = 0


@dataclass(frozen=True)
class ProviderMessage:
    provider: str
    provider_message_id: str
    status: MessageStatus
    provider_status: str
    to: str | None = None
    sender: str | None = None
    text: str | None = None
    batch_id: str | None = None
    tag: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    failure: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "provider_message_id": self.provider_message_id,
            "status": self.status.value,
            "provider_status": self.provider_status,
            "to": self.to,
            "sender": self.sender,
            "text": self.text,
            "batch_id": self.batch_id,
            "tag": self.tag,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "failure": self.failure,
        }
