"""One request's worth of messages and what became of each: what the gateway hands to its
recorder (the message store), in core terms so that the store needs nothing of the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smsgate.core.message import Message
from smsgate.core.report import RecipientResult


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

    def text_of(self, index: int) -> str:
        return self.texts[index] if self.texts else self.message.text
