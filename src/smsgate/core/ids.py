"""Our identifiers: sortable by creation time, unique without coordination.

Written by hand because the standard library has no UUIDv7 before Python 3.14; this is the
same idea (48 bits of milliseconds, 80 random bits) in Crockford base32, like a ULID.
"""

from __future__ import annotations

import secrets
import time
from typing import Final

_ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
