"""From what a user typed to the numbers that are sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.errors import ConfigurationError
from smsgate.core.recipients import prepare_recipients, split_entries


def test_split_on_commas_semicolons_and_lines() -> None:
    assert split_entries("a, b;c\nd\r\n,, ;") == ["a", " b", "c", "d"]
    assert split_entries(["a,b", "c"]) == ["a", "b", "c"]


def test_cleaning_normalising_and_dedupe() -> None:
    prepared = prepare_recipients(
        "06 12 34 56 78, +33 6.12.34.56.78, 0033 (6) 12-34-56-78, +33 (0)6 12 34 56 79,"
        " 447700900123, abc, 06x"
    )
    assert [r.number for r in prepared.recipients] == ["33612345678", "33612345679", "447700900123"]
    reasons = {s.input: s.reason for s in prepared.skipped}
    assert reasons["+33 6.12.34.56.78"] == "duplicate"
    assert reasons["0033 (6) 12-34-56-78"] == "duplicate"
    assert reasons["abc"].startswith("not a phone number")
    assert reasons["06x"].startswith("not a phone number")


def test_default_region_makes_national_numbers_international() -> None:
    assert prepare_recipients("0470 12 34 56", region="be").recipients[0].number == "32470123456"
    assert prepare_recipients("07700 900123", region="GB").recipients[0].number == "447700900123"


def test_unknown_region_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown default region 'XX'"):
        prepare_recipients("0612345678", region="XX")


def test_strict_skips_numbers_phonenumbers_finds_invalid() -> None:
    loose = prepare_recipients("+33 7 12 34 56 78, 0612345678")
    strict = prepare_recipients("+33 7 12 34 56 78, 0612345678", strict=True)
    assert len(loose.recipients) == 2
    assert [r.number for r in strict.recipients] == ["33612345678"]
    assert "--strict" in strict.skipped[0].reason


def test_a_bad_number_never_stops_the_good_ones() -> None:
    prepared = prepare_recipients(["+", "++33612345678", "٣٣٦١٢٣٤٥٦٧٨", "0612345678"])
    assert [r.number for r in prepared.recipients] == ["33612345678"]
    assert len(prepared.skipped) == 3


def test_limit_moves_the_rest_to_skipped() -> None:
    prepared = prepare_recipients("0611111111,0622222222,0633333333")
    prepared.limit(2, "trial limit")
    assert len(prepared.recipients) == 2
    assert [(s.input, s.reason) for s in prepared.skipped] == [("0633333333", "trial limit")]


@given(st.lists(st.text(alphabet="0123456789+-. ()/abc,;\n\t\u00a0", max_size=20), max_size=30))
def test_every_entry_is_accounted_for_once(chunks: list[str]) -> None:
    prepared = prepare_recipients(chunks)
    entries = split_entries(chunks)
    assert len(prepared.recipients) + len(prepared.skipped) == len(entries)
    numbers = [r.number for r in prepared.recipients]
    assert len(numbers) == len(set(numbers))
    assert all(n.isdigit() and 7 <= len(n) <= 15 for n in numbers)
    assert all(s.reason for s in prepared.skipped)
