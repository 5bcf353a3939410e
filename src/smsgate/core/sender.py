"""Alphanumeric sender names (the TPOA of AllMySMS, the 'from' of others)."""

from __future__ import annotations

import re
from typing import Final

from smsgate.core.errors import InvalidSender

_SENDER: Final = re.compile(r"[A-Za-z][A-Za-z0-9]{2,10}")


def check_sender(sender: str | None) -> str | None:
    """Return the sender to use (None: the provider's default short code) or raise.

    3 to 11 characters, ASCII letters and digits, starting with a letter: what handsets and
    French operators accept, as the component's docs state.
    """
    if sender is None or sender == "":
        return None
    if _SENDER.fullmatch(sender):
        return sender
    raise InvalidSender(
        f"the sender {sender!r} is not allowed: use 3 to 11 letters or digits starting with a "
        "letter (e.g. ACME2024), or leave it out to use the provider's short code"
    )
