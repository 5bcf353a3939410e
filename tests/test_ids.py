"""Identifiers: 26 Crockford digits that sort as the numbers they write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.ids import crockford128, new_id

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
