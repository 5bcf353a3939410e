"""Sender names and numbers (the TPOA of AllMySMS, the 'from' of Messangi and The SMS Works).

Each provider accepts its own shapes; a provider declares its :class:`SenderRule` among its
capabilities, and the sender is checked against it before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from smsgate.core.errors import InvalidSender


@dataclass(frozen=True)
class SenderRule:
    pattern: re.Pattern[str]
    described: str
    """What the rule allows, in words, for the error message."""
    required: bool = False
    """The provider has no default sender: a send without one is refused."""
    provider: str = "this provider"


ALPHANUMERIC_NAME: Final = SenderRule(
    re.compile(r"[A-Za-z][A-Za-z0-9]{2,10}"),
    "3 to 11 letters or digits starting with a letter (e.g. ACME2024)",
)
"""AllMySMS: what handsets and French operators accept, as the component's docs state."""

CODE_OR_NAME: Final = SenderRule(
    re.compile(r"[0-9]{1,15}|(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,11}"),
    "a short code (1-6 digits), a long code (7-15 digits) or a name of up to 11 letters and digits",
    required=True,
    provider="Messangi",
)
"""Messangi: short code, long code or alphanumeric code; there is no default sender."""


NAME_OR_NUMBER: Final = SenderRule(
    re.compile(r"[0-9]{1,15}|(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,11}"),
    "up to 11 letters and digits, or a number of up to 15 digits, without spaces",
    required=True,
    provider="The SMS Works",
)
"""The SMS Works: 'sender' is required (spec §4)."""


def check_sender(sender: str | None, rule: SenderRule = ALPHANUMERIC_NAME) -> str | None:
    """Return the sender to use (None: the provider's default short code) or raise."""
    if sender is None or sender == "":
        if rule.required:
            raise InvalidSender(
                f"{rule.provider} needs a sender: give one ({rule.described}) with --from"
            )
        return None
    if rule.pattern.fullmatch(sender):
        return sender
    default = "" if rule.required else ", or leave it out to use the provider's short code"
    raise InvalidSender(f"the sender {sender!r} is not allowed: use {rule.described}{default}")
