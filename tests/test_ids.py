"""Identifiers: 26 Crockford digits that sort as the numbers they write."""

from __future__ import annotations

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


def _value(identifier: str) -> int:
    return int("".join(f"{ALPHABET.index(c):05b}" for c in identifier.split("_")[1]), 2)


@given(st.integers(1, 5000))
def test_ids_in_bulk_are_consecutive_numbers_in_order(count: int) -> None:
    """new_ids writes, in crockford128's digits, one random start and the numbers after it:
    unique, increasing, with the millisecond part of their making."""
    made = new_ids("msg", count)
    assert len(made) == count
    values = [_value(i) for i in made]
    assert values == list(range(values[0], values[0] + count))
    assert made == sorted(made)
    assert all(crockford128(v) == i[4:] for v, i in zip(values, made, strict=True))
    assert made[0][:14] == new_id("msg")[:14] or made[0][:14] < new_id("msg")[:14]
