"""Phone numbers to international digits, and validity, at campaign speed.

``phonenumbers`` is the authority. It parses about 40,000 numbers a second, too slow for
million-recipient campaigns, so this module answers the common cases from phonenumbers' own
metadata (compiled once per country) and defers to phonenumbers for everything else. The fast
path gives phonenumbers' verdicts exactly; tests/test_numbering.py checks that property on
generated numbers against :func:`e164_reference` and :func:`is_valid_reference`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

MIN_DIGITS: Final = 7  # shortest E.164 numbers (e.g. Niue, +683 and four digits)
MAX_DIGITS: Final = 15  # ITU-T E.164
_NON_GEO: Final = "001"
_DESC_NAMES: Final = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)


def _full(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(f"(?:{pattern})") if pattern else None


@dataclass(frozen=True)
class _Desc:
    lengths: frozenset[int]
    pattern: re.Pattern[str] | None

    def matches(self, nsn: str) -> bool:
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern is not None and self.pattern.fullmatch(nsn) is not None


def _desc(desc: object) -> _Desc | None:
    if desc is None:
        return None
    return _Desc(frozenset(desc.possible_length), _full(desc.national_number_pattern))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Region:
    """One region's metadata, compiled for the questions this module asks."""

    code: str
    country_code: str
    general: _Desc
    local_only: frozenset[int]
    types: tuple[_Desc, ...]
    leading_digits: re.Pattern[str] | None
    national_prefix_for_parsing: re.Pattern[str] | None
    simple_national_prefix: bool  # national prefix '0', no transform rule
    international_prefix: re.Pattern[str] | None

    def is_valid(self, nsn: str) -> bool:
        """phonenumbers' _number_type_helper(...) != UNKNOWN."""
        return self.general.matches(nsn) and any(d.matches(nsn) for d in self.types)


@cache
def _region(code: str) -> _Region | None:
    meta = PhoneMetadata.metadata_for_region(code, None)
    if meta is None:
        return None
    general = _desc(meta.general_desc)
    assert general is not None
    types = tuple(d for d in (_desc(getattr(meta, n, None)) for n in _DESC_NAMES) if d)
    npfp = meta.national_prefix_for_parsing or None
    return _Region(
        code=code,
        country_code=str(meta.country_code),
        general=general,
        local_only=frozenset(meta.general_desc.possible_length_local_only),
        types=types,
        leading_digits=re.compile(meta.leading_digits) if meta.leading_digits else None,
        national_prefix_for_parsing=re.compile(npfp) if npfp else None,
        simple_national_prefix=npfp == "0" and not meta.national_prefix_transform_rule,
        international_prefix=(
            re.compile(meta.international_prefix) if meta.international_prefix else None
        ),
    )


@cache
def _regions_of(country_code: int) -> tuple[_Region, ...] | None:
    """The regions sharing a country code, in phonenumbers' order; None for non-geographic."""
    codes = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not codes or _NON_GEO in codes:
        return None
    regions = tuple(r for r in (_region(c) for c in codes) if r is not None)
    return regions or None


def _split_country_code(digits: str) -> tuple[int, str] | None:
    """phonenumbers' _extract_country_code: the first 1-3 digit prefix that is a known code."""
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        if size <= len(digits):
            code = int(digits[:size])
            if code in COUNTRY_CODE_TO_REGION_CODE:
                return code, digits[size:]
    return None


class _Unsure(Exception):
    """The fast path cannot answer exactly; ask phonenumbers."""


def _fast_international(digits: str) -> tuple[str, str, tuple[_Region, ...]]:
    split = _split_country_code(digits)
    if split is None:
        raise _Unsure
    code, nsn = split
    regions = _regions_of(code)
    if regions is None or len(nsn) < 2 or len(nsn) > 17 or nsn[0] == "0":
        raise _Unsure
    main = regions[0]
    if main.national_prefix_for_parsing and main.national_prefix_for_parsing.match(nsn):
        raise _Unsure  # phonenumbers might strip a national prefix written after the code
    return main.country_code, nsn, regions


def _fast_national(national: str, region_code: str) -> tuple[str, str, tuple[_Region, ...]]:
    region = _region(region_code)
    if region is None or not region.simple_national_prefix or national[:1] != "0":
        raise _Unsure
    if region.international_prefix and region.international_prefix.match(national):
        raise _Unsure  # e.g. 011... in the US is an international call
    nsn = national[1:]
    if (
        not nsn
        or nsn[0] == "0"
        or len(nsn) not in region.general.lengths
        or len(nsn) in region.local_only
        or not region.general.matches(nsn)
    ):
        raise _Unsure
    regions = _regions_of(int(region.country_code))
    if regions is None:
        raise _Unsure
    return region.country_code, nsn, regions


def _fast_is_valid(nsn: str, regions: tuple[_Region, ...]) -> bool:
    """phonenumbers.is_valid_number: pick the region as region_code_for_number does, then test."""
    if len(regions) == 1:
        return regions[0].is_valid(nsn)
    for region in regions:
        if region.leading_digits is not None:
            if region.leading_digits.match(nsn):
                return region.is_valid(nsn)
        elif region.is_valid(nsn):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Verdict:
    """International digits (no '+'), or the reason there are none."""

    number: str | None
    reason: str | None = None


INVALID_REASON: Final = "not a valid number for its country (--strict)"


def _bounded(number: str) -> Verdict:
    if len(number) < MIN_DIGITS:
        return Verdict(None, f"too short for an international number ({len(number)} digits)")
    if len(number) > MAX_DIGITS:
        return Verdict(None, f"too long for an international number ({len(number)} digits)")
    return Verdict(number)


def to_international(digits: str, *, national: bool, region: str, strict: bool) -> Verdict:
    """The number to send to, for digits already cleaned of '+', '00' and separators.

    ``national`` says the digits were written with a leading 0 and belong to ``region``.
    """
    try:
        if national:
            code, nsn, regions = _fast_national(digits, region)
        else:
            code, nsn, regions = _fast_international(digits)
    except _Unsure:
        return _reference(digits, national=national, region=region, strict=strict)
    if strict and not _fast_is_valid(nsn, regions):
        return Verdict(None, INVALID_REASON)
    return _bounded(code + nsn)


def _parse(digits: str, *, national: bool, region: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(digits if national else "+" + digits, region if national else None)


def _reference(digits: str, *, national: bool, region: str, strict: bool) -> Verdict:
    try:
        parsed = _parse(digits, national=national, region=region)
    except phonenumbers.NumberParseException as error:
        return Verdict(None, _parse_reason(error, national, region))
    if strict and not phonenumbers.is_valid_number(parsed):
        return Verdict(None, INVALID_REASON)
    return _bounded(f"{parsed.country_code}{phonenumbers.national_significant_number(parsed)}")


def _parse_reason(error: phonenumbers.NumberParseException, national: bool, region: str) -> str:
    kind = error.error_type
    if kind == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if national:
            return f"unknown default region {region!r}"
        return "unknown country code: write the number with its country code (+33...)"
    if kind in (
        phonenumbers.NumberParseException.TOO_SHORT_NSN,
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return "too short to be a phone number"
    if kind == phonenumbers.NumberParseException.TOO_LONG:
        return "too long to be a phone number"
    return "not a phone number"


def e164_reference(digits: str, *, national: bool, region: str) -> str | None:
    """phonenumbers' own answer (no fast path), for tests and audits."""
    return _reference(digits, national=national, region=region, strict=False).number


def is_valid_reference(digits: str, *, national: bool, region: str) -> bool:
    return _reference(digits, national=national, region=region, strict=True).number is not None


def is_known_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS
