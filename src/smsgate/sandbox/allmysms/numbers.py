"""Which numbers the emulated AllMySMS accepts, and how it writes them (spec §3.2, §8).

[E] A number is valid when phonenumbers finds it *possible* (right length for its country):
AllMySMS's own rule is not published. Written independently of smsgate's client on purpose.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

import phonenumbers

_FRENCH_NATIONAL: Final = re.compile(r"0[1-9]\d{8}")
_DIGITS: Final = re.compile(r"\d{4,15}")
_FRENCH: Final = re.compile(r"33[1-9]\d{8}")
"""A French number with its 9 national digits: phonenumbers finds every one possible (its
metadata for FR: national numbers of 9 digits, a national prefix 0 that these lack), so the
parse, most of a campaign's time here, is spared. A test holds this to phonenumbers."""


@lru_cache(maxsize=65536)  # a pure function of the text; phonenumbers is the costly part
def international(raw: str) -> str | None:
    """The number as AllMySMS reports it (``33612345678``), or None when it is not valid."""
    number = re.sub(r"\s", "", raw)
    if number.startswith("+"):
        number = number[1:]
    elif number.startswith("00"):
        number = number[2:]
    elif _FRENCH_NATIONAL.fullmatch(number):
        number = "33" + number[1:]
    if _FRENCH.fullmatch(number):
        return number
    if not _DIGITS.fullmatch(number):
        return None
    try:
        parsed = phonenumbers.parse("+" + number, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(parsed) else None


def is_french(number: str) -> bool:
    return number.startswith("33")
