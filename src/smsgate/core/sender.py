"""Sender names and numbers (the TPOA of AllMySMS, the 'from' of Messangi and The SMS Works).

Each provider accepts its own shapes: a provider module declares its :class:`SenderRule` among
its capabilities, and the sender is checked against it here before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smsgate.core.errors import InvalidSender


@dataclass(frozen=True)
class SenderRule:
    pattern: re.Pattern[str]
    described: str
    """What the rule allows, in words, for the error message."""
    required: bool = False
    """The provider has no default sender: a send without one is refused."""
    provider: str = "this provider"


def check_sender(sender: str | None, rule: SenderRule) -> str | None:
    """Return the sender to use (None: the provider's default short code) or raise."""
    if sender is None or sender == "":
        if rule.required:
            raise InvalidSender(  # one wording for every face: the CLI and the API alike
                f"{rule.provider} needs a sender: give one ({rule.described}) "
                "as --from (CLI) or 'sender' (API)"
            )
        return None
    if rule.pattern.fullmatch(sender):
        return sender
    default = "" if rule.required else ", or leave it out to use the provider's short code"
    raise InvalidSender(f"the sender {sender!r} is not allowed: use {rule.described}{default}")
