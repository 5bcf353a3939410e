"""Identifiers: 26 Crockford digits that sort as the numbers they write."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.ids import crockford128, new_id, new_ids

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _digit_by_digit(value: int) -> str:
    """The plain definition: 26 base-32 digits, least significant last."""
    digits = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_crockford128_writes_the_number_in_26_digits(value: int) -> None:
    assert crockford128(value) == _digit_by_digit(value)


@given(st.integers(0, 2**128 - 1), st.integers(0, 2**128 - 1))
def test_the_digits_sort_as_the_numbers(a: int, b: int) -> None:
    assert (crockford128(a) < crockford128(b)) == (a < b)


def test_ids_carry_their_prefix_and_grow_with_time() -> None:
    first = new_id("msg")
    assert first.startswith("msg_") and len(first) == 30
    assert set(first[4:]) <= set(ALPHABET)
    ids = [new_id("msg") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert ids[0][:13] <= ids[-1][:13]  # the millisecond part never goes back


@given(st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_ids_in_bulk_write_the_same_digits_as_one_by_one(millis: int, random: bytes) -> None:
    """new_ids' translated base32hex is crockford128 of the same 128-bit value."""
    from smsgate.core import ids

    head = crockford128(millis << 80)[:10]
    tail = base64.b32hexencode(random).decode().translate(ids._FROM_BASE32HEX)
    assert head + tail == crockford128(millis << 80 | int.from_bytes(random))


def test_ids_in_bulk_are_unique_and_shaped_as_new_id() -> None:
    made = new_ids("msg", 10_000)
    assert len(set(made)) == 10_000 and new_ids("msg", 0) == []
    for one in made[:100]:
        assert one.startswith("msg_") and len(one) == 30 and set(one[4:]) <= set(ALPHABET)
    assert made[0][:14] <= new_id("msg")[:14]
