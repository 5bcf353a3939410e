"""Who may call: API keys for the API, secrets for the providers' webhooks.

Both are lists so that a key can be rotated without downtime. Comparison is constant-time over
every configured value, so a near-miss takes as long as a miss.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence


def matches_any(candidate: str, allowed: Sequence[str]) -> bool:
    given = candidate.encode()
    found = False
    for value in allowed:
        found |= hmac.compare_digest(given, value.encode())
    return found and bool(candidate)


def basic_password(header: str | None) -> str:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]
