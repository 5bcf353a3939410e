"""Opt-outs: which replies ask for no more SMS, and the reason a suppressed number is skipped.

A reply opts out when its whole text, read loosely (any case, accents and the punctuation or
spaces around it ignored), is one of the keywords: "Stop." and "arrêt" opt out; "stop by
tomorrow" does not (a person writing a sentence is not asking to be unsubscribed).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

DEFAULT_KEYWORDS: Final = (
    "STOP",
    "STOP ALL",
    "UNSUBSCRIBE",
    "END",
    "QUIT",
    "CANCEL",
    "ARRET",
    "ARRÊT",
    "desabonnement",
)
OPTED_OUT: Final = "opted out"
"""The reason a send gives for each number it skips because it opted out."""

_AROUND: Final = " \t\r\n.!?,;:'\"()[]-_*~"


def keyword_key(text: str) -> str:
    """The text as keywords are compared: accents dropped, case folded, spaces collapsed,
    punctuation around it stripped."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split()).strip(_AROUND)


class OptOutKeywords:
    """The keywords that make a reply an opt-out (configurable: see settings).

    A plain class, not a dataclass: the settings every command loads import this module, and
    a dataclass costs start-up time."""

    __slots__ = ("keys",)

    def __init__(self, keys: frozenset[str]) -> None:
        self.keys = keys

    @classmethod
    def of(cls, keywords: Iterable[str]) -> OptOutKeywords:
        return cls(frozenset(k for k in map(keyword_key, keywords) if k))

    @classmethod
    def parse(cls, listing: str) -> OptOutKeywords:
        """A comma-separated list, as the variable holds it."""
        return cls.of(listing.split(","))

    def match(self, text: str) -> bool:
        return keyword_key(text) in self.keys


DEFAULT: Final = OptOutKeywords.of(DEFAULT_KEYWORDS)
