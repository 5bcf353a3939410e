"""What happened to every SMS: per-recipient results and the send report.

Recipient statuses at send time:
- ``sent`` / ``scheduled``: the provider accepted it (a receipt may follow later);
- ``rejected``: the provider refused it (or the whole request) and nothing went out;
- ``failed``: it provably never reached the provider (safe to send again);
- ``unknown``: the request may have reached the provider; do not send again blindly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from smsgate.core.recipients import DUPLICATE_REASON, Skipped
from smsgate.core.text import Encoding


class RecipientStatus(StrEnum):
    SENT = "sent"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def accepted(self) -> bool:
        return self is RecipientStatus.SENT or self is RecipientStatus.SCHEDULED


class SendStatus(StrEnum):
    SENT = "sent"
    SCHEDULED = "scheduled"
    PARTIAL = "partial"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class RecipientResult:
    to: str
    status: RecipientStatus
    provider_message_id: str | None = None
    error: str | None = None
    id: str | None = None
    """Our id for this message (also the store's)."""
    provider: str | None = None
    """The provider that took it (or last refused it)."""
    tried: tuple[str, ...] = ()
    """Over a route: the providers that provably did not send it before ``provider``."""

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "to": self.to,
            "status": self.status.value,
            "provider_message_id": self.provider_message_id,
            "error": self.error,
            "provider": self.provider,
            "tried": list(self.tried),
        }


@dataclass(slots=True)
class RequestRecord:
    """One HTTP request made to the provider and its answer, as the report lists it."""

    campaign_id: str | None
    code: int | None
    text: str
    recipients: int

    def to_dict(self) -> dict[str, object]:
        return {
            "campaign_id": self.campaign_id,
            "code": self.code,
            "text": self.text,
            "recipients": self.recipients,
        }


@dataclass
class SendReport:
    provider: str
    sandbox: bool
    trial: bool
    text: str
    truncated: bool
    encoding: Encoding
    parts: int
    recipients: list[RecipientResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    credits_used: float | None = None
    credits_left: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.recipients if r.status.accepted)

    @property
    def status(self) -> SendStatus:
        statuses = {r.status for r in self.recipients}
        lost = any(s.reason != DUPLICATE_REASON for s in self.skipped)
        if any(s.accepted for s in statuses):
            if lost or not all(s.accepted for s in statuses):
                return SendStatus.PARTIAL
            if statuses == {RecipientStatus.SCHEDULED}:
                return SendStatus.SCHEDULED
            return SendStatus.SENT
        if RecipientStatus.UNKNOWN in statuses:
            return SendStatus.UNKNOWN
        if statuses == {RecipientStatus.FAILED}:
            return SendStatus.FAILED
        return SendStatus.REJECTED

    def to_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "sandbox": self.sandbox,
            "status": self.status.value,
            "trial": self.trial,
            "text": self.text,
            "truncated": self.truncated,
            "encoding": self.encoding.value,
            "parts": self.parts,
            "recipients": [r.to_dict() for r in self.recipients],
            "skipped": [s.to_dict() for s in self.skipped],
            "requests": [r.to_dict() for r in self.requests],
            "credits_used": self.credits_used,
            "credits_left": self.credits_left,
            "warnings": list(self.warnings),
        }


@dataclass
class AccountInfo:
    """An account's state as the provider reports it; never holds a credential."""

    provider: str
    sandbox: bool
    status: str
    credits: float | None
    """A number that may be fractional (The SMS Works: 4321.5); whole ones stay ints."""
    details: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "sandbox": self.sandbox,
            "status": self.status,
            "credits": self.credits,
            "details": dict(self.details),
        }


def credit_amount(value: object) -> float | None:
    """A provider's credit figure as a number: fractions kept (4321.5 stays 4321.5), whole
    ones as ints (15000, never 15000.0); anything else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else float(value)
