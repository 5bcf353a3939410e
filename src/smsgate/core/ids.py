"""Our identifiers: sortable by creation time, unique without coordination.

Written by hand because the standard library has no UUIDv7 before Python 3.14; this is the
same idea (48 bits of milliseconds, 80 random bits) in Crockford base32, like a ULID.
"""

from __future__ import annotations

import base64
import os
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


# base32hex (RFC 4648, in C-speed chunks) is Crockford's base32 with other letters: translating
# its output gives the same digits as crockford128 for the 80 random bits.
_FROM_BASE32HEX: Final = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUV", _ALPHABET)


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids at once, as new_id makes them: the time part is formatted once and the
    random parts come from one read of the OS's random source (a 100,000-recipient send
    spent a fifth of its CPU making ids one by one)."""
    head = f"{prefix}_{crockford128((time.time_ns() // 1_000_000) << 80)[:10]}"
    random = base64.b32hexencode(os.urandom(10 * count)).decode().translate(_FROM_BASE32HEX)
    return [head + random[i : i + 16] for i in range(0, 16 * count, 16)]


def crockford128(value: int) -> str:
    """A 128-bit number as 26 Crockford base32 digits, most significant first (130 bits, so
    the first digit holds the top 3 bits)."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])
