"""Recipients: from what a user typed to the numbers a provider receives.

Split on commas, semicolons and line breaks; drop white space and visual separators; keep
digits with an optional leading '+' or '00'; make national numbers (leading 0) international
with the default region; send each number once. A bad entry is skipped with its reason and
never stops the good ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from smsgate.core.errors import ConfigurationError
from smsgate.core.numbering import is_known_region, to_international

DEFAULT_REGION: Final = "FR"
REGION_VARIABLE: Final = "SMSGATE_DEFAULT_REGION"
DUPLICATE_REASON: Final = "duplicate"

_SEPARATORS: Final = re.compile(r"[,;\r\n]")
# White space (incl. no-break and thin spaces) and the visual separators people type.
_DROP: Final = {ord(c): None for c in " \t\u00a0\u2007\u202f\u2009\u200b-.()/"}
_NOT_A_NUMBER: Final = (
    "not a phone number: use digits with an optional leading + or 00 (e.g. +33612345678)"
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A destination: international digits without '+', and what the user wrote."""

    number: str
    input: str


@dataclass(frozen=True, slots=True)
class Skipped:
    input: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "reason": self.reason}


@dataclass
class RecipientList:
    """The outcome of preparing recipients: who gets the SMS and who does not, and why."""

    recipients: list[Recipient] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def limit(self, count: int, reason: str) -> None:
        """Keep the first ``count`` recipients; the rest are skipped with ``reason``."""
        extra = self.recipients[count:]
        del self.recipients[count:]
        self.skipped.extend(Skipped(r.input, reason) for r in extra)


def split_entries(raw: str | Iterable[str]) -> list[str]:
    """Entries as typed: one string split on , ; and line breaks, or several such strings."""
    chunks = [raw] if isinstance(raw, str) else raw
    entries: list[str] = []
    for chunk in chunks:
        entries.extend(e for e in _SEPARATORS.split(chunk) if e.strip())
    return entries


def check_region(region: str) -> str:
    code = region.strip().upper()
    if not is_known_region(code):
        raise ConfigurationError(
            f"unknown default region {region!r}: give an ISO country code such as FR, BE or GB"
        )
    return code


def prepare_recipients(
    raw: str | Iterable[str], *, region: str = DEFAULT_REGION, strict: bool = False
) -> RecipientList:
    """Clean, normalise and dedupe; see the module docstring for the rules."""
    region = check_region(region)
    result = RecipientList()
    keep = result.recipients.append
    skip = result.skipped.append
    seen: set[str] = set()
    for entry in split_entries(raw):
        typed = entry.strip()
        cleaned = typed.translate(_DROP)
        national = False
        if cleaned[:1] == "+":
            digits = cleaned[1:]
        elif cleaned[:2] == "00":
            digits = cleaned[2:]
        else:
            digits = cleaned
            national = cleaned[:1] == "0"
        if not (digits.isascii() and digits.isdigit()):
            skip(Skipped(typed, _NOT_A_NUMBER))
            continue
        verdict = to_international(digits, national=national, region=region, strict=strict)
        number = verdict.number
        if number is None:
            skip(Skipped(typed, verdict.reason or _NOT_A_NUMBER))
        elif number in seen:
            skip(Skipped(typed, DUPLICATE_REASON))
        else:
            seen.add(number)
            keep(Recipient(number, typed))
    return result
