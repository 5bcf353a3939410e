"""What providers tell us after a send: delivery receipts and replies (inbound SMS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smsgate.core.status import MessageStatus


@dataclass(frozen=True)
class Receipt:
    """A delivery report, normalised. The provider's own code is kept for the record."""

    provider: str
    status: MessageStatus
    permanent: bool
    provider_status: str
    provider_message_id: str | None = None
    campaign_id: str | None = None
    recipient: str | None = None
    client_reference: str | None = None
    occurred_at: datetime | None = None
    detail: str = ""

    def key(self) -> str:
        """What makes two deliveries of this receipt the same receipt."""
        when = self.occurred_at.isoformat() if self.occurred_at else ""
        who = self.provider_message_id or f"{self.campaign_id}/{self.recipient}"
        return f"{self.provider}|{who}|{self.provider_status}|{when}"


@dataclass(frozen=True)
class Reply:
    """An SMS a recipient sent back (an MO), possibly to one of our messages."""

    provider: str
    provider_reply_id: str
    sender: str
    text: str
    provider_message_id: str | None = None
    campaign_id: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class OptOut:
    """A number on a provider's own opt-out list (AllMySMS's blacklist), and its comment."""

    number: str
    detail: str | None = None
