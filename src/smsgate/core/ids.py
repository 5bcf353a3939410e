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


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids at once, in increasing order: the millisecond part as new_id makes it,
    then 40 random bits, then a 40-bit counter from a random start (a monotonic ULID).

    In order because a million of them go into a B-tree index in one transaction, where
    random keys cost PostgreSQL four times the work of increasing ones; and made a block of
    1,024 at a time (the counter's last two digits run through the table), so a
    1,000,000-recipient send spends a tenth of a second on them."""
    head = crockford128((time.time_ns() // 1_000_000) << 80)[:10]
    stem = f"{prefix}_{head}{crockford128(secrets.randbits(40))[-8:]}"
    value = secrets.randbits(39)  # room for 2**39 more: the counter never wraps
    end = value + count
    ids: list[str] = []
    while value < end:
        high, low = divmod(value, 1024)
        block_end = min(end, (high + 1) * 1024)
        block = f"{stem}{crockford128(high)[-6:]}"
        ids += [block + pair for pair in _PAIRS[low : low + block_end - value]]
        value = block_end
    return ids


def crockford128(value: int) -> str:
    """A 128-bit number as 26 Crockford base32 digits, most significant first (130 bits, so
    the first digit holds the top 3 bits)."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])
