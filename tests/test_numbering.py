"""The fast path gives phonenumbers' own verdicts, number for number."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smsgate.core.numbering import e164_reference, is_valid_reference, rules_for

REGIONS = ["FR", "BE", "CH", "DE", "GB", "IT", "ES", "US", "CA", "NL", "IN", "AU", "BR", "RU", "JP"]
COUNTRY_CODES = [
    "33",
    "32",
    "41",
    "49",
    "44",
    "39",
    "34",
    "1",
    "31",
    "91",
    "61",
    "55",
    "7",
    "81",
    "262",
    "590",
    "599",
    "358",
    "47",
    "212",
    "800",
    "882",
    "999",
    "0",
    "",
]
digits = st.text(alphabet="0123456789", min_size=0, max_size=16)


def both(number: str, *, national: bool, region: str) -> None:
    for strict in (False, True):
        fast = rules_for(region, strict)(number, national)[0]
        if strict:
            valid = is_valid_reference(number, national=national, region=region)
            reference = e164_reference(number, national=national, region=region) if valid else None
        else:
            reference = e164_reference(number, national=national, region=region)
        assert fast == reference, (number, national, region, strict)


@settings(max_examples=3000)
@given(st.sampled_from(COUNTRY_CODES), digits)
@example("33", "612345678")
@example("33", "0612345678")
@example("44", "7700900123")
@example("44", "07700900123")
@example("1", "2025550123")
@example("1", "12025550123")
@example("39", "0612345678")
@example("262", "692123456")
def test_international_numbers(country_code: str, rest: str) -> None:
    both(country_code + rest, national=False, region="FR")


@settings(max_examples=3000)
@given(st.sampled_from(REGIONS), digits.map(lambda d: "0" + d))
@example("FR", "0612345678")
@example("FR", "0012345678")
@example("GB", "07700900123")
@example("US", "0112025550123")
@example("IT", "0612345678")
def test_national_numbers(region: str, national: str) -> None:
    both(national, national=True, region=region)


@pytest.mark.parametrize(
    ("digits_", "national", "expected"),
    [
        ("0612345678", True, "33612345678"),
        ("33612345678", False, "33612345678"),
        ("330612345678", False, "33612345678"),  # +33 (0)6 ... as people write it
        ("447911123456", False, "447911123456"),
    ],
)
def test_spec_examples(digits_: str, national: bool, expected: str) -> None:
    assert rules_for("FR", True)(digits_, national)[0] == expected


def test_reasons_say_what_is_wrong() -> None:
    loose, strict = rules_for("FR", False), rules_for("FR", True)
    assert "country code" in (loose("9991234567", False)[1] or "")
    assert "too short" in (loose("3361", False)[1] or "")
    assert "--strict" in (strict("33712345678", False)[1] or "")
