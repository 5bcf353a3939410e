"""SMS text rules (GSM 03.38): encoding, length in the provider's units, parts, truncation.

Written by hand because no maintained library does all of: count GSM-7 septets and UCS-2 code
units, split into 153/67-unit parts without breaking escape pairs, surrogate pairs or grapheme
clusters, and cut a text to N parts on a cluster boundary. Grapheme clusters come from ``regex``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Final

from smsgate.core.errors import InvalidText

if TYPE_CHECKING:
    import regex


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


# The GSM 7-bit default alphabet in code order (0x00-0x7F). ESC (0x1B) is a placeholder here and
# excluded below: it is never produced from text.
_GSM_BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_BASIC: Final = frozenset(_GSM_BASIC_TABLE) - {"\x1b"}
GSM_EXTENSION: Final = frozenset("\x0c^{}\\[~]|€")
GSM_CHARACTERS: Final = GSM_BASIC | GSM_EXTENSION

SINGLE_LIMIT: Final = {Encoding.GSM7: 160, Encoding.UCS2: 70}
PART_LIMIT: Final = {Encoding.GSM7: 153, Encoding.UCS2: 67}

EMPTY_TEXT = "the text is empty: give the message to send"


def encoding_of(text: str) -> Encoding:
    return Encoding.GSM7 if GSM_CHARACTERS.issuperset(text) else Encoding.UCS2


def char_units(char: str, encoding: Encoding) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) one code point costs."""
    if encoding is Encoding.GSM7:
        return 2 if char in GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def units_of(text: str, encoding: Encoding) -> int:
    return sum(char_units(c, encoding) for c in text)


def non_gsm_characters(text: str) -> tuple[str, ...]:
    """The characters that force UCS-2, each once, in order of appearance."""
    return tuple(dict.fromkeys(c for c in text if c not in GSM_CHARACTERS))


@dataclass(frozen=True)
class Segmentation:
    """How a text travels: its encoding, total units and the parts a splitter makes of it."""

    encoding: Encoding
    units: int
    parts: tuple[str, ...]
    part_units: tuple[int, ...]
    ucs2_characters: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding.value,
            "units": self.units,
            "parts": self.count,
            "part_units": list(self.part_units),
            "ucs2_characters": list(self.ucs2_characters),
        }


class _Splitter:
    """Greedy part filler over grapheme clusters (spec rules 1-5), fed one cluster at a time."""

    __slots__ = ("capacity", "encoding", "part_units", "parts", "total")

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        self.capacity = PART_LIMIT[encoding]
        self.parts: list[list[str]] = [[]]
        self.part_units: list[int] = [0]
        self.total = 0

    def add(self, cluster: str) -> None:
        costs = [char_units(c, self.encoding) for c in cluster]
        size = sum(costs)
        self.total += size
        if self.part_units[-1] + size > self.capacity and size <= self.capacity:
            self._new_part()
        if self.part_units[-1] + size <= self.capacity:
            self.parts[-1].append(cluster)
            self.part_units[-1] += size
            return
        # A cluster longer than a part: split at code points, never inside one (rules 2-3).
        for char, cost in zip(cluster, costs, strict=True):
            if self.part_units[-1] + cost > self.capacity:
                self._new_part()
            self.parts[-1].append(char)
            self.part_units[-1] += cost

    def _new_part(self) -> None:
        if self.part_units[-1]:
            self.parts.append([])
            self.part_units.append(0)

    def count(self) -> int:
        """Parts the text so far needs: one when the total fits a single message."""
        if self.total <= SINGLE_LIMIT[self.encoding]:
            return 1
        return len(self.parts)


@cache
def _cluster_pattern() -> regex.Pattern[str]:
    """Compiled at the first long text: most texts fit one part and never need ``regex``."""
    import regex

    return regex.compile(r"\X")


def clusters(text: str) -> list[str]:
    return list(_cluster_pattern().findall(text))


def segment(text: str) -> Segmentation:
    encoding = encoding_of(text)
    total = units_of(text, encoding)
    if total <= SINGLE_LIMIT[encoding]:
        return Segmentation(encoding, total, (text,), (total,), non_gsm_characters(text))
    splitter = _Splitter(encoding)
    for cluster in clusters(text):
        splitter.add(cluster)
    parts = tuple("".join(p) for p in splitter.parts)
    return Segmentation(
        encoding, total, parts, tuple(splitter.part_units), non_gsm_characters(text)
    )


@dataclass(frozen=True)
class FittedText:
    """A text made to fit a number of parts: what is sent, and whether it was cut."""

    text: str
    truncated: bool
    original_length: int
    segmentation: Segmentation


def _longest_fitting_prefix(
    items: list[str], encoding: Encoding, max_parts: int, max_chars: int | None
) -> int:
    """How many leading clusters fit in max_parts parts (and max_chars code points)."""
    splitter = _Splitter(encoding)
    chars = 0
    fitting = 0
    for index, cluster in enumerate(items):
        if encoding is Encoding.GSM7 and not GSM_CHARACTERS.issuperset(cluster):
            break
        chars += len(cluster)
        if max_chars is not None and chars > max_chars:
            break
        splitter.add(cluster)
        if splitter.count() > max_parts:
            break
        fitting = index + 1
    return fitting


def fit_text(
    text: str, *, max_parts: int = 1, max_chars: int | None = None, truncate: bool = True
) -> FittedText:
    """Make text fit in max_parts SMS parts and max_chars code points.

    The cut keeps the longest prefix of whole grapheme clusters that fits under its own
    encoding (a prefix before the first non-GSM character may be GSM-7 and fit more).
    With truncate=False an over-long text is an error instead.
    """
    if not text:
        raise InvalidText(EMPTY_TEXT)
    if max_parts < 1:
        raise InvalidText(f"--max-parts must be 1 or more, not {max_parts}")
    whole = segment(text)
    if whole.count <= max_parts and (max_chars is None or len(text) <= max_chars):
        return FittedText(text, False, len(text), whole)
    limit = _limit_phrase(max_parts, max_chars)
    if not truncate:
        raise InvalidText(
            f"the text is too long ({whole.units} {_unit_name(whole.encoding)}, {whole.count} "
            f"parts; the limit is {limit}): shorten it or allow more parts with --max-parts"
        )
    items = clusters(text)
    keep = max(
        _longest_fitting_prefix(items, Encoding.GSM7, max_parts, max_chars),
        _longest_fitting_prefix(items, Encoding.UCS2, max_parts, max_chars),
    )
    cut = "".join(items[:keep])
    if not cut:
        raise InvalidText(f"not even the first character of the text fits in {limit}")
    return FittedText(cut, True, len(text), segment(cut))


def _unit_name(encoding: Encoding) -> str:
    return "septets" if encoding is Encoding.GSM7 else "UTF-16 units"


def _limit_phrase(max_parts: int, max_chars: int | None) -> str:
    parts = f"{max_parts} part" + ("s" if max_parts > 1 else "")
    return parts if max_chars is None else f"{parts} and {max_chars} characters"
