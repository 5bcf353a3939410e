"""Our identifiers: sortable by creation time, unique without coordination.

Written by hand because the standard library has no UUIDv7 before Python 3.14; this is the
same idea (48 bits of milliseconds, 80 random bits) in Crockford base32, like a ULID.
"""

from __future__ import annotations

import secrets
import time
from typing import Final

_ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"
# Two digits per 10 bits: a table lookup per pair is several times faster than divmod per
# digit, and base64.b32hexencode is written in Python too.
_PAIRS: Final = [_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024)]
_SHIFTS: Final = tuple(range(120, -10, -10))


def new_id(prefix: str) -> str:
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return f"{prefix}_{crockford128(value)}"


def crockford128(value: int) -> str:
    """A 128-bit number as 26 Crockford base32 digits, most significant first (130 bits, so
    the first digit holds the top 3 bits)."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])
