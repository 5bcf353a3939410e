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
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
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
    # The same prefixes when their pattern is plain digits: startswith is far cheaper.
    national_prefix_literal: str | None
    international_prefix_literal: str | None

    def is_valid(self, nsn: str) -> bool:
        """phonenumbers' _number_type_helper(...) != UNKNOWN."""
        return self.general.matches(nsn) and any(d.matches(nsn) for d in self.types)


@cache
def _region(code: str) -> _Region | None:
    meta = PhoneMetadata.metadata_for_region(code, None)
    if meta is None:
        return None
    general = _desc(meta.general_desc)
    assert general is not None and meta.general_desc is not None
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
        national_prefix_literal=npfp if npfp and npfp.isdigit() else None,
        international_prefix_literal=(
            meta.international_prefix
            if meta.international_prefix and meta.international_prefix.isdigit()
            else None
        ),
    )


_UNSET: Final = object()
_REGIONS: dict[str, tuple[_Region, ...] | None] = {}
_COUNTRY_CODES: Final = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)


def _regions_of(country_code: str) -> tuple[_Region, ...] | None:
    """The regions sharing a country code, in phonenumbers' order; None for non-geographic."""
    regions = _REGIONS.get(country_code, _UNSET)
    if regions is _UNSET:
        codes = COUNTRY_CODE_TO_REGION_CODE.get(int(country_code))
        found = None
        if codes and _NON_GEO not in codes:
            found = tuple(r for r in (_region(c) for c in codes) if r is not None) or None
        _REGIONS[country_code] = regions = found
    return regions  # type: ignore[return-value]


_CODE_BY_HEAD: dict[str, str | None] = {}


def _split_country_code(digits: str) -> str | None:
    """phonenumbers' _extract_country_code: the first 1-3 digit prefix that is a known code.

    The answer depends on the first three digits only, so it is remembered by them.
    """
    head = digits[:3]
    code = _CODE_BY_HEAD.get(head, _UNSET)
    if code is _UNSET:
        code = next((head[:n] for n in (1, 2, 3) if head[:n] in _COUNTRY_CODES), None)
        _CODE_BY_HEAD[head] = code
    return code  # type: ignore[return-value]


def _strip_simple_prefix(region: _Region, nsn: str) -> str | None:
    """The number after a national prefix '0', when phonenumbers certainly strips it."""
    rest = nsn[1:]
    if (
        rest[:1] not in ("", "0")
        and len(rest) in region.general.lengths
        and len(rest) not in region.local_only
        and region.general.matches(rest)
    ):
        return rest
    return None


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


INVALID_REASON: Final = "not a valid number for its country (--strict)"
Verdict = tuple[str | None, str | None]
"""International digits (no '+') and None, or None and the reason there are none."""


def _bounded(number: str) -> Verdict:
    if len(number) < MIN_DIGITS:
        return None, f"too short for an international number ({len(number)} digits)"
    if len(number) > MAX_DIGITS:
        return None, f"too long for an international number ({len(number)} digits)"
    return number, None


class NumberRules:
    """The rules for one default region and mode, compiled once per campaign."""

    def __init__(self, region: str, *, strict: bool) -> None:
        self.region = region
        self.strict = strict
        home = _region(region)
        self._home = home if home is not None and home.simple_national_prefix else None
        self._home_regions = _regions_of(home.country_code) if home else None

    def __call__(self, digits: str, national: bool) -> Verdict:
        """The number to send to, for digits already cleaned of '+', '00' and separators.

        ``national`` says the digits were written with a leading 0 for the default region.
        """
        # phonenumbers never makes a number longer than its digits, plus 2 for a national one
        if len(digits) + (2 if national else 0) < MIN_DIGITS:
            return None, f"too short to be a phone number ({len(digits)} digits)"
        found = self._national(digits) if national else self._international(digits)
        if found is None:
            return _reference(digits, national=national, region=self.region, strict=self.strict)
        code, nsn, regions = found
        if self.strict and not _fast_is_valid(nsn, regions):
            return None, INVALID_REASON
        number = code + nsn
        return (number, None) if MIN_DIGITS <= len(number) <= MAX_DIGITS else _bounded(number)

    def _international(self, digits: str) -> tuple[str, str, tuple[_Region, ...]] | None:
        code = _split_country_code(digits)
        regions = _regions_of(code) if code else None
        if code is None or regions is None:
            return None
        nsn = digits[len(code) :]
        main = regions[0]
        literal, prefix = main.national_prefix_literal, main.national_prefix_for_parsing
        if nsn.startswith(literal) if literal else (prefix is not None and prefix.match(nsn)):
            # '+33 (0)6...': phonenumbers strips the national prefix written after the code
            stripped = _strip_simple_prefix(main, nsn) if main.simple_national_prefix else None
            if stripped is None:
                return None
            nsn = stripped
        if len(nsn) < 2 or len(nsn) > 17 or nsn[0] == "0":
            return None
        return code, nsn, regions

    def _national(self, national: str) -> tuple[str, str, tuple[_Region, ...]] | None:
        home, regions = self._home, self._home_regions
        if home is None or regions is None:
            return None
        literal, idd = home.international_prefix_literal, home.international_prefix
        if national.startswith(literal) if literal else (idd is not None and idd.match(national)):
            return None  # e.g. 011... in the US is an international call
        # _strip_simple_prefix, inlined: the hot path of a campaign to one country
        nsn = national[1:]
        general = home.general
        if (
            nsn[:1] in ("", "0")
            or len(nsn) not in general.lengths
            or len(nsn) in home.local_only
            or general.pattern is None
            or general.pattern.fullmatch(nsn) is None
        ):
            return None
        return home.country_code, nsn, regions


def _parse(digits: str, *, national: bool, region: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(digits if national else "+" + digits, region if national else None)


def _reference(digits: str, *, national: bool, region: str, strict: bool) -> Verdict:
    try:
        parsed = _parse(digits, national=national, region=region)
    except phonenumbers.NumberParseException as error:
        return None, _parse_reason(error, national, region)
    if strict and not phonenumbers.is_valid_number(parsed):
        return None, INVALID_REASON
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
    return _reference(digits, national=national, region=region, strict=False)[0]


def is_valid_reference(digits: str, *, national: bool, region: str) -> bool:
    return _reference(digits, national=national, region=region, strict=True)[0] is not None


@cache
def rules_for(region: str, strict: bool) -> NumberRules:
    return NumberRules(region, strict=strict)


def is_known_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS
