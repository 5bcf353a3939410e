"""One request's worth of messages, before it leaves and after: what the gateway hands to its
recorder (the message store), in core terms so that the store needs nothing of the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from smsgate.core.message import Message
from smsgate.core.report import RecipientResult


@dataclass(frozen=True)
class Outgoing:
    """A request about to leave: its messages go on record (``submitting``) before it does."""

    provider: str
    sandbox: bool
    message: Message
    reference: str
    ids: Sequence[str]
    """Our message id per recipient."""
    recipients: Sequence[str]
    """The numbers, in the order of ``ids``."""
    texts: Sequence[str] = ()
    account: str | None = None
    params: Sequence[tuple[str, ...]] = ()
    """Personalised sends: each recipient's values for the template (a queued job needs them)."""
    send_id: str | None = None
    """Queued sends: the send it belongs to, and the job (chunk) that will send it."""
    chunk: int | None = None
    hold_until: datetime | None = None
    """Queued sends the gateway holds (the provider cannot schedule): when the job may run."""
    tried: tuple[str, ...] = ()
    """Over a route: the providers that provably did not send these before this one."""
    rerouted: bool = False
    """Its messages are on record already (another provider's): they now name this one."""
    callback_url: str | None = None
    """Where the client hears of each status change of these messages."""

    def text_of(self, index: int) -> str:
        return self.texts[index] if self.texts else self.message.text


@dataclass(frozen=True)
class SentBatch:
    provider: str
    sandbox: bool
    message: Message
    reference: str
    """Our reference for the request (AllMySMS CLIMSGID)."""
    results: Sequence[RecipientResult]
    """One per recipient, each with our message id."""
    campaign_id: str | None
    credits_used: float | None
    texts: Sequence[str] = ()
    """Personalised sends: each recipient's text, in the order of ``results``."""
    account: str | None = None
    """The account it went through (``Dsn.account()``): what a later cancel must reach."""
    announced: bool = False
    """Its messages are on record already (as ``submitting``, from an Outgoing)."""
    tried: tuple[str, ...] = ()
    """Over a route: the providers that provably did not send these before this one."""
    callback_url: str | None = None
    """Where the client hears of each status change of these messages."""

    def text_of(self, index: int) -> str:
        return self.texts[index] if self.texts else self.message.text
